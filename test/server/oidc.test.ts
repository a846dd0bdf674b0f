import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/server/app.js';
import { openDataDir, type OpenedRegistry } from '../../src/server/start.js';
import { TEST_RATE_LIMITS, workDir } from './helpers.js';
import type { FastifyInstance } from 'fastify';

/**
 * Workload identity against a real OIDC issuer the test runs on loopback (discovery document and
 * JWKS over HTTP, allowed only for loopback by an explicit server option): a valid ID token becomes
 * a short-lived, project-scoped registry token; each way of being wrong is refused with its check.
 */

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rogue = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = (key: KeyObject, kid: string, alg: string): Record<string, unknown> => ({ ...key.export({ format: 'jwk' }), kid, alg, use: 'sig' });

let issuerServer: Server;
let issuer = '';
let hangServer: Server;
let hangIssuer = '';
let fetches = 0;
let app: FastifyInstance;
let opened: OpenedRegistry;
let admin = '';

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function jwt(claims: Record<string, unknown>, options: { alg?: string; kid?: string | undefined; key?: KeyObject; header?: Record<string, unknown> } = {}): string {
  const alg = options.alg ?? 'RS256';
  const header = { alg, typ: 'JWT', ...(options.kid === undefined && 'kid' in options ? {} : { kid: options.kid ?? 'rsa-1' }), ...options.header };
  const input = `${b64(header)}.${b64(claims)}`;
  let sig = '';
  if (alg === 'RS256') sig = sign('sha256', Buffer.from(input), options.key ?? rsa.privateKey).toString('base64url');
  else if (alg === 'ES256') sig = sign('sha256', Buffer.from(input), { key: options.key ?? ec.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  else if (alg === 'HS256') sig = createHmac('sha256', rsa.publicKey.export({ type: 'spki', format: 'pem' })).update(input).digest('base64url');
  return `${input}.${sig}`;
}

let jti = 0;
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  jti += 1;
  return { iss: issuer, aud: 'custody', sub: 'repo:org/models:ref:refs/heads/main', repository: 'org/models', ref: 'refs/heads/main', iat: now, nbf: now - 5, exp: now + 300, jti: `run-${jti}`, ...overrides };
}

async function exchange(token: string, project = 'ci'): Promise<{ status: number; body: { token?: string; error?: { code: string; details?: { check?: string } }; expiresAt?: string; createdAt?: string; actions?: string[]; project?: string } }> {
  const r = await app.inject({ method: 'POST', url: '/v1/auth/oidc', payload: { project, token }, headers: { 'content-type': 'application/json' } });
  return { status: r.statusCode, body: r.json() };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

before(async () => {
  issuerServer = createServer((req, res) => {
    fetches += 1;
    if (req.url === '/.well-known/openid-configuration') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }));
    if (req.url === '/keys') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk(rsa.publicKey, 'rsa-1', 'RS256'), jwk(ec.publicKey, 'ec-1', 'ES256')] }));
    res.writeHead(404).end();
  });
  issuer = await listen(issuerServer);
  hangServer = createServer(() => undefined); // accepts and never answers
  hangIssuer = await listen(hangServer);
  const dataDir = join(workDir('oidc'), 'data');
  opened = await openDataDir({ dataDir, version: '0.0.0-test', settings: { scan: false }, jwks: { allowInsecureLoopback: true, timeoutMs: 1500 } });
  app = await buildApp({ registry: opened.registry, audit: opened.audit, version: '0.0.0-test', rateLimits: { ...TEST_RATE_LIMITS, login: { perSecond: 100, burst: 1000 } } });
  admin = readFileSync(join(dataDir, 'initial-admin-token'), 'utf8').trim();
  const call = async (method: string, url: string, payload: unknown): Promise<void> => {
    const r = await app.inject({ method: method as 'POST', url, payload: payload as Record<string, unknown>, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } });
    assert.ok(r.statusCode < 300, `${url}: ${r.body}`);
  };
  await call('POST', '/v1/projects', { name: 'ci' });
  await call('POST', '/v1/projects', { name: 'offline' });
  await call('POST', '/v1/accounts', { name: 'trainer', kind: 'service' });
  await call('PUT', '/v1/projects/ci/members/trainer', { role: 'trainer' });
  await call('PUT', '/v1/projects/offline/members/trainer', { role: 'trainer' });
  await call('POST', '/v1/projects/ci/issuers', { issuer, audience: 'custody', account: 'trainer', role: 'trainer', claims: { repository: ['org/models'], ref: ['refs/heads/main'] } });
  await call('POST', '/v1/projects/offline/issuers', { issuer: 'https://pinned.example', audience: 'custody', account: 'trainer', role: 'trainer', claims: { repository: ['org/models'] }, jwks: JSON.stringify({ keys: [jwk(ec.publicKey, 'ec-1', 'ES256')] }) });
  await call('POST', '/v1/projects', { name: 'slow' });
  await call('POST', '/v1/projects/slow/issuers', { issuer: hangIssuer, audience: 'custody', account: 'trainer', role: 'trainer', claims: { repository: ['org/models'] } });
});

