import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { IGNORE_LIMITS, decodeName, walkFiles, walkTree, type WalkOptions } from '../../src/core/walk.js';

const root = mkdtempSync(join(tmpdir(), 'custody-walk-'));
// rm -rf, not rmSync: one test builds a tree deeper than PATH_MAX, which rmSync cannot remove.
after(() => execFileSync('rm', ['-rf', root]));

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, 't-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

async function list(paths: string[], options = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const f of walkFiles(paths, options)) out.push(f.displayPath);
  return out;
}

/** What a scan would see: display paths (with `*` for ignored files), and issues as `kind path`. */
async function seen(paths: string[], options: WalkOptions = {}): Promise<{ files: string[]; issues: string[] }> {
  const { files, issues } = await walkTree(paths, options);
  return { files: files.map((f) => `${f.displayPath}${f.ignored ? ' *' : ''}`), issues: issues.map((i) => `${i.kind} ${i.displayPath}`) };
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

describe('walkFiles', () => {
  it('walks in sorted order, joins the root as given, and skips .git', async () => {
    const dir = tree({ 'b.txt': '', 'a/c.txt': '', '.git/config': '', 'a/b.txt': '' });
    assert.deepEqual(await list([dir]), [`${dir}/a/b.txt`, `${dir}/a/c.txt`, `${dir}/b.txt`]);
  });

  it('leaves out what nested .gitignore files match, and can be told not to', async () => {
    const dir = tree({ '.gitignore': '*.log\nbuild/\n', 'x.log': '', 'build/out.bin': '', 'src/.gitignore': 'secret.txt\n', 'src/secret.txt': '', 'src/keep.txt': '' });
    assert.deepEqual(await list([dir]), [`${dir}/.gitignore`, `${dir}/src/.gitignore`, `${dir}/src/keep.txt`]);
    assert.equal((await list([dir], { gitignore: false })).length, 6);
  });

  it('applies exclude globs to relative paths', async () => {
    const dir = tree({ 'fixtures/a.pkl': '', 'src/a.py': '' });
    assert.deepEqual(await list([dir], { exclude: ['fixtures/**'] }), [`${dir}/src/a.py`]);
  });

  it('lists a file named directly even when ignored, and follows no link inside a tree', async () => {
    const dir = tree({ '.gitignore': '*.pkl\n', 'm.pkl': 'x', 'real.txt': '' });
    symlinkSync(join(dir, 'real.txt'), join(dir, 'link.txt'));
    assert.deepEqual(await list([join(dir, 'm.pkl')]), [join(dir, 'm.pkl')]);
    assert.deepEqual(await list([dir]), [`${dir}/.gitignore`, `${dir}/real.txt`]);
  });

  it('fails with PATH_NOT_FOUND for a missing path', async () => {
    await assert.rejects(list([join(root, 'missing')]), { code: 'PATH_NOT_FOUND' });
  });
});

describe('walkTree: symbolic links', () => {
  it('follows a link named on the command line, to a file or a directory', async () => {
    const dir = tree({ 'real/m.pkl': 'x' });
    symlinkSync(join(dir, 'real', 'm.pkl'), join(dir, 'file-link'));
    symlinkSync(join(dir, 'real'), join(dir, 'dir-link'));
    const [fileLink, dirLink] = [join(dir, 'file-link'), join(dir, 'dir-link')];
    // Alone, the file link is read at its target.
    assert.deepEqual((await walkTree([fileLink])).files, [{ displayPath: fileLink, absPath: fileLink, openPath: join(dir, 'real', 'm.pkl'), size: 1 }]);
    // One file reached twice: listed once, under the path that is not itself a link, the other noted.
    const { files } = await walkTree([fileLink, dirLink]);
    assert.deepEqual(files.map((f) => [f.displayPath, f.openPath, f.alsoAt]), [[`${dirLink}/m.pkl`, undefined, [fileLink]]]);
  });

  it('follows links that stay inside the root: each file once, under its own path, file links noted', async () => {
    const dir = tree({ 'models/v3.pkl': 'x', 'models/sub/a.txt': 'y' });
    symlinkSync('v3.pkl', join(dir, 'models', 'latest.pkl'));
    symlinkSync('models/sub', join(dir, 'aaa-dir-link'));
    const { files, issues } = await walkTree([dir]);
    assert.deepEqual(issues, []);
    // The linked directory is walked once, at its own path (it is inside the root).
    assert.deepEqual(
      files.map((f) => [f.displayPath, f.alsoAt ?? []]),
      [
        [`${dir}/models/sub/a.txt`, []],
        [`${dir}/models/v3.pkl`, [`${dir}/models/latest.pkl`]],
      ],
    );
  });

  it('walks a directory reached only through a link (even into .git), and ends link loops', async () => {
    const dir = tree({ '.git/hidden/evil.pkl': 'x', 'a.txt': '' });
    symlinkSync('.git/hidden', join(dir, 'weights'));
    symlinkSync('.', join(dir, 'self'));
    symlinkSync('loop-b', join(dir, 'loop-a'));
    symlinkSync('loop-a', join(dir, 'loop-b'));
    const { files, issues } = await walkTree([dir]);
    assert.deepEqual(files.map((f) => f.displayPath), [`${dir}/a.txt`, `${dir}/weights/evil.pkl`]);
    assert.deepEqual(issues, []);
  });

  it('reports a link that leaves the root (dangling or not) and does not follow it', async () => {
    const outside = tree({ 'secret.txt': 's' });
    const dir = tree({ 'a.txt': '' });
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'out-file'));
    symlinkSync(outside, join(dir, 'out-dir'));
    symlinkSync('../../nowhere/x.pkl', join(dir, 'out-dangling'));
    symlinkSync('missing.pkl', join(dir, 'in-dangling'));
    assert.deepEqual(await seen([dir]), {
      files: [`${dir}/a.txt`],
      issues: [`link-outside-root ${dir}/out-dangling`, `link-outside-root ${dir}/out-dir`, `link-outside-root ${dir}/out-file`],
    });
    const { issues } = await walkTree([dir]);
    assert.equal(issues.find((i) => i.displayPath.endsWith('out-file'))?.detail, join(outside, 'secret.txt'));
  });

  it('follows a link into another scanned root', async () => {
    const a = tree({ 'x.txt': '' });
    const b = tree({ 'm.pkl': 'x' });
    symlinkSync(join(b, 'm.pkl'), join(a, 'link.pkl'));
    const { files, issues } = await walkTree([a, b]);
    assert.deepEqual(issues, []);
    assert.deepEqual(files.map((f) => [f.displayPath, f.alsoAt ?? []]), [[`${a}/x.txt`, []], [`${b}/m.pkl`, [`${a}/link.pkl`]]]);
  });

  it('reads a Hugging Face cache snapshot through its links into the repository blobs', async () => {
    const cache = tree({ 'models--org--name/blobs/aaa111': 'weights', 'models--org--name/blobs/bbb222': '{}', 'models--org--name/blobs/ccc333': 'orphan', 'models--org--name/refs/main': 'rev1' });
    const repo = join(cache, 'models--org--name');
    mkdirSync(join(repo, 'snapshots', 'rev1', 'sub'), { recursive: true });
    symlinkSync('../../blobs/aaa111', join(repo, 'snapshots', 'rev1', 'model.pkl'));
    symlinkSync('../../../blobs/bbb222', join(repo, 'snapshots', 'rev1', 'sub', 'config.json'));
    symlinkSync('../../../../outside', join(repo, 'snapshots', 'rev1', 'escape'));

    // Scanning the snapshot: the links leave it, but into the repository's own blobs, so they are followed.
    const snapshot = join(repo, 'snapshots', 'rev1');
    const direct = await walkTree([snapshot]);
    assert.deepEqual(
      direct.files.map((f) => [f.displayPath, f.openPath]),
      [
        [`${snapshot}/model.pkl`, join(repo, 'blobs', 'aaa111')],
        [`${snapshot}/sub/config.json`, join(repo, 'blobs', 'bbb222')],
      ],
    );
    assert.deepEqual(direct.issues.map((i) => i.kind), ['link-outside-root']);
    assert.equal(readFileSync(direct.files[0]?.openPath as string, 'utf8'), 'weights');

    // Scanning the whole cache: each blob once, under its snapshot name; an unreferenced blob under its own.
    const whole = await walkTree([cache]);
    assert.deepEqual(
      whole.files.map((f) => [f.displayPath.slice(cache.length + 1), f.alsoAt?.map((p) => p.slice(cache.length + 1)) ?? []]),
      [
        ['models--org--name/blobs/ccc333', []],
        ['models--org--name/refs/main', []],
        ['models--org--name/snapshots/rev1/model.pkl', ['models--org--name/blobs/aaa111']],
        ['models--org--name/snapshots/rev1/sub/config.json', ['models--org--name/blobs/bbb222']],
      ],
    );
  });

  it('does not take a look-alike layout for a cache: blobs of another directory stay outside', async () => {
    const base = tree({ 'models--a--b/blobs/h1': 'x', 'other/snapshots/rev/.keep': '' });
    symlinkSync(join(base, 'models--a--b', 'blobs', 'h1'), join(base, 'other', 'snapshots', 'rev', 'model.pkl'));
    const { files, issues } = await walkTree([join(base, 'other', 'snapshots', 'rev')]);
    assert.deepEqual(files.map((f) => f.displayPath.split('/').pop()), ['.keep']);
    assert.deepEqual(issues.map((i) => i.kind), ['link-outside-root']);
  });
});

