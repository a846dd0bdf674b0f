import { createHash, timingSafeEqual } from 'node:crypto';
import { CustodyError } from '../core/errors.js';

/**
 * Hash algorithms for file contents, by their OMS identifiers (the OMS algorithm registry, and
 * the names model_signing writes). The root digest is always SHA-256.
 */
export const HASH_TYPES = ['sha256', 'blake2b', 'blake3'] as const;
export type HashType = (typeof HASH_TYPES)[number];

export function isHashType(value: unknown): value is HashType {
  return typeof value === 'string' && (HASH_TYPES as readonly string[]).includes(value);
}

/**
 * Reads a `hash_type` as signatures spell it: the OMS identifiers, plus `blake2`, the spelling
 * model_signing's verifier expects when it infers settings from a signature (it writes `blake2b`).
 */
export function parseHashType(value: unknown): HashType | undefined {
  if (value === 'blake2') return 'blake2b';
  return isHashType(value) ? value : undefined;
}

/** Digest length in bytes: SHA-256 and BLAKE3 are 256-bit, BLAKE2b (unkeyed, as OMS uses it) 512-bit. */
export const DIGEST_BYTES: Readonly<Record<HashType, number>> = { sha256: 32, blake2b: 64, blake3: 32 };

/** A streaming hash: node:crypto (OpenSSL) for SHA-256 and BLAKE2b, WebAssembly for BLAKE3. */
export interface StreamHasher {
  update(data: Uint8Array): void;
  digest(): Buffer;
}

export async function createHasher(type: HashType): Promise<StreamHasher> {
  if (type === 'sha256' || type === 'blake2b') {
    const hash = createHash(type === 'sha256' ? 'sha256' : 'blake2b512');
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
