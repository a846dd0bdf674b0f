// Red team, part 2: legacy Keras HDF5 files written by scripts/fixtures/gen_keras_h5.mjs (redteam/):
// Lambda layers deep in wrappers and nested models, configs stored as bytes or with a byte order mark,
// functions from os in the training config — versus a Keras 3 weights file and a Keras 2.13 CNN.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runScan } from '../../src/scanners/engine.js';
import { describeFindings, isSevere } from './corpus-helpers.js';

const ROOT = 'test/.tmp/fixtures/keras_h5/redteam';

for (const kind of ['bad', 'good'] as const) {
  describe(`red team 2: Keras HDF5 (${kind})`, () => {
    for (const name of readdirSync(join(ROOT, kind)).sort()) {
      it(name, async () => {
        const { findings } = await runScan({ paths: [join(ROOT, kind, name)], only: ['models'], jobs: 0 });
        assert.ok(!findings.some((f) => f.ruleId === 'core/scan-error'), describeFindings(findings));
        if (kind === 'bad') assert.ok(findings.some(isSevere), describeFindings(findings));
        else assert.deepEqual(findings, [], describeFindings(findings));
      });
    }
  });
}
