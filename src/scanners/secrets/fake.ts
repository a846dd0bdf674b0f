import { BASE62, base62, crc32 } from './checksum.js';

/**
 * Deterministic fake credentials with the right structure (prefixes, lengths, checksums, DER
 * framing), built at run time from a seeded generator. Rule examples, tests and benchmarks use these,
 * so no committed file holds a string that looks like a live secret.
 */
export const HEX = '0123456789abcdef';
export const UPPER_B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const B64 = `${BASE62}+/`;
export const B64URL = `${BASE62}-_`;

export class Fake {
  private state: number;

  constructor(seed = 1) {
    this.state = seed >>> 0 || 1;
  }

  /** mulberry32 */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chars(alphabet: string, n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }

  alnum(n: number): string {
    return this.chars(BASE62, n);
  }

  hex(n: number): string {
    return this.chars(HEX, n);
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
  }

  /** GitHub/npm style: prefix + 30 random base62 + CRC-32 of those 30 in base62 (6). */
  checksummed(prefix: string): string {
    const random = this.alnum(30);
    return `${prefix}${random}${base62(crc32(random), 6)}`;
  }

  /** Same shape with a wrong checksum. */
  badChecksum(prefix: string): string {
    const good = this.checksummed(prefix);
    const last = good[good.length - 1] === 'A' ? 'B' : 'A';
    return good.slice(0, -1) + last;
  }

  jwt(payload: Record<string, unknown> = { sub: `user-${this.hex(6)}`, iat: 1_700_000_000 + this.int(1e6), scope: 'read write' }): string {
    const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(payload)}.${this.bytes(32).toString('base64url')}`;
  }

  /** A DER-framed key: SEQUENCE { INTEGER 0, INTEGER …random } (PKCS#1-shaped). */
  derKey(integers = 8, size = 64): Buffer {
    const parts: Buffer[] = [der(0x02, Buffer.from([0]))];
    for (let i = 0; i < integers; i++) {
      const body = this.bytes(size);
      body[0] = body[0]! & 0x7f | 0x40;
      parts.push(der(0x02, body));
    }
    return der(0x30, Buffer.concat(parts));
  }

  /** PKCS#8 PrivateKeyInfo shape: SEQUENCE { INTEGER 0, SEQUENCE { OID rsaEncryption, NULL }, OCTET STRING key }. */
  pkcs8Key(): Buffer {
    const oid = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00]);
    return der(0x30, Buffer.concat([der(0x02, Buffer.from([0])), der(0x30, oid), der(0x04, this.derKey(8, 48))]));
  }

  opensshKey(cipher = 'none'): Buffer {
    const str = (b: Buffer): Buffer => Buffer.concat([u32(b.length), b]);
    return Buffer.concat([
      Buffer.from('openssh-key-v1\0', 'latin1'),
      str(Buffer.from(cipher)),
      str(Buffer.from(cipher === 'none' ? 'none' : 'bcrypt')),
      str(Buffer.alloc(0)),
      u32(1),
      str(Buffer.concat([str(Buffer.from('ssh-ed25519')), str(this.bytes(32))])),
      str(this.bytes(128)),
    ]);
  }

  /** PEM text with real line breaks (or `\n` escapes with `escaped`). */
  pem(label: string, body: Buffer, escaped = false): string {
    const b64 = body.toString('base64');
    const lines = b64.match(/.{1,64}/g) ?? [];
    const nl = escaped ? '\\n' : '\n';
    return `-----BEGIN ${label}-----${nl}${lines.join(nl)}${nl}-----END ${label}-----`;
  }
}

function der(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
