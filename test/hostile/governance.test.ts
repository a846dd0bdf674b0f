import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertBounded, assertFindingOrCodedError, assertUnchanged, CUSTODY_BIN, makeSandbox, removeSandbox, runCustody, snapshot } from '../support/hostile.js';

// Governance takes new untrusted inputs: policy documents (YAML, from a file or a request body) and
// workload ID tokens (JWTs, from CI). Each hostile one must end, within time and memory bounds, in a
// refusal with a code — never a hang, a crash, a token issued, or a policy stored — and the server
// must keep answering afterwards.

const bounds = { timeoutMs: 30_000, maxRssMb: 512 };

/** A YAML alias bomb ("billion laughs"): 10 levels of 10 references, 10^10 strings expanded. */
function aliasBomb(): string {
  const lines = ['version: 1', 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i += 1) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(',')}]`);
  lines.push('stages: { production: { evaluation: { metrics: *a9 } } }');
  return `${lines.join('\n')}\n`;
}

const HOSTILE_POLICIES: [string, string | Buffer][] = [
  ['alias-bomb.yaml', aliasBomb()],
  ['nested-flow.yaml', `version: 1\nstages: ${'['.repeat(30_000)}${']'.repeat(30_000)}\n`],
  ['nested-block.yaml', `version: 1\nstages:\n${Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i + 1)}k${i}:`).join('\n')}\n`],
  ['oversized.yaml', `version: 1\n# ${'x'.repeat(2 * 1024 * 1024)}\n`],
  ['many-keys.yaml', `version: 1\nstages:\n  production:\n${Array.from({ length: 4000 }, (_, i) => `    k${i}: 1`).join('\n')}\n`],
  ['duplicate-keys.yaml', 'version: 1\nbreakGlass: forbidden\nbreakGlass: allowed\n'],
  ['huge-number.yaml', `version: 1\nstages: { production: { approvals: 1e999999, evaluation: { metrics: ["accuracy >= ${'9'.repeat(5000)}"] } } }\n`],
  ['tags.yaml', 'version: 1\nstages: !!js/function "function () { process.exit(0) }"\nbreakGlass: !!binary aGVsbG8=\n'],
  ['noise.yaml', Buffer.from(Array.from({ length: 60_000 }, (_, i) => (i * 2654435761) >>> 24))],
];

describe('hostile policy documents (custody policy validate, offline)', () => {
  const box = makeSandbox('governance-policy');
  after(() => removeSandbox(box));

  it('alias bombs, deep nesting, oversized, noisy and tagged documents are refused with a code within bounds', () => {
    for (const [name, content] of HOSTILE_POLICIES) {
      writeFileSync(join(box.tree, name), content);
      const before = snapshot(box.outside);
      const result = runCustody(box, ['policy', 'validate', name], bounds);
      assertFindingOrCodedError(result);
      assert.ok(result.exit === 1 || /error (POLICY_INVALID|INPUT_LIMIT):/.test(result.stderr), `${name}: ${result.stderr.slice(-400)}`);
      assertUnchanged(before, box.outside);
    }
  });

  it('a valid policy passes (the control: the refusals above are about the documents)', () => {
    writeFileSync(join(box.tree, 'good.yaml'), 'version: 1\nstages:\n  production:\n    signatures: 2\n    approvals: 1\n');
    const result = runCustody(box, ['policy', 'validate', 'good.yaml'], bounds);
    assertBounded(result);
    assert.equal(result.exit, 0, result.stderr);
  });

  it('a FIFO or a device named as the policy is refused at once with SPECIAL_FILE, not read', () => {
    const fifo = join(box.tree, 'policy.fifo');
    execFileSync('mkfifo', [fifo]);
    assertFindingOrCodedError(runCustody(box, ['policy', 'validate', fifo], { timeoutMs: 20_000 }), { code: 'SPECIAL_FILE' });
    assertFindingOrCodedError(runCustody(box, ['policy', 'validate', '/dev/zero'], { timeoutMs: 20_000, maxRssMb: 256 }), { code: 'SPECIAL_FILE' });
  });
});

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rogue = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ISSUER = 'https://issuer.example';
const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

let jti = 0;
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  jti += 1;
  return { iss: ISSUER, aud: 'custody', sub: 'repo:org/models:ref:refs/heads/main', repository: 'org/models', iat: now, nbf: now - 5, exp: now + 300, jti: `run-${jti}`, ...overrides };
}

