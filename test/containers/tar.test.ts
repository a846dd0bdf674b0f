import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { BufferSource, SliceSource } from '../../src/core/byte-source.js';
import { isCustodyError } from '../../src/core/errors.js';
import { isTarHeader, normalizeTarPath, readTarEntries, type TarEntry } from '../../src/scanners/containers/tar.js';

const FIXTURES = join('test', '.tmp', 'fixtures', 'images');

async function load(name: string): Promise<BufferSource> {
  return new BufferSource(await readFile(join(FIXTURES, name)));
}

async function list(source: BufferSource, options?: Parameters<typeof readTarEntries>[1]): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  for await (const entry of readTarEntries(source, options)) entries.push(entry);
  return entries;
}

async function content(source: BufferSource, entry: TarEntry | undefined): Promise<string> {
  assert.ok(entry);
  return (await source.read(entry.dataOffset, entry.size)).toString('utf8');
}

async function rejectsWith(promise: Promise<unknown>, code: 'PARSE_ERROR' | 'INPUT_LIMIT'): Promise<void> {
  await assert.rejects(promise, (error: unknown) => isCustodyError(error, code));
}

const LONG = `${'deep/'.repeat(30)}long-file-name.txt`;

test('GNU long names (L records) are applied to the next entry', async () => {
  const source = await load('tar-gnu.tar');
  const entries = await list(source);
  assert.deepEqual(entries.map((e) => e.name), [LONG, 'short.txt']);
  assert.equal(await content(source, entries[0]), 'gnu long name');
});

test('pax headers give long and non-ASCII paths', async () => {
  const source = await load('tar-pax.tar');
  const entries = await list(source);
  assert.deepEqual(entries.map((e) => e.name), [LONG, 'ünïcode.txt']);
  assert.equal(await content(source, entries[1]), 'u');
});

test('a pax size overrides the header size field', async () => {
  const source = await load('tar-pax-size.tar');
  const [entry] = await list(source);
  assert.equal(entry?.size, 10);
  assert.equal(await content(source, entry), '0123456789');
});

test('ustar prefix is joined to the name; symlinks carry their target and no data', async () => {
  const source = await load('tar-ustar.tar');
  const entries = await list(source);
  assert.equal(entries[0]?.name, `${'p/'.repeat(40)}x.txt`);
  assert.equal(await content(source, entries[0]), 'prefix');
  assert.deepEqual(entries[1], { name: 'link', type: 'symlink', size: 0, dataOffset: entries[1]?.dataOffset, linkName: 'x.txt' });
});

test('base-256 sizes and old v7 headers are read', async () => {
  const b256 = await load('tar-base256.tar');
  const [big] = await list(b256);
  assert.equal(big?.size, 13);
  assert.equal(await content(b256, big), 'base-256 size');
  const v7 = await load('tar-v7.tar');
  const [old] = await list(v7);
  assert.equal(old?.name, 'v7.txt');
  assert.equal(await content(v7, old), 'old style');
  assert.ok(isTarHeader(v7.all()));
});

test('entries hidden after the end-of-archive marker are still listed', async () => {
  const entries = await list(await load('tar-hidden.tar'));
  assert.deepEqual(entries.map((e) => e.name), ['visible.txt', 'hidden.txt']);
});

test('garbage after the end-of-archive marker is a PARSE_ERROR, not a silent end', async () => {
  await rejectsWith(list(await load('tar-trailing-garbage.tar')), 'PARSE_ERROR');
});

test('a header with a bad checksum is a PARSE_ERROR after the good entries', async () => {
  const source = await load('broken-checksum.tar');
  const seen: string[] = [];
  await rejectsWith(
    (async () => {
      for await (const entry of readTarEntries(source)) seen.push(entry.name);
    })(),
    'PARSE_ERROR',
  );
  assert.deepEqual(seen, ['a.txt']);
});

test('an entry whose data runs past the end is a PARSE_ERROR', async () => {
  await rejectsWith(list(await load('broken-truncated.tar')), 'PARSE_ERROR');
  // Boundary: a header cut short.
  const whole = (await load('tar-v7.tar')).all();
  await rejectsWith(list(new BufferSource(whole.subarray(0, 300))), 'PARSE_ERROR');
});

test('maxEntries and the deadline are INPUT_LIMIT errors; exactly maxEntries passes', async () => {
  const source = await load('tar-gnu.tar');
  assert.equal((await list(source, { maxEntries: 2 })).length, 2);
  await rejectsWith(list(source, { maxEntries: 1 }), 'INPUT_LIMIT');
  await rejectsWith(list(source, { deadline: Date.now() - 1 }), 'INPUT_LIMIT');
});

test('an oversized pax header is an INPUT_LIMIT error', async () => {
  const header = Buffer.alloc(512);
  header.write('PaxHeader', 0, 'latin1');
  header.write('0000644\0', 100, 'latin1');
  header.write(`${(2 * 1024 * 1024).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  header.write('x', 156, 'latin1');
  header.write('ustar\x0000', 257, 'latin1');
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const source = new BufferSource(Buffer.concat([header, Buffer.alloc(2 * 1024 * 1024 + 1024)]));
  await rejectsWith(list(source), 'INPUT_LIMIT');
});

test('isTarHeader refuses non-tar data and zero blocks', () => {
  assert.equal(isTarHeader(Buffer.alloc(512)), false);
  assert.equal(isTarHeader(Buffer.from('not a tar '.repeat(60))), false);
  assert.equal(isTarHeader(Buffer.alloc(100, 1)), false);
});

test('SliceSource reads inside its window only; normalizeTarPath drops ./ and empty parts', async () => {
  const slice = new SliceSource(new BufferSource(Buffer.from('0123456789')), 2, 5);
  assert.equal((await slice.read(0, 100)).toString(), '23456');
  assert.equal((await slice.read(4, 10)).toString(), '6');
  assert.equal((await slice.read(9, 10)).length, 0);
  assert.equal(normalizeTarPath('./a//b/./c/'), 'a/b/c');
  assert.equal(normalizeTarPath('../x'), '../x');
});
