import { closeSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { MAX_ZSTD_WINDOW, zstdWindowSize } from '../models/containers/decompress.js';
import { BufferSource, FileSource, type ByteSource } from '../../core/byte-source.js';
import { CustodyError } from '../../core/errors.js';

/**
 * Decompressed layers need random access (the tar reader addresses members by offset), so the
 * decompressed stream is spooled: kept in memory up to `memoryBytes`, then moved to a temporary file.
 * Output is bounded by `maxBytes` and by the deadline; memory by `memoryBytes` plus one decoder block.
 */
export interface SpoolOptions {
  memoryBytes: number;
  maxBytes: number;
  deadline: number;
}

export interface SpooledSource {
  source: ByteSource;
  /** Set when decoding stopped early; `source` then holds what was decoded before it. */
  stopped?: { reason: 'limit' | 'timeout' | 'damaged'; detail: string };
  /** Closes the source and removes any temporary file. */
  dispose(): Promise<void>;
}

/** Thrown inside decoders to stop them at a bound; never escapes this module. */
class Stop extends Error {
  constructor(readonly reason: 'limit' | 'timeout') {
    super(reason);
  }
}

/** Synchronous, so that it can be fed from inside a synchronous decoder callback. */
class Spool {
  private chunks: Buffer[] = [];
  private size = 0;
  private dir: string | undefined;
  private fd: number | undefined;

  constructor(private readonly options: SpoolOptions) {}

  /** Appends; throws Stop when the bound or the deadline is reached (keeping what fits). */
  write(chunk: Uint8Array): void {
    const room = this.options.maxBytes - this.size;
    const fits = chunk.length > room ? chunk.subarray(0, Math.max(0, room)) : chunk;
    if (this.fd === undefined && this.size + fits.length > this.options.memoryBytes) {
      this.dir = mkdtempSync(join(tmpdir(), 'custody-layer-'));
      this.fd = openSync(join(this.dir, 'layer.tar'), 'w');
      for (const held of this.chunks) writeAll(this.fd, held);
      this.chunks = [];
    }
    if (this.fd !== undefined) writeAll(this.fd, fits);
    else this.chunks.push(Buffer.from(fits));
    this.size += fits.length;
    if (fits.length < chunk.length) throw new Stop('limit');
    if (Date.now() > this.options.deadline) throw new Stop('timeout');
  }

  async finish(): Promise<{ source: ByteSource; dispose: () => Promise<void> }> {
    if (this.fd === undefined) {
      const source = new BufferSource(Buffer.concat(this.chunks, this.size));
      this.chunks = [];
      return { source, dispose: () => Promise.resolve() };
    }
    closeSync(this.fd);
    this.fd = undefined;
    const dir = this.dir as string;
    const source = await FileSource.open(join(dir, 'layer.tar'));
    return {
      source,
      dispose: async () => {
        await source.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  async abandon(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done);
}

const READ_CHUNK = 256 * 1024;

async function* chunksOf(source: ByteSource, deadline: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < source.size; ) {
    if (Date.now() > deadline) throw new Stop('timeout');
    const chunk = await source.read(offset, READ_CHUNK);
    if (chunk.length === 0) return;
    offset += chunk.length;
    yield chunk;
  }
}

async function gunzipInto(source: ByteSource, spool: Spool, deadline: number): Promise<void> {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      try {
        spool.write(chunk);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  await pipeline(Readable.from(chunksOf(source, deadline)), createGunzip(), sink);
}

async function unzstdInto(source: ByteSource, spool: Spool, deadline: number): Promise<void> {
  // The decoder allocates the window the frame header asks for (up to gigabytes): refuse large ones first.
  const window = zstdWindowSize(await source.read(0, 18));
  if (window !== undefined && window > MAX_ZSTD_WINDOW) throw new Error(`the zstd frame asks for a ${window}-byte window, more than ${MAX_ZSTD_WINDOW} bytes`);
  const stream = new ZstdDecompress((data) => spool.write(data));
  let pending: Buffer | undefined;
  // The decoder is told which chunk is the last, so each chunk is pushed one step late.
  for await (const chunk of chunksOf(source, deadline)) {
    if (pending !== undefined) stream.push(pending, false);
    pending = chunk;
  }
  stream.push(pending ?? Buffer.alloc(0), true);
}

/**
 * Decompresses `source` (gzip or zstd) into a spool. Bad input never throws: damage, the size
 * bound and the deadline end decoding and are reported through `stopped`.
 */
export async function decompressToSpool(source: ByteSource, codec: 'gzip' | 'zstd', options: SpoolOptions): Promise<SpooledSource> {
  const spool = new Spool(options);
  let stopped: SpooledSource['stopped'];
  try {
    await (codec === 'gzip' ? gunzipInto(source, spool, options.deadline) : unzstdInto(source, spool, options.deadline));
  } catch (error) {
    if (error instanceof Stop) {
      stopped = error.reason === 'limit' ? { reason: 'limit', detail: `more than ${options.maxBytes} bytes` } : { reason: 'timeout', detail: 'the time budget ran out' };
    } else if ((error as NodeJS.ErrnoException).syscall !== undefined && (error as NodeJS.ErrnoException).code !== 'Z_DATA_ERROR') {
      // A failure of ours (disk full, no temporary directory), not of the input.
      await spool.abandon();
      throw new CustodyError('IO_ERROR', `cannot spool a decompressed layer: ${(error as Error).message}`, { cause: error });
    } else {
      stopped = { reason: 'damaged', detail: `${codec} stream: ${(error as Error).message}` };
    }
  }
  const { source: out, dispose } = await spool.finish();
  return stopped === undefined ? { source: out, dispose } : { source: out, stopped, dispose };
}
