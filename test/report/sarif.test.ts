import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Finding } from '../../src/core/finding.js';
import { renderSarif } from '../../src/report/sarif.js';
import type { ScanResult } from '../../src/scanners/engine.js';

function finding(path: string, extra: Partial<Finding> = {}): Finding {
  return { ruleId: 'models/pickle-dangerous-global', scanner: 'models', severity: 'critical', confidence: 'high', title: 't', message: 'm', location: { path }, remediation: 'r', docs: 'd', fingerprint: '0123456789abcdef0123456789abcdef', tags: ['cwe:502'], ...extra };
}

function render(findings: Finding[]): { runs: [{ results: { level: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region?: Record<string, number> }; logicalLocations?: { fullyQualifiedName: string }[] }[] }[] }] } {
  const result = { findings, summary: { files: 1, bytes: 1, findings: findings.length, bySeverity: { critical: 0, high: 0, medium: 0, low: 0, info: 0 }, baselined: 0, durationMs: 0, scanners: ['models'] } } satisfies ScanResult;
  return JSON.parse(renderSarif(result, { color: false, rules: [], toolVersion: '0.0.0' })) as ReturnType<typeof render>;
}

describe('SARIF locations', () => {
  it('keeps relative paths relative and turns absolute ones into file: URIs, percent-encoded', () => {
    const log = render([finding('./src/a b.pkl'), finding('/tmp/x.pkl'), finding('models/m.pt')]);
    assert.deepEqual(log.runs[0].results.map((r) => r.locations[0]?.physicalLocation.artifactLocation.uri), ['src/a%20b.pkl', 'file:///tmp/x.pkl', 'models/m.pt']);
  });

  it('maps severities to levels and members to logical locations', () => {
    const log = render([finding('m.pt', { severity: 'medium', location: { path: 'm.pt', member: 'archive/data.pkl', offset: 12 } }), finding('a.py', { severity: 'low', location: { path: 'a.py', line: 3, column: 2 } })]);
    const [member, line] = log.runs[0].results;
    assert.equal(member?.level, 'warning');
    assert.equal(member?.locations[0]?.logicalLocations?.[0]?.fullyQualifiedName, 'm.pt!archive/data.pkl');
    assert.equal(member?.locations[0]?.physicalLocation.region, undefined, 'a byte offset inside a member is not an offset in the file');
    assert.equal(line?.level, 'note');
    assert.deepEqual(line?.locations[0]?.physicalLocation.region, { startLine: 3, startColumn: 2 });
  });
});
