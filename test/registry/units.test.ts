import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isCustodyError } from '../../src/core/errors.js';
import { parseVersionManifest } from '../../src/registry/manifest.js';
import { describeBadFileName, findPrefixConflict, isSimpleName } from '../../src/registry/names.js';
import { generateToken, hashToken, isWellFormedToken, parseDuration } from '../../src/registry/tokens.js';
import { receiveFile } from '../../src/registry/transfer.js';
import { RateLimiter, parseRateLimit } from '../../src/server/rate-limit.js';
import { LocalBlobStore } from '../../src/store/blobs.js';
import { scanText } from '../secrets/helpers.js';

const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

async function* chunks(...parts: (string | Buffer)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

describe('tokens', () => {
  it('are custody_ + 36 base62 with a checksum; a changed character fails the check', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i += 1) {
      const token = generateToken();
      assert.match(token, /^custody_[0-9A-Za-z]{36}$/);
      assert.equal(isWellFormedToken(token), true);
      seen.add(token);
      const at = 8 + (i % 36);
      const changed = token.slice(0, at) + (token[at] === 'a' ? 'b' : 'a') + token.slice(at + 1);
      assert.equal(isWellFormedToken(changed), false, 'one changed character');
    }
    assert.equal(seen.size, 200);
    assert.equal(isWellFormedToken(`custody_${'0'.repeat(36)}x`), false);
    assert.match(hashToken(generateToken()), /^[0-9a-f]{64}$/);
  });

  it('are found by custody scan when leaked, and look-alikes are not', async () => {
    const token = generateToken();
    const found = await scanText(`export CUSTODY_TOKEN=${token}\n`, 'deploy.sh');
    assert.deepEqual(found.map((f) => f.ruleId), ['secrets/custody-token']);
    assert.ok(!JSON.stringify(found).includes(token), 'the finding does not carry the token');
    const broken = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    assert.deepEqual((await scanText(`export CUSTODY_TOKEN=${broken}\n`, 'deploy.sh')).filter((f) => f.ruleId === 'secrets/custody-token'), []);
  });

  it('parse durations', () => {
    assert.equal(parseDuration('90s'), 90);
    assert.equal(parseDuration('1h'), 3600);
    assert.equal(parseDuration('30d'), 30 * 86400);
    for (const bad of ['', '0h', '1w', '-1h', '1.5h', 'h']) assert.equal(parseDuration(bad), undefined, bad);
  });
});

describe('names', () => {
  it('accepts simple names only', () => {
    for (const good of ['a', 'vision', 'model-1.2_b', 'x'.repeat(64)]) assert.equal(isSimpleName(good), true, good);
    for (const bad of ['', '.', '..', 'a..b', '-a', 'a-', 'A', 'a/b', 'a b', 'x'.repeat(65), 'ä']) assert.equal(isSimpleName(bad), false, bad);
  });

  it('refuses file names that could escape or be read differently on another system', () => {
    for (const good of ['a', 'dir/file.bin', 'тест/файл', 'a b/cd:e', '😀.txt']) assert.equal(describeBadFileName(good), undefined, good);
    for (const bad of ['', '/a', 'a/', 'a//b', './a', 'a/./b', '../a', 'a/..', 'a\\b', 'a\u0001', 'a\u007f', 'C:x', 'd/c:\\x', 'a\uD800b', `${'x'.repeat(256)}`, `${'y/'.repeat(600)}z`]) {
      assert.notEqual(describeBadFileName(bad), undefined, JSON.stringify(bad));
    }
    assert.deepEqual(findPrefixConflict(['a/b/c', 'a/b']), ['a/b', 'a/b/c']);
    assert.equal(findPrefixConflict(['a/b', 'a.b', 'ab']), undefined);
  });
});

