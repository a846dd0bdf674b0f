import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { ScanContext, ScanTarget } from '../../src/core/scanner.js';
import { looksLikePickle, scanPickleStream } from '../../src/scanners/models/pickle/index.js';
import { OPCODES } from '../../src/scanners/models/pickle/opcodes.js';
import { mulberry32 } from '../support/random.js';

// Fixed seed: failures reproduce. Bounded count: the suite stays fast.
const SEED = 0x5eed1234;
const CASES = 3000;

function corpus(): Buffer[] {
  const out: Buffer[] = [];
  for (const dir of ['benign', 'attack']) {
    const path = join('test/.tmp/fixtures/pickle_unit', dir);
    for (const f of readdirSync(path).sort()) {
      const data = readFileSync(join(path, f));
      if (data.length <= 64 * 1024) out.push(data);
    }
  }
  return out;
}

function mutate(rand: () => number, seedData: Buffer): Buffer {
  const data = Buffer.from(seedData);
  const int = (n: number): number => Math.floor(rand() * n);
  const ops = 1 + int(4);
  let out = data;
  for (let i = 0; i < ops; i++) {
    const at = int(out.length + 1);
    switch (int(6)) {
      case 0: // flip a byte
        if (out.length > 0) out[Math.min(at, out.length - 1)] = int(256);
        break;
      case 1: // truncate
        out = out.subarray(0, at);
        break;
      case 2: // insert a random opcode
        out = Buffer.concat([out.subarray(0, at), Buffer.from([OPCODES[int(OPCODES.length)]?.code ?? 0]), out.subarray(at)]);
        break;
      case 3: // delete a run
        out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + int(8)))]);
        break;
      case 4: // large or negative length fields
        out = Buffer.concat([out.subarray(0, at), Buffer.from([0x8d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), out.subarray(at)]);
        break;
      default: // duplicate a slice (memo references, nested structure)
        out = Buffer.concat([out, out.subarray(at, at + int(64))]);
        break;
    }
  }
  return out;
}

function randomOpcodes(rand: () => number): Buffer {
  const bytes: number[] = [0x80, Math.floor(rand() * 6)];
  const n = 1 + Math.floor(rand() * 60);
  for (let i = 0; i < n; i++) {
    const op = OPCODES[Math.floor(rand() * OPCODES.length)]!;
    bytes.push(op.code);
    const argBytes = Math.floor(rand() * 5);
    for (let j = 0; j < argBytes; j++) bytes.push(rand() < 0.3 ? 10 : Math.floor(rand() * 256));
  }
  return Buffer.from(bytes);
}

describe('pickle fuzz', () => {
  it(`${CASES} random and mutated pickles: no throw, no hang, sane results`, async () => {
    const rand = mulberry32(SEED);
    const seeds = corpus();
    const config = defaultConfig();
    let reported = 0;
    for (let i = 0; i < CASES; i++) {
      const kind = i % 3;
      const data = kind === 0 ? mutate(rand, seeds[Math.floor(rand() * seeds.length)]!) : kind === 1 ? randomOpcodes(rand) : Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)));
      const context: ScanContext = {
        config,
        limits: config.limits,
        deadline: Date.now() + 5_000,
        isEnabled: () => true,
        reporter: () => () => {
          reported++;
        },
        scanMember: () => Promise.resolve(),
      };
      const target: ScanTarget = { path: `fuzz-${i}.pkl`, source: new BufferSource(data), head: data, depth: 0 };
      assert.doesNotThrow(() => looksLikePickle(data, 0));
      const start = data.length > 0 ? Math.floor(rand() * Math.min(4, data.length)) : 0;
      const result = await scanPickleStream(data, start, target, context);
      assert.ok(result.end >= start && result.end <= data.length, `case ${i}: end ${result.end} outside [${start}, ${data.length}]`);
      assert.ok(result.opcodes >= 0);
    }
    assert.ok(reported > 0);
  });
});
