import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { measureJson, parseJsonBounded } from '../../src/core/bounded-json.js';
import { isCustodyError } from '../../src/core/errors.js';

const bounds = { maxDepth: 4, maxValues: 20, what: 'test input' };
const limited = (limit: string) => (error: unknown) => isCustodyError(error, 'INPUT_LIMIT') && error.details?.['limit'] === limit;

describe('bounded JSON', () => {
  it('parses JSON within its bounds, from a string or bytes', () => {
    const text = '{"a": [1, {"b": "x"}], "c": null}';
    assert.deepEqual(parseJsonBounded(text, bounds), { a: [1, { b: 'x' }], c: null });
    assert.deepEqual(parseJsonBounded(Buffer.from(text), bounds), { a: [1, { b: 'x' }], c: null });
  });

  it('refuses nesting deeper than the bound before parsing; at the bound it parses', () => {
    assert.deepEqual(parseJsonBounded('[[[[1]]]]', bounds), [[[[1]]]]);
    assert.throws(() => parseJsonBounded('[[[[[1]]]]]', bounds), limited('depth'));
    assert.throws(() => parseJsonBounded('{"a":{"b":{"c":{"d":{}}}}}', bounds), limited('depth'));
    // Unbalanced: the scan stops at the bound without reading the rest (a 100 MB `[[[[…` is cheap).
    assert.throws(() => parseJsonBounded(`${'['.repeat(1_000_000)}`, bounds), limited('depth'));
  });

  it('brackets and commas inside strings (escaped quotes included) do not count', () => {
    const text = JSON.stringify({ s: '[[[[[[[,,,,,,,,,,,,,,,,,,,,,,,,]]]]]]] \\" [[[[[[ "quoted" \\\\' });
    assert.equal(measureJson(Buffer.from(text), { maxDepth: 100, maxValues: 100 }).depth, 1);
    assert.deepEqual(parseJsonBounded(text, bounds), JSON.parse(text));
  });

  it('refuses more values than the bound (objects, arrays, elements); at the bound it parses', () => {
    const at = JSON.stringify(new Array(19).fill(0)); // 1 array + 18 commas + the root = 20
    assert.equal(measureJson(Buffer.from(at), bounds).values, 20);
    assert.equal((parseJsonBounded(at, bounds) as unknown[]).length, 19);
    assert.throws(() => parseJsonBounded(JSON.stringify(new Array(20).fill({})), bounds), limited('values'));
  });

  it('refuses input over maxBytes before scanning it', () => {
    assert.throws(() => parseJsonBounded('[1,2,3]', { ...bounds, maxBytes: 6 }), limited('bytes'));
    assert.deepEqual(parseJsonBounded('[1,2,3]', { ...bounds, maxBytes: 7 }), [1, 2, 3]);
  });

  it('input that is not JSON is the code asked for, and the message never quotes the input', () => {
    const secret = 'AKIAIOSFODNN7EXAMPLEsecretvalue';
    for (const text of [`{"key": ${secret}}`, `{"key": "${secret}"`, `["${secret}", }`]) {
      assert.throws(
        () => parseJsonBounded(text, { ...bounds, invalidCode: 'BUNDLE_INVALID' }),
        (error: unknown) => isCustodyError(error, 'BUNDLE_INVALID') && !error.message.includes(secret) && !error.message.includes('secretvalue'),
      );
    }
    assert.throws(() => parseJsonBounded('{', bounds), (error: unknown) => isCustodyError(error, 'PARSE_ERROR'));
  });
});
