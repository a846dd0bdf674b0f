import type { ByteSource } from '../../../core/byte-source.js';

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
