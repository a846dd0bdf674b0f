import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { computeRootDigest } from '../../src/integrity/digest.js';
import { HTTP_STATUS } from '../../src/server/errors.js';
import { encodeName, manifestOf, startTestRegistry, workDir, writeTree, type TestRegistry } from './helpers.js';

/**
 * Hostile and malformed requests: every one answers a clear 4xx with an error code, and nothing of
 * it is stored (no blob, no staged file, no version, no upload file).
 */

const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** A manifest for files given by name and content (what `custody hash` would print for them). */
function manifestFor(files: Record<string, string>): Record<string, unknown> {
  const resources = Object.entries(files).map(([name, content]) => ({ name, algorithm: 'sha256', digest: sha(content) }));
  return { name: 'm', digest: { sha256: computeRootDigest(resources.map((r) => r.digest)) }, serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false }, resources };
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out.sort();
}

describe('bad input to the registry', () => {
  let reg: TestRegistry;
  let token: string;
  const bodies: string[] = [];

  const call = async (method: string, url: string, options: Parameters<TestRegistry['call']>[2] = {}): Promise<{ status: number; code: string | undefined; body: string }> => {
    const res = await reg.call(method, url, { token, ...options });
    bodies.push(res.body);
    const code = res.headers['content-type']?.toString().includes('json') ? (res.json() as { error?: { code?: string } }).error?.code : undefined;
    return { status: res.statusCode, code, body: res.body };
  };
  const stored = async (): Promise<{ blobs: string[]; staging: string[]; versions: number }> => {
    const versions = (await reg.call('GET', '/v1/projects/p/models/m', { token })).json() as { versions?: unknown[] };
    return { blobs: listFiles(join(reg.dataDir, 'blobs', 'sha256')), staging: listFiles(join(reg.dataDir, 'blobs', 'staging')), versions: versions.versions?.length ?? 0 };
  };
  const start = async (manifest: unknown): Promise<string> => {
    const res = await call('POST', '/v1/projects/p/models/m/uploads', { body: { manifest } });
    assert.equal(res.status, 201, res.body);
    return (JSON.parse(res.body) as { uploadId: string }).uploadId;
  };
  const put = (upload: string, name: string, payload: string | Buffer): ReturnType<typeof call> =>
    call('PUT', `/v1/uploads/${upload}/files/${encodeName(name)}`, { payload, headers: { 'content-type': 'application/octet-stream' } });

  before(async () => {
    reg = await startTestRegistry({ settings: { maxFileBytes: 1024 * 1024, maxFilesPerVersion: 50 } });
    token = reg.adminToken;
    assert.equal((await reg.call('POST', '/v1/projects', { token, body: { name: 'p' } })).statusCode, 201);
    const first = writeTree(workDir('first'), { 'a.bin': 'first version' });
    const manifest = await manifestOf(first);
    const upload = await start(manifest);
    assert.equal((await put(upload, 'a.bin', 'first version')).status, 200);
    assert.equal((await call('POST', `/v1/uploads/${upload}/commit`)).status, 201);
  });
  after(async () => {
    await reg.close();
  });

  it('refuses traversal and unsafe names in projects, artifacts and files', async () => {
    const before = await stored();
    for (const url of ['/v1/projects/..%2F..%2Fetc', '/v1/projects/%2e%2e', '/v1/projects/p/models/..%2Fm', '/v1/projects/p/models/a%00b', '/v1/projects/P/models']) {
      const res = await call('GET', url);
      assert.ok(res.status === 400 || res.status === 404, `${url}: ${res.status}`);
      assert.ok(res.code === 'REQUEST_INVALID' || res.code === 'NOT_FOUND', `${url}: ${String(res.code)}`);
    }
    for (const name of ['..', '../x', 'a..b', '.hidden', 'UPPER', 'x'.repeat(65), 'a/b', '']) {
      const res = await call('POST', '/v1/projects', { body: { name } });
      assert.equal(res.status, 400, `${JSON.stringify(name)}: ${res.body}`);
      assert.ok(res.code === 'REQUEST_INVALID' || res.code === 'NAME_INVALID');
    }
    const badFiles = ['../etc/passwd', '/etc/passwd', 'a/../../b', 'a//b', './a', 'a\\..\\b', 'C:evil', 'a\u0000b', 'a\nb', '.git/config', 'x/.svn/entries', `${'d'.repeat(256)}/f`];
    for (const name of badFiles) {
      const res = await call('POST', '/v1/projects/p/models/m/uploads', { body: { manifest: manifestFor({ [name]: 'x', 'ok.bin': 'y' }) } });
      assert.equal(res.status, 400, `${JSON.stringify(name)}: ${res.body}`);
      assert.ok(res.code === 'NAME_INVALID' || res.code === 'REQUEST_INVALID', `${JSON.stringify(name)}: ${String(res.code)}`);
    }
    const conflict = await call('POST', '/v1/projects/p/models/m/uploads', { body: { manifest: manifestFor({ a: 'x', 'a/b': 'y' }) } });
    assert.equal(conflict.status, 400);
    assert.deepEqual(await stored(), before);
  });

  it('refuses duplicate files, a wrong root digest and malformed manifests', async () => {
    const before = await stored();
    const dup = manifestFor({ 'a.bin': 'x' }) as { resources: unknown[]; digest: { sha256: string } };
    dup.resources = [...dup.resources, ...dup.resources];
    dup.digest.sha256 = computeRootDigest([sha('x'), sha('x')]);
    assert.deepEqual(await call('POST', '/v1/projects/p/models/m/uploads', { body: { manifest: dup } }).then((r) => [r.status, r.code]), [400, 'REQUEST_INVALID']);
    const lying = manifestFor({ 'a.bin': 'x' }) as { digest: { sha256: string } };
    lying.digest.sha256 = sha('something else');
    assert.deepEqual(await call('POST', '/v1/projects/p/models/m/uploads', { body: { manifest: lying } }).then((r) => [r.status, r.code]), [400, 'REQUEST_INVALID']);
    for (const manifest of [{}, { name: 'm', digest: { sha256: 'zz' }, serialization: {}, resources: [] }, { ...manifestFor({ a: 'x' }), serialization: { method: 'magic', hash_type: 'sha256', allow_symlinks: false } }, { ...manifestFor({ a: 'x' }), extra: 1 }]) {
      const res = await call('POST', '/v1/projects/p/models/m/uploads', { body: { manifest } });
      assert.equal(res.status, 400, res.body);
      assert.equal(res.code, 'REQUEST_INVALID');
    }
    const many = await call('POST', '/v1/projects/p/models/m/uploads', { body: { manifest: manifestFor(Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`f${i}`, String(i)]))) } });
    assert.deepEqual([many.status, many.code], [413, 'INPUT_LIMIT']);
    assert.deepEqual(await stored(), before);
  });

  it('refuses malformed and oversized bodies with a code', async () => {
    const cases: [string, string, Parameters<TestRegistry['call']>[2], number, string][] = [
      ['POST', '/v1/projects', { payload: '{"name": "x"', headers: { 'content-type': 'application/json' } }, 400, 'REQUEST_INVALID'],
      ['POST', '/v1/projects', { payload: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 400, 'REQUEST_INVALID'],
      ['POST', '/v1/projects', { body: { name: 'x', admin: true } }, 400, 'REQUEST_INVALID'],
      ['POST', '/v1/projects', { body: { name: 42 } }, 400, 'REQUEST_INVALID'],
      ['POST', '/v1/projects', { body: [] }, 400, 'REQUEST_INVALID'],
      ['POST', '/v1/login', { body: { account: 'admin', password: 'x'.repeat(20_000) } }, 413, 'INPUT_LIMIT'],
      ['POST', '/v1/projects', { body: { name: 'y'.repeat(300_000) } }, 413, 'INPUT_LIMIT'],
      ['POST', '/v1/tokens', { body: { account: 'admin', actions: ['everything'] } }, 400, 'REQUEST_INVALID'],
      ['POST', '/v1/tokens', { body: { account: 'admin', ttlSeconds: 400 * 86400 } }, 400, 'REQUEST_INVALID'],
      ['GET', '/v1/projects/p/models/m/versions/not-a-digest', {}, 400, 'REQUEST_INVALID'],
      ['GET', `/v1/projects/p/models/m/versions/${'0'.repeat(64)}`, {}, 404, 'NOT_FOUND'],
      ['GET', '/v1/audit/consistency?from=5&to=2', {}, 400, 'REQUEST_INVALID'],
      ['GET', '/v1/nothing-here', {}, 404, 'NOT_FOUND'],
      ['PUT', '/v1/projects/p/members/nobody', { body: { role: 'emperor' } }, 400, 'REQUEST_INVALID'],
    ];
    for (const [method, url, options, status, code] of cases) {
      const res = await call(method, url, options);
      assert.deepEqual([res.status, res.code], [status, code], `${method} ${url}: ${res.body.slice(0, 300)}`);
    }
  });

  it('keeps nothing of a file that does not match its digest, is too large, or is not in the manifest', async () => {
    const before = await stored();
    const upload = await start(manifestFor({ 'w.bin': 'the right bytes', 'big.bin': 'small' }));
    assert.deepEqual(await put(upload, 'w.bin', 'the wrong bytes').then((r) => [r.status, r.code]), [422, 'DIGEST_MISMATCH']);
    assert.deepEqual(await put(upload, 'w.bin', 'the right bytes and more').then((r) => [r.status, r.code]), [422, 'DIGEST_MISMATCH']);
    assert.deepEqual(await put(upload, 'w.bin', '').then((r) => [r.status, r.code]), [422, 'DIGEST_MISMATCH']);
    assert.deepEqual(await put(upload, 'big.bin', Buffer.alloc(1024 * 1024 + 1)).then((r) => [r.status, r.code]), [413, 'INPUT_LIMIT']);
    assert.deepEqual(await put(upload, 'other.bin', 'x').then((r) => [r.status, r.code]), [404, 'NOT_FOUND']);
    assert.deepEqual(await put(upload, '../w.bin', 'x').then((r) => [r.status, r.code]), [404, 'NOT_FOUND'], 'the URL resolves elsewhere');
    const traversal = await call('PUT', `/v1/uploads/${upload}/files/${encodeURIComponent('../w.bin')}`, { payload: 'x', headers: { 'content-type': 'application/octet-stream' } });
    assert.deepEqual([traversal.status, traversal.code], [400, 'NAME_INVALID']);
    const json = await call('PUT', `/v1/uploads/${upload}/files/w.bin`, { body: { bytes: 'the right bytes' } });
    assert.equal(json.status, 400);
    assert.deepEqual(await call('POST', `/v1/uploads/${upload}/commit`).then((r) => [r.status, r.code]), [409, 'UPLOAD_INCOMPLETE']);
    assert.deepEqual(await stored(), before, 'no blob, no staged file, no version');
  });

  it('keeps nothing of an upload cut short on the wire', async () => {
    const before = await stored();
    const content = Buffer.alloc(200_000, 9);
    const upload = await start(manifestFor({ 'cut.bin': content.toString('latin1') }));
    await reg.app.listen({ host: '127.0.0.1', port: 0 });
    const address = reg.app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, method: 'PUT', path: `/v1/uploads/${upload}/files/cut.bin`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(content.length) } });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      req.write(content.subarray(0, 100_000), () => setTimeout(() => req.destroy(), 100));
    });
    // The server notices the closed connection and drops what it staged.
    for (let i = 0; i < 100 && (await stored()).staging.length > 0; i += 1) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await call('POST', `/v1/uploads/${upload}/commit`).then((r) => [r.status, r.code]), [409, 'UPLOAD_INCOMPLETE']);
    assert.deepEqual(await stored(), before);
  });

  it('refuses to overwrite a version, and accepts the same file twice within an upload', async () => {
    const again = await call('POST', '/v1/projects/p/models/m/uploads', { body: { manifest: manifestFor({ 'a.bin': 'first version' }) } });
    assert.deepEqual([again.status, again.code], [409, 'CONFLICT']);
    const upload = await start(manifestFor({ 'b.bin': 'second' }));
    assert.equal((await put(upload, 'b.bin', 'second')).status, 200);
    assert.equal((await put(upload, 'b.bin', 'second')).status, 200);
    assert.equal((await call('POST', `/v1/uploads/${upload}/commit`)).status, 201);
    assert.deepEqual(await call('POST', `/v1/uploads/${upload}/commit`).then((r) => [r.status, r.code]), [404, 'NOT_FOUND']);
  });

  it('never shows a stack trace or an internal path, and maps every error to its documented status', () => {
    assert.ok(bodies.length > 40);
    for (const body of bodies) {
      assert.ok(!body.includes(reg.dataDir), `a body names the data directory: ${body.slice(0, 200)}`);
      assert.ok(!/\n\s+at |node_modules|\.ts:\d+/.test(body), `a body holds a stack trace: ${body.slice(0, 200)}`);
    }
    const statuses = new Map<string, Set<number>>();
    for (const body of bodies) {
      try {
        const code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
        if (code) statuses.set(code, new Set());
      } catch {
        // downloads and successes
      }
    }
    for (const code of statuses.keys()) assert.ok(code in HTTP_STATUS, `${code} has an HTTP status in the mapping`);
  });

  it('documents the mapping of error codes to HTTP statuses in docs/registry.md, entry for entry', () => {
    const doc = readFileSync('docs/registry.md', 'utf8');
    const section = doc.slice(doc.indexOf('## Error codes and HTTP statuses'));
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])] as const);
    assert.deepEqual(Object.fromEntries(rows), { ...HTTP_STATUS });
  });
});

/** Writable that collects what a logger writes. */
export function collect(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return { stream: new Writable({ write: (chunk, _enc, cb) => void (chunks.push(String(chunk)), cb()) }), text: () => chunks.join('') };
}
