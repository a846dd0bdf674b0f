import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  buildScanAttestation,
  buildTrainingProvenance,
  collectTrainingProvenance,
  createKeySigner,
  digestArtifact,
  generateKeyPair,
  hashArtifact,
  loadPrivateKey,
  loadPublicKey,
  parseImageReference,
  signStatement,
  SLSA_PROVENANCE_V1,
  TEST_RESULT_PREDICATE_TYPE,
  verifyAttestation,
  type SlsaProvenance,
  type TrainingProvenanceInput,
} from '../../src/integrity/index.js';
import { rejectsWithCode, workDir, writeTree } from './helpers.js';

const COMMIT = 'a'.repeat(40);
const IMAGE = `ghcr.io/acme/train:1.2@sha256:${'c'.repeat(64)}`;

function run(): { dir: string; model: string; data: string; lock: string } {
  const dir = writeTree(workDir('attest'), {
    'out/model/config.json': '{"layers": 2}',
    'out/model/weights.safetensors': Buffer.alloc(4096, 3),
    'data/train/part-0.parquet': 'rows',
    'data/train/part-1.parquet': 'more rows',
    'data/eval.csv': 'a,b\n1,2\n',
    'uv.lock': 'version = 1\n',
  });
  return { dir, model: join(dir, 'out/model'), data: join(dir, 'data/train'), lock: join(dir, 'uv.lock') };
}

describe('SLSA provenance for a training run', () => {
  it('records datasets with manifest digests, code, environment, parameters, builder and times', async () => {
    const r = run();
    const statement = await collectTrainingProvenance({
      modelPath: r.model,
      datasets: [
        { name: 'train', path: r.data },
        { name: 'eval', path: join(r.dir, 'data/eval.csv') },
      ],
      source: { repository: 'https://github.com/acme/trainer', commit: COMMIT, entryPoint: 'train.py' },
      lockfilePath: r.lock,
      image: IMAGE,
      parameters: { lr: 0.001, epochs: 3 },
      builder: { id: 'https://github.com/acme/trainer/.github/workflows/train.yml' },
      invocationId: 'run-42',
      startedOn: '2025-03-01T10:00:00Z',
      finishedOn: '2025-03-01T12:30:00Z',
      jobs: 0,
    });
    assert.equal(statement._type, 'https://in-toto.io/Statement/v1');
    assert.equal(statement.predicateType, SLSA_PROVENANCE_V1);
    const modelManifest = await hashArtifact(r.model);
    assert.deepEqual(statement.subject, [{ name: 'model', digest: { sha256: modelManifest.rootDigest }, annotations: { role: 'model', files: 2, bytes: modelManifest.bytes } }]);
    const p: SlsaProvenance = statement.predicate;
    const deps = p.buildDefinition.resolvedDependencies;
    assert.deepEqual(deps[0], { uri: `git+https://github.com/acme/trainer@${COMMIT}`, digest: { gitCommit: COMMIT }, annotations: { role: 'source' } });
    assert.equal(deps[1]?.digest?.['sha256'], (await hashArtifact(r.data)).rootDigest, 'a dataset directory is named by its manifest digest');
    assert.equal(deps[2]?.digest?.['sha256'], createHash('sha256').update('a,b\n1,2\n').digest('hex'), 'a dataset file by its SHA-256');
    assert.deepEqual(deps[3], { name: 'uv.lock', digest: { sha256: createHash('sha256').update('version = 1\n').digest('hex') }, annotations: { role: 'lockfile' } });
    assert.deepEqual(deps[4], { uri: IMAGE, digest: { sha256: 'c'.repeat(64) }, annotations: { role: 'container-image' } });
    assert.deepEqual(p.buildDefinition.externalParameters, { source: { repository: 'https://github.com/acme/trainer', commit: COMMIT, entryPoint: 'train.py' }, datasets: ['train', 'eval'], parameters: { lr: 0.001, epochs: 3 } });
    assert.deepEqual(p.runDetails, { builder: { id: 'https://github.com/acme/trainer/.github/workflows/train.yml' }, metadata: { invocationId: 'run-42', startedOn: '2025-03-01T10:00:00Z', finishedOn: '2025-03-01T12:30:00Z' } });
  });

  it('collects every problem in its input before failing with USAGE', async () => {
    const bad: TrainingProvenanceInput = {
      model: { name: '', digest: { sha256: 'xyz' } },
      datasets: [
        { name: 'd', digest: { sha256: 'a'.repeat(64) } },
        { name: 'd', digest: { sha256: 'a'.repeat(64) } },
      ],
      source: { repository: 'https://x', commit: 'abc123' },
      builder: { id: '' },
      startedOn: '2025-03-01T12:00:00Z',
      finishedOn: 'yesterday',
    };
    const error = await rejectsWithCode(Promise.resolve().then(() => buildTrainingProvenance(bad)), 'USAGE');
    assert.equal((error.details?.['problems'] as unknown[]).length, 6);
    assert.throws(() => parseImageReference('ghcr.io/acme/train:latest'), /pinned by digest/);
    const fine = buildTrainingProvenance({ model: { name: 'm', digest: { sha256: 'b'.repeat(64) } }, builder: { id: 'https://ci' }, startedOn: '2025-03-01T12:00:00+01:00' });
    assert.deepEqual(fine.predicate.buildDefinition.resolvedDependencies, []);
  });

  it('signs as a DSSE bundle; verify checks the signature and that subjects match the artifact on disk', async () => {
    const r = run();
    const pair = generateKeyPair('ed25519');
    const statement = await collectTrainingProvenance({ modelPath: r.model, builder: { id: 'https://ci.example/job' } });
    const bundle = await signStatement(statement, createKeySigner(loadPrivateKey(pair.privateKeyPem)));
    const publicKeys = [loadPublicKey(pair.publicKeyPem)];
    const proof = await verifyAttestation({ bundle, publicKeys, artifacts: [r.model], predicateType: SLSA_PROVENANCE_V1 });
    assert.equal(proof.matched[0]?.subject, 'model');
    assert.equal(proof.signer.keyHint, pair.hint);

    await rejectsWithCode(verifyAttestation({ bundle, publicKeys, predicateType: TEST_RESULT_PREDICATE_TYPE }), 'BUNDLE_INVALID', 'predicate type');
    await rejectsWithCode(verifyAttestation({ bundle, publicKeys: [loadPublicKey(generateKeyPair('ed25519').publicKeyPem)] }), 'KEY_UNTRUSTED', 'other key');
    const edited = JSON.parse(JSON.stringify(bundle)) as typeof bundle;
    const payload = JSON.parse(Buffer.from(edited.dsseEnvelope.payload, 'base64').toString()) as { subject: { digest: { sha256: string } }[] };
    (payload.subject[0] as { digest: { sha256: string } }).digest.sha256 = 'f'.repeat(64);
    edited.dsseEnvelope.payload = Buffer.from(JSON.stringify(payload)).toString('base64');
    await rejectsWithCode(verifyAttestation({ bundle: edited, publicKeys }), 'SIGNATURE_INVALID', 'edited subject');

    await rejectsWithCode(verifyAttestation({ bundle, publicKeys, artifacts: [r.data] }), 'SUBJECT_MISMATCH', 'another artifact');
    appendFileSync(join(r.model, 'config.json'), ' ');
    const mismatch = await rejectsWithCode(verifyAttestation({ bundle, publicKeys, artifacts: [r.model] }), 'SUBJECT_MISMATCH', 'modified model');
    assert.equal((mismatch.details?.['subjects'] as unknown[]).length, 1);
  });

  it('names a file by its SHA-256 and a directory by its manifest digest', async () => {
    const r = run();
    const file = await digestArtifact(r.lock);
    assert.deepEqual(file.digest, { sha256: createHash('sha256').update(readFileSync(r.lock)).digest('hex') });
    assert.equal((await digestArtifact(r.model)).digest.sha256, (await hashArtifact(r.model)).rootDigest);
  });
});

