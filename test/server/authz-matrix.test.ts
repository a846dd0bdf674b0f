import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair, loadPrivateKey } from '../../src/integrity/keys.js';
import { signStatement } from '../../src/integrity/attest.js';
import { createKeySigner } from '../../src/integrity/signer.js';
import { buildStatement } from '../../src/integrity/statement.js';
import { generateToken } from '../../src/registry/tokens.js';
import type { KyselyMetadataStore } from '../../src/store/kysely-store.js';
import { manifestOf, pushDir, startTestRegistry, workDir, writeTree, type TestRegistry } from './helpers.js';

/**
 * Every route × every role × own/other project × no/malformed/unknown/expired/revoked token: the
 * expected allow or deny holds (expectations written out here, independently of authorize()), and
 * every request — every denial in particular — is in the audit log with the decision.
 */

const PRINCIPALS = ['viewer', 'contributor', 'trainer', 'approver', 'padmin', 'sadmin'] as const;
type Principal = (typeof PRINCIPALS)[number];
const BAD_TOKENS = ['none', 'malformed', 'unknown', 'expired', 'revoked'] as const;

const VIEWERS: readonly Principal[] = ['viewer', 'contributor', 'approver', 'padmin', 'sadmin'];
const PUSHERS: readonly Principal[] = ['contributor', 'trainer', 'padmin', 'sadmin'];
const NON_TRAINER_PUSHERS: readonly Principal[] = ['contributor', 'padmin', 'sadmin'];
const ADMINS: readonly Principal[] = ['padmin', 'sadmin'];
const SERVER: readonly Principal[] = ['sadmin'];
const ALL: readonly Principal[] = PRINCIPALS;
const NOBODY: readonly Principal[] = [];

interface Fixture {
  reg: TestRegistry;
  tokens: Record<Principal, string>;
  bad: Record<(typeof BAD_TOKENS)[number], string | undefined>;
  versions: Record<'own' | 'other', { model: string; dataset: string }>;
  freshManifest: unknown;
  attestation: unknown;
  pem: string;
  foreignUpload: string;
}

interface Route {
  name: string;
  method: string;
  /** Whether the route names a project (then it is tried on the caller's own project and another). */
  project: boolean;
  /** Who may, in their own project (or anywhere, for routes without one); in another project only server admins may. */
  allow: readonly Principal[];
  /** A denial answers 404 instead of 403 (uploads are private to their starter). */
  denyStatus?: number;
  build(f: Fixture, project: 'own' | 'other', principal: Principal | 'anonymous'): Promise<{ url: string; body?: unknown; payload?: Buffer; headers?: Record<string, string> }> | { url: string; body?: unknown; payload?: Buffer; headers?: Record<string, string> };
}

let counter = 0;
const unique = (prefix: string): string => `${prefix}-${++counter}`;

