import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Finding } from '../../src/core/finding.js';
import { renderText } from '../../src/report/text.js';
import type { ScanResult } from '../../src/scanners/engine.js';

function result(findings: Finding[]): ScanResult {
  return { findings, summary: { files: 2, bytes: 2048, findings: findings.length, bySeverity: { critical: 1, high: 1, medium: 0, low: 0, info: 0 }, baselined: 0, durationMs: 5, scanners: ['secrets'] } };
}

const base = { scanner: 'secrets', confidence: 'high', title: 't', remediation: 'r', docs: 'd', fingerprint: 'f', tags: [] } as const;

describe('text report', () => {
  it('groups by file, orders by severity, and names notebook cells, commits and layers', () => {
    const text = renderText(
      result([
        { ...base, ruleId: 'secrets/a', severity: 'high', message: 'first', location: { path: 'n.ipynb', line: 22, column: 3, offset: 400 }, properties: { cell: 1, cellLine: 5, field: 'source' } },
        { ...base, ruleId: 'secrets/b', severity: 'critical', message: 'second', location: { path: 'n.ipynb', line: 30 }, properties: { commit: 'abcdef0123456789', inHead: false } },
        { ...base, ruleId: 'secrets/c', severity: 'critical', message: 'third', location: { path: 'img.tar', member: 'ab12/app/.env', line: 1 }, properties: { layer: 'ab12', deletedInLayer: 3 } },
      ]),
      { color: false, rules: [], toolVersion: '0' },
    );
    assert.ok(text.indexOf('second') < text.indexOf('first'), 'critical before high within a file');
    assert.match(text, /at n\.ipynb:22:3 \(cell 1 line 5\)/);
    assert.match(text, /introduced in abcdef012345, no longer in HEAD/);
    assert.match(text, /img\.tar!ab12\/app\/\.env:1 \(image layer ab12, deleted in layer 3 but still in the image\)/);
    assert.match(text, /3 findings: 1 critical, 1 high/);
    assert.ok(!text.includes('\x1b['), 'no colour when not asked');
  });

  it('colours only when asked', () => {
    const text = renderText(result([{ ...base, ruleId: 'secrets/a', severity: 'high', message: 'm', location: { path: 'a' } }]), { color: true, rules: [], toolVersion: '0' });
    assert.ok(text.includes('\x1b[31m'));
  });
});
