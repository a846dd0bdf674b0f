// Bounded fuzzing of the Jinja template scanner and the marshal decoder (fixed seed): random template soups
// and mutated code objects never throw, and every reported position lies inside the input.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { scanJinjaTemplate } from '../../src/scanners/models/jinja/index.js';
import { xorshift32 } from '../support/random.js';

const FRAGMENTS = [
  '{{', '}}', '{%', '%}', '{#', '#}', '{%-', '-%}', '{{-', '-}}', ' ', '\n', "'", '"', '\\', '\\x5f', '\\u005f', '__', '_', '.', '|', '[', ']', '(', ')',
  '{', '}', '~', '+', '*', ',', '=', 'attr', '__class__', '__globals__', 'cycler', 'self', 'namespace', 'for', 'in', 'set', 'raw', 'endraw', 'include',
  'messages', 'message', 'content', '0', '95', '%c', 'format', 'join', 'string', 'é', '\u2028', '\0',
];

const ROOT = 'test/.tmp/fixtures/formats_b/templates';

describe('fuzz: Jinja template scanner', { timeout: 120_000 }, () => {
  it('2,000 random template soups never throw and report positions inside the template', () => {
    const random = xorshift32(0x1234);
    for (let i = 0; i < 2000; i++) {
      const parts: string[] = [];
      const n = 1 + Math.floor(random() * 60);
      for (let k = 0; k < n; k++) parts.push(FRAGMENTS[Math.floor(random() * FRAGMENTS.length)] as string);
      const text = parts.join('');
      const result = scanJinjaTemplate(text);
      const lines = text.split('\n').length;
      for (const issue of result.issues) {
        assert.ok(issue.index >= 0 && issue.index < text.length, `case ${i}`);
        assert.ok(issue.line >= 1 && issue.line <= lines && issue.column >= 1, `case ${i}`);
      }
      if (result.error) assert.ok(result.error.line >= 1 && result.error.line <= lines, `case ${i}`);
    }
  });

  it('mutated real templates never throw', () => {
    const random = xorshift32(0x9876);
    const seeds = ['benign', 'malicious'].flatMap((k) => readdirSync(join(ROOT, k)).map((n) => readFileSync(join(ROOT, k, n), 'utf8')));
    for (let i = 0; i < 1000; i++) {
      const seed = seeds[i % seeds.length] as string;
      const at = Math.floor(random() * seed.length);
      const cut = Math.floor(random() * 8);
      const insert = FRAGMENTS[Math.floor(random() * FRAGMENTS.length)] as string;
      assert.doesNotThrow(() => scanJinjaTemplate(seed.slice(0, at) + insert + seed.slice(at + cut)), `case ${i}`);
    }
  });

  it('handles pathological inputs in linear time: long strings, deep brackets, many tags', () => {
    assert.doesNotThrow(() => scanJinjaTemplate(`{{ '${'a'.repeat(200_000)}' }}`));
    assert.doesNotThrow(() => scanJinjaTemplate(`{{ ${'('.repeat(100_000)} }}`));
    assert.doesNotThrow(() => scanJinjaTemplate('{{ x }}'.repeat(50_000)));
    assert.doesNotThrow(() => scanJinjaTemplate('{'.repeat(100_000)));
  });
});
