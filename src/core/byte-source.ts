import type { FileHandle } from 'node:fs/promises';
import { openRegularFile, type OpenRegularOptions } from './safe-fs.js';

/**
 * Random-access, read-only bytes. Scanners read through this so that a 10 GB file costs only the
 * ranges they ask for, and so that members of containers (zip, tar, image layers) can be scanned
 * with the same code as files on disk.
 */
export interface ByteSource {
  readonly size: number;
  /** Reads up to `length` bytes at `offset`; shorter only at end of data. */
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

export class BufferSource implements ByteSource {
  readonly size: number;
  constructor(private readonly buffer: Buffer) {
    this.size = buffer.length;
  }
  read(offset: number, length: number): Promise<Buffer> {
    const start = Math.max(0, Math.min(offset, this.size));
    const end = Math.max(start, Math.min(offset + length, this.size));
    return Promise.resolve(this.buffer.subarray(start, end));
  }
  /** The whole content, without copying. */
  all(): Buffer {
    return this.buffer;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export class FileSource implements ByteSource {
  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /**
   * Opens a regular file without ever blocking on what is at the path: O_NONBLOCK, then the open
   * descriptor is checked, so a FIFO or device (even one swapped in after a directory walk) is refused
   * with SPECIAL_FILE instead of hanging the read. `noFollow` refuses a link as the last component
   * (SYMLINK_REFUSED). A path that is not valid UTF-8 is given as its bytes.
   */
  static async open(path: string | Uint8Array, options: OpenRegularOptions = {}): Promise<FileSource> {
    const { handle, size } = await openRegularFile(typeof path === 'string' ? path : Buffer.from(path.buffer, path.byteOffset, path.byteLength), options);
    return new FileSource(handle, size);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const start = Math.max(0, Math.min(offset, this.size));
    const want = Math.max(0, Math.min(length, this.size - start));
    const buffer = Buffer.allocUnsafe(want);
    let filled = 0;
    while (filled < want) {
      const { bytesRead } = await this.handle.read(buffer, filled, want - filled, start + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === want ? buffer : buffer.subarray(0, filled);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/**
 * A window `[start, start + length)` of another source, read lazily: a stored zip member or a raw
 * region of a file is scanned through this without copying it, so a scanner that only needs the first
 * bytes of a 2 GB tensor member reads only those. Closing it does not close the parent.
 */
export class SliceSource implements ByteSource {
  readonly size: number;

  constructor(
    private readonly parent: ByteSource,
    private readonly start: number,
    length: number,
  ) {
    const begin = Math.max(0, Math.min(start, parent.size));
    this.start = begin;
    this.size = Math.max(0, Math.min(length, parent.size - begin));
  }

  read(offset: number, length: number): Promise<Buffer> {
    const from = Math.max(0, Math.min(offset, this.size));
    const want = Math.max(0, Math.min(length, this.size - from));
    if (want === 0) return Promise.resolve(Buffer.alloc(0));
    return this.parent.read(this.start + from, want);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Reads a whole source into memory, refusing when it is larger than `maxBytes`. */
export async function readAll(source: ByteSource, maxBytes: number): Promise<Buffer | undefined> {
  if (source.size > maxBytes) return undefined;
  if (source instanceof BufferSource) return source.all();
  return source.read(0, source.size);
}
