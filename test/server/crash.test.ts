import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyAuditExport } from '../../src/audit/index.js';
import { computeRootDigest } from '../../src/integrity/digest.js';
import { workDir } from './helpers.js';

/**
 * Crash safety with a real process: the built server is killed with SIGKILL while several uploads
 * are in flight, fifty times; after every restart no partial blob is visible, every version has all
 * its blobs (each downloads with its digest), staging is empty and the audit log verifies.
 */

const KILLS = 50;
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

interface Server {
  child: ChildProcess;
  url: string;
}

async function startServer(dataDir: string): Promise<Server> {
  const child = spawn(process.execPath, ['bin/custody', 'registry', 'serve', '--data-dir', dataDir, '--port', '0', '--log-level', 'silent', '--no-scan', '--token-rate', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 20_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${String(code)}: ${err}`));
    });
  });
  child.removeAllListeners('exit');
  return { child, url };
}

function kill(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGKILL');
  });
}

/** One HTTP request; the body is sent in chunks with pauses, so kills land mid-upload. */
function http(url: string, method: string, path: string, token: string, body?: Buffer, json = true): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url + path);
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body) {
      headers['content-type'] = json ? 'application/json' : 'application/octet-stream';
      headers['content-length'] = String(body.length);
    }
    const req = request(target, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (!body) return void req.end();
    let at = 0;
    const step = (): void => {
      if (at >= body.length) return void req.end();
      const next = Math.min(body.length, at + 64 * 1024);
      req.write(body.subarray(at, next));
      at = next;
      setTimeout(step, 2);
    };
    step();
  });
}

/** A push through the raw API; resolves whatever happens (the server may die under it). */
async function push(url: string, token: string, name: string): Promise<void> {
  const files = [randomBytes(64 * 1024 + Math.floor(Math.random() * 256 * 1024)), randomBytes(1 + Math.floor(Math.random() * 128 * 1024))];
  const resources = files.map((f, i) => ({ name: `f${i}.bin`, algorithm: 'sha256', digest: sha(f) }));
  const manifest = { name, digest: { sha256: computeRootDigest(resources.map((r) => r.digest)) }, serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false }, resources };
  try {
    const started = await http(url, 'POST', `/v1/projects/p/models/${name}/uploads`, token, Buffer.from(JSON.stringify({ manifest })));
    if (started.status !== 201) return;
    const { uploadId } = JSON.parse(started.body.toString()) as { uploadId: string };
    await Promise.all(files.map((f, i) => http(url, 'PUT', `/v1/uploads/${uploadId}/files/f${i}.bin`, token, f, false)));
    await http(url, 'POST', `/v1/uploads/${uploadId}/commit`, token);
  } catch {
    // the server was killed: that is the point
  }
}

function listBlobs(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const a of readdirSync(dir)) for (const b of readdirSync(join(dir, a))) for (const n of readdirSync(join(dir, a, b))) out.push(join(dir, a, b, n));
  return out;
}

async function checkInvariants(server: Server, dataDir: string, token: string, checked: Set<string>, seenVersions: Set<string>): Promise<number> {
  for (const path of listBlobs(join(dataDir, 'blobs', 'sha256'))) {
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (checked.has(name)) continue;
    assert.equal(sha(readFileSync(path)), name, `blob ${name} is whole`);
    checked.add(name);
  }
  assert.deepEqual(readdirSync(join(dataDir, 'blobs', 'staging')), [], 'staging emptied at start');
  const listed = await http(server.url, 'GET', '/v1/projects/p/models', token);
  assert.equal(listed.status, 200, listed.body.toString());
  let versions = 0;
  for (const model of (JSON.parse(listed.body.toString()) as { models: { name: string }[] }).models) {
    const list = await http(server.url, 'GET', `/v1/projects/p/models/${model.name}`, token);
    for (const v of (JSON.parse(list.body.toString()) as { versions: { version: string }[] }).versions) {
      versions += 1;
      // Versions are immutable: one that was whole after an earlier restart is checked again by the blob hashes above.
      if (seenVersions.has(v.version)) continue;
      seenVersions.add(v.version);
      const detail = JSON.parse((await http(server.url, 'GET', `/v1/projects/p/models/${model.name}/versions/${v.version}`, token)).body.toString()) as { fileList: { name: string; sha256: string; size: number }[] };
      assert.equal(detail.fileList.length, 2, 'a version has all its files');
      for (const file of detail.fileList) {
        const got = await http(server.url, 'GET', `/v1/projects/p/models/${model.name}/versions/${v.version}/files/${file.name}`, token);
        assert.equal(got.status, 200);
        assert.equal(sha(got.body), file.sha256, `${model.name}/${file.name} downloads whole`);
      }
    }
  }
  const exported = await http(server.url, 'GET', '/v1/audit/export', token);
  assert.equal(exported.status, 200);
  const path = join(dataDir, '..', 'export.jsonl');
  writeFileSync(path, exported.body);
  const verification = await verifyAuditExport(path, { verifierKey: readFileSync(join(dataDir, 'keys', 'log.vkey'), 'utf8').trim() });
  assert.equal(verification.verified, true, JSON.stringify(verification).slice(0, 500));
  return versions;
}

describe('crash safety', () => {
  it(`keeps blobs whole, versions complete and the log verifiable across ${KILLS} SIGKILLs during uploads`, { timeout: 600_000 }, async () => {
    assert.ok(existsSync('dist/cli/main.js'), 'needs the built CLI (npm run build)');
    const dataDir = join(workDir('crash'), 'data');
    let server = await startServer(dataDir);
    const token = readFileSync(join(dataDir, 'initial-admin-token'), 'utf8').trim();
    assert.equal((await http(server.url, 'POST', '/v1/projects', token, Buffer.from('{"name":"p"}'))).status, 201);
    const checked = new Set<string>();
    const seenVersions = new Set<string>();
    let versions = 0;
    for (let round = 0; round < KILLS; round += 1) {
      const pushes = [0, 1].map((i) => push(server.url, token, `m${round}-${i}`));
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(Math.random() * 250)));
      await kill(server);
      await Promise.all(pushes);
      server = await startServer(dataDir);
      versions = await checkInvariants(server, dataDir, token, checked, seenVersions);
    }
    await kill(server);
    assert.ok(versions > 0, 'some pushes completed between kills');
    assert.ok(checked.size > versions, 'blobs were checked');
  });
});