describe('scan results as in-toto test-result attestations', () => {
  const subjects = [{ name: 'model', digest: { sha256: 'd'.repeat(64) } }];
  const summary = { files: 3, scanners: ['models', 'secrets'] };

  it('fails on findings at or above the threshold, warns below it, passes the rest', () => {
    const statement = buildScanAttestation({
      subjects,
      result: { findings: [{ ruleId: 'models/pickle-code', severity: 'critical' }, { ruleId: 'secrets/aws', severity: 'medium' }, { ruleId: 'secrets/aws', severity: 'low' }], summary },
      failOn: 'high',
      rulesRun: ['models/pickle-code', 'secrets/aws', 'secrets/github', 'models/gguf-template'],
      toolVersion: '0.1.0',
    });
    assert.equal(statement.predicateType, TEST_RESULT_PREDICATE_TYPE);
    assert.deepEqual(statement.subject, subjects);
    const p = statement.predicate;
    assert.equal(p.result, 'FAILED');
    assert.deepEqual(p.failedTests, ['models/pickle-code']);
    assert.deepEqual(p.warnedTests, ['secrets/aws']);
    assert.deepEqual(p.passedTests, ['models/gguf-template', 'secrets/github']);
    assert.deepEqual(p.configuration[0]?.annotations?.['bySeverity'], { critical: 1, high: 0, medium: 1, low: 1, info: 0 });
  });

  it('boundaries: a finding exactly at the threshold fails, --fail-on none never fails, no finding passes', () => {
    const at = buildScanAttestation({ subjects, result: { findings: [{ ruleId: 'r/x', severity: 'high' }], summary }, failOn: 'high', toolVersion: '0' });
    assert.equal(at.predicate.result, 'FAILED');
    const below = buildScanAttestation({ subjects, result: { findings: [{ ruleId: 'r/x', severity: 'medium' }], summary }, failOn: 'high', toolVersion: '0' });
    assert.equal(below.predicate.result, 'WARNED');
    const none = buildScanAttestation({ subjects, result: { findings: [{ ruleId: 'r/x', severity: 'critical' }], summary }, failOn: 'none', toolVersion: '0' });
    assert.equal(none.predicate.result, 'WARNED');
    const clean = buildScanAttestation({ subjects, result: { findings: [], summary }, failOn: 'high', rulesRun: ['r/x'], toolVersion: '0' });
    assert.equal(clean.predicate.result, 'PASSED');
    assert.deepEqual(clean.predicate.passedTests, ['r/x']);
    assert.throws(() => buildScanAttestation({ subjects: [], result: { findings: [], summary }, failOn: 'high', toolVersion: '0' }), /at least one subject/);
  });
});
