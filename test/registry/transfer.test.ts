import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { BatchedFileWriter } from '../../src/core/batched-writer.js';
import { isCustodyError } from '../../src/core/errors.js';
import { receiveFile, VerifiedBlobStream } from '../../src/registry/transfer.js';
import { LocalBlobStore, type BlobReader } from '../../src/store/blobs.js';

const MiB = 1024 * 1024;
const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
const random = (size: number): Buffer => randomFillSync(Buffer.allocUnsafe(size));

/** A blob "on disk" held in memory: what the reader returns can differ from what was recorded. */
function memoryReader(data: Buffer): BlobReader & { closed: number } {
  return {
    size: data.length,
    closed: 0,
    async read(buffer: Uint8Array, position: number): Promise<number> {
      if (position >= data.length) return 0;
      // Short reads (at most 300 KiB) so the stream must continue them.
      const n = Math.min(buffer.length, data.length - position, 300 * 1024);
      buffer.set(data.subarray(position, position + n));
      return n;
    },
    async close(): Promise<void> {
      this.closed += 1;
    },
  };
}

/**
 * A destination that, like a socket, holds on to each chunk until it reports the write done, and
 * only then takes its bytes: a stream that reused a buffer before that would deliver wrong bytes.
 */
class SlowSink extends Writable {
  readonly parts: Buffer[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    setTimeout(() => {
      this.parts.push(Buffer.from(chunk));
      callback();
    }, 2);
  }
}

interface Outcome {
  bytes: Buffer;
  error?: unknown;
  corrupt: string[];
  closed: number;
}

async function download(recorded: Buffer, onDisk: Buffer, how: 'pipe' | 'iterate'): Promise<Outcome> {
  const corrupt: string[] = [];
  const reader = memoryReader(onDisk);
  const stream = new VerifiedBlobStream(reader, sha(recorded), recorded.length, (reason) => corrupt.push(reason));
  if (how === 'iterate') {
    const parts: Buffer[] = [];
    try {
      for await (const chunk of stream) parts.push(chunk as Buffer);
    } catch (error) {
      return { bytes: Buffer.concat(parts), error, corrupt, closed: reader.closed };
    }
    return { bytes: Buffer.concat(parts), corrupt, closed: reader.closed };
  }
  const sink = new SlowSink();
  const error = await new Promise<unknown>((resolve) => {
    stream.on('error', resolve);
    sink.on('finish', () => resolve(undefined));
    stream.pipe(sink);
  });
  await new Promise((resolve) => setImmediate(resolve));
  return { bytes: Buffer.concat(sink.parts), ...(error === undefined ? {} : { error }), corrupt, closed: reader.closed };
}

describe('verified downloads', () => {
  const good = random(3 * MiB + 12345);

  for (const how of ['pipe', 'iterate'] as const) {
    it(`sends a blob that matches whole, and closes it (${how})`, async () => {
      const got = await download(good, good, how);
      assert.equal(got.error, undefined);
      assert.equal(sha(got.bytes), sha(good), 'the bytes arrive intact although the buffers are reused');
      assert.deepEqual(got.corrupt, []);
      assert.equal(got.closed, 1);
    });

    it(`withholds the last bytes of a blob changed, cut or grown on disk (${how})`, async () => {
      const flipped = Buffer.from(good);
      flipped[10] = (flipped[10] as number) ^ 1;
      const lastFlipped = Buffer.from(good);
      lastFlipped[good.length - 1] = (lastFlipped[good.length - 1] as number) ^ 1;
      for (const onDisk of [flipped, lastFlipped, good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from('x')])]) {
        const got = await download(good, onDisk, how);
        assert.ok(isCustodyError(got.error, 'STORE_CORRUPT'), `${onDisk.length}: ${String(got.error)}`);
        assert.ok(got.bytes.length < good.length, 'a complete body is never sent');
        assert.equal(got.corrupt.length, 1);
        assert.equal(got.closed, 1);
      }
    });

    it(`verifies an empty blob too (${how})`, async () => {
      assert.deepEqual(await download(Buffer.alloc(0), Buffer.alloc(0), how), { bytes: Buffer.alloc(0), corrupt: [], closed: 1 });
      const grown = await download(Buffer.alloc(0), Buffer.from('x'), how);
      assert.ok(isCustodyError(grown.error, 'STORE_CORRUPT'));
      assert.equal(grown.bytes.length, 0);
    });
  }

  it('stops reading and closes the blob when the destination goes away', async () => {
    const reader = memoryReader(good);
    let reads = 0;
    const counting: BlobReader = { size: reader.size, read: async (b, p) => ((reads += 1), reader.read(b, p)), close: () => reader.close() };
    const stream = new VerifiedBlobStream(counting, sha(good), good.length, () => undefined);
    const sink = new Writable({
      write(_chunk, _encoding, callback): void {
        setTimeout(callback, 5);
      },
    });
    stream.pipe(sink);
    await new Promise((resolve) => setTimeout(resolve, 1));
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    const readsAtClose = reads;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(reader.closed, 1);
    assert.equal(reads, readsAtClose, 'no reads after the stream is destroyed');
    assert.ok(reads < good.length / (300 * 1024), 'it did not read the whole blob');
  });
});

describe('staged writes', () => {
  it('copies chunks in: a caller may reuse its buffer as soon as a write resolves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custody-blobs-'));
    const blobs = new LocalBlobStore(dir);
    await blobs.init();
    const data = random(9 * MiB + 777);
    // One buffer, refilled for every chunk, as a network stack with a reused read buffer would.
    const reused = Buffer.allocUnsafe(64 * 1024 + 3);
    const body = async function* (): AsyncGenerator<Uint8Array> {
      for (let offset = 0; offset < data.length; offset += reused.length) {
        const n = data.copy(reused, 0, offset, offset + reused.length);
        yield reused.subarray(0, n);
        reused.fill(0xee);
      }
    };
    const stored = await receiveFile(body(), { name: 'f', digest: sha(data) }, 'sha256', blobs, 100 * MiB);
    assert.equal(stored.size, data.length);
    assert.equal(sha(readFileSync(blobs.pathOf(stored.sha256))), sha(data));
    assert.deepEqual(readdirSync(join(dir, 'staging')), []);
  });

  it('the batched writer writes every byte in order across batch boundaries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custody-batch-'));
    for (const batch of [1, 7, 4096]) {
      const path = join(dir, `out-${batch}`);
      const handle = await open(path, 'wx');
      const writer = new BatchedFileWriter(handle, batch);
      const parts = [Buffer.from('a'), Buffer.alloc(0), random(5000), random(3), random(20000)];
      for (const part of parts) await writer.write(part);
      await writer.flush();
      await handle.close();
      assert.equal(sha(readFileSync(path)), sha(Buffer.concat(parts)), `batch ${batch}`);
    }
  });

  it('a write the file system refuses surfaces as an error, never as a short file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custody-batch-'));
    const path = join(dir, 'read-only');
    await (await open(path, 'wx')).close();
    const handle = await open(path, 'r');
    const writer = new BatchedFileWriter(handle, 1024);
    await assert.rejects(async () => {
      for (let i = 0; i < 8; i += 1) await writer.write(random(1000));
      await writer.flush();
    }, (e: unknown) => (e as NodeJS.ErrnoException).code === 'EBADF');
    await assert.rejects(writer.write(random(1)), 'later writes are refused too');
    await handle.close();
  });
});