after(async () => {
  await app.close();
  await opened.close();
  issuerServer.close();
  hangServer.closeAllConnections();
  hangServer.close();
});

describe('OIDC token exchange', () => {
  it('turns a valid ID token (RS256 or ES256) into a token of the rule, scoped to the project and role, living at most 15 minutes, and audits the claims', async () => {
    for (const alg of ['RS256', 'ES256'] as const) {
      const r = await exchange(jwt(claims(), { alg, kid: alg === 'RS256' ? 'rsa-1' : 'ec-1' }));
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.project, 'ci');
      assert.deepEqual(r.body.actions?.sort(), ['version.attach', 'version.push']);
      assert.ok(Date.parse(r.body.expiresAt ?? '') - Date.parse(r.body.createdAt ?? '') <= 15 * 60_000);
      const who = await app.inject({ method: 'GET', url: '/v1/whoami', headers: { authorization: `Bearer ${r.body.token ?? ''}` } });
      assert.equal(who.statusCode, 200);
      assert.equal((who.json() as { account: string }).account, 'trainer');
    }
    const size = await opened.audit.size();
    const leaves = await opened.audit.leaves(Math.max(0, size - 10), size);
    const entry = leaves.map((l) => (JSON.parse(l.leaf) as { entry: { action: string; decision: string; detail?: { claims?: Record<string, string> } } }).entry).filter((e) => e.action === 'session.oidc' && e.decision === 'allow').pop();
    assert.equal(entry?.detail?.claims?.['repository'], 'org/models');
    assert.ok(!JSON.stringify(leaves).includes('eyJ'), 'the ID token itself is never logged');
  });

  it('refuses every kind of bad token with its check, and the registry stays usable', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string, string][] = [
      ['expired', jwt(claims({ exp: now - 3600, iat: now - 7200, nbf: now - 7200 })), 'expired'],
      ['not yet valid', jwt(claims({ nbf: now + 3600 })), 'not-yet-valid'],
      ['issued in the future', jwt(claims({ iat: now + 3600 })), 'not-yet-valid'],
      ['no expiry', jwt(claims({ exp: undefined })), 'expired'],
      ['valid for ever (exp 1e308)', jwt(claims({ exp: 1e308 })), 'lifetime'],
      ['valid for a day and two minutes', jwt(claims({ exp: now + 24 * 3600 + 120 })), 'lifetime'],
      ['wrong issuer', jwt(claims({ iss: 'https://evil.example' })), 'no-rule'],
      ['wrong audience', jwt(claims({ aud: 'someone-else' })), 'audience'],
      ['unknown key id', jwt(claims(), { kid: 'rotated-away' }), 'kid'],
      ['no key id', jwt(claims(), { kid: undefined }), 'kid'],
      ['alg none', `${b64({ alg: 'none', kid: 'rsa-1' })}.${b64(claims())}.`, 'alg'],
      ['HS256 signed with the public key', jwt(claims(), { alg: 'HS256' }), 'alg'],
      ['signed by another key under a known kid', jwt(claims(), { key: rogue.privateKey }), 'signature'],
      ['RS256 header on the EC key', jwt(claims(), { alg: 'RS256', kid: 'ec-1' }), 'alg'],
      ['claims outside the rule (branch)', jwt(claims({ ref: 'refs/heads/feature' })), 'claims'],
      ['claims outside the rule (repository)', jwt(claims({ repository: 'org/models-fork' })), 'claims'],
      ['missing claim', jwt(claims({ ref: undefined })), 'claims'],
      ['not a JWT', 'not.a.jwt!', 'malformed'],
    ];
    for (const [label, token, check] of cases) {
      const r = await exchange(token);
      assert.equal(r.status, 401, `${label}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error?.code, 'OIDC_REFUSED', label);
      assert.equal(r.body.error?.details?.check, check, label);
    }
    const ok = await exchange(jwt(claims()));
    assert.equal(ok.status, 201, 'still works after the refusals');
    const day = await exchange(jwt(claims({ exp: now + 24 * 3600 })));
    assert.equal(day.status, 201, `a token valid for a day (a projected service-account token) is accepted: ${JSON.stringify(day.body)}`);
  });

  it('refuses a replayed token (same jti, or the same token without one)', async () => {
    const token = jwt(claims());
    assert.equal((await exchange(token)).status, 201);
    const again = await exchange(token);
    assert.equal(again.status, 401);
    assert.equal(again.body.error?.details?.check, 'replay');
    const noJti = jwt(claims({ jti: undefined }));
    assert.equal((await exchange(noJti)).status, 201);
    assert.equal((await exchange(noJti)).body.error?.details?.check, 'replay');
  });

  it('verifies against a JWKS pinned from a file without fetching, and caches fetched keys', async () => {
    const before = fetches;
    const r = await exchange(jwt(claims({ iss: 'https://pinned.example' }), { alg: 'ES256', kid: 'ec-1' }), 'offline');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(fetches, before, 'pinned keys are never fetched');
    for (let i = 0; i < 3; i += 1) assert.equal((await exchange(jwt(claims()))).status, 201);
    assert.equal(fetches, before, 'fetched keys are cached');
  });

  it('bounds a fetch from an issuer that never answers: refused within the timeout, never hanging', async () => {
    const started = Date.now();
    const r = await exchange(jwt(claims({ iss: hangIssuer })), 'slow');
    assert.equal(r.status, 401);
    assert.equal(r.body.error?.details?.check, 'jwks');
    assert.ok(Date.now() - started < 30_000, 'answered (a hang would time the test out)');
  });

  it('trusts issuers only with claim rules, over HTTPS (loopback HTTP only with the test option), for non-admin roles', async () => {
    const trust = (body: Record<string, unknown>) => app.inject({ method: 'POST', url: '/v1/projects/ci/issuers', payload: { issuer: 'https://token.actions.githubusercontent.com', audience: 'custody', account: 'trainer', role: 'trainer', claims: { repository: ['org/models'] }, ...body }, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } });
    assert.equal((await trust({ claims: {} })).statusCode, 400, 'no claim rule');
    assert.equal((await trust({ role: 'admin' })).statusCode, 400);
    assert.equal((await trust({ issuer: 'http://issuer.example' })).statusCode, 400, 'plain HTTP off loopback');
    assert.equal((await trust({ claims: { repository: ['org/*'] } })).statusCode, 400, 'no wildcards');
    assert.equal((await trust({})).statusCode, 201);
  });

  it('rejects an ES256 key for RS256 and a short RSA key in a pinned set', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const r = await app.inject({ method: 'POST', url: '/v1/projects/offline/issuers', payload: { issuer: 'https://small.example', audience: 'custody', account: 'trainer', role: 'trainer', claims: { repository: ['org/models'] }, jwks: JSON.stringify({ keys: [jwk(small.publicKey, 'small', 'RS256')] }) }, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } });
    assert.equal(r.statusCode, 201);
    const refused = await exchange(jwt(claims({ iss: 'https://small.example' }), { key: createPrivateKey(small.privateKey.export({ type: 'pkcs8', format: 'pem' })), kid: 'small' }), 'offline');
    assert.equal(refused.body.error?.details?.check, 'alg', 'a 1024-bit RSA key verifies nothing');
  });
});
