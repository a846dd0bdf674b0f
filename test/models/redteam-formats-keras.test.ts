// Red-team Keras configs: reordered keys, UTF-16 text, leading whitespace, standard-library modules,
// Keras-internal loading helpers, compile_config functions — versus benign configs in the same shapes.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { statSync } from 'node:fs';
import { scanFile } from '../../src/scanners/file-scan.js';
import { describeFindings, isSevere, modelsScanOptions } from './corpus-helpers.js';

const ROOT = 'test/.tmp/fixtures/redteam_formats/keras';
const options = modelsScanOptions();

describe('red team: Keras configs through the models scanner', () => {
  for (const name of readdirSync(ROOT).sort()) {
    it(name, async () => {
      const absPath = resolve(ROOT, name);
      const findings = await scanFile({ displayPath: name, absPath, size: statSync(absPath).size }, options);
      assert.ok(!findings.some((f) => f.ruleId === 'core/scan-error'), describeFindings(findings));
      if (name.startsWith('bad-')) assert.ok(findings.some((f) => isSevere(f) && f.ruleId.startsWith('models/keras-')), describeFindings(findings));
      else assert.deepEqual(findings.filter(isSevere), [], describeFindings(findings));
    });
  }
});
