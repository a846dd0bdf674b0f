import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildAutomaton, scanKeywordStarts } from '../../src/scanners/secrets/automaton.js';
import { KEYWORD_INDEX } from '../../src/scanners/secrets/registry.js';

/** Every start of every keyword, found the slow way (case-insensitive indexOf at each position). */
function naiveStarts(keywords: readonly string[], text: string): number[] {
  const lower = text.toLowerCase();
  const out: number[] = [];
  for (let i = 0; i < lower.length; i++) if (keywords.some((k) => lower.startsWith(k, i))) out.push(i);
  return out;
}

function scanStarts(keywords: readonly string[], text: string): number[] {
  const out: number[] = [];
  assert.equal(
    scanKeywordStarts(buildAutomaton(keywords), text, (p) => {
      out.push(p);
      return true;
    }),
    undefined,
  );
  return out;
}

test('the automaton finds every keyword start, overlapping and nested ones included, in order and once', () => {
  const keywords = ['key', 'api_key', 'pass', 'password', 'sk-', 'sk-ant-', 'token', 'ken', 'a'];
  const texts = ['', 'nothing here', 'API_KEY=x password=y PASS', 'sk-ant-api03 sk-x', 'tokentokenken', 'aaaa', 'passwordpassword', 'Ключ key é PASSWORD'];
  for (const text of texts) assert.deepEqual(scanStarts(keywords, text), naiveStarts(keywords, text), text);
});

test('the automaton agrees with a naive search on random text built from the real keywords', () => {
  const words = [...new Set([...KEYWORD_INDEX.byFirst.values()].flat().map((e) => e.lower))];
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const alphabet = 'aA_-=:" \n1xyzSKPk';
  for (let round = 0; round < 20; round++) {
    let text = '';
    while (text.length < 4000) {
      const w = words[rnd(words.length)]!;
      text += rnd(2) === 0 ? w.toUpperCase().slice(0, 1 + rnd(w.length)) : w;
      for (let j = rnd(4); j > 0; j--) text += alphabet[rnd(alphabet.length)];
    }
    assert.deepEqual(scanStarts(words, text), naiveStarts(words, text));
  }
});

test('the visitor stops the scan at the position it refuses', () => {
  const seen: number[] = [];
  const stopped = scanKeywordStarts(buildAutomaton(['ab']), 'ab ab ab ab', (p) => {
    seen.push(p);
    return seen.length < 2;
  });
  assert.equal(stopped, 3);
  assert.deepEqual(seen, [0, 3]);
});