describe('manifests', () => {
  const manifest = (resources: { name: string; digest: string; algorithm?: string }[], serialization: Record<string, unknown> = { method: 'files', hash_type: 'sha256', allow_symlinks: false }) => ({
    name: 'm',
    digest: { sha256: sha(Buffer.concat(resources.map((r) => Buffer.from(r.digest, 'hex')))) },
    serialization,
    resources: resources.map((r) => ({ algorithm: 'sha256', ...r })),
  });

  it('indexes files, and shards per file in order', () => {
    const parsed = parseVersionManifest(manifest([{ name: 'b:0:4', digest: sha('1') }, { name: 'b:4:6', digest: sha('2') }, { name: 'a:0:3', digest: sha('3') }], { method: 'shards', hash_type: 'sha256', shard_size: 4, allow_symlinks: false }), { maxFiles: 10 });
    assert.deepEqual(parsed.files.map((f) => [f.name, f.shards?.map((s) => [s.start, s.end])]), [['b', [[0, 4], [4, 6]]], ['a', [[0, 3]]]]);
  });

  it('refuses shards that do not tile their file', () => {
    for (const names of [['b:0:4', 'b:5:6'], ['b:0:3', 'b:3:6'], ['b:4:8']]) {
      const m = manifest(names.map((n, i) => ({ name: n, digest: sha(String(i)) })), { method: 'shards', hash_type: 'sha256', shard_size: 4, allow_symlinks: false });
      assert.throws(() => parseVersionManifest(m, { maxFiles: 10 }), (e: unknown) => isCustodyError(e, 'REQUEST_INVALID'), names.join());
    }
  });
});

describe('transfers', () => {
  const store = async (): Promise<{ blobs: LocalBlobStore; dir: string }> => {
    const dir = mkdtempSync(join(tmpdir(), 'custody-blobs-'));
    const blobs = new LocalBlobStore(dir);
    await blobs.init();
    return { blobs, dir };
  };

  it('commits a blob only when every digest matches, under its SHA-256', async () => {
    const { blobs, dir } = await store();
    const stored = await receiveFile(chunks('hello ', 'world'), { name: 'f', digest: sha('hello world') }, 'sha256', blobs, 100);
    assert.equal(stored.sha256, sha('hello world'));
    assert.equal(readFileSync(blobs.pathOf(stored.sha256), 'utf8'), 'hello world');
    await assert.rejects(receiveFile(chunks('hello there'), { name: 'f', digest: sha('hello world') }, 'sha256', blobs, 100), (e: unknown) => isCustodyError(e, 'DIGEST_MISMATCH'));
    await assert.rejects(receiveFile(chunks('x'.repeat(101)), { name: 'f', digest: sha('x'.repeat(101)) }, 'sha256', blobs, 100), (e: unknown) => isCustodyError(e, 'INPUT_LIMIT'));
    const failing = async function* (): AsyncGenerator<Uint8Array> {
      yield Buffer.from('part');
      throw new Error('connection reset');
    };
    await assert.rejects(receiveFile(failing(), { name: 'f', digest: sha('partial') }, 'sha256', blobs, 100), (e: unknown) => isCustodyError(e, 'UPLOAD_INCOMPLETE'));
    assert.deepEqual(readdirSync(join(dir, 'staging')), [], 'nothing staged is left');
    const all: string[] = [];
    for await (const d of blobs.list()) all.push(d);
    assert.deepEqual(all, [sha('hello world')]);
  });

  it('a blob store open of a missing blob is STORE_CORRUPT, and staging is cleared at start', async () => {
    const { blobs, dir } = await store();
    await assert.rejects(blobs.open(sha('missing')), (e: unknown) => isCustodyError(e, 'STORE_CORRUPT'));
    writeFileSync(join(dir, 'staging', 'left-by-a-crash.part'), 'x');
    assert.equal(await blobs.clearStaging(), 1);
    assert.equal(existsSync(join(dir, 'staging', 'left-by-a-crash.part')), false);
  });
});

describe('rate limiter', () => {
  it('allows a burst, then refills at the rate, per key', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 1, burst: 2 }, 100, () => now);
    assert.deepEqual([limiter.take('a').ok, limiter.take('a').ok, limiter.take('a').ok, limiter.take('b').ok], [true, true, false, true]);
    now += 1000;
    assert.equal(limiter.take('a').ok, true);
    assert.equal(limiter.take('a').ok, false);
    assert.deepEqual(parseRateLimit('10/m'), { perSecond: 10 / 60, burst: 10 });
    assert.equal(parseRateLimit('ten'), undefined);
  });

  it('keeps memory bounded under many keys', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 }, 10, () => 0);
    for (let i = 0; i < 1000; i += 1) limiter.take(`k${i}`);
    assert.equal(limiter.take('k0').ok, true, 'the oldest keys were dropped');
  });
});
