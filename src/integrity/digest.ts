import { createHash, timingSafeEqual } from 'node:crypto';
import { CustodyError } from '../core/errors.js';

/** Hash algorithms for file contents, by their OMS identifiers. The root digest is always SHA-256. */
export const HASH_TYPES = ['sha256', 'blake3'] as const;
export type HashType = (typeof HASH_TYPES)[number];

export function isHashType(value: unknown): value is HashType {
  return typeof value === 'string' && (HASH_TYPES as readonly string[]).includes(value);
}

/** Digest length in bytes for each hash type (both are 256-bit). */
export const DIGEST_BYTES: Readonly<Record<HashType, number>> = { sha256: 32, blake3: 32 };

/** A streaming hash: node:crypto (OpenSSL) for SHA-256, WebAssembly for BLAKE3. */
export interface StreamHasher {
  update(data: Uint8Array): void;
  digest(): Buffer;
}

export async function createHasher(type: HashType): Promise<StreamHasher> {
  if (type === 'sha256') {
    const hash = createHash('sha256');
    return { update: (data) => void hash.update(data), digest: () => hash.digest() };
  }
  // Loaded on first use: the library is large, and worker threads hashing SHA-256 never need it.
  const { createBLAKE3 } = await import('hash-wasm');
  const hasher = await createBLAKE3();
  hasher.init();
  return { update: (data) => void hasher.update(data), digest: () => Buffer.from(hasher.digest('binary')) };
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

const HEX = /^[0-9a-f]*$/;

/** Lower-case hex of the expected length, as OMS requires; anything else is not a digest. */
export function isDigestHex(value: unknown, bytes = 32): value is string {
  return typeof value === 'string' && value.length === bytes * 2 && HEX.test(value);
}

/** Compares two hex digests in constant time (for equal lengths); false when either is malformed. */
export function digestEquals(a: string, b: string): boolean {
  if (a.length !== b.length || a.length % 2 !== 0 || !HEX.test(a) || !HEX.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/**
 * The OMS root digest: SHA-256 over the raw bytes of every resource digest, in the order the
 * resources are listed (OMS v1.0 §6.5.1; model_signing computes it the same way).
 */
export function computeRootDigest(digestsHex: Iterable<string>): string {
  const hash = createHash('sha256');
  for (const hex of digestsHex) {
    if (hex.length % 2 !== 0 || !HEX.test(hex)) throw new CustodyError('BUNDLE_INVALID', `resource digest "${hex.slice(0, 80)}" is not lower-case hex`);
    hash.update(Buffer.from(hex, 'hex'));
  }
  return hash.digest('hex');
}