const ROUTES: Route[] = [
  { name: 'whoami', method: 'GET', project: false, allow: ALL, build: () => ({ url: '/v1/whoami' }) },
  { name: 'list projects', method: 'GET', project: false, allow: ALL, build: () => ({ url: '/v1/projects' }) },
  { name: 'create project', method: 'POST', project: false, allow: SERVER, build: () => ({ url: '/v1/projects', body: { name: unique('p') } }) },
  { name: 'create account', method: 'POST', project: false, allow: SERVER, build: () => ({ url: '/v1/accounts', body: { name: unique('acct'), kind: 'service' } }) },
  { name: 'list accounts', method: 'GET', project: false, allow: SERVER, build: () => ({ url: '/v1/accounts' }) },
  { name: 'own token', method: 'POST', project: false, allow: ALL, build: (_f, _p, who) => ({ url: '/v1/tokens', body: { account: who === 'anonymous' ? 'viewer' : who, ttlSeconds: 60 } }) },
  { name: 'list own tokens', method: 'GET', project: false, allow: ALL, build: () => ({ url: '/v1/tokens' }) },
  { name: "list an account's tokens", method: 'GET', project: false, allow: SERVER, build: () => ({ url: '/v1/tokens?account=svc' }) },
  { name: 'audit key', method: 'GET', project: false, allow: ALL, build: () => ({ url: '/v1/audit/key' }) },
  { name: 'audit checkpoint', method: 'GET', project: false, allow: ALL, build: () => ({ url: '/v1/audit/checkpoint' }) },
  { name: 'audit consistency', method: 'GET', project: false, allow: ALL, build: () => ({ url: '/v1/audit/consistency?from=1&to=2' }) },
  { name: 'audit inclusion', method: 'GET', project: false, allow: SERVER, build: () => ({ url: '/v1/audit/inclusion?index=0&size=1' }) },
  { name: 'audit entries', method: 'GET', project: false, allow: SERVER, build: () => ({ url: '/v1/audit/entries?limit=1' }) },
  { name: 'audit export', method: 'GET', project: false, allow: SERVER, build: () => ({ url: '/v1/audit/export' }) },
  { name: 'audit query', method: 'GET', project: false, allow: SERVER, build: () => ({ url: '/v1/audit/query?account=admin&limit=1' }) },
  {
    name: "upload a file to another account's upload",
    method: 'PUT',
    project: false,
    allow: NOBODY,
    denyStatus: 404,
    build: (f) => ({ url: `/v1/uploads/${f.foreignUpload}/files/weights.bin`, payload: Buffer.from('x'), headers: { 'content-type': 'application/octet-stream' } }),
  },
  { name: "commit another account's upload", method: 'POST', project: false, allow: NOBODY, denyStatus: 404, build: (f) => ({ url: `/v1/uploads/${f.foreignUpload}/commit` }) },

  { name: 'show project', method: 'GET', project: true, allow: VIEWERS, build: (_f, p) => ({ url: `/v1/projects/${p}` }) },
  { name: 'grant role', method: 'PUT', project: true, allow: ADMINS, build: (_f, p) => ({ url: `/v1/projects/${p}/members/svc`, body: { role: 'viewer' } }) },
  { name: 'trust key', method: 'POST', project: true, allow: ADMINS, build: (f, p) => ({ url: `/v1/projects/${p}/keys`, body: { pem: f.pem } }) },
  { name: 'list models', method: 'GET', project: true, allow: VIEWERS, build: (_f, p) => ({ url: `/v1/projects/${p}/models` }) },
  { name: 'list datasets', method: 'GET', project: true, allow: VIEWERS, build: (_f, p) => ({ url: `/v1/projects/${p}/datasets` }) },
  { name: 'list model versions', method: 'GET', project: true, allow: VIEWERS, build: (_f, p) => ({ url: `/v1/projects/${p}/models/m` }) },
  { name: 'show model version', method: 'GET', project: true, allow: VIEWERS, build: (f, p) => ({ url: `/v1/projects/${p}/models/m/versions/${f.versions[p].model}` }) },
  { name: 'download model file', method: 'GET', project: true, allow: VIEWERS, build: (f, p) => ({ url: `/v1/projects/${p}/models/m/versions/${f.versions[p].model}/files/weights.bin` }) },
  { name: 'show dataset version', method: 'GET', project: true, allow: VIEWERS, build: (f, p) => ({ url: `/v1/projects/${p}/datasets/d/versions/${f.versions[p].dataset}` }) },
  { name: 'download dataset file', method: 'GET', project: true, allow: VIEWERS, build: (f, p) => ({ url: `/v1/projects/${p}/datasets/d/versions/${f.versions[p].dataset}/files/data.csv` }) },
  { name: 'push model m', method: 'POST', project: true, allow: PUSHERS, build: (f, p) => ({ url: `/v1/projects/${p}/models/m/uploads`, body: { manifest: f.freshManifest } }) },
  { name: 'push another model', method: 'POST', project: true, allow: NON_TRAINER_PUSHERS, build: (f, p) => ({ url: `/v1/projects/${p}/models/other-model/uploads`, body: { manifest: f.freshManifest } }) },
  { name: 'push dataset', method: 'POST', project: true, allow: NON_TRAINER_PUSHERS, build: (f, p) => ({ url: `/v1/projects/${p}/datasets/d/uploads`, body: { manifest: f.freshManifest } }) },
  { name: 'attach attestation', method: 'POST', project: true, allow: PUSHERS, build: (f, p) => ({ url: `/v1/projects/${p}/models/m/versions/${f.versions[p].model}/attestations`, body: { bundle: f.attestation } }) },
  { name: 'attach dataset attestation', method: 'POST', project: true, allow: NON_TRAINER_PUSHERS, build: (f, p) => ({ url: `/v1/projects/${p}/datasets/d/versions/${f.versions[p].dataset}/attestations`, body: { bundle: f.attestation } }) },
  { name: 'archive model version', method: 'POST', project: true, allow: ADMINS, build: (f, p) => ({ url: `/v1/projects/${p}/models/m/versions/${f.versions[p].model}/archive` }) },
  { name: 'archive version', method: 'POST', project: true, allow: ADMINS, build: (f, p) => ({ url: `/v1/projects/${p}/datasets/d/versions/${f.versions[p].dataset}/archive` }) },
  { name: 'token for a service account', method: 'POST', project: true, allow: ADMINS, build: (_f, p) => ({ url: '/v1/tokens', body: { account: 'svc', project: p, ttlSeconds: 60 } }) },
  {
    name: "revoke a service account's token",
    method: 'DELETE',
    project: true,
    allow: ADMINS,
    build: async (f, p) => {
      const made = await f.reg.call('POST', '/v1/tokens', { token: f.reg.adminToken, body: { account: 'svc', project: p, ttlSeconds: 60 } });
      return { url: `/v1/tokens/${(made.json() as { id: string }).id}` };
    },
  },
];

