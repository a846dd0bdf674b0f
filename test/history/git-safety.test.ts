import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isCustodyError } from '../../src/core/errors.js';
import { AsyncQueue, openGitSession, readBlobs, runGit, walkHistory, type BlobContent, type GitLimits } from '../../src/scanners/history/git.js';
import { checkGitDirectories, findGitExecutable, GIT_CONFIG_OVERRIDES, hardenedGitEnv } from '../../src/scanners/history/git-safety.js';

const root = mkdtempSync(join(tmpdir(), 'custody-git-safety-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = (label: string): string => {
  const dir = join(root, `${label}-${counter++}`);
  mkdirSync(dir);
  return dir;
};

function git(cwd: string, args: readonly string[], input?: string): string {
  const result = spawnSync('git', ['-c', 'core.hooksPath=/dev/null', ...args], {
    cwd,
    input,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' },
  });
  assert.equal(result.status, 0, `git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

function mkfifo(path: string): void {
  assert.equal(spawnSync('mkfifo', [path]).status, 0);
}

/** A repository with two commits (a.txt, then b.txt). */
function repository(label: string): { dir: string; blob: string; tree: string } {
  const dir = fresh(label);
  git(dir, ['init', '-q', '-b', 'main']);
  writeFileSync(join(dir, 'a.txt'), 'a\n');
  git(dir, ['add', 'a.txt']);
  git(dir, ['commit', '-q', '-m', 'a']);
  writeFileSync(join(dir, 'b.txt'), 'b\n');
  git(dir, ['add', 'b.txt']);
  git(dir, ['commit', '-q', '-m', 'b']);
  return { dir, blob: git(dir, ['rev-parse', 'HEAD:b.txt']), tree: git(dir, ['rev-parse', 'HEAD^{tree}']) };
}

function objectPath(dir: string, sha: string): string {
  return join(dir, '.git', 'objects', sha.slice(0, 2), sha.slice(2));
}

const limited = (code: string, limit: string) => (error: unknown) => isCustodyError(error, code as 'INPUT_LIMIT') && error.details?.['limit'] === limit;

describe('the environment git runs in', () => {
  test("the caller's GIT_* variables are dropped, relative PATH entries too; lazy fetch and every protocol are off", () => {
    const env = hardenedGitEnv({ PATH: `.:/usr/bin::bin:/bin`, HOME: '/home/u', GIT_DIR: '/elsewhere', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'core.fsmonitor', git_ssh_command: 'x', GIT_EXEC_PATH: '/tmp/x', KEEP: 'yes' });
    assert.equal(env['PATH'], '/usr/bin:/bin');
    assert.equal(env['KEEP'], 'yes');
    assert.equal(env['HOME'], '/home/u');
    for (const key of ['GIT_DIR', 'GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'git_ssh_command', 'GIT_EXEC_PATH']) assert.equal(env[key], undefined, key);
    assert.equal(env['GIT_NO_LAZY_FETCH'], '1');
    assert.equal(env['GIT_CONFIG_NOSYSTEM'], '1');
    assert.equal(env['GIT_CONFIG_GLOBAL'], '/dev/null');
    assert.match(env['GIT_ALLOW_PROTOCOL'] ?? '', /_/); // no URL scheme can name it
    assert.ok(GIT_CONFIG_OVERRIDES.includes('protocol.allow=never'));
    assert.ok(GIT_CONFIG_OVERRIDES.includes('core.fsmonitor=false'));
  });

  test('git is found on absolute PATH entries only: a git in the working directory is never run', async () => {
    const dir = fresh('path');
    writeFileSync(join(dir, 'git'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, 'git'), 0o755);
    const previous = process.cwd();
    process.chdir(dir);
    try {
      await assert.rejects(findGitExecutable({ PATH: '.::git-dir' }), (error) => isCustodyError(error, 'UNSUPPORTED_FORMAT'));
      const found = await findGitExecutable({ PATH: `.::${process.env['PATH'] ?? ''}` });
      assert.ok(found.startsWith('/') && found !== join(dir, 'git'), found);
    } finally {
      process.chdir(previous);
    }
  });

  test('a missing object in a partial clone is reported missing, never fetched: the promisor remote never runs', async () => {
    const repo = repository('partial');
    const canary = join(repo.dir, '..', `canary-${counter++}`);
    git(repo.dir, ['config', 'core.repositoryformatversion', '1']);
    git(repo.dir, ['config', 'extensions.partialClone', 'origin']);
    git(repo.dir, ['config', 'remote.origin.url', repo.dir]);
    git(repo.dir, ['config', 'remote.origin.promisor', 'true']);
    git(repo.dir, ['config', 'protocol.allow', 'always']);
    git(repo.dir, ['config', 'remote.origin.uploadpack', `touch ${canary}; git-upload-pack`]);
    rmSync(objectPath(repo.dir, repo.blob));
    const session = await openGitSession();
    const blobs: BlobContent[] = [];
    for await (const blob of readBlobs(session, repo.dir, AsyncQueue.from([repo.blob]), { memoryBytes: 1024, maxBytes: 2048 })) blobs.push(blob);
    assert.deepEqual(blobs, [{ sha: repo.blob, kind: 'missing' }]);
    assert.equal(existsSync(canary), false, 'the promisor remote ran');
  });
});

describe('every git process is supervised', () => {
  const session = (limits: Partial<GitLimits>) => openGitSession(limits);

  test('a short command past its deadline is killed: INPUT_LIMIT (time)', async () => {
    const dir = fresh('deadline');
    mkfifo(join(dir, 'blocks'));
    await assert.rejects(runGit(await session({ quickMs: 300 }), dir, ['hash-object', join(dir, 'blocks')], { outsideRepository: true }), limited('INPUT_LIMIT', 'time'));
  });

  test('a git process over the memory limit is killed: INPUT_LIMIT (memory)', { skip: !existsSync('/proc/self/status') && 'no /proc on this system' }, async () => {
    const dir = fresh('memory');
    mkfifo(join(dir, 'blocks'));
    await assert.rejects(runGit(await session({ memoryBytes: 1, quickMs: 60_000 }), dir, ['hash-object', join(dir, 'blocks')], { outsideRepository: true }), limited('INPUT_LIMIT', 'memory'));
  });

  test('git log that stops printing while Custody waits on it is killed: INPUT_LIMIT (idle)', async () => {
    const repo = repository('idle-log');
    const path = objectPath(repo.dir, repo.tree);
    rmSync(path);
    mkfifo(path);
    await assert.rejects(
      walkHistory(await session({ idleMs: 300 }), repo.dir, '', { onCommit: () => undefined, onBlob: () => undefined }),
      limited('INPUT_LIMIT', 'idle'),
    );
  });

  test('git cat-file that owes a blob and prints nothing is killed; one with nothing to do is left waiting', async () => {
    const repo = repository('idle-cat');
    const limits = await session({ idleMs: 300 });
    // Nothing asked for a while: cat-file is idle through no fault of its own, and is not killed.
    const queue = new AsyncQueue<string>();
    setTimeout(() => {
      queue.push(repo.blob);
      queue.end();
    }, 1000);
    const blobs: BlobContent[] = [];
    for await (const blob of readBlobs(limits, repo.dir, queue, { memoryBytes: 1024, maxBytes: 2048 })) blobs.push(blob);
    assert.deepEqual(blobs.map((b) => b.kind), ['memory']);
    // Asked for a blob that blocks git: killed.
    const path = objectPath(repo.dir, repo.blob);
    rmSync(path);
    mkfifo(path);
    await assert.rejects(
      (async () => {
        for await (const blob of readBlobs(limits, repo.dir, AsyncQueue.from([repo.blob]), { memoryBytes: 1024, maxBytes: 2048 })) void blob;
      })(),
      limited('INPUT_LIMIT', 'idle'),
    );
  });
});

describe('the git directory is checked before git reads it', () => {
  const planted: [string, (gitDir: string, dir: string) => void][] = [
    ['a FIFO among the loose objects', (gitDir) => mkfifo(join(gitDir, 'objects', 'ab', 'cdef'))],
    ['a FIFO as packed-refs', (gitDir) => mkfifo(join(gitDir, 'packed-refs'))],
    ['a symbolic link to /dev/zero as a pack', (gitDir) => symlinkSync('/dev/zero', join(gitDir, 'objects', 'pack', 'pack-1.pack'))],
    ['a symbolic link to a device (/dev/null) as shallow', (gitDir) => symlinkSync('/dev/null', join(gitDir, 'shallow'))],
    ['a FIFO in an alternate object store, two alternates deep', (gitDir, dir) => {
      const first = join(dir, 'alt1');
      const second = join(dir, 'alt2');
      mkdirSync(join(first, 'info'), { recursive: true });
      mkdirSync(join(second, 'pack'), { recursive: true });
      writeFileSync(join(gitDir, 'objects', 'info', 'alternates'), `# comment\n${first}\n`);
      writeFileSync(join(first, 'info', 'alternates'), '../alt2\n');
      mkfifo(join(second, 'pack', 'pack-2.idx'));
    }],
    ['an alternates file that is a link to /dev/zero', (gitDir) => symlinkSync('/dev/zero', join(gitDir, 'objects', 'info', 'alternates'))],
  ];
  for (const [name, plant] of planted) {
    test(`refused with SPECIAL_FILE: ${name}`, async () => {
      const dir = fresh('gitdir');
      const gitDir = join(dir, '.git');
      for (const sub of ['objects/ab', 'objects/pack', 'objects/info', 'refs/heads']) mkdirSync(join(gitDir, sub), { recursive: true });
      writeFileSync(join(gitDir, 'HEAD'), 'ref: refs/heads/main\n');
      await checkGitDirectories([gitDir]);
      plant(gitDir, dir);
      await assert.rejects(checkGitDirectories([gitDir]), (error) => isCustodyError(error, 'SPECIAL_FILE'));
    });
  }

  test('accepted: links to regular files and directories, dangling links, a link loop, a missing alternate', async () => {
    const dir = fresh('gitdir-ok');
    const gitDir = join(dir, '.git');
    for (const sub of ['objects/info', 'refs/heads']) mkdirSync(join(gitDir, sub), { recursive: true });
    writeFileSync(join(dir, 'target'), 'x');
    symlinkSync(join(dir, 'target'), join(gitDir, 'HEAD'));
    symlinkSync(join(dir, 'nowhere'), join(gitDir, 'packed-refs'));
    symlinkSync(gitDir, join(gitDir, 'refs', 'loop'));
    writeFileSync(join(gitDir, 'objects', 'info', 'alternates'), `${join(dir, 'missing')}\n"${join(dir, 'quoted')}"\n`);
    await checkGitDirectories([gitDir]);
  });
});
