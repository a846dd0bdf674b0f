import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { CustodyError } from '../core/errors.js';
import { createHasher, digestEquals, type HashType, type StreamHasher } from '../integrity/digest.js';
import type { BlobStore } from '../store/blobs.js';
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

/**
 * Passes a stored blob through while hashing it, holding back the last chunk until the digest is
 * known: a blob changed on disk ends the stream with STORE_CORRUPT before its final bytes, so a
 * client never receives a complete body that does not match.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private held: Buffer | undefined;
  private bytes = 0;

  constructor(
    private readonly expected: string,
    private readonly expectedSize: number,
    private readonly onCorrupt: (reason: string) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    const out = this.held;
    this.held = chunk;
    callback(null, out);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.hash.digest('hex');
    if (this.bytes !== this.expectedSize || !digestEquals(actual, this.expected)) {
      const reason = `blob ${this.expected} on disk no longer matches its digest (${this.bytes} bytes hash to ${actual})`;
      this.onCorrupt(reason);
      callback(new CustodyError('STORE_CORRUPT', reason));
      return;
    }
    callback(null, this.held);
  }
}
