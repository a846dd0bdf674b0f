import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateToken } from '../../src/registry/tokens.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { LocalBlobStore } from '../../src/store/blobs.js';
import { cli, workDir, writeTree } from './helpers.js';

/**
 * The client commands against a real registry on loopback: the Contract of issue 10 (token printed
 * once on stdout alone, push prints the id alone, exit codes), verified pull, tamper detection on
 * download and in pull, and a client that refuses a log rolled back or forked behind its back.
 */

async function start(dataDir: string): Promise<RunningServer> {
  return startServer({ dataDir, host: '127.0.0.1', port: 0, version: '0.0.0-test', settings: { scan: false }, rateLimits: { login: { perSecond: 10, burst: 100 }, token: { perSecond: 0, burst: 0 }, badToken: { perSecond: 0, burst: 0 } } });
}

describe('registry clients end to end', () => {
  let server: RunningServer;
  let dataDir: string;
  let home: string;
  let env: Record<string, string>;
  let version = '';

  before(async () => {
    home = workDir('cli');
    dataDir = join(home, 'data');
    server = await start(dataDir);
    const token = readFileSync(join(dataDir, 'initial-admin-token'), 'utf8').trim();
    env = { CUSTODY_URL: server.url, CUSTODY_TOKEN: token, CUSTODY_CONFIG_DIR: join(home, 'config') };
    writeTree(home, { 'model/weights.bin': Buffer.alloc(300_000, 7), 'model/config.json': '{"layers": 2}', 'model/tok/vocab.txt': 'a\nb\n', 'dataset/train.csv': 'x,y\n1,2\n' });
  });
  after(async () => {
    await server.close();
  });

  it('writes the initial admin token to a 0600 file and prints only its path', () => {
    const path = join(dataDir, 'initial-admin-token');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(readFileSync(path, 'utf8'), /^custody_[A-Za-z0-9]{36}\n$/);
  });

  it('administers from the CLI: project, keys, service account, grant, scoped token printed alone', async () => {
    assert.equal((await cli(['project', 'create', 'demo'], home, env)).code, 0);
    const keygen = await cli(['keygen', '--out', 'signer'], home, env);
    assert.equal(keygen.code, 0, keygen.stderr);
    const trust = await cli(['project', 'trust-key', 'demo', 'signer.pub.pem'], home, env);
    assert.equal(trust.code, 0, trust.stderr);
    assert.equal((await cli(['account', 'create', 'ci', '--service'], home, env)).code, 0);
    assert.equal((await cli(['grant', 'demo', 'ci', 'trainer', '--models', 'classifier'], home, env)).code, 0);
    const made = await cli(['token', 'create', '--account', 'ci', '--project', 'demo'], home, env);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /^custody_[A-Za-z0-9]{36}\n$/, 'the token alone on stdout');
    const list = await cli(['token', 'list', '--account', 'ci', '--format', 'json'], home, env);
    const tokens = (JSON.parse(list.stdout) as { tokens: { expiresAt: string; createdAt: string }[] }).tokens;
    assert.equal(tokens.length, 1);
    const ttl = Date.parse(tokens[0]?.expiresAt ?? '') - Date.parse(tokens[0]?.createdAt ?? '');
    assert.equal(ttl, 3600_000, 'service tokens default to one hour');
    assert.ok(!list.stdout.includes(made.stdout.trim()), 'listing never shows a token');
  });

  it('logs a user in with a password, saves the token (0600) and uses it; a revoked token stops working', async () => {
    const made = await cli(['account', 'create', 'alice'], home, { ...env, CUSTODY_NEW_PASSWORD: 'a long enough passphrase' });
    assert.equal(made.code, 0, made.stderr);
    assert.equal((await cli(['grant', 'demo', 'alice', 'viewer'], home, env)).code, 0);
    const loginEnv = { CUSTODY_URL: env['CUSTODY_URL'] as string, CUSTODY_CONFIG_DIR: join(home, 'alice-config') };
    const wrong = await cli(['login', '--account', 'alice'], home, { ...loginEnv, CUSTODY_PASSWORD: 'not the passphrase' });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /error UNAUTHENTICATED/);
    const login = await cli(['login', '--account', 'alice', '--ttl', '2h'], home, { ...loginEnv, CUSTODY_PASSWORD: 'a long enough passphrase' });
    assert.equal(login.code, 0, login.stderr);
    assert.equal(login.stdout, '', 'the token is not printed');
    assert.equal(statSync(join(home, 'alice-config', 'credentials.json')).mode & 0o777, 0o600);
    const listed = await cli(['project', 'list', '--format', 'json'], home, loginEnv);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual((JSON.parse(listed.stdout) as { projects: { name: string; role: string }[] }).projects.map((p) => [p.name, p.role]), [['demo', 'viewer']]);
    const mine = JSON.parse((await cli(['token', 'list', '--format', 'json'], home, loginEnv)).stdout) as { tokens: { id: string }[] };
    const id = mine.tokens[0]?.id ?? '';
    assert.equal((await cli(['token', 'revoke', id], home, loginEnv)).code, 0);
    const after = await cli(['project', 'list'], home, loginEnv);
    assert.equal(after.code, 2);
    assert.match(after.stderr, /error UNAUTHENTICATED: .*revoked token/);
  });

  it('pushes as a trainer (version id alone on stdout), and refuses what the trainer may not do', async () => {
    const ciToken = (await cli(['token', 'create', '--account', 'ci', '--project', 'demo'], home, env)).stdout.trim();
    const asCi = { ...env, CUSTODY_TOKEN: ciToken };
    const pushed = await cli(['push', 'model', '--project', 'demo', '--model', 'classifier', '--key', 'signer.pem'], home, asCi);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stdout, /^[0-9a-f]{64}\n$/);
    version = pushed.stdout.trim();
    const hashed = JSON.parse((await cli(['hash', 'model'], home, env)).stdout) as { digest: { sha256: string } };
    assert.equal(version, hashed.digest.sha256, 'the version id is the manifest root digest');
    const again = await cli(['push', 'model', '--project', 'demo', '--model', 'classifier', '--format', 'json'], home, asCi);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { existed: boolean; version: string }).existed, true);
    const other = await cli(['push', 'model', '--project', 'demo', '--model', 'other'], home, asCi);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /error FORBIDDEN/);
    const read = await cli(['models', 'list', 'demo'], home, asCi);
    assert.equal(read.code, 2);
    assert.match(read.stderr, /error FORBIDDEN/);
    const anonymous = await cli(['models', 'list', 'demo'], home, { ...env, CUSTODY_TOKEN: generateToken() });
    assert.match(anonymous.stderr, /error UNAUTHENTICATED/);
  });

  it('pushes a dataset and browses models and datasets', async () => {
    const pushed = await cli(['push', 'dataset', '--project', 'demo', '--dataset', 'train', '--format', 'json'], home, env);
    assert.equal(pushed.code, 0, pushed.stdout + pushed.stderr);
    assert.match((JSON.parse(pushed.stdout) as { version: string }).version, /^[0-9a-f]{64}$/);
    assert.match((await cli(['models', 'list', 'demo'], home, env)).stdout, /demo\/classifier {2}1 version/);
    assert.match((await cli(['datasets', 'list', 'demo'], home, env)).stdout, /demo\/train/);
    const shown = await cli(['models', 'show', `demo/classifier@${version}`], home, env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /signature .* verified/);
    assert.match(shown.stdout, /tok\/vocab\.txt/);
  });

  it('pulls into place only after verifying the signature and every digest', async () => {
    const out = join(home, 'pulled');
    const pulled = await cli(['pull', `demo/classifier@${version}`, '--output', out], home, env);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, /signature verified/);
    assert.deepEqual(readFileSync(join(out, 'weights.bin')), Buffer.alloc(300_000, 7));
    assert.equal(readFileSync(join(out, 'tok/vocab.txt'), 'utf8'), 'a\nb\n');
    const exists = await cli(['pull', `demo/classifier@${version}`, '--output', out], home, env);
    assert.equal(exists.code, 2, 'refuses to write over an existing directory');
    const wrongKey = await cli(['keygen', '--out', 'stranger'], home, env);
    assert.equal(wrongKey.code, 0);
    const untrusted = await cli(['pull', `demo/classifier@${version}`, '--output', join(home, 'untrusted'), '--trusted-key', 'stranger.pub.pem'], home, env);
    assert.equal(untrusted.code, 1, untrusted.stderr);
    assert.match(untrusted.stderr, /FAILED KEY_UNTRUSTED/);
    assert.equal(existsSync(join(home, 'untrusted')), false);
    assert.deepEqual(readdirSync(home).filter((n) => n.includes('custody-pull')), [], 'no temporary directory left');
  });

  it('catches a blob changed on disk: the download is cut short and pull leaves nothing', async () => {
    const blobs = new LocalBlobStore(join(dataDir, 'blobs'));
    const sha = (await cli(['models', 'show', `demo/classifier@${version}`, '--format', 'json'], home, env)).stdout;
    const weights = (JSON.parse(sha) as { fileList: { name: string; sha256: string }[] }).fileList.find((f) => f.name === 'weights.bin');
    assert.ok(weights);
    const path = blobs.pathOf(weights.sha256);
    const original = readFileSync(path);
    const changed = Buffer.from(original);
    changed[123_456] = (changed[123_456] ?? 0) ^ 1;
    writeFileSync(path, changed);
    try {
      const out = join(home, 'tampered');
      const pulled = await cli(['pull', `demo/classifier@${version}`, '--output', out], home, env);
      assert.notEqual(pulled.code, 0);
      assert.match(pulled.stderr, /STORE_CORRUPT|REMOTE_ERROR/);
      assert.equal(existsSync(out), false, 'nothing at the output');
      assert.deepEqual(readdirSync(home).filter((n) => n.includes('custody-pull')), [], 'no temporary directory left');
      const log = await cli(['audit', 'query', '--action', 'integrity.failure', '--format', 'json'], home, env);
      assert.equal(log.code, 0, log.stderr);
      assert.ok((JSON.parse(log.stdout) as { entries: unknown[] }).entries.length >= 1, 'the corruption is in the audit log');
    } finally {
      writeFileSync(path, original);
    }
  });

  it('exports the audit log for offline verification and answers who downloaded a version', async () => {
    const exported = await cli(['audit', 'export', '--output', 'audit.jsonl'], home, env);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(statSync(join(home, 'audit.jsonl')).mode & 0o777, 0o600);
    const key = readFileSync(join(dataDir, 'keys', 'log.vkey'), 'utf8').trim();
    const verified = await cli(['audit', 'verify', 'audit.jsonl', '--key', key], home, env);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    const lines = readFileSync(join(home, 'audit.jsonl'), 'utf8').split('\n');
    lines.splice(5, 1);
    writeFileSync(join(home, 'audit-cut.jsonl'), lines.join('\n'));
    assert.equal((await cli(['audit', 'verify', 'audit-cut.jsonl', '--key', key], home, env)).code, 1);
    const who = await cli(['audit', 'query', '--version', version, '--action', 'artifact.download', '--format', 'json'], home, env);
    assert.equal(who.code, 0, who.stderr);
    const entries = (JSON.parse(who.stdout) as { entries: { entry: { actor: { account?: string }; target: { file: string } } }[] }).entries;
    assert.ok(entries.some((e) => e.entry.actor.account === 'admin' && e.entry.target.file === 'weights.bin'));
    const denied = await cli(['audit', 'query', '--decision', 'deny', '--account', 'ci', '--format', 'json'], home, env);
    assert.ok((JSON.parse(denied.stdout) as { entries: unknown[] }).entries.length >= 2, "the trainer's refused requests are logged");
  });

  it('refuses a log that was rolled back, or forked, after this client saw a later checkpoint', async () => {
    assert.equal((await cli(['project', 'list'], home, env)).code, 0);
    await server.close();
    const backup = join(home, 'backup');
    cpSync(dataDir, backup, { recursive: true });
    server = await start(dataDir);
    env = { ...env, CUSTODY_URL: server.url };
    for (let i = 0; i < 3; i += 1) assert.equal((await cli(['project', 'list'], home, env)).code, 0);

    await server.close();
    rmSync(dataDir, { recursive: true });
    cpSync(backup, dataDir, { recursive: true });
    server = await start(dataDir);
    env = { ...env, CUSTODY_URL: server.url };
    const rolledBack = await cli(['project', 'list'], home, { ...env, CUSTODY_CONFIG_DIR: join(home, 'config-copy-of-state') });
    assert.equal(rolledBack.code, 0, 'a client that never saw the later log has no way to tell');
    // The state is per URL; carry the earlier client's memory over to the restarted server's URL.
    const state = JSON.parse(readFileSync(join(home, 'config', 'registry-state.json'), 'utf8')) as { servers: Record<string, unknown> };
    const seen = Object.values(state.servers).pop();
    writeFileSync(join(home, 'config', 'registry-state.json'), JSON.stringify({ servers: { [server.url]: seen } }));
    const refused = await cli(['project', 'list'], home, env);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /FAILED AUDIT_ROLLBACK/);

    // Grow the restored log past what the client saw: the same key now signs a different history.
    const other = { ...env, CUSTODY_CONFIG_DIR: join(home, 'config-other') };
    for (let i = 0; i < 12; i += 1) await cli(['project', 'list'], home, other);
    const forked = await cli(['project', 'list'], home, env);
    assert.equal(forked.code, 1, forked.stderr);
    assert.match(forked.stderr, /FAILED AUDIT_FORK/);
  });

  it('catches altered bytes in pull itself when a server serves them without noticing', async () => {
    // A stand-in server that answers like the registry but flips a byte of every file it sends.
    const real = server.url;
    const proxy = createServer(async (req, res) => {
      const upstream = await fetch(`${real}${req.url ?? ''}`, { headers: { authorization: String(req.headers.authorization ?? '') } });
      const body = Buffer.from(await upstream.arrayBuffer());
      if ((req.url ?? '').includes('/files/') && body.length > 0) body[0] = (body[0] ?? 0) ^ 0xff;
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json', 'content-length': String(body.length) });
      res.end(body);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    try {
      const proxied = { ...env, CUSTODY_URL: url, CUSTODY_CONFIG_DIR: join(home, 'config-proxy') };
      const out = join(home, 'via-proxy');
      const pulled = await cli(['pull', `demo/classifier@${version}`, '--output', out, '--trusted-key', 'signer.pub.pem'], home, proxied);
      assert.equal(pulled.code, 1, pulled.stderr);
      assert.match(pulled.stderr, /FAILED DIGEST_MISMATCH/);
      assert.equal(existsSync(out), false);
      const unsigned = await cli(['pull', `demo/train@${'0'.repeat(64)}`, '--dataset', '--output', join(home, 'x'), '--allow-unsigned'], home, proxied);
      assert.equal(unsigned.code, 2, 'an unknown version is NOT_FOUND');
    } finally {
      proxy.close();
    }
  });
});