function jwt(body: Record<string, unknown> | string, options: { alg?: string; header?: Record<string, unknown> | string; key?: KeyObject } = {}): string {
  const alg = options.alg ?? 'RS256';
  const header = typeof options.header === 'string' ? options.header : b64({ alg, typ: 'JWT', kid: 'k1', ...options.header });
  const input = `${header}.${typeof body === 'string' ? body : b64(body)}`;
  let sig = '';
  if (alg === 'RS256') sig = sign('sha256', Buffer.from(input), options.key ?? rsa.privateKey).toString('base64url');
  else if (alg === 'HS256') sig = createHmac('sha256', rsa.publicKey.export({ type: 'spki', format: 'pem' })).update(input).digest('base64url');
  return `${input}.${sig}`;
}

describe('hostile governance requests against a running registry', () => {
  const box = makeSandbox('governance-server');
  let server: ChildProcess;
  let url = '';
  let admin = '';
  const env = (): Record<string, string> => ({ CUSTODY_URL: url, CUSTODY_CONFIG_DIR: join(box.home, 'config') });

  const call = async (method: string, path: string, body?: unknown, token = admin): Promise<{ status: number; json: Record<string, unknown> }> => {
    const r = await fetch(url + path, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
    return { status: r.status, json: (await r.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const healthy = async (): Promise<void> => assert.equal((await fetch(`${url}/healthz`)).status, 200, 'the server still answers');

  before(async () => {
    const dataDir = join(box.out, 'data');
    // exchanges share the login limiter (10/min per address by default): raised so every case reaches verification
    server = spawn(process.execPath, [CUSTODY_BIN, 'registry', 'serve', '--data-dir', dataDir, '--port', '0', '--log-level', 'silent', '--no-scan', '--token-rate', '0', '--login-rate', '1000/m'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    url = await new Promise<string>((resolve, reject) => {
      server.stderr?.on('data', (c: Buffer) => {
        err += c.toString();
        const m = /listening on (http:\/\/[^\s]+)/.exec(err);
        if (m) resolve(m[1] as string);
      });
      server.on('exit', (code) => reject(new Error(`server exited ${String(code)}: ${err}`)));
    });
    admin = readFileSync(join(dataDir, 'initial-admin-token'), 'utf8').trim();
    mkdirSync(join(box.home, 'config'), { recursive: true });
    for (const [method, path, body] of [
      ['POST', '/v1/projects', { name: 'p' }],
      ['POST', '/v1/accounts', { name: 'ci', kind: 'service' }],
      ['PUT', '/v1/projects/p/members/ci', { role: 'trainer' }],
      ['POST', '/v1/projects/p/issuers', { issuer: ISSUER, audience: 'custody', account: 'ci', role: 'trainer', claims: { repository: ['org/models'] }, jwks: JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] }) }],
    ] as const) {
      const r = await call(method, path, body);
      assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
    }
  });
  after(async () => {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    removeSandbox(box);
  });

  const exchange = (name: string, token: string) => {
    writeFileSync(join(box.tree, name), token);
    return runCustody(box, ['token', 'exchange', '--project', 'p', '--id-token-file', name], { ...bounds, env: env() });
  };

  it('a valid ID token is exchanged once (the control), and its replay is refused', () => {
    const token = jwt(claims());
    const ok = exchange('valid.jwt', token);
    assertBounded(ok);
    assert.equal(ok.exit, 0, ok.stderr);
    assert.match(ok.stdout, /^custody_[A-Za-z0-9]+\n$/);
    assertFindingOrCodedError(exchange('replay.jwt', token), { code: 'OIDC_REFUSED' });
  });

  it('forged, malformed and oversized ID tokens are refused with a code, and no token is issued', async () => {
    const bigClaim = claims({ pad: 'x'.repeat(12_000) });
    const cases: [string, string, string][] = [
      ['alg-none', `${b64({ alg: 'none', typ: 'JWT', kid: 'k1' })}.${b64(claims())}.`, 'OIDC_REFUSED'],
      ['alg-none-upper', `${b64({ alg: 'NONE', kid: 'k1' })}.${b64(claims())}.`, 'OIDC_REFUSED'],
      ['hs256-public-key', jwt(claims(), { alg: 'HS256' }), 'OIDC_REFUSED'],
      ['rogue-key-same-kid', jwt(claims(), { key: rogue.privateKey }), 'OIDC_REFUSED'],
      ['claims-swapped-after-signing', (() => { const [h, , s] = jwt(claims()).split('.'); return `${h ?? ''}.${b64(claims({ repository: 'evil/repo' }))}.${s ?? ''}`; })(), 'OIDC_REFUSED'],
      ['wrong-claim', jwt(claims({ repository: 'evil/repo' })), 'OIDC_REFUSED'],
      ['claim-as-array', jwt(claims({ repository: ['org/models'] })), 'OIDC_REFUSED'],
      ['huge-kid', jwt(claims(), { header: { kid: 'k'.repeat(10_000) } }), 'OIDC_REFUSED'],
      // an attacker's nesting is parsed before the signature is checked: bounded, then refused
      ['deep-header', jwt(claims(), { key: rogue.privateKey, header: b64(`{"alg":"RS256","kid":"k1","x":${'['.repeat(5000)}${']'.repeat(5000)}}`) }), 'OIDC_REFUSED'],
      ['deep-claims', jwt(`${b64(`{"iss":"${ISSUER}","x":${'{"a":'.repeat(1500)}1${'}'.repeat(1500)}}`)}`, { key: rogue.privateKey }), 'OIDC_REFUSED'],
      ['not-json', jwt(b64('\u0000\u00ff not json')), 'OIDC_REFUSED'],
      ['four-parts', `${jwt(claims())}.extra`, 'OIDC_REFUSED'],
      ['bad-base64', `${b64({ alg: 'RS256', kid: 'k1' })}.%%%%.${'A'.repeat(342)}`, 'OIDC_REFUSED'],
      ['exp-as-string', jwt(claims({ exp: '9999999999' })), 'OIDC_REFUSED'],
      ['exp-huge', jwt(claims({ exp: 1e308, nbf: -1e308 })), 'OIDC_REFUSED'],
      ['over-16-KiB', jwt(bigClaim), 'INPUT_LIMIT'],
    ];
    for (const [name, token, code] of cases) {
      const result = exchange(`${name}.jwt`, token);
      assert.notEqual(result.exit, 0, `${name}: exchanged for a registry token`);
      assertFindingOrCodedError(result, { code });
      assert.doesNotMatch(result.stdout, /custody_/, `${name}: a token was issued`);
    }
    // Past the CLI: the same oversized token and a 4 MiB body straight at the route.
    const r = await call('POST', '/v1/auth/oidc', { project: 'p', token: jwt(bigClaim) }, '');
    assert.ok(r.status === 400 || r.status === 401 || r.status === 413, `status ${r.status}`);
    assert.equal(typeof (r.json['error'] as { code?: unknown } | undefined)?.code, 'string');
    assert.equal(r.json['token'], undefined);
    // 4 MiB: answered 413 from the declared length, or the connection is closed before it is all sent
    const huge = await call('POST', '/v1/auth/oidc', JSON.stringify({ project: 'p', token: 'a'.repeat(4 * 1024 * 1024) }), '').catch((error: Error) => ({ status: 0, json: { cause: String((error.cause as { code?: string } | undefined)?.code) } }));
    assert.ok(huge.status === 413 || ['EPIPE', 'ECONNRESET'].includes(String(huge.json['cause'])), JSON.stringify(huge));
    await healthy();
  });

  it('policy bombs proposed to the server are refused with POLICY_INVALID or INPUT_LIMIT, nothing is stored, and it keeps answering', async () => {
    for (const [name, content] of HOSTILE_POLICIES) {
      if (typeof content !== 'string' || Buffer.byteLength(content) > 60_000) continue;
      writeFileSync(join(box.tree, name), content);
      const result = runCustody(box, ['policy', 'propose', 'p', name], { ...bounds, env: { ...env(), CUSTODY_TOKEN: admin } });
      assertFindingOrCodedError(result);
      assert.match(result.stderr, /error (POLICY_INVALID|INPUT_LIMIT|REQUEST_INVALID):/, `${name}: ${result.stderr.slice(-400)}`);
    }
    const direct = await call('POST', '/v1/projects/p/policies', { document: aliasBomb() });
    assert.equal(direct.status, 422);
    assert.equal((direct.json['error'] as { code: string }).code, 'POLICY_INVALID');
    const listed = await call('GET', '/v1/projects/p/policies');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.json['policies'], []);
    await healthy();
  });
});
