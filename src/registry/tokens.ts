import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * API tokens. A token is `custody_` + 30 random base62 characters + the CRC-32 of those 30 characters
 * in base62, six wide: the layout GitHub uses, so that a leaked token is recognised offline (the
 * `secrets/custody-token` rule checks the checksum) and a mistyped one is refused without a database
 * look-up. The server keeps only the SHA-256 of a token: with ~178 random bits a salted slow hash adds
 * nothing, and a fast hash lets every request find its token by an indexed look-up.
 */
export const TOKEN_PREFIX = 'custody_';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 30;
const CHECKSUM_CHARS = 6;
export const TOKEN_LENGTH = TOKEN_PREFIX.length + RANDOM_CHARS + CHECKSUM_CHARS;
const TOKEN_SHAPE = new RegExp(`^${TOKEN_PREFIX}[0-9A-Za-z]{${RANDOM_CHARS + CHECKSUM_CHARS}}$`);

function toBase62(value: number, width: number): string {
  let out = '';
  let n = value;
  while (n > 0) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out.padStart(width, '0');
}

function checksum(random: string): string {
  return toBase62(crc32(Buffer.from(random, 'latin1')) >>> 0, CHECKSUM_CHARS);
}

/** A new random token (crypto-random, uniform over base62). */
export function generateToken(): string {
  let random = '';
  for (let i = 0; i < RANDOM_CHARS; i += 1) random += BASE62[randomInt(62)];
  return `${TOKEN_PREFIX}${random}${checksum(random)}`;
}

/** True when `value` has the token layout and a correct checksum (says nothing of whether it is live). */
export function isWellFormedToken(value: string): boolean {
  if (value.length !== TOKEN_LENGTH || !TOKEN_SHAPE.test(value)) return false;
  const body = value.slice(TOKEN_PREFIX.length);
  const expected = Buffer.from(checksum(body.slice(0, RANDOM_CHARS)));
  return timingSafeEqual(expected, Buffer.from(body.slice(RANDOM_CHARS)));
}

/** What the server stores and looks tokens up by. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time equality of two hex strings of the same length (false otherwise). */
export function hexEquals(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Public identifier of a token (listing, revocation): not secret, never usable as a credential. */
export function generateTokenId(): string {
  return `tok-${randomBytes(8).toString('hex')}`;
}

/** Identifier of an upload session. */
export function generateUploadId(): string {
  return `up-${randomBytes(12).toString('hex')}`;
}

const DURATION = /^([1-9][0-9]{0,6})(s|m|h|d)$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses `90s`, `15m`, `1h`, `30d` into seconds; undefined when malformed. */
export function parseDuration(value: string): number | undefined {
  const m = DURATION.exec(value.trim());
  if (!m) return undefined;
  return Number(m[1]) * (UNIT_SECONDS[m[2] ?? 's'] ?? 1);
}
