import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { walkFiles } from '../../src/core/walk.js';

const root = mkdtempSync(join(tmpdir(), 'custody-walk-'));
after(() => rmSync(root, { recursive: true, force: true }));

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

describe('walkFiles', () => {
  it('walks in sorted order, joins the root as given, and skips .git', async () => {
    const dir = tree({ 'b.txt': '', 'a/c.txt': '', '.git/config': '', 'a/b.txt': '' });
    assert.deepEqual(await list([dir]), [`${dir}/a/b.txt`, `${dir}/a/c.txt`, `${dir}/b.txt`]);
  });

  it('honours nested .gitignore files, and can be told not to', async () => {
    const dir = tree({ '.gitignore': '*.log\nbuild/\n', 'x.log': '', 'build/out.bin': '', 'src/.gitignore': 'secret.txt\n', 'src/secret.txt': '', 'src/keep.txt': '' });
    assert.deepEqual(await list([dir]), [`${dir}/.gitignore`, `${dir}/src/.gitignore`, `${dir}/src/keep.txt`]);
    assert.equal((await list([dir], { gitignore: false })).length, 6);
  });

  it('applies exclude globs to relative paths', async () => {
    const dir = tree({ 'fixtures/a.pkl': '', 'src/a.py': '' });
    assert.deepEqual(await list([dir], { exclude: ['fixtures/**'] }), [`${dir}/src/a.py`]);
  });

  it('scans a file named directly even when ignored, and does not follow symlinks', async () => {
    const dir = tree({ '.gitignore': '*.pkl\n', 'm.pkl': 'x', 'real.txt': '' });
    symlinkSync(join(dir, 'real.txt'), join(dir, 'link.txt'));
    assert.deepEqual(await list([join(dir, 'm.pkl')]), [join(dir, 'm.pkl')]);
    assert.deepEqual(await list([dir]), [`${dir}/.gitignore`, `${dir}/real.txt`]);
  });

  it('fails with PATH_NOT_FOUND for a missing path', async () => {
    await assert.rejects(list([join(root, 'missing')]), { code: 'PATH_NOT_FOUND' });
  });
});
