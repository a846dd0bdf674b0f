import { crc32 as crc32Bytes } from '../containers/crc32.js';

/**
 * Offline checksums that some token formats carry, so that a look-alike string (a typo, a truncated
 * token, a made-up example) is not reported as a live credential.
 */

/** CRC-32 (IEEE 802.3, as zlib) of the Latin-1 bytes of `text` (tokens are ASCII). */
export function crc32(text: string): number {
  return crc32Bytes(Buffer.from(text, 'latin1'));
}

export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Base62 (0-9A-Za-z) of a non-negative integer, left-padded with `0` to `width`. */
export function base62(value: number, width: number): string {
  let out = '';
  let n = Math.floor(value);
  while (n > 0) {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out.padStart(width, '0');
}

/**
 * GitHub's token format (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and npm's (`npm_`): a prefix, 30
 * random base62 characters, and the CRC-32 of those 30 characters in base62, six characters wide.
 * See "Behind GitHub's new authentication token formats" (GitHub blog, 2021-04-05).
 */
export function hasValidCrc32Base62Checksum(token: string, prefixLength: number): boolean {
  const body = token.slice(prefixLength);
  if (body.length !== 36) return false;
  const random = body.slice(0, 30);
  return base62(crc32(random), 6) === body.slice(30);
}
