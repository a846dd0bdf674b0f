import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { enumerateArtifact, hashArtifact, manifestToJson, type HashProgress, type Manifest } from '../../src/integrity/index.js';
import { hashEnumeration } from '../../src/integrity/manifest.js';
import { ensureFixtures, FIXTURES, readJson, rejectsWithCode, workDir, writeTree } from './helpers.js';

interface ExpectedStatement {
  subject: { name: string; digest: { sha256: string } }[];
  predicate: { resources: { name: string; algorithm: string; digest: string }[]; serialization: Record<string, unknown> };
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

function expected(method: 'files' | 'shards'): ExpectedStatement {
  return readJson(join(FIXTURES, 'expected', `${method}.json`)) as unknown as ExpectedStatement;
}

function names(manifest: Manifest): string[] {
  return manifest.resources.map((r) => r.name);
}

describe('hashArtifact', () => {
  before(ensureFixtures);

  for (const method of ['files', 'shards'] as const) {
    it(`matches the manifest model_signing computes (${method}): names, order, algorithms, root digest`, async () => {
      const want = expected(method);
      for (const jobs of [0, 2]) {
        const manifest = await hashArtifact(join(FIXTURES, 'model'), { ignorePaths: ['ignore-me'], jobs, ...(method === 'shards' ? { shardSize: 4096 } : {}) });
        assert.deepEqual(manifest.resources, want.predicate.resources, `jobs ${jobs}`);
        assert.equal(manifest.rootDigest, want.subject[0]?.digest.sha256);
        assert.equal(manifest.serialization.method, method);
      }
    });
  }

  it('names files by relative POSIX path, leaves out top-level git files only, and records exclusions', async () => {
    const manifest = await hashArtifact(join(FIXTURES, 'model'), { ignorePaths: ['ignore-me'], jobs: 0 });
    const list = names(manifest);
    assert.ok(list.includes('nested/.gitignore'), 'a nested .gitignore is a model file');
    assert.ok(list.includes('empty.bin'), 'empty files have a digest with method files');
    assert.ok(!list.some((n) => n.startsWith('.git') || n === 'ignore-me'));
    assert.ok(list.indexOf('a/b') < list.indexOf('a.txt'), 'model_signing order: the component a sorts before a.txt');
    assert.deepEqual(manifest.serialization.ignorePaths, ['.git', '.gitattributes', '.github', '.gitignore', 'ignore-me']);
    const json = manifestToJson(manifest);
    assert.deepEqual(json['digest'], { sha256: manifest.rootDigest });
    assert.deepEqual(json['serialization'], { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: manifest.serialization.ignorePaths });
  });

  it('expands ignore patterns into exact recorded paths', async () => {
    const manifest = await hashArtifact(join(FIXTURES, 'model'), { ignorePatterns: ['**/*.bin', 'ignore-*'], jobs: 0 });
    assert.ok(!names(manifest).some((n) => n.endsWith('.bin') || n === 'ignore-me'));
    for (const p of ['empty.bin', 'weights.bin', 'weird:name.bin', 'd\u00efr with space/\u00fc.bin', 'ignore-me']) assert.ok(manifest.serialization.ignorePaths.includes(p), p);
  });

  it('names a single file "." (as model_signing does) and the model by its basename', async () => {
    const manifest = await hashArtifact(join(FIXTURES, 'single', 'weights.safetensors'), { ignorePaths: ['x'] });
    assert.equal(manifest.kind, 'file');
    assert.equal(manifest.name, 'weights.safetensors');
    assert.deepEqual(names(manifest), ['.']);
    assert.deepEqual(manifest.serialization.ignorePaths, ['.git', '.gitattributes', '.github', '.gitignore', 'x'], 'recorded as model_signing records them');
    const sharded = await hashArtifact(join(FIXTURES, 'single', 'weights.safetensors'), { shardSize: 4096 });
    assert.deepEqual(names(sharded), ['.:0:4096', '.:4096:8192', '.:8192:10000']);
    assert.ok(sharded.resources.every((r) => r.algorithm === 'sha256-sharded-4096'));
  });

  it('lists resources in model_signing order: path components, then shard offsets as numbers', async () => {
    const dir = writeTree(workDir('order'), { 'a.txt': '1', 'a/b': '2', 'a-b': '3', 'a0': '4', 'w.bin': Buffer.alloc(13_000, 1) });
    assert.deepEqual(names(await hashArtifact(dir, { jobs: 0 })), ['a/b', 'a-b', 'a.txt', 'a0', 'w.bin']);
    const shards = names(await hashArtifact(dir, { jobs: 0, shardSize: 4096 })).filter((n) => n.startsWith('w.bin'));
    assert.deepEqual(shards, ['w.bin:0:4096', 'w.bin:4096:8192', 'w.bin:8192:12288', 'w.bin:12288:13000']);
  });

  it('splits shards at exact multiples and omits empty files (boundaries)', async () => {
    const dir = writeTree(workDir('shards'), { 'exact.bin': Buffer.alloc(8, 1), 'short.bin': Buffer.alloc(7, 2), 'one.bin': Buffer.alloc(9, 3), 'empty.bin': '' });
    const manifest = await hashArtifact(dir, { shardSize: 4, jobs: 0 });
    assert.deepEqual(names(manifest), ['exact.bin:0:4', 'exact.bin:4:8', 'one.bin:0:4', 'one.bin:4:8', 'one.bin:8:9', 'short.bin:0:4', 'short.bin:4:7']);
    assert.equal(manifest.resources[4]?.digest, sha256(Buffer.alloc(1, 3)));
    assert.equal(manifest.files, 4);
  });

  it('hashes with BLAKE3 (never sharded, as in model_signing) and BLAKE2b-512 when asked', async () => {
    const dir = writeTree(workDir('blake3'), { 'abc.txt': 'abc' });
    const manifest = await hashArtifact(dir, { hashType: 'blake3', shardSize: 2 });
    assert.deepEqual(manifest.resources, [{ name: 'abc.txt', algorithm: 'blake3', digest: '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85' }]);
    assert.deepEqual([manifest.serialization.hashType, manifest.serialization.method, manifest.serialization.shardSize], ['blake3', 'files', undefined]);
    const blake2 = await hashArtifact(dir, { hashType: 'blake2b', shardSize: 2 });
    assert.deepEqual(blake2.resources.map((r) => [r.name, r.algorithm, r.digest]), [
      ['abc.txt:0:2', 'blake2b-sharded-2', createHash('blake2b512').update('ab').digest('hex')],
      ['abc.txt:2:3', 'blake2b-sharded-2', createHash('blake2b512').update('c').digest('hex')],
    ]);
    assert.equal((await hashArtifact(dir, { hashType: 'blake2b' })).resources[0]?.digest, 'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923');
  });

  it('reports progress and gives the same digests in worker threads as inline', async () => {
    const dir = writeTree(workDir('workers'), { 'big.bin': Buffer.alloc(3 * 1024 * 1024, 7), 'small.txt': 'x', 'sub/mid.bin': Buffer.alloc(100_000, 9) });
    const seen: HashProgress[] = [];
    const inWorkers = await hashArtifact(dir, { jobs: 2, shardSize: 1024 * 1024, onProgress: (p) => seen.push({ ...p }) });
    const inline = await hashArtifact(dir, { jobs: 0, shardSize: 1024 * 1024 });
    assert.deepEqual(inWorkers, inline);
    assert.equal(seen.at(-1)?.bytesDone, seen.at(-1)?.bytesTotal);
    assert.equal(inline.resources.find((r) => r.name === 'big.bin:0:1048576')?.digest, sha256(Buffer.alloc(1024 * 1024, 7)));
  });

  it('refuses empty models, bad shard sizes and escaping ignore paths', async () => {
    await rejectsWithCode(hashArtifact(workDir('empty')), 'ARTIFACT_EMPTY', 'empty dir');
    await rejectsWithCode(hashArtifact(writeTree(workDir('only-git'), { '.git/HEAD': 'x', '.gitignore': 'y' })), 'ARTIFACT_EMPTY', 'only ignored files');
    await rejectsWithCode(hashArtifact(join(FIXTURES, 'model'), { shardSize: 0 }), 'USAGE', 'shard 0');
    await rejectsWithCode(hashArtifact(join(FIXTURES, 'model'), { shardSize: 1.5 }), 'USAGE', 'shard 1.5');
    await rejectsWithCode(hashArtifact(join(FIXTURES, 'model'), { ignorePaths: ['../x'] }), 'USAGE', 'ignore ..');
    await rejectsWithCode(hashArtifact(join(workDir('missing'), 'nope')), 'PATH_NOT_FOUND', 'missing');
  });
});

describe('symlink policy', () => {
  function tree(): string {
    const dir = writeTree(workDir('links'), { 'real/w.bin': 'weights', 'outside.txt': 'secret' });
    mkdirSync(join(dir, 'model'));
    writeFileSync(join(dir, 'model', 'a.txt'), 'a');
    return dir;
  }

  it('refuses any symlink by default (file, directory, the root itself)', async () => {
    const dir = tree();
    symlinkSync('a.txt', join(dir, 'model', 'link.txt'));
    await rejectsWithCode(hashArtifact(join(dir, 'model')), 'SYMLINK_REFUSED', 'file link');
    const dir2 = tree();
    symlinkSync('.', join(dir2, 'model', 'self'));
    await rejectsWithCode(hashArtifact(join(dir2, 'model')), 'SYMLINK_REFUSED', 'dir link');
    const dir3 = tree();
    symlinkSync(join(dir3, 'model'), join(dir3, 'alias'));
    await rejectsWithCode(hashArtifact(join(dir3, 'alias')), 'SYMLINK_REFUSED', 'root link');
  });

  it('with allowSymlinks follows links to files inside the tree under their own names, and refuses links to directories', async () => {
    const dir = tree();
    mkdirSync(join(dir, 'model', 'sub'));
    writeFileSync(join(dir, 'model', 'sub', 'b.txt'), 'b');
    symlinkSync('a.txt', join(dir, 'model', 'link.txt'));
    symlinkSync('../a.txt', join(dir, 'model', 'sub', 'up.txt'));
    const manifest = await hashArtifact(join(dir, 'model'), { allowSymlinks: true });
    assert.deepEqual(names(manifest), ['a.txt', 'link.txt', 'sub/b.txt', 'sub/up.txt']);
    assert.equal(manifest.resources[1]?.digest, manifest.resources[0]?.digest);
    assert.equal(manifest.serialization.allowSymlinks, true);
    symlinkSync('sub', join(dir, 'model', 'sublink'));
    await rejectsWithCode(hashArtifact(join(dir, 'model'), { allowSymlinks: true }), 'SYMLINK_REFUSED', 'a link to a directory');
  });

  it('with allowSymlinks still refuses links leaving the tree, dangling links and cycles', async () => {
    const outside = tree();
    symlinkSync('../outside.txt', join(outside, 'model', 'escape'));
    await rejectsWithCode(hashArtifact(join(outside, 'model'), { allowSymlinks: true }), 'SYMLINK_REFUSED', 'outside');
    const dangling = tree();
    symlinkSync('nowhere', join(dangling, 'model', 'dangling'));
    await rejectsWithCode(hashArtifact(join(dangling, 'model'), { allowSymlinks: true }), 'SYMLINK_REFUSED', 'dangling');
    const cycle = tree();
    mkdirSync(join(cycle, 'model', 'd'));
    symlinkSync('..', join(cycle, 'model', 'd', 'up'));
    await rejectsWithCode(hashArtifact(join(cycle, 'model'), { allowSymlinks: true }), 'SYMLINK_REFUSED', 'cycle');
  });

  it('refuses special files such as FIFOs instead of blocking on them', async () => {
    const dir = writeTree(workDir('fifo'), { 'a.txt': 'a' });
    const made = spawnSync('mkfifo', [join(dir, 'pipe')]);
    assert.equal(made.status, 0, 'mkfifo is available');
    await rejectsWithCode(hashArtifact(dir), 'UNSUPPORTED_FORMAT', 'fifo');
  });

  it('refuses a file that grew between listing and hashing, whole or in shards (IO_ERROR)', async () => {
    for (const shardSize of [undefined, 4, 64]) {
      const dir = writeTree(workDir('grew'), { 'a.bin': '0123456789' });
      const listed = await enumerateArtifact(dir);
      appendFileSync(join(dir, 'a.bin'), 'more');
      await rejectsWithCode(hashEnumeration(listed, { hashType: 'sha256', jobs: 0, ...(shardSize === undefined ? {} : { shardSize }) }), 'IO_ERROR', `shard size ${String(shardSize)}`);
    }
  });

  it('stops with the coded error when a file vanishes, whichever thread hashes it', async () => {
    for (const jobs of [2, 3]) {
      const files: Record<string, Buffer> = {};
      for (let i = 0; i < 6; i += 1) files[`f${i}.bin`] = Buffer.alloc(6 * 1024 * 1024 - i, i);
      const dir = writeTree(workDir('vanish'), files);
      const listed = await enumerateArtifact(dir);
      for (const victim of ['f0.bin', 'f5.bin']) {
        const copy = { ...listed, files: listed.files.map((f) => (f.name === victim ? { ...f, absPath: `${f.absPath}.gone` } : f)) };
        await rejectsWithCode(hashEnumeration(copy, { hashType: 'sha256', jobs }), 'IO_ERROR', `jobs ${jobs}, ${victim}`);
      }
      const all = await hashEnumeration(listed, { hashType: 'sha256', jobs });
      assert.deepEqual(all.resources, (await hashEnumeration(listed, { hashType: 'sha256', jobs: 0 })).resources, `jobs ${jobs}: same digests as one thread`);
    }
  });

  it('refuses more resources than a manifest may hold before hashing anything (INPUT_LIMIT)', async () => {
    const dir = writeTree(workDir('many-shards'), { 'a.bin': Buffer.alloc(2_000_001) });
    await rejectsWithCode(hashArtifact(dir, { shardSize: 1 }), 'INPUT_LIMIT');
  });
});
