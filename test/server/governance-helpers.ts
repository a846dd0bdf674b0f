import assert from 'node:assert/strict';
import { signStatement } from '../../src/integrity/attest.js';
import { serializeBundle, type SigstoreBundle } from '../../src/integrity/bundle.js';
import { generateKeyPair, loadPrivateKey, type GeneratedKeyPair } from '../../src/integrity/keys.js';
import { signArtifact } from '../../src/integrity/oms.js';
import { buildTrainingProvenance } from '../../src/integrity/provenance.js';
import { createKeySigner } from '../../src/integrity/signer.js';
import { buildEvaluationStatement } from '../../src/registry/evaluation.js';
import { pushDir, workDir, writeTree, type TestRegistry } from './helpers.js';

/** A project with people in every role, two trusted keys (owned by nobody) and one untrusted key. */
export interface GovFixture {
  reg: TestRegistry;
  tokens: Record<string, string>;
  keys: { k1: GeneratedKeyPair; k2: GeneratedKeyPair; stranger: GeneratedKeyPair };
}

export const PEOPLE = { alice: 'contributor', bob: 'approver', carol: 'approver', erin: 'approver', dave: 'admin', vic: 'viewer' } as const;

let counter = 0;

export async function setUpGovernance(reg: TestRegistry, project: string): Promise<GovFixture> {
  const admin = reg.adminToken;
  const ok = async (method: string, url: string, body?: unknown, token = admin): Promise<Record<string, unknown>> => {
    const r = await reg.call(method, url, { token, ...(body === undefined ? {} : { body }) });
    assert.ok(r.statusCode < 300, `${method} ${url}: ${r.statusCode} ${r.body}`);
    return r.json() as Record<string, unknown>;
  };
  await ok('POST', '/v1/projects', { name: project });
  const tokens: Record<string, string> = { sadmin: admin };
  for (const [name, role] of Object.entries(PEOPLE)) {
    const account = `${name}-${project}`;
    await ok('POST', '/v1/accounts', { name: account, kind: 'user' });
    await ok('PUT', `/v1/projects/${project}/members/${account}`, { role });
    tokens[name] = (await ok('POST', '/v1/tokens', { account, ttlSeconds: 3600 }))['token'] as string;
  }
  const trainer = `ci-${project}`;
  await ok('POST', '/v1/accounts', { name: trainer, kind: 'service' });
  await ok('PUT', `/v1/projects/${project}/members/${trainer}`, { role: 'trainer' });
  tokens['trainer'] = (await ok('POST', '/v1/tokens', { account: trainer, ttlSeconds: 3600 }))['token'] as string;
  const keys = { k1: generateKeyPair('p256'), k2: generateKeyPair('ed25519'), stranger: generateKeyPair('p256') };
  await ok('POST', `/v1/projects/${project}/keys`, { pem: keys.k1.publicKeyPem });
  await ok('POST', `/v1/projects/${project}/keys`, { pem: keys.k2.publicKeyPem });
  return { reg, tokens, keys };
}

export const signer = (pair: GeneratedKeyPair) => createKeySigner(loadPrivateKey(pair.privateKeyPem));

/** Pushes a fresh model directory signed with `key` (unless null) as `token`; returns its version id. */
export async function pushModel(f: GovFixture, project: string, name: string, options: { token?: string; key?: GeneratedKeyPair | null; files?: Record<string, string | Buffer> } = {}): Promise<string> {
  counter += 1;
  const dir = writeTree(workDir('gov-model'), options.files ?? { 'weights.txt': `weights ${counter} ${Math.random()}`, 'config.json': '{"layers": 2}' });
  const key = options.key === undefined ? f.keys.k1 : options.key;
  const extra = key === null ? {} : { signature: (await signArtifact(dir, { signer: signer(key), jobs: 0 })).bundle };
  return pushDir(f.reg, options.token ?? f.tokens['alice'] ?? '', project, name, dir, 'models', extra);
}

export async function pushDataset(f: GovFixture, project: string, name: string, key: GeneratedKeyPair | null = null): Promise<string> {
  counter += 1;
  const dir = writeTree(workDir('gov-data'), { 'train.csv': `x,y\n${counter},${Math.random()}\n` });
  const extra = key === null ? {} : { signature: (await signArtifact(dir, { signer: signer(key), jobs: 0 })).bundle };
  return pushDir(f.reg, f.reg.adminToken, project, name, dir, 'datasets', extra);
}

export async function attach(f: GovFixture, project: string, name: string, version: string, bundle: SigstoreBundle, token = f.tokens['alice'] ?? ''): Promise<{ verified: boolean; error: { code: string } | null }> {
  const r = await f.reg.call('POST', `/v1/projects/${project}/models/${name}/versions/${version}/attestations`, { token, body: { bundle: JSON.parse(serializeBundle(bundle)) as unknown } });
  assert.equal(r.statusCode, 201, r.body);
  return r.json() as { verified: boolean; error: { code: string } | null };
}

export function provenance(name: string, version: string, options: { builder?: string; datasets?: { name: string; digest: string }[] } = {}) {
  return buildTrainingProvenance({
    model: { name, digest: { sha256: version } },
    datasets: (options.datasets ?? []).map((d) => ({ name: d.name, digest: { sha256: d.digest } })),
    source: { repository: 'https://git.example/ml/train', commit: 'a'.repeat(40) },
    builder: { id: options.builder ?? 'https://ci.example/train@v1' },
  });
}

export function evaluation(name: string, version: string, metrics: Record<string, number>) {
  return buildEvaluationStatement({ name, digest: { sha256: version } }, { metrics });
}

export { signStatement };
