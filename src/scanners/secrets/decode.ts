/**
 * Offline decoding used to validate structured credentials: base64 variants, PEM bodies (PKCS#1,
 * PKCS#8, SEC1, OpenSSH, PGP) and JWTs. Every function is bounded by its input and never throws.
 */

const B64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL_BODY = /^[A-Za-z0-9_-]*={0,2}$/;

/** Standard base64 (padding optional); undefined when the text is not base64. */
export function decodeBase64(text: string): Buffer | undefined {
  if (!B64_BODY.test(text) || text.length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64');
}

/** Base64url (RFC 4648 §5, padding optional); undefined when the text is not base64url. */
export function decodeBase64Url(text: string): Buffer | undefined {
  if (!B64URL_BODY.test(text) || text.length % 4 === 1) return undefined;
  return Buffer.from(text, 'base64url');
}

/** Parses JSON that must be an object; undefined otherwise. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  alg: string;
  signed: boolean;
}

/** A JWS compact serialization whose header and payload decode to JSON objects and whose header names an `alg`. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  const headerBytes = decodeBase64Url(h);
  const payloadBytes = decodeBase64Url(p);
  if (!headerBytes || !payloadBytes || decodeBase64Url(s) === undefined) return undefined;
  const header = parseJsonObject(headerBytes.toString('utf8'));
  const payload = parseJsonObject(payloadBytes.toString('utf8'));
  if (!header || !payload) return undefined;
  const alg = header['alg'];
  if (typeof alg !== 'string' || alg.length === 0 || alg.length > 32) return undefined;
  return { header, payload, alg, signed: alg.toLowerCase() !== 'none' && s.length >= 16 };
}

// --- DER ---------------------------------------------------------------------------------------

interface DerItem {
  tag: number;
  /** Offset of the content. */
  start: number;
  /** Offset just past the content. */
  end: number;
}

/** Reads one DER TLV at `offset`; undefined when the encoding is not valid or overruns `limit`. */
function readDer(bytes: Uint8Array, offset: number, limit = bytes.length): DerItem | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = bytes[offset]!;
  let length = bytes[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > limit) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i]!;
    start += count;
  }
  const end = start + length;
  if (end > limit) return undefined;
  return { tag, start, end };
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;

/** A DER SEQUENCE that spans the whole buffer and starts with an INTEGER (PKCS#1, SEC1, DSA, PKCS#8). */
function isDerKey(bytes: Uint8Array): boolean {
  const outer = readDer(bytes, 0);
  if (!outer || outer.tag !== SEQUENCE || outer.end !== bytes.length) return false;
  const first = readDer(bytes, outer.start, outer.end);
  return first !== undefined && first.tag === INTEGER;
}

/** PKCS#8 EncryptedPrivateKeyInfo: SEQUENCE { SEQUENCE algorithm, OCTET STRING data }. */
function isDerEncryptedKey(bytes: Uint8Array): boolean {
  const outer = readDer(bytes, 0);
  if (!outer || outer.tag !== SEQUENCE || outer.end !== bytes.length) return false;
  const algorithm = readDer(bytes, outer.start, outer.end);
  if (!algorithm || algorithm.tag !== SEQUENCE) return false;
  const data = readDer(bytes, algorithm.end, outer.end);
  return data !== undefined && data.tag === OCTET_STRING;
}

const OPENSSH_MAGIC = 'openssh-key-v1\0';

export type PemKind = 'pkcs1' | 'pkcs8' | 'sec1' | 'dsa' | 'openssh' | 'encrypted-pkcs8' | 'pgp' | 'other';

export interface PrivateKeyCheck {
  valid: boolean;
  encrypted: boolean;
  kind: PemKind;
}

const INVALID: PrivateKeyCheck = { valid: false, encrypted: false, kind: 'other' };

/**
 * Candidate base64 texts of a PEM body as it appears in files: real line breaks, JSON/env escapes (`\n`, also
 * doubly escaped in JSON logs), string concatenation quotes, RFC 1421 headers (`Proc-Type`, `DEK-Info`, PGP's
 * `Version:`). The first candidate keeps every base64 character of each line (bodies flattened onto one line
 * with spaces); the second keeps only the last base64 run of each line, so that prefixes that logs, comments
 * and code add to every line (`2026-04-26 12:36:01 `, `#5 0.228 `, ` *  `, `+ "`) and trailing escapes fall away.
 */
