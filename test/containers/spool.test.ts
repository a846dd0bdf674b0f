import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { decompressToSpool } from '../../src/scanners/containers/spool.js';

const options = { memoryBytes: 1024 * 1024, maxBytes: 64 * 1024 * 1024, deadline: Date.now() + 60_000 };

test('a zstd layer whose frame asks for a huge window is reported as damaged before anything is allocated', async () => {
  // Magic, a frame descriptor without single-segment, then a window descriptor of 2^(10+31) bytes.
  const frame = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 31 << 3]), Buffer.alloc(64)]);
  const spooled = await decompressToSpool(new BufferSource(frame), 'zstd', options);
  try {
    assert.equal(spooled.stopped?.reason, 'damaged');
    assert.match(spooled.stopped?.detail ?? '', /window/);
  } finally {
    await spooled.dispose();
  }
});

/** A one-frame zstd stream holding `data` (up to 255 bytes) in a single raw block, written by hand. */
function rawZstdFrame(data: Buffer): Buffer {
  const blockHeader = (data.length << 3) | 1; // last block, type raw
  return Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, data.length, blockHeader & 0xff, (blockHeader >> 8) & 0xff, blockHeader >> 16]), data]);
}

test('a zstd layer with an ordinary window decodes', async () => {
  const data = Buffer.from('layer bytes '.repeat(20));
  const spooled = await decompressToSpool(new BufferSource(rawZstdFrame(data)), 'zstd', options);
  try {
    assert.equal(spooled.stopped, undefined);
    assert.deepEqual(await spooled.source.read(0, data.length + 10), data);
  } finally {
    await spooled.dispose();
  }
});