describe('walkTree: names, lengths and special files', () => {
  it('lists files and directories whose names are not valid UTF-8, escaped for display, opened by their bytes', async () => {
    const dir = tree({ 'z.txt': '' });
    const bad = Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0x61, 0xff, 0x2e, 0x70, 0x6b, 0x6c])]);
    const badDir = Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0x64, 0xfe])]);
    writeFileSync(bad, 'one');
    mkdirSync(badDir);
    writeFileSync(Buffer.concat([badDir, Buffer.from('/x.pkl')]), 'two');
    const { files, issues } = await walkTree([dir]);
    assert.deepEqual(issues, []);
    assert.deepEqual(files.map((f) => [f.displayPath, f.undecodable === true]), [
      [`${dir}/a\\xff.pkl`, true],
      [`${dir}/d\\xfe/x.pkl`, true],
      [`${dir}/z.txt`, false],
    ]);
    assert.deepEqual(files.slice(0, 2).map((f) => readFileSync(Buffer.from(f.openPath as Uint8Array), 'utf8')), ['one', 'two']);
  });

  it('reports what lies past the longest path the system can open, and walks on', async () => {
    const dir = tree({ 'a.txt': '' });
    // Built one relative step at a time, as an unpacked archive would be: 22 × 201 bytes > PATH_MAX (4096).
    execFileSync('python3', ['-c', `import os\nos.chdir(${JSON.stringify(dir)})\nfor _ in range(22):\n    os.mkdir('d' * 200)\n    os.chdir('d' * 200)\nopen('evil.pkl', 'w').write('x')\n`]);
    const { files, issues } = await walkTree([dir]);
    assert.deepEqual(files.map((f) => f.displayPath), [`${dir}/a.txt`]);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.kind, 'unreadable');
    assert.match(issues[0]?.detail ?? '', /ENAMETOOLONG/);
  });

  it('reports FIFOs, sockets and devices, named or in a tree, without opening them', async (t) => {
    const dir = tree({ 'a.txt': '' });
    mkfifo(join(dir, 'pipe'));
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(dir, 'sock'), resolve));
    t.after(() => server.close());
    const result = await walkTree([dir, join(dir, 'pipe'), '/dev/zero']);
    assert.deepEqual(result.files.map((f) => f.displayPath), [`${dir}/a.txt`]);
    assert.deepEqual(
      result.issues.map((i) => [i.kind, i.displayPath, i.detail, i.named]),
      [
        ['special-file', `${dir}/pipe`, 'a FIFO', false],
        ['special-file', `${dir}/sock`, 'a socket', false],
        ['special-file', `${dir}/pipe`, 'a FIFO', true],
        ['special-file', '/dev/zero', 'a character device', true],
      ],
    );
  });

  it('decodes names strictly: valid UTF-8 as is, each invalid byte escaped', () => {
    assert.deepEqual(decodeName(Buffer.from('modèle.pkl')), { text: 'modèle.pkl', exact: true });
    assert.deepEqual(decodeName(Buffer.from([0x61, 0xc3, 0x28, 0xe2, 0x82, 0xac, 0xed, 0xa0, 0x80])), { text: 'a\\xc3(€\\xed\\xa0\\x80', exact: false });
    assert.deepEqual(decodeName(Buffer.from([0xc0, 0xaf])), { text: '\\xc0\\xaf', exact: false }); // overlong '/'
  });
});

