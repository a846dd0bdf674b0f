import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../src/audit/index.js';
import { isCustodyError } from '../../src/core/errors.js';

const invalid = (error: unknown): boolean => isCustodyError(error, 'AUDIT_ENTRY_INVALID');

describe('canonicalJson (RFC 8785 JCS)', () => {
  it('sorts members by UTF-16 code units at every depth and writes no whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: null, y: true }], c: 'x' } }), '{"a":{"c":"x","d":[3,{"y":true,"z":null}]},"b":1}');
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FB01 in UTF-16 order (not in code-point order).
    assert.equal(canonicalJson({ '\uFB01': 1, '\u{1F600}': 2, '\u20AC': 3, a: 4, A: 5 }), '{"A":5,"a":4,"€":3,"😀":2,"ﬁ":1}');
    assert.equal(canonicalJson([]), '[]');
    assert.equal(canonicalJson({}), '{}');
  });

  it('writes numbers as ECMAScript does (RFC 8785 §3.2.2.3)', () => {
    const cases: [number, string][] = [[0, '0'], [-0, '0'], [1, '1'], [-1.5, '-1.5'], [100, '100'], [1e21, '1e+21'], [1e20, '100000000000000000000'], [1e-7, '1e-7'], [0.000001, '0.000001'], [0.1, '0.1'], [5e-324, '5e-324'], [Number.MAX_SAFE_INTEGER, '9007199254740991'], [1.7976931348623157e308, '1.7976931348623157e+308']];
    for (const [value, text] of cases) assert.equal(canonicalJson({ n: value }), `{"n":${text}}`, String(value));
  });

  it('escapes only what JSON requires, with lower-case hex, and keeps other characters as they are', () => {
    assert.equal(canonicalJson({ s: '"\\\b\f\n\r\t\u0000\u001f\u007f\u2028é😀/' }), '{"s":"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\u007f\u2028é😀/"}');
  });

  it('drops members whose value is undefined, as JSON does', () => {
    assert.equal(canonicalJson({ a: undefined, b: 2 }), '{"b":2}');
  });

  it('refuses what is not a JSON value, naming where it is', () => {
    class Thing {
      x = 1;
    }
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const refused: [unknown, string][] = [
      [{ n: NaN }, 'NaN'],
      [{ n: Infinity }, 'Infinity'],
      [{ a: [1, undefined] }, 'undefined in an array'],
      [{ b: 10n }, 'bigint'],
      [{ f: () => 1 }, 'function'],
      [{ s: Symbol('x') }, 'symbol'],
      [{ d: new Date(0) }, 'Date'],
      [{ m: new Map() }, 'Map'],
      [{ t: new Thing() }, 'class instance'],
      [{ s: 'a\uD800b' }, 'lone high surrogate'],
      [{ s: '\uDC00' }, 'lone low surrogate'],
      [{ ['k\uD800']: 1 }, 'lone surrogate in a member name'],
      [cyclic, 'cycle'],
    ];
    for (const [value, label] of refused) assert.throws(() => canonicalJson(value), invalid, label);
    const shared = { x: 1 };
    assert.equal(canonicalJson({ a: shared, b: shared }), '{"a":{"x":1},"b":{"x":1}}', 'a value referenced twice is not a cycle');
  });

  it('bounds depth and length', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 64; i++) deep = [deep];
    assert.equal(canonicalJson(deep).length, 64 * 2 + 1);
    assert.throws(() => canonicalJson([deep]), invalid, 'depth 65');
    assert.throws(() => canonicalJson({ s: 'x'.repeat(100) }, { maxLength: 50 }), invalid, 'length');
    assert.throws(() => canonicalJson([1, 2], { maxDepth: 0 }), invalid, 'custom depth');
  });
});
