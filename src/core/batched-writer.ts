import type { FileHandle } from 'node:fs/promises';

/**
 * Default batch: one write call per 256 KiB instead of one per 64 KiB network chunk. Not larger: on
 * the machine the benchmarks run on (ext4, Linux 6.x), writes of 1 MiB cost the kernel 3-4 times
 * the system time of writes of 64-256 KiB for the same bytes (it fills the page cache in larger
 * folios); 256 KiB was the cheapest measured.
 */
export const WRITE_BATCH_BYTES = 256 * 1024;

/**
 * Appends a stream of chunks to an open file in large writes, without keeping the chunks.
 *
 * Each chunk is copied into one of two reused batch buffers; a full batch is written while the
 * other fills, so the disk write overlaps the next network reads and at most one write is in
 * flight. Copying (a memcpy of each chunk) costs less than keeping the chunks: chunks kept until
 * their write completes outlive the young generation, and a stream of them makes V8 run a full
 * mark-compact every few tens of megabytes. The buffers are allocated on the first write and their
 * pages are touched only as far as they fill, so a small file costs a page, not the batch size.
 */
export class BatchedFileWriter {
  private current: Buffer | undefined;
  private spare: Buffer | undefined;
  private filled = 0;
  private inFlight: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly handle: FileHandle,
    private readonly batchBytes = WRITE_BATCH_BYTES,
  ) {}

  /** Copies `chunk` in; resolves at once unless a batch had to wait for the previous write. */
  async write(chunk: Uint8Array): Promise<void> {
    this.throwIfFailed();
    let offset = 0;
    while (offset < chunk.length) {
      const batch = (this.current ??= Buffer.allocUnsafeSlow(this.batchBytes));
      const take = Math.min(chunk.length - offset, batch.length - this.filled);
      batch.set(offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === batch.length) await this.startWrite();
    }
  }

  /** Writes whatever is buffered and waits for every write to finish. */
  async flush(): Promise<void> {
    if (this.filled > 0) await this.startWrite();
    await this.inFlight;
    this.inFlight = undefined;
    this.throwIfFailed();
  }

  /** Drops the buffers (after a failure or an abort); later writes are refused. */
  async discard(): Promise<void> {
    this.failure ??= { error: new Error('the writer was discarded') };
    await this.inFlight;
    this.current = undefined;
    this.spare = undefined;
  }

  /** Waits for the write in flight, then starts writing the current batch and swaps buffers. */
  private async startWrite(): Promise<void> {
    await this.inFlight;
    this.throwIfFailed();
    const batch = this.current as Buffer;
    const bytes = batch.subarray(0, this.filled);
    // The promise is never left to reject unobserved: a failure is kept and thrown by the next call.
    this.inFlight = writeFully(this.handle, bytes).catch((error: unknown) => {
      this.failure ??= { error };
    });
    this.current = this.spare;
    this.spare = batch;
    this.filled = 0;
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

/** Writes all of `bytes` at the file position, continuing after short writes. */
export async function writeFully(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    if (bytesWritten <= 0) throw new Error('the file system accepted no bytes');
    offset += bytesWritten;
  }
}
