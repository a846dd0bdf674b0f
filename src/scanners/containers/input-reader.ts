import type { ByteSource } from '../../core/byte-source.js';

/**
 * Sequential, buffered reading of a compressed stream from a ByteSource, so that decoders hold one
 * chunk of input at a time instead of the whole stream. `buf[pos, end)` are the bytes not yet
 * consumed; decoders read them directly and advance `pos`, calling `ensure` before a step that may
 * need more than what is buffered.
 */
export class InputReader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;
  /** Offset in the source of `buf[0]`. */
  private base = 0;

  constructor(
    private readonly source: ByteSource,
    private readonly chunkBytes = 1024 * 1024,
  ) {}

  /** Offset in the source of the next unread byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** True when every byte of the source has been consumed. */
  get done(): boolean {
    return this.pos >= this.end && this.base + this.end >= this.source.size;
  }

  /** Bytes of the source after the buffered ones. */
  private get unread(): number {
    return this.source.size - (this.base + this.end);
  }

  /**
   * Makes at least `n` bytes available from `pos` (fewer only at the end of the source); returns how
   * many are available.
   */
  async ensure(n: number): Promise<number> {
    if (this.end - this.pos >= n || this.unread <= 0) return this.end - this.pos;
    const keep = this.end - this.pos;
    const want = Math.min(this.unread, Math.max(n - keep, this.chunkBytes));
    const next = Buffer.allocUnsafe(keep + want);
    this.buf.copy(next, 0, this.pos, this.end);
    const from = this.base + this.end;
    let filled = 0;
    while (filled < want) {
      const chunk = await this.source.read(from + filled, want - filled);
      if (chunk.length === 0) break;
      chunk.copy(next, keep + filled);
      filled += chunk.length;
    }
    this.base += this.pos;
    this.buf = next;
    this.pos = 0;
    this.end = keep + filled;
    return this.end;
  }

  /** Skips `n` bytes (possibly beyond the buffer); returns false when the source ends first. */
  async skip(n: number): Promise<boolean> {
    const buffered = this.end - this.pos;
    if (n <= buffered) {
      this.pos += n;
      return true;
    }
    const beyond = n - buffered;
    if (beyond > this.unread) {
      this.base += this.end + this.unread;
      this.buf = Buffer.alloc(0);
      this.pos = this.end = 0;
      return false;
    }
    this.base += this.end + beyond;
    this.buf = Buffer.alloc(0);
    this.pos = this.end = 0;
    return true;
  }
}
