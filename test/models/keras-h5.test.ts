// Legacy Keras HDF5: fixtures written with h5wasm by scripts/fixtures/gen_keras_h5.mjs (good/ → no
// finding, bad/ → high or critical); members of containers go through a temporary file.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { findHdf5Signature } from '../../src/scanners/models/formats/keras-h5.js';
import { modelsScanner } from '../../src/scanners/models/index.js';
import { describeMarshalledCode } from '../../src/scanners/models/python-marshal/index.js';

const ROOT = 'test/.tmp/fixtures/keras_h5';

async function scanDir(dir: string): Promise<Map<string, Finding[]>> {
  const result = await runScan({ paths: [dir], only: ['models'], jobs: 0 });
  const byFile = new Map<string, Finding[]>();
  for (const name of readdirSync(dir)) byFile.set(name, []);
  for (const f of result.findings) byFile.get(f.location.path.split('/').pop() as string)?.push(f);
  return byFile;
}

const severe = (findings: readonly Finding[]): Finding[] => findings.filter((f) => f.severity === 'critical' || f.severity === 'high');

describe('Keras HDF5 format', () => {
  it('finds the HDF5 signature at 0 and after a user block, and nowhere else', () => {
    const sig = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(findHdf5Signature(Buffer.concat([sig, Buffer.alloc(100)])), 0);
    assert.equal(findHdf5Signature(Buffer.concat([Buffer.alloc(1024), sig])), 1024);
    assert.equal(findHdf5Signature(Buffer.concat([Buffer.alloc(1000), sig, Buffer.alloc(100)])), -1);
    assert.equal(findHdf5Signature(sig.subarray(0, 7)), -1);
  });

  it('passes models without Lambda layers, weights-only files, plain HDF5 data and user-block files', async () => {
    const byFile = await scanDir(join(ROOT, 'good'));
    assert.ok(byFile.size >= 4);
    for (const [name, findings] of byFile) assert.deepEqual(findings.map((f) => f.message), [], name);
  });

  it('reports Lambda layers, garbled configs and unreadable files at high or critical', async () => {
    const byFile = await scanDir(join(ROOT, 'bad'));
    const expected: Record<string, string> = {
      'lambda_os_system.h5': 'models/keras-lambda-layer',
      'lambda_exec.h5': 'models/keras-lambda-layer',
      'lambda_benign_code.h5': 'models/keras-lambda-layer',
      'lambda_undecodable.h5': 'models/keras-lambda-layer',
      'config_not_json.h5': 'models/keras-h5-config-invalid',
      'config_not_object.h5': 'models/keras-h5-config-invalid',
      'training_config_garbled.h5': 'models/keras-h5-config-invalid',
      'truncated.h5': 'models/keras-h5-unreadable',
      'signature_then_garbage.h5': 'models/keras-h5-unreadable',
    };
    assert.deepEqual([...byFile.keys()].sort(), Object.keys(expected).sort());
    for (const [name, findings] of byFile) assert.ok(severe(findings).some((f) => f.ruleId === expected[name]), `${name}: ${findings.map((f) => f.ruleId).join(', ')}`);
    const lambda = byFile.get('lambda_os_system.h5')?.find((f) => f.ruleId === 'models/keras-lambda-layer');
    assert.equal(lambda?.severity, 'critical');
    assert.match(lambda?.evidence ?? '', /__import__/);
    assert.match(lambda?.evidence ?? '', /system/);
  });

  it('decodes the Lambda bytecode Python wrote into the names it calls', () => {
    const code = JSON.parse(readFileSync(join(ROOT, 'lambda_code.json'), 'utf8')) as Record<string, string>;
    const names = describeMarshalledCode(Buffer.from(code['os_system'] ?? '', 'base64')).names;
    assert.deepEqual(names, ['__import__', 'system']);
  });

  it('reads an HDF5 member of a container through a temporary file', async () => {
    const bytes = readFileSync(join(ROOT, 'bad', 'lambda_exec.h5'));
    const config = defaultConfig();
    const findings = await scanSource('bundle.zip', new BufferSource(bytes), { scanners: [modelsScanner], config, knownRuleIds: new Set() });
    assert.ok(findings.some((f) => f.ruleId === 'models/keras-lambda-layer' && f.severity === 'critical'));
  });

  it('reports a member larger than limits.maxMemberBytes instead of reading it', async () => {
    const bytes = readFileSync(join(ROOT, 'good', 'dense_model.h5'));
    const config = defaultConfig();
    config.limits.maxMemberBytes = 1024;
    const findings = await scanSource('bundle.zip', new BufferSource(bytes), { scanners: [modelsScanner], config, knownRuleIds: new Set() });
    assert.ok(findings.some((f) => f.ruleId === 'models/keras-h5-unreadable' && f.severity === 'high'), findings.map((f) => f.ruleId).join());
  });
});
