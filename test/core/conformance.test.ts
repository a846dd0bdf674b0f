import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '../../src/core/errors.js';
import { SEVERITIES } from '../../src/core/severity.js';
import { SCANNERS, allRules } from '../../src/scanners/index.js';
import { MODEL_FORMATS } from '../../src/scanners/models/index.js';

/** Ties rule metadata, docs and registries together (in the spirit of typescript-eslint's conformance tests). */
describe('conformance', () => {
  const rules = allRules();

  it('gives every rule a kebab-case id under its scanner, unique', () => {
    const ids = rules.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'duplicate rule ids');
    for (const rule of rules) {
      assert.match(rule.id, /^[a-z]+\/[a-z0-9]+(-[a-z0-9]+)*$/, rule.id);
      assert.equal(rule.scanner, rule.id.split('/')[0]);
      assert.ok(SEVERITIES.includes(rule.severity), rule.id);
      assert.ok(rule.title.length > 0 && rule.description.length > 20 && rule.remediation.length > 10, `${rule.id} needs title, description and remediation`);
      assert.ok(Object.keys(rule.messages).length > 0, `${rule.id} has no messages`);
    }
  });

  it('has a docs page for every rule', () => {
    for (const rule of rules) {
      const path = `docs/rules/${rule.id}.md`;
      assert.ok(existsSync(path), `missing ${path}`);
      const text = readFileSync(path, 'utf8');
      assert.ok(text.includes(rule.id), `${path} does not name its rule id`);
    }
  });

  it('keeps registries sorted by name', () => {
    const scanners = SCANNERS.map((s) => s.name);
    assert.deepEqual(scanners, [...scanners].sort());
    const formats = MODEL_FORMATS.map((f) => f.name);
    assert.deepEqual(formats, [...formats].sort());
  });

  it('documents every error code in docs/errors.md', () => {
    const text = readFileSync('docs/errors.md', 'utf8');
    for (const code of Object.keys(ERROR_CODES)) assert.ok(text.includes(`\`${code}\``), `docs/errors.md is missing ${code}`);
  });
});
