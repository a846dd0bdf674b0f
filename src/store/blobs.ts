import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BatchedFileWriter, writeFully } from '../core/batched-writer.js';
import { CustodyError } from '../core/errors.js';

/**
 * The blob store: file contents addressed by their SHA-256. Blobs are written to a staging area, then
 * committed under their digest, so a blob is visible whole or not at all. The local default keeps
 * them under `<dir>/sha256/ab/cd/<digest>`; an S3-compatible store implements the same interface.
 */
export interface BlobStore {
  /** A new staged blob: bytes go to a temporary place until `commit`. */
  stage(): Promise<StagedBlob>;
  /** Size of a committed blob, or undefined when it is absent. */
  size(sha256: string): Promise<number | undefined>;
  /** Opens a committed blob for reading (STORE_CORRUPT when absent); the caller verifies the digest. */
  open(sha256: string): Promise<BlobReader>;
  /** Puts a committed blob at `path` (a hard link where possible, else a copy), for scanning. */
  materialize(sha256: string, path: string): Promise<void>;
  /** Every committed digest (for garbage collection). */
  list(): AsyncIterable<string>;
  delete(sha256: string): Promise<void>;
  /** Removes staged blobs a crash left behind. Only called before the server accepts requests. */
  clearStaging(): Promise<number>;
}

/** A committed blob opened for positional reads into the caller's buffers. */
export interface BlobReader {
  /** The size of the blob when it was opened. */
  readonly size: number;
  /** Reads up to `buffer.length` bytes at `position`; resolves to the bytes read, 0 at the end. */
  read(buffer: Uint8Array, position: number): Promise<number>;
  /** Releases the blob; safe to call more than once. */
  close(): Promise<void>;
}

export interface StagedBlob {
  /** Appends bytes (copied: the caller may reuse `chunk` once the promise resolves). */
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes to stable storage and moves the blob under its digest (the caller computed it). */
  commit(sha256: string): Promise<void>;
  /** Discards the staged bytes. Safe to call more than once, and after commit (then it does nothing). */
  abort(): Promise<void>;
}

const DIGEST = /^[0-9a-f]{64}$/;

function checkDigest(sha256: string): void {
  if (!DIGEST.test(sha256)) throw new CustodyError('INTERNAL', 'a blob digest must be 64 lower-case hex characters');
}

export class LocalBlobStore implements BlobStore {
  private readonly root: string;
  private readonly staging: string;

  constructor(dir: string) {
    this.root = join(dir, 'sha256');
    this.staging = join(dir, 'staging');
  }

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await mkdir(this.staging, { recursive: true, mode: 0o700 });
  }

  /** `sha256/ab/cd/abcd…`: two levels of 256 directories keep each directory small. */
  pathOf(sha256: string): string {
    checkDigest(sha256);
    return join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async stage(): Promise<StagedBlob> {
    const temp = join(this.staging, `${randomBytes(12).toString('hex')}.part`);
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    return new LocalStagedBlob(handle, temp, (sha256) => this.pathOf(sha256));
  }

  async size(sha256: string): Promise<number | undefined> {
    const info = await lstat(this.pathOf(sha256)).catch(() => undefined);
    return info?.isFile() ? info.size : undefined;
  }

  async open(sha256: string): Promise<BlobReader> {
    const path = this.pathOf(sha256);
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new CustodyError('STORE_CORRUPT', `blob ${sha256} is missing from the blob store`);
      throw new CustodyError('IO_ERROR', `cannot open blob ${sha256}: ${code ?? (error as Error).message}`, { cause: error });
    }
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      throw new CustodyError('STORE_CORRUPT', `blob ${sha256} is not a regular file`);
    }
    return new LocalBlobReader(handle, info.size);
  }

  async materialize(sha256: string, path: string): Promise<void> {
    try {
      await link(this.pathOf(sha256), path);
    } catch {
      const reader = await this.open(sha256);
      try {
        const out = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          const buffer = Buffer.allocUnsafeSlow(Math.min(COPY_BUFFER_BYTES, Math.max(1, reader.size)));
          for (let position = 0; ; ) {
            const n = await reader.read(buffer, position);
            if (n === 0) break;
            await writeFully(out, buffer.subarray(0, n));
            position += n;
          }
        } finally {
          await out.close();
        }
      } finally {
        await reader.close();
      }
    }
  }

  async *list(): AsyncIterable<string> {
    for (const a of (await readdir(this.root).catch(() => [])).sort()) {
      for (const b of (await readdir(join(this.root, a)).catch(() => [])).sort()) {
        for (const name of (await readdir(join(this.root, a, b)).catch(() => [])).sort()) if (DIGEST.test(name)) yield name;
      }
    }
  }

  async delete(sha256: string): Promise<void> {
    await unlink(this.pathOf(sha256)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  async clearStaging(): Promise<number> {
    const names = await readdir(this.staging).catch(() => []);
    for (const name of names) await rm(join(this.staging, name), { force: true, recursive: true });
    return names.length;
  }
}

/** Copies of blobs that cannot be hard-linked go through one buffer of this size. */
const COPY_BUFFER_BYTES = 1024 * 1024;

class LocalBlobReader implements BlobReader {
  private closed = false;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  async read(buffer: Uint8Array, position: number): Promise<number> {
    if (buffer.length === 0) return 0;
    const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, position);
    return bytesRead;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

class LocalStagedBlob implements StagedBlob {
  private handle: FileHandle | undefined;
  private readonly writer: BatchedFileWriter;
  private done = false;

  constructor(
    handle: FileHandle,
    private readonly temp: string,
    private readonly target: (sha256: string) => string,
  ) {
    this.handle = handle;
    this.writer = new BatchedFileWriter(handle);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (!this.handle) throw new CustodyError('INTERNAL', 'write to a finished staged blob');
    try {
      await this.writer.write(chunk);
    } catch (error) {
      throw new CustodyError('IO_ERROR', `cannot write a staged blob: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  }

  async commit(sha256: string): Promise<void> {
    const handle = this.handle;
    if (!handle) throw new CustodyError('INTERNAL', 'commit of a finished staged blob');
    const target = this.target(sha256);
    try {
      await this.writer.flush();
      await handle.sync();
      await handle.close();
      this.handle = undefined;
      const dir = join(target, '..');
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // Same content under the same name: the rename replaces a blob with an identical one.
      await rename(this.temp, target);
      await syncDirectory(dir);
      this.done = true;
    } catch (error) {
      await this.abort();
      throw new CustodyError('IO_ERROR', `cannot store blob ${sha256}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.writer.discard();
    if (this.handle) await this.handle.close().catch(() => undefined);
    this.handle = undefined;
    await unlink(this.temp).catch(() => undefined);
  }
}

/** Makes a rename in `dir` durable (fsync of the directory). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