async function setUp(): Promise<Fixture> {
  const reg = await startTestRegistry();
  const admin = reg.adminToken;
  const ok = async (method: string, url: string, body?: unknown): Promise<Record<string, unknown>> => {
    const r = await reg.call(method, url, { token: admin, ...(body === undefined ? {} : { body }) });
    assert.ok(r.statusCode < 300, `${method} ${url}: ${r.statusCode} ${r.body}`);
    return r.json() as Record<string, unknown>;
  };
  for (const p of ['own', 'other']) await ok('POST', '/v1/projects', { name: p });
  for (const name of ['viewer', 'contributor', 'approver', 'padmin']) await ok('POST', '/v1/accounts', { name, kind: 'user' });
  await ok('POST', '/v1/accounts', { name: 'sadmin', kind: 'user', serverAdmin: true });
  for (const name of ['trainer', 'svc']) await ok('POST', '/v1/accounts', { name, kind: 'service' });
  const roles: Record<string, string> = { viewer: 'viewer', contributor: 'contributor', approver: 'approver', padmin: 'admin', trainer: 'trainer' };
  for (const [account, role] of Object.entries(roles)) await ok('PUT', `/v1/projects/own/members/${account}`, { role, ...(role === 'trainer' ? { models: ['m'] } : {}) });
  await ok('PUT', '/v1/projects/other/members/svc', { role: 'viewer' });

  const versions = { own: { model: '', dataset: '' }, other: { model: '', dataset: '' } };
  for (const p of ['own', 'other'] as const) {
    const model = writeTree(workDir('model'), { 'weights.bin': `weights of ${p}`, 'config.json': '{}' });
    const dataset = writeTree(workDir('dataset'), { 'data.csv': `a,b\n1,${p}\n` });
    versions[p].model = await pushDir(reg, admin, p, 'm', model);
    versions[p].dataset = await pushDir(reg, admin, p, 'd', dataset, 'datasets');
  }
  const tokens = {} as Record<Principal, string>;
  for (const who of PRINCIPALS) tokens[who] = (await ok('POST', '/v1/tokens', { account: who, ttlSeconds: 3600 }))['token'] as string;

  const expired = (await ok('POST', '/v1/tokens', { account: 'viewer', ttlSeconds: 3600 })) as { token: string; id: string };
  const db = (reg.opened.store as KyselyMetadataStore).db;
  await db.updateTable('tokens').set({ expires_at: Date.now() - 1000 }).where('id', '=', expired.id).execute();
  const revoked = (await ok('POST', '/v1/tokens', { account: 'padmin', ttlSeconds: 3600 })) as { token: string; id: string };
  await ok('DELETE', `/v1/tokens/${revoked.id}`);

  const freshManifest = await manifestOf(writeTree(workDir('fresh'), { 'weights.bin': 'never committed' }));
  const foreign = (await ok('POST', '/v1/projects/own/models/m/uploads', { manifest: freshManifest })) as { uploadId: string };
  const pair = generateKeyPair('p256');
  const attestation = await signStatement(buildStatement([{ name: 'm', digest: { sha256: versions.own.model } }], 'https://example.com/eval/v1', { accuracy: 0.9 }), createKeySigner(loadPrivateKey(pair.privateKeyPem)));
  return {
    reg,
    tokens,
    bad: { none: undefined, malformed: 'custody_not-a-token', unknown: generateToken(), expired: expired.token, revoked: revoked.token },
    versions,
    freshManifest,
    attestation,
    pem: pair.publicKeyPem,
    foreignUpload: foreign.uploadId,
  };
}

