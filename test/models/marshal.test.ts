// The Python marshal decoder: code objects written by python3 (3.11 layout) and hand-assembled 3.7 and
// 3.8-3.10 layouts (scripts/fixtures/gen_formats_b.py), plus malformed input.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeMarshalledCode, findDangerousNames } from '../../src/scanners/models/python-marshal/index.js';

const ROOT = 'test/.tmp/fixtures/formats_b/marshal';
const expected = JSON.parse(readFileSync(join(ROOT, 'index.json'), 'utf8')) as Record<string, { names: string[]; layout: string }>;

describe('python marshal decoder', () => {
  for (const [name, want] of Object.entries(expected)) {
    it(`decodes ${name} (${want.layout}) to the names Python put in`, () => {
      const result = describeMarshalledCode(readFileSync(join(ROOT, `${name}.bin`)));
      assert.equal(result.error, undefined);
      assert.equal(result.layout, want.layout);
      assert.deepEqual(result.names, [...new Set(want.names)]);
    });
  }

  it('lists string constants and names the dangerous calls', () => {
    const result = describeMarshalledCode(readFileSync(join(ROOT, 'py311_os_system.bin')));
    assert.ok(result.consts.includes('os') && result.consts.includes('id'));
    assert.deepEqual(findDangerousNames(result), ['__import__', 'system']);
    assert.deepEqual(findDangerousNames(describeMarshalledCode(readFileSync(join(ROOT, 'py311_benign.bin')))), []);
    assert.deepEqual(findDangerousNames(describeMarshalledCode(readFileSync(join(ROOT, 'py38_os_system.bin')))), ['os', 'system']);
  });

  it('collects names from nested code objects', () => {
    const result = describeMarshalledCode(readFileSync(join(ROOT, 'py311_nested.bin')));
    assert.ok(result.functions?.includes('inner') && result.functions.includes('outer'));
    assert.ok(result.names.includes('eval') && result.names.includes('check_output'));
  });

  it('returns an error, never throws, for truncated, empty, non-code and oversized data', () => {
    assert.ok(describeMarshalledCode(readFileSync(join(ROOT, 'truncated.bin'))).error);
    assert.ok(describeMarshalledCode(Buffer.alloc(0)).error);
    assert.match(describeMarshalledCode(readFileSync(join(ROOT, 'not_code.bin'))).error ?? '', /not a code object/);
    assert.ok(describeMarshalledCode(Buffer.alloc(64), { maxDepth: 8, maxObjects: 100, maxBytes: 32 }).error);
    assert.ok(describeMarshalledCode(Buffer.from([0x3f])).error);
  });

  it('bounds nesting and object counts', () => {
    // 10,000 nested one-element tuples: ')' 0x01 repeated.
    const deep = Buffer.concat([Buffer.from(')\x01'.repeat(10_000), 'latin1'), Buffer.from('N')]);
    assert.match(describeMarshalledCode(deep).error ?? '', /nesting/);
    // A tuple claiming 2^31-1 items in a few bytes.
    const lying = Buffer.from([0x28, 0xff, 0xff, 0xff, 0x7f, 0x4e]);
    assert.ok(describeMarshalledCode(lying).error);
    // A reference to an object not read yet.
    assert.match(describeMarshalledCode(Buffer.from([0x72, 5, 0, 0, 0])).error ?? '', /reference/);
  });
});
