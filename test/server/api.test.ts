import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { verifyAttestation } from '../../src/integrity/attest.js';
import { parseBundle } from '../../src/integrity/bundle.js';
import { computeRootDigest } from '../../src/integrity/digest.js';
import { generateKeyPair, loadPrivateKey, loadPublicKey } from '../../src/integrity/keys.js';
import { hashArtifact, manifestToJson } from '../../src/integrity/manifest.js';
import { signArtifact } from '../../src/integrity/oms.js';
import { createKeySigner } from '../../src/integrity/signer.js';
import { TEST_RESULT_PREDICATE_TYPE } from '../../src/integrity/test-result.js';
import { encodeName, pushDir, startTestRegistry, workDir, writeTree, type TestRegistry } from './helpers.js';

const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

describe('registry API', () => {
  let reg: TestRegistry;
  let token: string;
  let logs = '';

  before(async () => {
    const stream = new Writable({ write: (chunk, _e, cb) => void ((logs += String(chunk)), cb()) });
    reg = await startTestRegistry({ settings: { scan: true }, logger: { level: 'info', stream, redact: ['req.headers.authorization'] } });
    token = reg.adminToken;
    assert.equal((await reg.call('POST', '/v1/projects', { token, body: { name: 'p' } })).statusCode, 201);
  });
  after(async () => {
    await reg.close();
  });

  it('scans every pushed version itself and keeps the findings as a signed test-result attestation', async () => {
    // A pickle whose REDUCE calls os.system, and a clean file.
    const pickle = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('cos\nsystem\n(X\x04\x00\x00\x00echotR.', 'latin1')]);
    const dir = writeTree(workDir('scan'), { 'model.pkl': pickle, 'README.md': 'a model' });
    const version = await pushDir(reg, token, 'p', 'pickled', dir);
    await reg.opened.registry.idle();
    const shown = (await reg.call('GET', `/v1/projects/p/models/pickled/versions/${version}`, { token })).json() as {
      scan: { status: string; result: string; findings: { ruleId: string; severity: string; path: string }[] };
      bundles: { scan: unknown };
      attachments: { kind: string; verified: boolean }[];
    };
    assert.equal(shown.scan.status, 'failed');
    assert.equal(shown.scan.result, 'FAILED');
    assert.ok(shown.scan.findings.some((f) => f.path === 'model.pkl' && f.severity === 'critical'), JSON.stringify(shown.scan.findings));
    assert.ok(!JSON.stringify(shown.scan.findings).includes(reg.dataDir), 'finding paths are relative to the version');
    const key = loadPrivateKey(readAttestationKey(reg.dataDir));
    const proof = await verifyAttestation({ bundle: parseBundle(JSON.stringify(shown.bundles.scan)), publicKeys: [key.publicKey], predicateType: TEST_RESULT_PREDICATE_TYPE });
    assert.equal(proof.subjects[0]?.digest?.['sha256'], version, 'the attestation is about this version');
    const clean = await pushDir(reg, token, 'p', 'clean', writeTree(workDir('clean'), { 'weights.safetensors.txt': 'numbers' }));
    await reg.opened.registry.idle();
    const cleanView = (await reg.call('GET', `/v1/projects/p/models/clean/versions/${clean}`, { token })).json() as { scan: { status: string } };
    assert.equal(cleanView.scan.status, 'passed');
  });

  it('verifies a pushed signature and attestations against the project keys, and records failures', async () => {
    const trusted = generateKeyPair('p256');
    const stranger = generateKeyPair('p384');
    assert.equal((await reg.call('POST', '/v1/projects/p/keys', { token, body: { pem: trusted.publicKeyPem } })).statusCode, 201);
    const dir = writeTree(workDir('signed'), { 'w.bin': 'weights', 'c.json': '{}' });
    const good = await signArtifact(dir, { signer: createKeySigner(loadPrivateKey(trusted.privateKeyPem)), jobs: 0 });
    const v1 = await pushDir(reg, token, 'p', 'signed', dir, 'models', { signature: good.bundle });
    const view1 = (await reg.call('GET', `/v1/projects/p/models/signed/versions/${v1}`, { token })).json() as { signed: boolean; attachments: { kind: string; verified: boolean; keyHint: string | null }[] };
    assert.equal(view1.signed, true);
    assert.equal(view1.attachments.find((a) => a.kind === 'signature')?.keyHint, loadPublicKey(trusted.publicKeyPem).hint);

    writeFileSync(join(dir, 'w.bin'), 'other weights');
    const bad = await signArtifact(dir, { signer: createKeySigner(loadPrivateKey(stranger.privateKeyPem)), jobs: 0 });
    const v2 = await pushDir(reg, token, 'p', 'signed', dir, 'models', { signature: bad.bundle });
    const view2 = (await reg.call('GET', `/v1/projects/p/models/signed/versions/${v2}`, { token })).json() as { signed: boolean; attachments: { kind: string; verified: boolean; error: { code: string } | null }[] };
    assert.equal(view2.signed, false);
    assert.equal(view2.attachments.find((a) => a.kind === 'signature')?.error?.code, 'KEY_UNTRUSTED');

    // A valid signature, but over another model's manifest.
    writeFileSync(join(dir, 'w.bin'), 'third weights');
    const v3 = await pushDir(reg, token, 'p', 'signed', dir, 'models', { signature: good.bundle });
    const view3 = (await reg.call('GET', `/v1/projects/p/models/signed/versions/${v3}`, { token })).json() as { signed: boolean; attachments: { kind: string; error: { code: string } | null }[] };
    assert.equal(view3.signed, false);
    assert.equal(view3.attachments.find((a) => a.kind === 'signature')?.error?.code, 'SUBJECT_MISMATCH');
  });

  it('accepts sharded and BLAKE3 manifests and checks every shard on arrival', async () => {
    // BLAKE3 manifests are per file (as model_signing writes them, even when shards are asked for).
    const blake3Dir = writeTree(workDir('blake3'), { 'w.bin': Buffer.alloc(3000, 2) });
    const blake3 = manifestToJson(await hashArtifact(blake3Dir, { hashType: 'blake3', jobs: 0 }));
    assert.equal(await pushDir(reg, token, 'p', 'blake3', blake3Dir, 'models', { manifest: blake3 }), (blake3['digest'] as { sha256: string }).sha256);
    const content = Buffer.alloc(2500, 1);
    content[2100] = 7;
    const dir = writeTree(workDir('sharded'), { 'big.bin': content, 'small.txt': 'x' });
    const manifest = manifestToJson(await hashArtifact(dir, { shardSize: 1000, hashType: 'sha256', jobs: 0 }));
    const started = await reg.call('POST', '/v1/projects/p/models/sharded/uploads', { token, body: { manifest } });
    assert.equal(started.statusCode, 201, started.body);
    const { uploadId } = started.json() as { uploadId: string };
    const tampered = Buffer.from(content);
    tampered[2100] = 8;
    const put = (name: string, payload: Buffer | string) => reg.call('PUT', `/v1/uploads/${uploadId}/files/${encodeName(name)}`, { token, payload, headers: { 'content-type': 'application/octet-stream' } });
    const wrong = await put('big.bin', tampered);
    assert.equal(wrong.statusCode, 422);
    assert.match((wrong.json() as { error: { message: string } }).error.message, /bytes 2000–2500/);
    assert.equal((await put('big.bin', content.subarray(0, 2400))).statusCode, 422, 'short of its shards');
    assert.equal((await put('big.bin', Buffer.concat([content, Buffer.from('!')]))).statusCode, 413, 'longer than its shards');
    assert.equal((await put('big.bin', content)).statusCode, 200);
    assert.equal((await put('small.txt', 'x')).statusCode, 200);
    const committed = await reg.call('POST', `/v1/uploads/${uploadId}/commit`, { token });
    assert.equal(committed.statusCode, 201, committed.body);
    const file = await reg.call('GET', `/v1/projects/p/models/sharded/versions/${manifest['digest'] && (manifest['digest'] as { sha256: string }).sha256}/files/big.bin`, { token });
    assert.equal(sha(file.rawPayload), sha(content));
  });

  it('serves an OpenAPI 3.1 document with a schema for every route, request and answer', async () => {
    const doc = (await reg.call('GET', '/openapi.json')).json() as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown; parameters: { in: string }[] }>> };
    assert.equal(doc.openapi, '3.1.0');
    let operations = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        operations += 1;
        assert.ok(Object.keys(op.responses).some((s) => s.startsWith('2')), `${method} ${path} documents its success`);
        if (path !== '/healthz' && path !== '/openapi.json') assert.ok('400' in op.responses && '500' in op.responses, `${method} ${path} documents its errors`);
        if (method === 'post' || method === 'put') assert.ok(op.requestBody !== undefined || path.endsWith('/commit') || path.endsWith('/archive'), `${method} ${path} documents its body`);
        const params = [...path.matchAll(/\{([^}]+)\}/g)].length;
        assert.equal(op.parameters.filter((p) => p.in === 'path').length, params, `${method} ${path} documents its path parameters`);
      }
    }
    assert.ok(operations >= 30, `${operations} operations`);
  });

  it('sends security headers on every answer, errors included', async () => {
    for (const [method, url] of [['GET', '/healthz'], ['GET', '/v1/whoami'], ['GET', '/nope'], ['POST', '/v1/login']] as const) {
      const res = await reg.call(method, url, method === 'POST' ? { body: {} } : { token });
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(res.headers['x-frame-options'], 'DENY', url);
      assert.match(String(res.headers['content-security-policy']), /default-src 'none'/, url);
      assert.equal(res.headers['cache-control'], 'no-store', url);
    }
  });

  it('never writes tokens or passwords to its log', async () => {
    assert.equal((await reg.call('POST', '/v1/accounts', { token, body: { name: 'alice', kind: 'user', password: 'correct horse battery staple' } })).statusCode, 201);
    const login = await reg.call('POST', '/v1/login', { body: { account: 'alice', password: 'correct horse battery staple' } });
    assert.equal(login.statusCode, 200, login.body);
    const issued = (login.json() as { token: string }).token;
    assert.equal((await reg.call('GET', '/v1/whoami', { token: issued })).statusCode, 200);
    assert.equal((await reg.call('POST', '/v1/login', { body: { account: 'alice', password: 'wrong password!!' } })).statusCode, 401);
    assert.ok(logs.length > 1000, 'the server logged requests');
    for (const secret of [token, issued, 'correct horse battery staple', 'wrong password!!']) assert.ok(!logs.includes(secret), 'a secret reached the log');
    const entries = await reg.opened.audit.leaves(0, await reg.opened.audit.size());
    for (const { leaf } of entries) for (const secret of [token, issued, 'correct horse']) assert.ok(!leaf.includes(secret), 'a secret reached the audit log');
  });

  it('rate-limits logins per account and address', async () => {
    const limited = await startTestRegistry({ rateLimits: { login: { perSecond: 1 / 60, burst: 3 }, token: { perSecond: 0, burst: 0 }, badToken: { perSecond: 1 / 60, burst: 2 } } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) statuses.push((await limited.call('POST', '/v1/login', { body: { account: 'admin', password: `guess number ${i}` } })).statusCode);
      assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
      const retry = await limited.call('POST', '/v1/login', { body: { account: 'admin', password: 'guess again!' } });
      assert.equal((retry.json() as { error: { code: string } }).error.code, 'RATE_LIMITED');
      assert.ok(Number(retry.headers['retry-after']) >= 1);
      const bad: number[] = [];
      for (let i = 0; i < 4; i += 1) bad.push((await limited.call('GET', '/v1/whoami', { token: `custody_${'A'.repeat(36)}` })).statusCode);
      assert.deepEqual(bad, [401, 401, 429, 429]);
    } finally {
      await limited.close();
    }
  });

  it('keeps a version immutable: archiving marks it, nothing changes its files', async () => {
    const dir = writeTree(workDir('immutable'), { 'a.txt': 'one' });
    const version = await pushDir(reg, token, 'p', 'immutable', dir);
    const archived = await reg.call('POST', `/v1/projects/p/models/immutable/versions/${version}/archive`, { token });
    assert.equal((archived.json() as { status: string }).status, 'archived');
    assert.equal((await reg.call('POST', `/v1/projects/p/models/immutable/versions/${version}/archive`, { token })).statusCode, 409);
    const file = await reg.call('GET', `/v1/projects/p/models/immutable/versions/${version}/files/a.txt`, { token });
    assert.equal(file.body, 'one');
    const resources = [{ name: 'a.txt', algorithm: 'sha256', digest: sha('one') }];
    const same = { name: 'x', digest: { sha256: computeRootDigest([sha('one')]) }, serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false }, resources };
    assert.equal((await reg.call('POST', '/v1/projects/p/models/immutable/uploads', { token, body: { manifest: same } })).statusCode, 409);
  });
});

function readAttestationKey(dataDir: string): string {
  return readFileSync(join(dataDir, 'keys', 'attestation.pem'), 'utf8');
}
