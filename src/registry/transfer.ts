import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { CustodyError } from '../core/errors.js';
import { createHasher, digestEquals, type HashType, type StreamHasher } from '../integrity/digest.js';
import type { BlobReader, BlobStore } from '../store/blobs.js';
import type { StoredFile } from '../store/metadata.js';
import type { FilePlan } from './manifest.js';

/**
 * Receives one file of an upload: streams it into a staged blob while computing its SHA-256 (the
 * blob address) and the manifest's digests (the file's, or each shard's), then commits the blob only
 * when every digest matches what the manifest declared. On a mismatch, an over-long body or a body
 * cut short, the staged bytes are discarded: nothing of the file stays.
 */
export async function receiveFile(body: AsyncIterable<Uint8Array>, plan: FilePlan, hashType: HashType, blobs: BlobStore, maxBytes: number): Promise<StoredFile> {
  const sha256 = createHash('sha256');
  const shared = hashType === 'sha256' && plan.shards === undefined;
  const fileHasher: StreamHasher | undefined = shared || plan.shards !== undefined ? undefined : await createHasher(hashType);
  const shards = plan.shards ?? [];
  const expectedSize = shards.length > 0 ? (shards[shards.length - 1]?.end ?? 0) : undefined;
  const limit = expectedSize ?? maxBytes;
  let shardIndex = 0;
  let shardHasher: StreamHasher | undefined = shards.length > 0 ? await createHasher(hashType) : undefined;
  const shardDigests: string[] = [];
  let size = 0;

  const staged = await blobs.stage();
  try {
    try {
      for await (const chunk of body) {
        if (size + chunk.length > limit) {
          throw new CustodyError('INPUT_LIMIT', expectedSize !== undefined ? `${plan.name} is longer than the ${expectedSize} bytes its shards cover` : `${plan.name} is larger than the server's limit of ${maxBytes} bytes per file`);
        }
        sha256.update(chunk);
        fileHasher?.update(chunk);
        if (shardHasher) {
          let offset = 0;
          while (offset < chunk.length) {
            const shard = shards[shardIndex];
            if (!shard || !shardHasher) break;
            const take = Math.min(chunk.length - offset, shard.end - (size + offset));
            shardHasher.update(chunk.subarray(offset, offset + take));
            offset += take;
            if (size + offset === shard.end) {
              shardDigests.push(shardHasher.digest().toString('hex'));
              shardIndex += 1;
              shardHasher = shardIndex < shards.length ? await createHasher(hashType) : undefined;
            }
          }
        }
        size += chunk.length;
        await staged.write(chunk);
      }
    } catch (error) {
      if (error instanceof CustodyError) throw error;
      throw new CustodyError('UPLOAD_INCOMPLETE', `the upload of ${plan.name} was cut short after ${size} bytes`, { cause: error });
    }
    const blobDigest = sha256.digest('hex');
    checkDigests(plan, { size, expectedSize, blobDigest, fileDigest: shared ? blobDigest : fileHasher?.digest().toString('hex'), shardDigests });
    await staged.commit(blobDigest);
    return { name: plan.name, sha256: blobDigest, size };
  } finally {
    await staged.abort();
  }
}

function checkDigests(plan: FilePlan, got: { size: number; expectedSize: number | undefined; blobDigest: string; fileDigest: string | undefined; shardDigests: string[] }): void {
  if (got.expectedSize !== undefined && got.size !== got.expectedSize) {
    throw new CustodyError('DIGEST_MISMATCH', `${plan.name} is ${got.size} bytes, but its shards cover ${got.expectedSize}`, { details: { file: plan.name } });
  }
  if (plan.digest !== undefined && !(got.fileDigest !== undefined && digestEquals(got.fileDigest, plan.digest))) {
    throw new CustodyError('DIGEST_MISMATCH', `${plan.name} does not match the digest its manifest declares (declared ${plan.digest}, received ${got.fileDigest ?? '?'})`, { details: { file: plan.name } });
  }
  const shards = plan.shards ?? [];
  const bad = shards.findIndex((s, i) => !digestEquals(got.shardDigests[i] ?? '', s.digest));
  if (bad !== -1) {
    const s = shards[bad];
    throw new CustodyError('DIGEST_MISMATCH', `${plan.name} bytes ${s?.start}–${s?.end} do not match the digest the manifest declares`, { details: { file: plan.name } });
  }
}

/** Downloads read the blob in chunks of this size: one read call and one socket write per MiB. */
const DOWNLOAD_CHUNK_BYTES = 1024 * 1024;

