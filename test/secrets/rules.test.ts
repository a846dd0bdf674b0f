import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { SECRET_RULES, SECRETS_SCANNER_RULES, secretsScanner } from '../../src/scanners/secrets/index.js';
import { scanText } from './helpers.js';

const FAMILIES = new Set([
  'anthropic', 'aws', 'azure', 'cohere', 'comet', 'connection-uri', 'custody', 'databricks', 'gcp', 'generic', 'github', 'gitlab', 'groq',
  'huggingface', 'jwt', 'kaggle', 'langsmith', 'mistral', 'mlflow', 'neptune', 'npm', 'openai', 'pinecone', 'private-key',
  'pypi', 'replicate', 'slack', 'snowflake', 'stripe', 'wandb',
]);

describe('secrets rule registry', () => {
  test('is sorted by id, ids are unique and kebab-case under secrets/', () => {
    const ids = SECRETS_SCANNER_RULES.map((r) => r.id);
    assert.deepEqual(ids, [...ids].sort());
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) assert.match(id, /^secrets\/[a-z0-9]+(?:-[a-z0-9]+)*$/);
    assert.equal(secretsScanner.rules, SECRETS_SCANNER_RULES);
  });

  test('every detecting rule belongs to a known family, one rule file per family', () => {
    for (const rule of SECRET_RULES) assert.ok(FAMILIES.has(rule.family), `${rule.id}: family ${rule.family}`);
    assert.deepEqual(new Set(SECRET_RULES.map((r) => r.family)), FAMILIES);
  });

  test('every rule has metadata, tags and a docs page that names it', () => {
    for (const rule of SECRETS_SCANNER_RULES) {
      assert.ok(rule.title.length > 0 && rule.description.length > 40 && rule.remediation.length > 20, rule.id);
      assert.ok(rule.tags.some((t) => t.startsWith('cwe:')), `${rule.id} has a CWE tag`);
      const page = `docs/rules/${rule.id}.md`;
      assert.ok(existsSync(page), `${page} exists`);
      const text = readFileSync(page, 'utf8');
      assert.ok(text.includes(rule.id), `${page} names ${rule.id}`);
      for (const heading of ['## What it detects', '## Example', '## How to fix', '## Suppress or configure']) assert.ok(text.includes(heading), `${page}: ${heading}`);
    }
    assert.ok(existsSync('docs/secrets.md'));
  });

  test('every detecting rule lists positive and negative examples and the expressions it runs', () => {
    for (const rule of SECRET_RULES) {
      const examples = rule.examples();
      assert.ok(examples.positive.length >= 1, `${rule.id} positives`);
      assert.ok(examples.negative.length >= 2, `${rule.id} negatives`);
      for (const re of rule.patterns) assert.ok(re instanceof RegExp);
      assert.ok(rule.detectors !== undefined || rule.assignment !== undefined, `${rule.id} detects something`);
    }
  });
});

for (const rule of SECRET_RULES) {
  describe(rule.id, () => {
    const { positive, negative } = rule.examples();
    positive.forEach((example, i) => {
      test(`positive ${i + 1} (${example.file ?? 'example.txt'})`, async () => {
        const findings = await scanText(example.text, example.file ?? 'example.txt');
        const mine = findings.filter((f) => f.ruleId === rule.id);
        assert.equal(mine.length, 1, `one ${rule.id} finding, got ${findings.map((f) => f.ruleId).join(', ') || 'none'}`);
        const finding = mine[0]!;
        assert.ok(finding.location.line !== undefined && finding.location.line >= 1);
        assert.ok(finding.evidence !== undefined && finding.evidence.includes('*'), 'evidence is redacted');
      });
    });
    negative.forEach((example, i) => {
      test(`negative ${i + 1} (${example.file ?? 'example.txt'})`, async () => {
        const findings = await scanText(example.text, example.file ?? 'example.txt');
        assert.deepEqual(findings.filter((f) => f.ruleId === rule.id), []);
      });
    });
  });
}
