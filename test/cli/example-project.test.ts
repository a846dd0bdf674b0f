import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import { runScan } from '../../src/scanners/engine.js';

// examples/README.md promises what `npm start` finds in the generated example project; this holds it to that.
describe('the example project', () => {
  it('gives the findings examples/README.md promises for train.py, requirements.txt and the Dockerfile', async () => {
    const made = spawnSync(process.execPath, ['scripts/make-example.mjs'], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const result = await runScan({ paths: ['examples/ml-project'], config: defaultConfig(), jobs: 0 });
    const got = new Set(result.findings.map((f) => `${f.location.path.split('/').pop()} ${f.ruleId} ${f.severity}`));
    for (const expected of [
      'train.py code/torch-load-unsafe high',
      'train.py code/trust-remote-code high',
      'train.py code/hub-revision-unpinned medium',
      'train.py code/pickle-load low',
      'requirements.txt deps/unpinned-requirement medium',
      'Dockerfile config/docker-base-unpinned medium',
      'Dockerfile config/docker-runs-as-root medium',
      'Dockerfile config/docker-context-secrets high',
      'classifier.pkl models/pickle-dangerous-global critical',
      'checkpoint.pt models/pickle-dangerous-global critical',
    ]) {
      assert.ok(got.has(expected), `missing: ${expected}\n${[...got].sort().join('\n')}`);
    }
    assert.equal(result.findings.filter((f) => f.location.path.endsWith('encoder.safetensors')).length, 0);
  });
});
