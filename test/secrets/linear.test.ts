import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectSecrets } from '../../src/scanners/secrets/detect.js';
import { ASSIGN_PATTERNS } from '../../src/scanners/secrets/assign.js';
import { CONNSTRING_PATTERNS } from '../../src/scanners/secrets/connstring.js';
import { ASSIGNMENT_KEYWORDS, SECRET_RULES } from '../../src/scanners/secrets/registry.js';
import type { TextKind } from '../../src/scanners/secrets/types.js';

/**
 * Every rule expression must run in time linear in its input: bounded quantifiers, no nested
 * quantifiers over overlapping classes. These inputs are the classic triggers of catastrophic
 * backtracking (long runs of characters a quantifier accepts, right after each keyword, and keywords
 * repeated back to back); the test has no timing assertion, only a generous deadline that a
 * backtracking expression would blow by orders of magnitude.
 */

const N = 20_000;
const RUNS = ['a', 'A', '1', 'f', '-', '_', '/', '+', '=', '.', ' ', '"', ':', '@', '\\', 'eyJ', 'ab1-', 'A2_/'];

function keywords(): string[] {
  const set = new Set<string>(ASSIGNMENT_KEYWORDS);
  for (const rule of SECRET_RULES) for (const d of rule.detectors ?? []) for (const k of d.keywords) set.add(k);
  return [...set].sort();
}

function adversarial(keyword: string): string[] {
  const out = [keyword.repeat(Math.ceil(N / keyword.length)), `${keyword}=`.repeat(Math.ceil(N / (keyword.length + 1))), `"${keyword}": "`.repeat(Math.ceil(N / (keyword.length + 5)))];
  for (const run of RUNS) out.push(keyword + run.repeat(Math.ceil(N / run.length)));
  return out;
}

test('every detector finishes on adversarial input around each keyword', { timeout: 120_000 }, () => {
  const kinds: TextKind[] = ['code', 'yaml', 'netrc'];
  let docs = 0;
  for (const keyword of keywords()) {
    for (const text of adversarial(keyword)) {
      for (const kind of kinds) {
        const outcome = detectSecrets({ text, kind, baseName: 'x' }, Number.POSITIVE_INFINITY);
        assert.equal(outcome.stoppedAt, undefined);
        docs++;
      }
    }
  }
  assert.ok(docs > 1000);
});

test('every rule expression matches adversarial runs without backtracking blow-up', { timeout: 120_000 }, () => {
  const long = RUNS.map((r) => r.repeat(Math.ceil(N / r.length)));
  const shared = { patterns: [...ASSIGN_PATTERNS, ...CONNSTRING_PATTERNS] };
  for (const rule of [...SECRET_RULES, shared]) {
    for (const pattern of rule.patterns) {
      for (const keyword of keywords()) {
        for (const run of long.slice(0, 8)) {
          const text = keyword + run;
          const re = new RegExp(pattern.source, pattern.flags.replace('g', ''));
          if (re.sticky) {
            for (const at of [0, 1, keyword.length]) {
              re.lastIndex = at;
              re.exec(text);
            }
          } else re.test(text);
        }
      }
    }
  }
});

test('mixed adversarial documents (URIs, PEM markers, assignments) finish', { timeout: 120_000 }, () => {
  const pieces = [
    'postgres://u:' + 'p'.repeat(N) + '@',
    '://'.repeat(N / 3),
    'a://b:c@'.repeat(N / 8),
    '-----BEGIN RSA PRIVATE KEY-----\n' + 'A'.repeat(N),
    '-----BEGIN PRIVATE KEY-----'.repeat(N / 27),
    'service_account '.repeat(N / 16) + '-----BEGIN PRIVATE KEY-----'.repeat(50),
    'api_key = "' + 'x\\"'.repeat(N / 3),
    'password: ' + '\\"'.repeat(N / 2),
    'sig='.repeat(N / 4),
    '%26token%3D'.repeat(N / 11),
    '%26token%3D' + 'a%2F'.repeat(N / 4),
    '?sv=1&se=2&sig=' + '%2B'.repeat(N / 3),
    'wandb login --x ' + '-y '.repeat(N / 3),
    'cohere.Client("' + 'a'.repeat(N),
    '<password>'.repeat(N / 10),
    '('.repeat(N) + 'key="' + 'a'.repeat(40) + '"',
    '{'.repeat(N) + '"password": "' + 'Zq9'.repeat(5) + '"',
  ];
  for (const text of pieces) for (const kind of ['code', 'yaml', 'text', 'json'] as TextKind[]) detectSecrets({ text, kind, baseName: 'x' }, Number.POSITIVE_INFINITY);
});