/** The audit entry of a request, by its request id (searched from the end of the log). */
async function auditEntryOf(reg: TestRegistry, requestId: string): Promise<Record<string, unknown> | undefined> {
  const size = await reg.opened.audit.size();
  for (let end = size; end > 0; end -= 50) {
    const leaves = await reg.opened.audit.leaves(Math.max(0, end - 50), end);
    for (const { leaf } of leaves.reverse()) {
      const entry = (JSON.parse(leaf) as { entry: Record<string, unknown> }).entry;
      if (entry['requestId'] === requestId) return entry;
    }
  }
  return undefined;
}

describe('authorization matrix: every route × role × project × token state', () => {
  let f: Fixture;
  before(async () => {
    f = await setUp();
  });
  after(async () => {
    await f.reg.close();
  });

  it('grants and denies exactly as the roles table says, and logs every decision', async () => {
    const failures: string[] = [];
    let requests = 0;
    let denials = 0;
    for (const route of ROUTES) {
      const projects = route.project ? (['own', 'other'] as const) : (['own'] as const);
      for (const project of projects) {
        const cases: { who: string; token: string | undefined; expect: 'allow' | number }[] = [];
        for (const who of PRINCIPALS) {
          const allowed = route.allow.includes(who) && (project === 'own' || who === 'sadmin');
          cases.push({ who, token: f.tokens[who], expect: allowed ? 'allow' : (route.denyStatus ?? 403) });
        }
        for (const state of BAD_TOKENS) cases.push({ who: `${state} token`, token: f.bad[state], expect: 401 });
        for (const c of cases) {
          const req = await route.build(f, project, c.who as Principal);
          const res = await f.reg.call(route.method, req.url, { token: c.token, ...(req.body === undefined ? {} : { body: req.body }), ...(req.payload ? { payload: req.payload } : {}), ...(req.headers ? { headers: req.headers } : {}) });
          requests += 1;
          const label = `${route.name} [${project}] as ${c.who}: HTTP ${res.statusCode}`;
          const entry = await auditEntryOf(f.reg, String(res.headers['x-request-id']));
          if (!entry) {
            failures.push(`${label}: no audit entry`);
            continue;
          }
          if (c.expect === 'allow') {
            if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 404) failures.push(`${label}, expected allowed (${res.body.slice(0, 200)})`);
            if (entry['decision'] !== 'allow') failures.push(`${label}: audit decision ${String(entry['decision'])}, expected allow`);
          } else {
            denials += 1;
            if (res.statusCode !== c.expect) failures.push(`${label}, expected ${c.expect} (${res.body.slice(0, 200)})`);
            const code = (res.json() as { error?: { code?: string } }).error?.code;
            const wantCode = c.expect === 401 ? 'UNAUTHENTICATED' : c.expect === 403 ? 'FORBIDDEN' : 'NOT_FOUND';
            if (code !== wantCode) failures.push(`${label}: error code ${String(code)}, expected ${wantCode}`);
            if (entry['decision'] !== 'deny') failures.push(`${label}: audit decision ${String(entry['decision'])}, expected deny`);
            if (entry['status'] !== c.expect) failures.push(`${label}: audit status ${String(entry['status'])}`);
            if (typeof entry['reason'] !== 'string' || entry['reason'] === '') failures.push(`${label}: denial logged without a reason`);
          }
        }
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${requests} requests did not hold`);
    assert.ok(requests > 400 && denials > 250, `the matrix ran ${requests} requests, ${denials} denials`);
  });

  it('tries every route the server registers (every one but the public ones needs a token)', async () => {
    const doc = (await f.reg.call('GET', '/openapi.json')).json() as { paths: Record<string, Record<string, { security: unknown[] }>> };
    const tried: { method: string; url: string }[] = [];
    for (const route of ROUTES) for (const project of route.project ? (['own', 'other'] as const) : (['own'] as const)) tried.push({ method: route.method, url: (await route.build(f, project, 'sadmin')).url });
    const missing: string[] = [];
    const publicOps: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (op.security.length === 0) {
          publicOps.push(`${method.toUpperCase()} ${path}`);
          continue;
        }
        const pattern = new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^?]+')}(\\?.*)?$`);
        if (!tried.some((t) => t.method === method.toUpperCase() && pattern.test(t.url))) missing.push(`${method.toUpperCase()} ${path}`);
      }
    }
    assert.deepEqual(missing, [], `routes the matrix never tries: ${missing.join(', ')}`);
    assert.deepEqual(publicOps.sort(), ['GET /healthz', 'GET /openapi.json', 'POST /v1/login']);
  });
});