describe('walkTree: ignore files from the tree', () => {
  it('lists what .gitignore matches as ignored instead of hiding it, down ignored directories', async () => {
    const dir = tree({ '.gitignore': '*\n', 'model.pkl': 'x', 'deep/er/w.bin': 'y' });
    assert.deepEqual((await seen([dir])).files, [`${dir}/.gitignore *`, `${dir}/deep/er/w.bin *`, `${dir}/model.pkl *`]);
    assert.deepEqual((await seen([dir], { gitignore: false })).files, [`${dir}/.gitignore`, `${dir}/deep/er/w.bin`, `${dir}/model.pkl`]);
  });

  it('does not honour a .gitignore that is a FIFO, a link or too large, and never waits on one', async () => {
    const fifo = tree({ 'a.pkl': '' });
    mkfifo(join(fifo, '.gitignore'));
    const link = tree({ 'a.pkl': '', 'rules.txt': '*\n' });
    symlinkSync('rules.txt', join(link, '.gitignore'));
    const large = tree({ 'a.pkl': '', '.gitignore': `*\n${'#'.repeat(IGNORE_LIMITS.maxFileBytes)}\n` });
    assert.deepEqual((await seen([fifo])).files, [`${fifo}/a.pkl`]);
    assert.deepEqual((await seen([fifo])).issues, [`special-file ${fifo}/.gitignore`]);
    // The link is followed as a file (to rules.txt, listed once), not read as ignore rules.
    assert.deepEqual((await seen([link])).files, [`${link}/a.pkl`, `${link}/rules.txt`]);
    assert.deepEqual((await seen([large])).files, [`${large}/.gitignore`, `${large}/a.pkl`]);
  });

  it('drops patterns that backtrack badly', async () => {
    // Honoured, this pattern would ignore chain/c, and matching chain/x against it would take hours.
    const bomb = `${Array.from({ length: 12 }, () => '**/a').join('/')}/c\n`;
    const chain = Array.from({ length: 48 }, () => 'a').join('/');
    const dir = tree({ '.gitignore': `${bomb}shallow.pkl\n`, [`${chain}/c`]: 'x', [`${chain}/x`]: 'x', 'shallow.pkl': '' });
    const { files } = await seen([dir]);
    assert.ok(files.includes(`${dir}/${chain}/c`), 'the dropped pattern ignores nothing');
    assert.ok(files.includes(`${dir}/shallow.pkl *`), 'the other patterns still apply');
  });

  it('does not match paths deeper than its bound against ignore files', async () => {
    const chain = Array.from({ length: IGNORE_LIMITS.maxDepth + 10 }, () => 'a').join('/');
    const dir = tree({ '.gitignore': '**/deep.pkl\n', 'deep.pkl': '', [`${chain}/deep.pkl`]: '' });
    assert.deepEqual((await seen([dir])).files, [`${dir}/.gitignore`, `${dir}/${chain}/deep.pkl`, `${dir}/deep.pkl *`]);
  });
});
