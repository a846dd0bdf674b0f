import { close, closeSync, mkdtempSync, openSync, read, rmdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferSource, type ByteSource } from './byte-source.js';
import { CustodyError } from './errors.js';

/**
 * Bounded output of a decoder, in one place for every decoder (gzip, zlib, bzip2, xz, zstd, LZ4,
 * LZMA, image layers): it is the only code that cuts output, so "cut" is recorded the same way
 * whatever produced the bytes. Decoders hand it everything they decode and never trim it themselves;
 * a chunk that crosses `maxBytes` is kept up to the bound and the spool is marked `stopped: 'limit'`
 * (so a payload placed just past the bound is never silently dropped: the cut is reported).
 *
 * Output stays in memory up to `memoryBytes`, then moves to a temporary file, so a stream that
 * expands to gigabytes costs disk, not memory. The file is created exclusively (mode 0600) in a
 * private `mkdtemp` directory and unlinked (with its directory) as soon as it is open: nothing is left
 * on disk whatever happens afterwards — an error, a timeout, a worker terminated mid-write, or a
 * killed process — because the kernel frees an unlinked file when its last descriptor closes.
 */
export interface SpoolOptions {
  /** Output is cut here: bytes beyond it are not kept and the spool records `stopped: 'limit'`. */
  maxBytes: number;
  /** Output is held in memory up to this many bytes, then moved to a temporary file. */
  memoryBytes: number;
  /** Epoch ms after which the spool refuses more output (`stopped: 'timeout'`). */
  deadline: number;
  /** Sees every byte kept, in order (a checksum over the output, for instance). */
  onKept?: (kept: Uint8Array) => void;
}

export type SpoolStop = 'limit' | 'timeout';

/** What a finished spool holds. */
export interface SpooledBytes {
  source: ByteSource;
  size: number;
  /** The output was held in a temporary file rather than in memory. */
  onDisk: boolean;
  /** Closes the source (and frees the temporary file). Safe to call more than once. */
  dispose(): Promise<void>;
}

/** Bytes between deadline checks (a clock read per chunk is cheap, but chunks can be tiny). */
const CLOCK_EVERY = 256 * 1024;

export class BoundedSpool {
  private chunks: Buffer[] = [];
  private fd: number | undefined;
  private sinceClock = 0;
  /** Bytes kept. */
  total = 0;
  stopped: SpoolStop | undefined;

  constructor(private readonly options: SpoolOptions) {}

  /**
   * Appends `chunk` (copied: the caller may reuse its buffer). Returns false once the spool is stopped;
   * a chunk that crosses the bound is kept up to it. Throws CustodyError IO_ERROR only when the
   * temporary file cannot be written (our failure, not the input's).
   */
  push(chunk: Uint8Array): boolean {
    if (this.stopped !== undefined) return false;
    const room = this.options.maxBytes - this.total;
    const fits = chunk.length > room ? chunk.subarray(0, Math.max(0, room)) : chunk;
    if (fits.length > 0) {
      this.options.onKept?.(fits);
      if (this.fd === undefined && this.total + fits.length > this.options.memoryBytes) this.moveToDisk();
      if (this.fd !== undefined) this.writeToDisk(fits);
      else this.chunks.push(Buffer.from(fits));
      this.total += fits.length;
    }
    if (fits.length < chunk.length) {
      this.stopped = 'limit';
      return false;
    }
    this.sinceClock += chunk.length;
    if (this.sinceClock >= CLOCK_EVERY) {
      this.sinceClock = 0;
      if (Date.now() > this.options.deadline) {
        this.stopped = 'timeout';
        return false;
      }
    }
    return true;
  }

  /** Marks the spool stopped by the deadline (for decoders that check the clock themselves). */
  stopForTime(): void {
    this.stopped ??= 'timeout';
  }

  /** Hands over what was kept as a ByteSource. The spool must not be used afterwards. */
  finish(): SpooledBytes {
    if (this.fd === undefined) {
      const data = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.total);
      this.chunks = [];
      return { source: new BufferSource(data), size: data.length, onDisk: false, dispose: () => Promise.resolve() };
    }
    const source = new DescriptorSource(this.fd, this.total);
    this.fd = undefined;
    return { source, size: source.size, onDisk: true, dispose: () => source.close() };
  }

  /** Drops everything (after a failure of ours). */
  abandon(): void {
    this.chunks = [];
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private moveToDisk(): void {
    this.fd = openPrivateTempFile();
    for (const held of this.chunks) this.writeToDisk(held);
    this.chunks = [];
  }

  private writeToDisk(data: Uint8Array): void {
    try {
      for (let done = 0; done < data.length; ) done += writeSync(this.fd as number, data, done, data.length - done);
    } catch (error) {
      this.abandon();
      throw new CustodyError('IO_ERROR', `cannot write decoded data to a temporary file: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * Opens a new, empty, read-write file that has no name: created with O_EXCL and mode 0600 inside a
 * private `mkdtemp` directory, then unlinked with its directory. Where a platform refuses to unlink an
 * open file, the name is left for `close` of the source to remove.
 */
function openPrivateTempFile(): number {
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), 'custody-spool-'));
  } catch (error) {
    throw new CustodyError('IO_ERROR', `cannot create a temporary directory for decoded data: ${(error as Error).message}`, { cause: error });
  }
  const path = join(dir, 'data');
  let fd: number;
  try {
    fd = openSync(path, 'wx+', 0o600);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new CustodyError('IO_ERROR', `cannot create a temporary file for decoded data: ${(error as Error).message}`, { cause: error });
  }
  try {
    unlinkSync(path);
    rmdirSync(dir);
  } catch {
    lingering.set(fd, dir);
  }
  return fd;
}

/** Temporary directories that could not be removed while their file was open (fd → directory). */
const lingering = new Map<number, string>();

/** A read-only ByteSource over a spool's (nameless) temporary file. */
class DescriptorSource implements ByteSource {
  private closed = false;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  async read(offset: number, length: number): Promise<Buffer> {
    if (this.closed) throw new CustodyError('IO_ERROR', 'read from a closed spool');
    const start = Math.max(0, Math.min(offset, this.size));
    const want = Math.max(0, Math.min(length, this.size - start));
    const buffer = Buffer.allocUnsafe(want);
    let filled = 0;
    while (filled < want) {
      const bytesRead = await new Promise<number>((resolve, reject) => {
        read(this.fd, buffer, filled, want - filled, start + filled, (error, n) => (error ? reject(error) : resolve(n)));
      });
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === want ? buffer : buffer.subarray(0, filled);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => close(this.fd, () => resolve()));
    const dir = lingering.get(this.fd);
    if (dir !== undefined) {
      lingering.delete(this.fd);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