function pemBodyCandidates(raw: string): { candidates: string[]; legacyEncrypted: boolean } {
  const legacyEncrypted = /Proc-Type:\s*4,\s*ENCRYPTED/i.test(raw);
  // Escaped newlines become real ones; string concatenation (`"…" + "…"`) becomes a line break.
  const text = raw.replace(/\\r|\\n/g, '\n').replace(/["'`][ \t]*\+?[ \t]*\r?\n?[ \t]*\+?[ \t]*["'`]/g, '\n');
  const whole: string[] = [];
  const lastRuns: string[] = [];
  for (const line of text.split(/\r?\n|\r/)) {
    if (/[A-Za-z-]+:[ \t]/.test(line)) continue; // header line (base64 has no `: `)
    whole.push(line.replace(/["'`,\s\\]/g, ''));
    // Runs of digits only are timestamps and counters of a log prefix, not base64.
    const runs = line.match(/[A-Za-z0-9+/=]{4,}/g)?.filter((r) => !/^[0-9]+$/.test(r));
    if (runs !== undefined && runs.length > 0) lastRuns.push(runs[runs.length - 1]!);
  }
  const a = whole.join('');
  const b = lastRuns.join('');
  return { candidates: a === b ? [a] : [a, b], legacyEncrypted };
}

/** Validates a PEM private key body for its label (`RSA PRIVATE KEY`, `OPENSSH PRIVATE KEY`, …). */
export function checkPrivateKey(label: string, rawBody: string): PrivateKeyCheck {
  const { candidates, legacyEncrypted } = pemBodyCandidates(rawBody);
  for (const base64 of candidates) {
    const check = checkPrivateKeyBase64(label, base64, legacyEncrypted);
    if (check.valid) return check;
  }
  return INVALID;
}

function checkPrivateKeyBase64(label: string, base64: string, legacyEncrypted: boolean): PrivateKeyCheck {
  if (base64.length < 64) return INVALID;
  if (label.startsWith('PGP')) {
    // ASCII armor: an optional `=XXXX` CRC-24 line ends the body.
    const body = base64.replace(/=[A-Za-z0-9+/]{4}$/, '');
    const bytes = decodeBase64(body);
    if (!bytes || bytes.length < 64) return INVALID;
    const tag = bytes[0]!;
    // Secret-Key packet (tag 5) or Secret-Subkey (tag 7), old or new packet format.
    const packet = tag & 0x40 ? tag & 0x3f : (tag >> 2) & 0x0f;
    if ((tag & 0x80) !== 0) {
      if (packet === 5 || packet === 7) return { valid: true, encrypted: false, kind: 'pgp' };
      // Public keys, subkeys, signatures and user ids under a PRIVATE label are public material.
      if (packet === 6 || packet === 14 || packet === 2 || packet === 13 || packet === 17) return INVALID;
    }
    // A long armored block that decodes to random bytes is a key even when its first packet is not one we
    // recognise: documentation does not abbreviate a private key block to 192 random bytes.
    return { valid: bytes.length >= 192 && isRandomBytes(bytes), encrypted: false, kind: 'pgp' };
  }
  const bytes = decodeBase64(base64);
  if (!bytes) return INVALID;
  if (label === 'OPENSSH PRIVATE KEY') {
    if (bytes.length < 64 || bytes.subarray(0, OPENSSH_MAGIC.length).toString('latin1') !== OPENSSH_MAGIC) return INVALID;
    const at = OPENSSH_MAGIC.length;
    const len = bytes.readUInt32BE(at);
    if (len > 64 || at + 4 + len > bytes.length) return INVALID;
    const cipher = bytes.subarray(at + 4, at + 4 + len).toString('latin1');
    return { valid: true, encrypted: cipher !== 'none', kind: 'openssh' };
  }
  if (label === 'ENCRYPTED PRIVATE KEY') return { valid: isDerEncryptedKey(bytes), encrypted: true, kind: 'encrypted-pkcs8' };
  const kind: PemKind = label === 'RSA PRIVATE KEY' ? 'pkcs1' : label === 'EC PRIVATE KEY' ? 'sec1' : label === 'DSA PRIVATE KEY' ? 'dsa' : label === 'PRIVATE KEY' ? 'pkcs8' : 'other';
  return { valid: isDerKey(bytes), encrypted: legacyEncrypted, kind };
}

/** At least 3/4 of the byte values distinct per 256 (what ciphertext and key material look like, unlike text). */
function isRandomBytes(bytes: Uint8Array): boolean {
  const seen = new Set<number>();
  const n = Math.min(bytes.length, 256);
  for (let i = 0; i < n; i++) seen.add(bytes[i]!);
  return seen.size >= n * 0.5;
}

/**
 * The kind of an unarmored DER private key (base64 without `-----BEGIN`), or undefined: PKCS#1 RSA
 * (`SEQUENCE { INTEGER 0, INTEGER n, … }`, nine integers), PKCS#8 (`SEQUENCE { INTEGER 0|1, SEQUENCE { OID … },
 * OCTET STRING … }`), SEC1 EC (`SEQUENCE { INTEGER 1, OCTET STRING d, … }`). Public keys and certificates
 * (whose first element is a SEQUENCE or a modulus) are not.
 */
export function derPrivateKeyKind(bytes: Uint8Array): PemKind | undefined {
  const outer = readDer(bytes, 0);
  if (!outer || outer.tag !== SEQUENCE) return undefined;
  const version = readDer(bytes, outer.start, outer.end);
  if (!version || version.tag !== INTEGER || version.end - version.start !== 1) return undefined;
  const v = bytes[version.start]!;
  const second = readDer(bytes, version.end, outer.end);
  if (!second) return undefined;
  if (v === 1 && second.tag === OCTET_STRING && second.end - second.start >= 16) return 'sec1';
  if ((v === 0 || v === 1) && second.tag === SEQUENCE) {
    const oid = readDer(bytes, second.start, second.end);
    const key = readDer(bytes, second.end, outer.end);
    return oid?.tag === 0x06 && key?.tag === OCTET_STRING && key.end - key.start >= 16 ? 'pkcs8' : undefined;
  }
  if (v !== 0 || second.tag !== INTEGER) return undefined;
  // PKCS#1 RSA: version, n, e, d, p, q, dp, dq, qinv; DSA: version, p, q, g, y, x.
  let count = 2;
  let at = second.end;
  while (at < outer.end && count < 9) {
    const item = readDer(bytes, at, outer.end);
    if (!item || item.tag !== INTEGER) return undefined;
    at = item.end;
    count++;
  }
  return count === 9 ? 'pkcs1' : count === 6 && at === outer.end ? 'dsa' : undefined;
}

/** The byte length a DER item at the start of `bytes` claims (header included), or undefined. */
export function derLength(bytes: Uint8Array): number | undefined {
  const outer = readDer(bytes, 0, Number.MAX_SAFE_INTEGER);
  return outer?.end;
}
