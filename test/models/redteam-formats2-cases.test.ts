// Red team, part 2: TensorFlow, ONNX, GGUF, safetensors and Hugging Face cases written by
// scripts/fixtures/gen_redteam_formats2.py. Every case is a directory scanned as `custody scan --only
// models` would: `bad-*` must get a critical or high finding, `ok-*` must get none, and no case may
// end in core/scan-error.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runScan } from '../../src/scanners/engine.js';
import { describeFindings, isSevere } from './corpus-helpers.js';

const ROOT = 'test/.tmp/fixtures/redteam_formats2';

for (const format of readdirSync(ROOT).filter((name) => !name.startsWith('.')).sort()) {
  describe(`red team 2: ${format}`, () => {
    for (const name of readdirSync(join(ROOT, format)).sort()) {
      it(name, async () => {
        const { findings } = await runScan({ paths: [join(ROOT, format, name)], only: ['models'], jobs: 0 });
        assert.ok(!findings.some((f) => f.ruleId === 'core/scan-error'), describeFindings(findings));
        if (name.startsWith('bad-')) assert.ok(findings.some(isSevere), describeFindings(findings));
        else assert.deepEqual(findings.filter(isSevere), [], describeFindings(findings));
      });
    }
  });
}
