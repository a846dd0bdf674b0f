// Every Lambda layer of a legacy Keras HDF5 model is reported, whatever form its function takes (source text, base64
// of anything, bytecode, a code object, a number, a named or registered function, nothing at all). Fixtures:
// scripts/fixtures/gen_keras_lambda_forms.mjs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { modelsScanner } from '../../src/scanners/models/index.js';

const ROOT = 'test/.tmp/fixtures/keras_lambda_forms';
const manifest = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8')) as Record<string, { severity: string | null }>;

// One scan of the whole folder (each HDF5 file is read in a worker of its own).
let scanned: Promise<Finding[]> | undefined;
async function scan(rel: string): Promise<Finding[]> {
  scanned ??= runScan({ paths: [ROOT], only: ['models'] }).then((r) => r.findings);
  return (await scanned).filter((f) => f.location.path.endsWith(rel));
}
const show = (findings: readonly Finding[]): string => findings.map((f) => `${f.severity} ${f.ruleId}: ${f.message}`).join('\n');

describe('Keras HDF5 Lambda layers in every form', () => {
  for (const [file, { severity }] of Object.entries(manifest)) {
    it(`${file} → ${severity ?? 'no finding'}`, async () => {
      const findings = await scan(file);
      if (severity === null) {
        assert.deepEqual(findings.map((f) => f.ruleId), [], show(findings));
        return;
      }
      const lambda = findings.filter((f) => f.ruleId === 'models/keras-lambda-layer');
      assert.equal(lambda.length, 1, show(findings));
      assert.equal(lambda[0]?.severity, severity, show(findings));
    });
  }
});

describe('Keras 3 configs: Lambda layers in every form', () => {
  it('reports a Lambda whose function is source text in a config.json, and nothing for a config without Lambda', async () => {
    const config = (layer: unknown): Buffer =>
      Buffer.from(JSON.stringify({ module: 'keras', class_name: 'Sequential', config: { name: 's', layers: [{ module: 'keras.layers', class_name: 'Dense', config: { name: 'd', units: 2 }, registered_name: null }, ...(layer === undefined ? [] : [layer])] }, registered_name: null }));
    const scan = (bytes: Buffer): Promise<Finding[]> => scanSource('config.json', new BufferSource(bytes), { scanners: [modelsScanner], config: defaultConfig(), knownRuleIds: new Set(modelsScanner.rules.map((r) => r.id)) });
    const source = await scan(config({ module: 'keras.layers', class_name: 'Lambda', config: { name: 'l', function: 'lambda x: __import__("os").system("id")' }, registered_name: null }));
    assert.deepEqual(source.map((f) => `${f.ruleId}:${f.severity}`), ['models/keras-lambda-layer:critical'], show(source));
    const reference = await scan(config({ module: 'keras.layers', class_name: 'Lambda', config: { name: 'l', function: { module: 'keras.activations', class_name: 'function', config: 'relu', registered_name: 'function' } }, registered_name: null }));
    assert.deepEqual(reference.map((f) => `${f.ruleId}:${f.severity}`), ['models/keras-lambda-layer:low'], show(reference));
    assert.deepEqual(await scan(config(undefined)), []);
  });
});