/**
 * A stored blob as a stream, hashed as it is read and verified before its last chunk leaves: a blob
 * that changed on disk (other bytes, shorter or longer than recorded) ends the stream with
 * STORE_CORRUPT before its final bytes, so a client never receives a complete body that does not
 * match.
 *
 * Piped (which is how the server sends it), the stream reads into two reused buffers and writes each
 * chunk straight to the destination, reading the next chunk while the previous one is written and
 * reusing a buffer only once the destination has reported its write done: no buffer per chunk, so
 * a download makes no garbage for V8 to collect. Read any other way, it gives fresh buffers.
 */
export class VerifiedBlobStream extends Readable {
  private readonly hash: Hash = createHash('sha256');
  private position = 0;
  private verified = false;
  private pumping = false;
  private wakeWriter: ((error: Error) => void) | undefined;

  constructor(
    private readonly blob: BlobReader,
    private readonly expected: string,
    private readonly expectedSize: number,
    private readonly onCorrupt: (reason: string) => void,
  ) {
    super();
  }

  override _read(): void {
    this.nextChunk(Buffer.allocUnsafe(Math.min(DOWNLOAD_CHUNK_BYTES, Math.max(1, this.expectedSize - this.position)))).then(
      (chunk) => this.push(chunk ?? null),
      (error: unknown) => this.destroy(error as Error),
    );
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    // The fast path needs the stream to itself: anything already reading it gets the plain pipe.
    if (this.pumping || this.readableFlowing !== null || this.readableLength > 0 || this.position > 0) return super.pipe(destination, options);
    this.pumping = true;
    void this.pump(destination, options?.end !== false);
    return destination;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.wakeWriter?.(error ?? new Error('the download stream was destroyed'));
    this.blob.close().then(
      () => callback(error),
      () => callback(error),
    );
  }

  private async pump(destination: NodeJS.WritableStream, end: boolean): Promise<void> {
    const size = Math.min(DOWNLOAD_CHUNK_BYTES, Math.max(1, this.expectedSize));
    const buffers = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)] as const;
    let writing: Promise<Error | undefined> = Promise.resolve(undefined);
    try {
      for (let i = 0; ; i = 1 - i) {
        // buffers[i] was last handed over two chunks ago, and that write has completed (awaited below).
        const chunk = await this.nextChunk(buffers[i === 0 ? 0 : 1]);
        if (this.destroyed) return;
        const failed = await writing;
        if (failed) throw failed;
        if (chunk === undefined) break;
        writing = this.writeTo(destination, chunk);
      }
      if (end) destination.end();
      this.push(null);
      this.resume();
    } catch (error) {
      if (!this.destroyed) this.destroy(error as Error);
    }
  }

  /** Resolves once `destination` is done with `chunk` (or with the error that stopped it). */
  private writeTo(destination: NodeJS.WritableStream, chunk: Buffer): Promise<Error | undefined> {
    return new Promise((resolve) => {
      this.wakeWriter = resolve;
      destination.write(chunk, (error?: Error | null) => {
        this.wakeWriter = undefined;
        resolve(error ?? undefined);
      });
    });
  }

  /** Reads, hashes and (for the last one, before it is returned) verifies the next chunk; undefined after the end. */
  private async nextChunk(buffer: Buffer): Promise<Buffer | undefined> {
    if (this.position >= this.expectedSize) {
      if (!this.verified) await this.verify();
      return undefined;
    }
    const want = Math.min(buffer.length, this.expectedSize - this.position);
    let got = 0;
    while (got < want) {
      const n = await this.blob.read(buffer.subarray(got, want), this.position + got);
      if (n === 0) break;
      got += n;
    }
    if (got < want) this.fail(`blob ${this.expected} on disk ends after ${this.position + got} of its ${this.expectedSize} bytes`);
    const chunk = buffer.subarray(0, want);
    this.hash.update(chunk);
    this.position += want;
    if (this.position === this.expectedSize) await this.verify();
    return chunk;
  }

  private async verify(): Promise<void> {
    this.verified = true;
    const longer = (await this.blob.read(Buffer.allocUnsafe(1), this.expectedSize)) > 0;
    const actual = this.hash.digest('hex');
    if (longer) this.fail(`blob ${this.expected} on disk is longer than its ${this.expectedSize} bytes`);
    if (!digestEquals(actual, this.expected)) this.fail(`blob ${this.expected} on disk no longer matches its digest (${this.expectedSize} bytes hash to ${actual})`);
  }

  private fail(reason: string): never {
    this.onCorrupt(reason);
    throw new CustodyError('STORE_CORRUPT', reason);
  }
}
