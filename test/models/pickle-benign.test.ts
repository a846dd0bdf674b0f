import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runScan } from '../../src/scanners/engine.js';

const BENIGN = 'test/.tmp/fixtures/pickle_unit/benign';

describe('benign pickles (protocols 0-5, stdlib, numpy, PyTorch, scikit-learn and joblib shapes)', () => {
  it('produce no findings at all through the whole engine', async () => {
    const files = readdirSync(BENIGN);
    assert.ok(files.length >= 80, `only ${files.length} benign fixtures`);
    for (const proto of [0, 1, 2, 3, 4, 5]) assert.ok(files.some((f) => f.endsWith(`-p${proto}.pkl`)), `no protocol ${proto} fixture`);
    const result = await runScan({ paths: [BENIGN], only: ['models'], jobs: 0 });
    assert.equal(result.summary.files, files.length);
    const lines = result.findings.map((f) => `${f.location.path} ${f.ruleId} ${f.evidence ?? f.message}`);
    assert.deepEqual(lines, []);
  });

  it('joblib dumps are read through their array bytes to the end', async () => {
    const result = await runScan({ paths: [join(BENIGN, 'joblib-p4.pkl'), join(BENIGN, 'joblib-noalign-p2.pkl')], only: ['models'], jobs: 0 });
    assert.equal(result.summary.files, 2);
    assert.deepEqual(result.findings, []);
  });
});
