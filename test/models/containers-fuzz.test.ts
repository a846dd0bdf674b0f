import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Scanner } from '../../src/core/scanner.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { containersScanner } from '../../src/scanners/containers/index.js';
import { numpyFormat } from '../../src/scanners/models/formats/numpy.js';
import { torchLegacyFormat } from '../../src/scanners/models/formats/torch-legacy.js';
import { modelsScanner } from '../../src/scanners/models/index.js';
import { FIXTURES } from './containers-support.js';
import { mulberry32 } from '../support/random.js';

const CONTAINER_FORMATS = [numpyFormat, torchLegacyFormat];

/**
 * The container layer plus the models formats that read container layouts (npy, legacy PyTorch), so a
 * throw can only come from the code under test.
 */
const containersOnly: Scanner = {
  name: 'models',
  description: 'container layer and container-like model formats only',
  rules: [...containersScanner.rules, ...CONTAINER_FORMATS.flatMap((f) => f.rules)],
  async scan(target, context) {
    await containersScanner.scan(target, context);
    for (const format of CONTAINER_FORMATS) if (format.detect(target)) await format.scan(target, context);
  },
};

function seeds(): Buffer[] {
  const out: Buffer[] = [];
  const skip = /bomb|big-member|polyglot-large/;
  for (const dir of ['zip', 'numpy', 'compressed', 'legacy', 'unsupported']) {
    for (const name of readdirSync(join(FIXTURES, dir)).sort()) if (!skip.test(name)) out.push(readFileSync(join(FIXTURES, dir, name)));
  }
  return out;
}

function mutate(input: Buffer, random: () => number): Buffer {
  const int = (n: number): number => Math.floor(random() * n);
  let data = Buffer.from(input);
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const at = int(Math.max(1, data.length));
    switch (int(7)) {
      case 0: // flip bytes
        for (let i = 0; i < 1 + int(8); i++) {
          const p = int(Math.max(1, data.length));
          if (p < data.length) data[p] = int(256);
        }
        break;
      case 1: // truncate
        data = data.subarray(0, at);
        break;
      case 2: // insert random bytes
        data = Buffer.concat([data.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256))), data.subarray(at)]);
        break;
      case 3: // delete a run
        data = Buffer.concat([data.subarray(0, at), data.subarray(Math.min(data.length, at + 1 + int(64)))]);
        break;
      case 4: // write an extreme 16/32-bit value (sizes, counts, offsets)
        if (at + 4 <= data.length) data.writeUInt32LE([0, 1, 0xffff, 0xffffffff, 0x7fffffff, data.length][int(6)] ?? 0, at);
        break;
      case 5: // duplicate a region
        data = Buffer.concat([data, data.subarray(at, Math.min(data.length, at + 1 + int(512)))]);
        break;
      default: // splice in a magic
        {
          const magics = ['PK\x03\x04', 'PK\x01\x02', 'PK\x05\x06', '\x93NUMPY', '\x1f\x8b\x08', 'BZh91AY&SY', '\x04\x22\x4d\x18', '\x28\xb5\x2f\xfd', '\x80\x02', 'ustar'];
          const magic = Buffer.from(magics[int(magics.length)] ?? '', 'latin1');
          if (at + magic.length <= data.length) magic.copy(data, at);
        }
    }
  }
  return data;
}

describe('container fuzzing (fixed seed, bounded)', () => {
  it('never throws and never hangs on mutated zips, tars, npys and compressed streams', { timeout: 120_000 }, async () => {
    const random = mulberry32(0xc057);
    const corpus = seeds();
    const config = defaultConfig();
    config.limits.maxMemberBytes = 4 * 1024 * 1024;
    config.limits.fileTimeoutMs = 5_000;
    config.limits.maxEntries = 2_000;
    const options = { scanners: [containersOnly], config, knownRuleIds: new Set(containersOnly.rules.map((r) => r.id)) };
    const cases = 400;
    for (let i = 0; i < cases; i++) {
      const base = corpus[Math.floor(random() * corpus.length)] ?? Buffer.alloc(0);
      let input = mutate(base, random);
      if (i % 10 === 9) input = gzipSync(input); // and wrapped
      const findings = await scanSource(`fuzz-${i}`, new BufferSource(input), options);
      const errors = findings.filter((f) => f.ruleId === 'core/scan-error');
      assert.deepEqual(errors, [], `case ${i} (from a ${base.length}-byte seed): ${errors[0]?.message ?? ''}`);
    }
  });

  it('handles pure random bytes behind each magic', { timeout: 60_000 }, async () => {
    const random = mulberry32(7);
    const config = defaultConfig();
    config.limits.maxMemberBytes = 4 * 1024 * 1024;
    config.limits.fileTimeoutMs = 5_000;
    const knownRuleIds = new Set([...containersScanner.rules, ...modelsScanner.rules].map((r) => r.id));
    const magics = ['PK\x03\x04', 'PK\x05\x06', '\x93NUMPY\x01\x00', '\x93NUMPY\x03\x00', '\x1f\x8b\x08', 'BZh91AY&SY', '\xfd7zXZ\x00', '\x04\x22\x4d\x18', '\x28\xb5\x2f\xfd', 'ZF0x10              ', '\x5d\x00\x00\x80\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00', '\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.', '7z\xbc\xaf\x27\x1c'];
    for (let i = 0; i < 120; i++) {
      const magic = Buffer.from(magics[i % magics.length] ?? '', 'latin1');
      const body = Buffer.from(Array.from({ length: Math.floor(random() * 3000) }, () => Math.floor(random() * 256)));
      const findings = await scanSource(`random-${i}`, new BufferSource(Buffer.concat([magic, body])), { scanners: [containersOnly], config, knownRuleIds });
      assert.deepEqual(findings.filter((f) => f.ruleId === 'core/scan-error'), [], `case ${i}`);
    }
  });
});
