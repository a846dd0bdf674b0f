import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isCustodyError } from '../../src/core/errors.js';
import { openRegularFile, readRegularFile, writeFileSafely } from '../../src/core/safe-fs.js';

const dir = mkdtempSync(join(tmpdir(), 'custody-safe-fs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fresh(name: string): string {
  const path = join(dir, name);
  mkdirSync(path);
  return path;
}

describe('safe reads', () => {
  it('reads a regular file, following a link unless told not to', async () => {
    const root = fresh('read');
    writeFileSync(join(root, 'a.txt'), 'hello');
    symlinkSync('a.txt', join(root, 'link'));
    assert.equal((await readRegularFile(join(root, 'link'), { maxBytes: 10 })).toString(), 'hello');
    await assert.rejects(readRegularFile(join(root, 'link'), { maxBytes: 10, noFollow: true }), (e) => isCustodyError(e, 'SYMLINK_REFUSED'));
  });

  it('refuses a file over the limit before reading it, and a missing file by code', async () => {
    const root = fresh('limit');
    writeFileSync(join(root, 'big'), Buffer.alloc(11));
    await assert.rejects(readRegularFile(join(root, 'big'), { maxBytes: 10 }), (e) => isCustodyError(e, 'INPUT_LIMIT'));
    await assert.rejects(readRegularFile(join(root, 'missing'), { maxBytes: 10 }), (e) => isCustodyError(e, 'PATH_NOT_FOUND'));
  });

  it('refuses a FIFO without blocking, a device and a directory', async () => {
    const root = fresh('special');
    execFileSync('mkfifo', [join(root, 'fifo')]);
    await assert.rejects(openRegularFile(join(root, 'fifo')), (e) => isCustodyError(e, 'SPECIAL_FILE'));
    await assert.rejects(readRegularFile('/dev/zero', { maxBytes: 10 }), (e) => isCustodyError(e, 'SPECIAL_FILE'));
    await assert.rejects(openRegularFile(root), (e) => isCustodyError(e, 'SPECIAL_FILE') || isCustodyError(e, 'IO_ERROR'));
  });
});

describe('safe writes', () => {
  it('creates a file with the mode asked for, and replaces one keeping its mode', async () => {
    const root = fresh('write');
    await writeFileSafely(join(root, 'new'), 'one', { mode: 0o600 });
    assert.equal(statSync(join(root, 'new')).mode & 0o777, 0o600);
    writeFileSync(join(root, 'old'), 'old');
    chmodSync(join(root, 'old'), 0o640);
    await writeFileSafely(join(root, 'old'), 'new');
    assert.equal(readFileSync(join(root, 'old'), 'utf8'), 'new');
    assert.equal(statSync(join(root, 'old')).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(root).sort(), ['new', 'old']);
  });

  it('never writes through a planted link, and leaves its target untouched', async () => {
    const root = fresh('link');
    const outside = fresh('outside');
    writeFileSync(join(outside, 'victim'), 'precious');
    symlinkSync(join(outside, 'victim'), join(root, 'out.json'));
    await assert.rejects(writeFileSafely(join(root, 'out.json'), 'evil'), (e) => isCustodyError(e, 'SYMLINK_REFUSED'));
    assert.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'precious');
    assert.ok(lstatSync(join(root, 'out.json')).isSymbolicLink());
    assert.deepEqual(readdirSync(root), ['out.json']);
  });

  it('refuses to overwrite when asked not to, and refuses a FIFO or directory target', async () => {
    const root = fresh('refuse');
    writeFileSync(join(root, 'exists'), 'x');
    await assert.rejects(writeFileSafely(join(root, 'exists'), 'y', { overwrite: false }), (e) => isCustodyError(e, 'IO_ERROR'));
    assert.equal(readFileSync(join(root, 'exists'), 'utf8'), 'x');
    execFileSync('mkfifo', [join(root, 'fifo')]);
    await assert.rejects(writeFileSafely(join(root, 'fifo'), 'y'), (e) => isCustodyError(e, 'SPECIAL_FILE'));
    mkdirSync(join(root, 'sub'));
    await assert.rejects(writeFileSafely(join(root, 'sub'), 'y'), (e) => isCustodyError(e, 'SPECIAL_FILE'));
  });

  it('a failed write leaves the target as it was and no temporary file', async () => {
    const root = fresh('fail');
    writeFileSync(join(root, 'keep'), 'original');
    await assert.rejects(writeFileSafely(join(root, 'missing-dir', 'x'), 'y'), (e) => isCustodyError(e, 'IO_ERROR'));
    // A value the write cannot take (not a string or bytes) fails after the temporary file exists.
    await assert.rejects(writeFileSafely(join(root, 'keep'), 42 as unknown as string), (e) => isCustodyError(e, 'IO_ERROR'));
    assert.equal(readFileSync(join(root, 'keep'), 'utf8'), 'original');
    assert.deepEqual(readdirSync(root), ['keep']);
  });
});
