// Bounded fuzzing of the Python marshal decoder (fixed seed): mutated code objects never throw.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeMarshalledCode } from '../../src/scanners/models/python-marshal/index.js';
import { xorshift32 } from '../support/random.js';

const ROOT = 'test/.tmp/fixtures/formats_b/marshal';

describe('fuzz: Python marshal decoder', { timeout: 120_000 }, () => {
  it('3,000 mutated code objects return a description or an error, never throw', () => {
    const seeds = readdirSync(ROOT).filter((n) => n.endsWith('.bin')).sort().map((n) => readFileSync(join(ROOT, n)));
    const random = xorshift32(0xc0de);
    for (let i = 0; i < 3000; i++) {
      const input = Buffer.from(seeds[i % seeds.length] as Buffer);
      const edits = 1 + Math.floor(random() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * input.length);
        input[at] = random() < 0.5 ? Math.floor(random() * 256) : (input[at] as number) ^ 0x80;
      }
      const cut = random() < 0.2 ? Math.floor(random() * input.length) : input.length;
      const result = describeMarshalledCode(input.subarray(0, cut));
      assert.ok(Array.isArray(result.names) && Array.isArray(result.consts), `case ${i}`);
    }
  });

  it('random bytes never throw', () => {
    const random = xorshift32(0xbeef);
    for (let i = 0; i < 2000; i++) {
      const input = Buffer.alloc(1 + Math.floor(random() * 128));
      for (let k = 0; k < input.length; k++) input[k] = Math.floor(random() * 256);
      if (i % 2 === 0) input[0] = 0xe3;
      assert.doesNotThrow(() => describeMarshalledCode(input), `case ${i}`);
    }
  });
});
