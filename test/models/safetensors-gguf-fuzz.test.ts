// Bounded fuzzing of the GGUF and safetensors parsers (fixed seed): mutated fixtures and random headers must
// never make a parser throw or hang; whatever it cannot read becomes a finding.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { ReportInput } from '../../src/core/rule.js';
import type { ScanContext, ScanTarget } from '../../src/core/scanner.js';
import type { ModelFormat } from '../../src/scanners/models/format.js';
import { ggufFormat } from '../../src/scanners/models/formats/gguf.js';
import { safetensorsFormat } from '../../src/scanners/models/formats/safetensors.js';
import { xorshift32 } from '../support/random.js';

function mutate(input: Buffer, random: () => number): Buffer {
  const out = Buffer.from(input);
  const pick = (n: number): number => Math.floor(random() * n);
  const edits = 1 + pick(4);
  let bytes = out;
  for (let e = 0; e < edits; e++) {
    const kind = pick(6);
    const at = pick(Math.max(1, bytes.length));
    if (kind === 0 && bytes.length > 0) bytes[at] = pick(256);
    else if (kind === 1 && at + 8 <= bytes.length) bytes.writeBigUInt64LE([0n, 1n, 0xffff_ffffn, 1n << 62n, 0xffff_ffff_ffff_ffffn, BigInt(pick(1 << 20))][pick(6)] as bigint, at);
    else if (kind === 2 && at + 4 <= bytes.length) bytes.writeUInt32LE([0, 1, 8, 9, 13, 0xffff_ffff][pick(6)] as number, at);
    else if (kind === 3) bytes = bytes.subarray(0, at);
    else if (kind === 4) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([pick(256), pick(256), pick(256)]), bytes.subarray(at)]);
    else if (bytes.length > 0) bytes[at] = bytes[at] as number ^ (1 << pick(8));
  }
  return bytes;
}

async function runFormat(format: ModelFormat, bytes: Buffer): Promise<number> {
  let findings = 0;
  const config = defaultConfig();
  const context: ScanContext = {
    config,
    limits: config.limits,
    deadline: Date.now() + 10_000,
    isEnabled: () => true,
    reporter: () => (_input: ReportInput<string>) => {
      findings += 1;
    },
    scanMember: () => Promise.resolve(),
  };
  const target: ScanTarget = { path: 'fuzz.bin', source: new BufferSource(bytes), head: bytes.subarray(0, 64 * 1024), depth: 0 };
  if (format.detect(target)) await format.scan(target, context);
  return findings;
}

function fixtures(dir: string): Buffer[] {
  return readdirSync(dir).sort().map((n) => readFileSync(join(dir, n)));
}

const ROOT = 'test/.tmp/fixtures/formats_b';

describe('fuzz: GGUF and safetensors parsers', { timeout: 120_000 }, () => {
  it('GGUF: 600 mutated files never throw', async () => {
    const seeds = fixtures(join(ROOT, 'gguf', 'good'));
    const random = xorshift32(0x6767);
    for (let i = 0; i < 600; i++) {
      const input = mutate(seeds[i % seeds.length] as Buffer, random);
      await assert.doesNotReject(runFormat(ggufFormat, input), `case ${i}`);
    }
  });

  it('GGUF: random headers after the magic never throw', async () => {
    const random = xorshift32(0x4747);
    for (let i = 0; i < 300; i++) {
      const body = Buffer.alloc(8 + Math.floor(random() * 200));
      for (let k = 0; k < body.length; k++) body[k] = Math.floor(random() * 256);
      body.writeUInt32LE(1 + (i % 3), 0);
      await assert.doesNotReject(runFormat(ggufFormat, Buffer.concat([Buffer.from('GGUF'), body])), `case ${i}`);
    }
  });

  it('safetensors: 600 mutated files never throw', async () => {
    const seeds = [...fixtures(join(ROOT, 'safetensors', 'good')), ...fixtures(join(ROOT, 'safetensors', 'medium'))];
    const random = xorshift32(0x5afe);
    for (let i = 0; i < 600; i++) {
      const input = mutate(seeds[i % seeds.length] as Buffer, random);
      await assert.doesNotReject(runFormat(safetensorsFormat, input), `case ${i}`);
    }
  });

  it('safetensors: a mutated header that still parses is always checked (never silently passed when it lies)', async () => {
    // Shrinking a tensor range by one byte must always be reported.
    const seeds = fixtures(join(ROOT, 'safetensors', 'good')).filter((b) => b.length > 8);
    for (const seed of seeds) {
      const n = Number(seed.readBigUInt64LE(0));
      const header = JSON.parse(seed.subarray(8, 8 + n).toString()) as Record<string, { data_offsets?: number[] }>;
      const name = Object.keys(header).find((k) => k !== '__metadata__' && (header[k]?.data_offsets?.[1] ?? 0) > (header[k]?.data_offsets?.[0] ?? 0));
      if (name === undefined) continue;
      const entry = header[name] as { data_offsets: number[] };
      entry.data_offsets = [entry.data_offsets[0] as number, (entry.data_offsets[1] as number) - 1];
      const text = Buffer.from(JSON.stringify(header));
      const prefix = Buffer.alloc(8);
      prefix.writeBigUInt64LE(BigInt(text.length));
      assert.ok((await runFormat(safetensorsFormat, Buffer.concat([prefix, text, seed.subarray(8 + n)]))) > 0, name);
    }
  });
});
