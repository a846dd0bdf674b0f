// Red-team fixtures (scripts/fixtures/gen_redteam_models.py): every mal-* file must get at least one
// critical or high finding from `custody scan --only models`, and no ben-* file may get one.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileSource } from '../../src/core/byte-source.js';
import type { Finding } from '../../src/core/finding.js';
import { scanBytesOrFile } from './containers-support.js';

const DIR = 'test/.tmp/fixtures/redteam_models';
const files = readdirSync(DIR).filter((f) => f.startsWith('mal-') || f.startsWith('ben-')).sort();
const severe = (f: Finding): boolean => f.severity === 'critical' || f.severity === 'high';

async function scan(name: string): Promise<Finding[]> {
  const source = await FileSource.open(join(DIR, name));
  try {
    return (await scanBytesOrFile(name, source)).findings;
  } finally {
    await source.close();
  }
}

function summary(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.severity} ${f.ruleId}${f.location.member === undefined ? '' : ` [${f.location.member}]`}: ${f.message}`).join('\n');
}

describe('red team: malicious files get a critical or high finding', () => {
  it('has fixtures', () => assert.ok(files.filter((f) => f.startsWith('mal-')).length >= 40));
  for (const name of files.filter((f) => f.startsWith('mal-'))) {
    it(name, async () => {
      const findings = await scan(name);
      assert.ok(findings.some(severe), `no critical/high finding:\n${summary(findings)}`);
      assert.ok(!findings.some((f) => f.ruleId === 'core/scan-error'), summary(findings));
    });
  }
});

describe('red team: benign real-world-shaped files get no critical or high finding', () => {
  it('has fixtures', () => assert.ok(files.filter((f) => f.startsWith('ben-')).length >= 10));
  for (const name of files.filter((f) => f.startsWith('ben-'))) {
    it(name, async () => {
      const findings = await scan(name);
      assert.deepEqual(findings.filter(severe).map((f) => `${f.ruleId}: ${f.message}`), [], summary(findings));
    });
  }
});
