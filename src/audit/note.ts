import { createPrivateKey, createPublicKey, generateKeyPairSync, hash, sign, verify, type KeyObject } from 'node:crypto';
import { CustodyError } from '../core/errors.js';
import { HASH_SIZE } from './merkle.js';

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 signatures, and the transparency-log
 * checkpoints carried in them (https://c2sp.org/tlog-checkpoint).
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n      ← note text (what is signed)
 *   \n
 *   — <key name> <base64(4-byte key ID ‖ 64-byte signature)>\n
 *
 * Key ID = first 4 bytes of SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key), read big-endian.
 * A verifier key is written `<name>+<8 hex digits of the key ID>+<base64(0x01 ‖ public key)>`.
 *
 * Parsing is strict and bounded: valid UTF-8, no control characters but newline, at most
 * NOTE_LIMITS.maxBytes bytes and NOTE_LIMITS.maxSignatures signature lines, canonical padded base64.
 */

export const NOTE_LIMITS = {
  /** Largest note accepted (the spec asks for room for 16 signatures; post-quantum ones run to ~5 kB). */
  maxBytes: 128 * 1024,
  maxSignatures: 100,
  /** Longest key name or checkpoint origin, in UTF-8 bytes. */
  maxNameBytes: 256,
} as const;

/** Signature type byte of Ed25519 note signatures. */
export const ED25519_SIGNATURE_TYPE = 0x01;
const ED25519_PUBLIC_KEY_SIZE = 32;
const ED25519_SIGNATURE_SIZE = 64;
const SIGNATURE_PREFIX = '\u2014 ';

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** The verifier key string of this signer (name+hex+base64). */
  readonly verifierKey: string;
  sign(text: Uint8Array): Buffer;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  /** The verifier key string this verifier was parsed from. */
  readonly verifierKey: string;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature bytes after the key ID. */
  signature: Buffer;
}

export interface OpenedNote {
  /** The signed text, ending in a newline. */
  text: string;
  /** Every signature line, known key or not. */
  signatures: NoteSignature[];
  /** The verifiers whose signatures verified. */
  verifiedBy: NoteVerifier[];
}

export interface CheckpointKeyPair {
  name: string;
  /** PKCS#8 PEM of the Ed25519 private key (keep it secret; mode 0600 on disk). */
  privateKeyPem: string;
  /** `name+hex+base64`, what clients and `custody audit verify --key` are given. */
  verifierKey: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// Unicode White_Space (what Go's unicode.IsSpace and the spec's "Unicode spaces" mean).
const SPACE = /[\s\u0085]/u;
/** An ASCII control character other than newline (signed notes may hold no other). */
const CONTROL = {
  test(text: string): boolean {
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code < 0x20 && code !== 0x0a) return true;
    }
    return false;
  },
};
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function invalid(message: string, details?: Record<string, unknown>): CustodyError {
  return new CustodyError('AUDIT_CHECKPOINT_INVALID', message, details === undefined ? {} : { details });
}

/** Strict standard base64 (RFC 4648 §4, padded, canonical); undefined when it is not. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/** Checks a key name or origin: non-empty, no Unicode space, no '+', no control character, bounded. */
export function checkKeyName(name: string, what = 'key name'): void {
  if (name === '') throw invalid(`${what} is empty`);
  if (Buffer.byteLength(name, 'utf8') > NOTE_LIMITS.maxNameBytes) throw invalid(`${what} is longer than ${NOTE_LIMITS.maxNameBytes} bytes`);
  if (SPACE.test(name) || name.includes('+')) throw invalid(`${what} "${name}" contains a space or '+', which note key names may not`);
  if (CONTROL.test(name) || name.includes('\n') || LONE_SURROGATE.test(name)) throw invalid(`${what} contains a control character or is not valid UTF-8`);
}

/** Key ID = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4], big-endian. */
export function computeKeyId(name: string, publicKey: Uint8Array): number {
  const digest = hash('sha256', Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0x0a, ED25519_SIGNATURE_TYPE]), publicKey]), 'buffer');
  return digest.readUInt32BE(0);
}

function formatKeyId(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  const raw = typeof jwk.x === 'string' ? Buffer.from(jwk.x, 'base64url') : Buffer.alloc(0);
  if (raw.length !== ED25519_PUBLIC_KEY_SIZE) throw new CustodyError('KEY_INVALID', 'not an Ed25519 public key');
  return raw;
}

/** `name+hex+base64(0x01 ‖ public key)` for a raw 32-byte Ed25519 public key. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  checkKeyName(name);
  if (publicKey.length !== ED25519_PUBLIC_KEY_SIZE) throw new CustodyError('KEY_INVALID', `an Ed25519 public key has ${ED25519_PUBLIC_KEY_SIZE} bytes, found ${publicKey.length}`);
  const encoded = Buffer.concat([Buffer.from([ED25519_SIGNATURE_TYPE]), publicKey]).toString('base64');
  return `${name}+${formatKeyId(computeKeyId(name, publicKey))}+${encoded}`;
}

/** Generates an Ed25519 checkpoint key for a log whose origin (and key name) is `name`. */
export function generateCheckpointKey(name: string): CheckpointKeyPair {
  checkKeyName(name);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { name, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), verifierKey: formatVerifierKey(name, rawPublicKey(publicKey)) };
}

/** A note signer from an Ed25519 private key in PEM (PKCS#8); KEY_INVALID for anything else. */
export function loadCheckpointSigner(privateKeyPem: string | Uint8Array, name: string): NoteSigner {
  checkKeyName(name);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(privateKeyPem), format: 'pem' });
  } catch (error) {
    throw new CustodyError('KEY_INVALID', 'the checkpoint key is not a PEM private key', { cause: error });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new CustodyError('KEY_INVALID', `checkpoint keys are Ed25519; this one is ${privateKey.asymmetricKeyType ?? 'unknown'}`);
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  const keyId = computeKeyId(name, publicKey);
  const verifierKey = formatVerifierKey(name, publicKey);
  return { name, keyId, verifierKey, sign: (text: Uint8Array) => sign(null, text, privateKey) };
}

/** Parses `name+hex+base64` into a verifier; AUDIT_CHECKPOINT_INVALID when malformed or inconsistent. */
export function parseVerifierKey(verifierKey: string): NoteVerifier {
  if (typeof verifierKey !== 'string' || verifierKey.length > 1024) throw invalid('a verifier key must be a short string name+hex+base64');
  // The name and the key ID hold no '+'; the base64 key may.
  const first = verifierKey.indexOf('+');
  const second = first < 0 ? -1 : verifierKey.indexOf('+', first + 1);
  if (second < 0) throw invalid('a verifier key has the form name+keyid+base64');
  const name = verifierKey.slice(0, first);
  const hex = verifierKey.slice(first + 1, second);
  const encoded = verifierKey.slice(second + 1);
  checkKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(hex)) throw invalid('the key ID of a verifier key is 8 lower-case hex digits');
  const bytes = decodeBase64Strict(encoded);
  if (!bytes || bytes.length !== 1 + ED25519_PUBLIC_KEY_SIZE) throw invalid('the key of a verifier key is base64 of 33 bytes (0x01 and an Ed25519 public key)');
  if (bytes[0] !== ED25519_SIGNATURE_TYPE) throw invalid(`signature type 0x${(bytes[0] ?? 0).toString(16).padStart(2, '0')} is not supported; only Ed25519 (0x01)`);
  const raw = bytes.subarray(1);
  const keyId = computeKeyId(name, raw);
  if (formatKeyId(keyId) !== hex) throw invalid(`the verifier key's ID ${hex} does not match its name and key (expected ${formatKeyId(keyId)})`);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch (error) {
    throw new CustodyError('AUDIT_CHECKPOINT_INVALID', 'the verifier key does not hold a valid Ed25519 public key', { cause: error });
  }
  return {
    name,
    keyId,
    verifierKey,
    verify: (text: Uint8Array, signature: Uint8Array) => signature.length === ED25519_SIGNATURE_SIZE && verify(null, text, publicKey, signature),
  };
}

function checkNoteText(text: string): void {
  if (!text.endsWith('\n')) throw invalid('note text must end with a newline');
  if (CONTROL.test(text)) throw invalid('note text contains a control character other than newline');
  if (LONE_SURROGATE.test(text)) throw invalid('note text is not valid UTF-8 (lone surrogate)');
}

/** Signs `text` (which must end in a newline) with each signer, as a signed note. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkNoteText(text);
  if (signers.length === 0) throw invalid('a signed note needs at least one signer');
  const bytes = Buffer.from(text, 'utf8');
  const lines = signers.map((signer) => {
    const keyId = Buffer.alloc(4);
    keyId.writeUInt32BE(signer.keyId);
    return `${SIGNATURE_PREFIX}${signer.name} ${Buffer.concat([keyId, signer.sign(bytes)]).toString('base64')}\n`;
  });
  const note = `${text}\n${lines.join('')}`;
  if (Buffer.byteLength(note, 'utf8') > NOTE_LIMITS.maxBytes) throw invalid(`the signed note would be over ${NOTE_LIMITS.maxBytes} bytes`);
  return note;
}

/** Parses a signed note without verifying anything (strict grammar, bounded). */
export function parseNote(note: string | Uint8Array): { text: string; signatures: NoteSignature[] } {
  let source: string;
  if (typeof note === 'string') {
    if (note.length > NOTE_LIMITS.maxBytes || Buffer.byteLength(note, 'utf8') > NOTE_LIMITS.maxBytes) throw invalid(`a note is at most ${NOTE_LIMITS.maxBytes} bytes`);
    if (LONE_SURROGATE.test(note)) throw invalid('the note is not valid UTF-8 (lone surrogate)');
    source = note;
  } else {
    if (note.length > NOTE_LIMITS.maxBytes) throw invalid(`a note is at most ${NOTE_LIMITS.maxBytes} bytes`);
    try {
      source = UTF8.decode(note);
    } catch (error) {
      throw new CustodyError('AUDIT_CHECKPOINT_INVALID', 'the note is not valid UTF-8', { cause: error });
    }
  }
  if (CONTROL.test(source)) throw invalid('the note contains a control character other than newline');
  const split = source.lastIndexOf('\n\n');
  if (split < 0) throw invalid('the note has no blank line between its text and its signatures');
  const text = source.slice(0, split + 1);
  const block = source.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw invalid('the note has no signature lines, or its last line does not end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > NOTE_LIMITS.maxSignatures) throw invalid(`the note has ${lines.length} signatures; at most ${NOTE_LIMITS.maxSignatures} are read`);
  const signatures = lines.map((line, i) => {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw invalid(`signature line ${i + 1} does not start with an em dash and a space`);
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space <= 0) throw invalid(`signature line ${i + 1} has no key name followed by a space`);
    const name = rest.slice(0, space);
    checkKeyName(name, `signature line ${i + 1}'s key name`);
    const bytes = decodeBase64Strict(rest.slice(space + 1));
    if (!bytes || bytes.length < 5) throw invalid(`signature line ${i + 1} is not base64 of a key ID and a signature`);
    return { name, keyId: bytes.readUInt32BE(0), signature: bytes.subarray(4) };
  });
  return { text, signatures };
}

/**
 * Parses a note and verifies it against the given verifiers. Signatures by unknown keys (another name
 * or key ID) are ignored, as the spec requires; a signature by a known key that fails to verify
 * rejects the whole note (SIGNATURE_INVALID), and a note no known key signed is KEY_UNTRUSTED.
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const { text, signatures } = parseNote(note);
  const bytes = Buffer.from(text, 'utf8');
  const verifiedBy: NoteVerifier[] = [];
  for (const signature of signatures) {
    const verifier = verifiers.find((v) => v.name === signature.name && v.keyId === signature.keyId);
    if (!verifier) continue;
    if (!verifier.verify(bytes, signature.signature)) throw new CustodyError('SIGNATURE_INVALID', `the note's signature by ${verifier.name} (key ${formatKeyId(verifier.keyId)}) does not verify`);
    if (!verifiedBy.includes(verifier)) verifiedBy.push(verifier);
  }
  if (verifiedBy.length === 0) {
    const names = signatures.map((s) => `${s.name} ${formatKeyId(s.keyId)}`).join(', ');
    throw new CustodyError('KEY_UNTRUSTED', `the note is not signed by ${verifiers.map((v) => `${v.name} ${formatKeyId(v.keyId)}`).join(' or ') || 'any trusted key'} (it is signed by ${names})`);
  }
  return { text, signatures, verifiedBy };
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
  /** Extension lines after the root (opaque; Custody writes none). */
  extensions: string[];
}

export interface VerifiedCheckpoint extends Checkpoint {
  /** The signed note as given. */
  note: string;
  /** The name of the key that verified it. */
  keyName: string;
}

/** The note text of a checkpoint: origin, size, base64 root, extension lines, each ending in a newline. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  checkKeyName(checkpoint.origin, 'origin');
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0) throw invalid(`tree size must be a non-negative integer, found ${String(checkpoint.size)}`);
  if (checkpoint.root.length !== HASH_SIZE) throw invalid(`a root hash has ${HASH_SIZE} bytes, found ${checkpoint.root.length}`);
  for (const line of checkpoint.extensions) if (line === '' || line.includes('\n')) throw invalid('extension lines must be non-empty single lines');
  return [checkpoint.origin, String(checkpoint.size), checkpoint.root.toString('base64'), ...checkpoint.extensions].map((line) => `${line}\n`).join('');
}

/** Parses checkpoint note text (strictly: no leading zeroes, canonical base64 of 32 bytes). */
export function parseCheckpointText(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw invalid('checkpoint text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw invalid('a checkpoint has an origin, a tree size and a root hash line');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  checkKeyName(origin, 'checkpoint origin');
  if (!/^(?:0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw invalid(`checkpoint tree size "${sizeText.slice(0, 32)}" is not a decimal integer without leading zeroes`);
  const root = decodeBase64Strict(rootText);
  if (!root || root.length !== HASH_SIZE) throw invalid('checkpoint root is not the base64 of a 32-byte hash');
  if (extensions.some((line) => line === '')) throw invalid('checkpoint extension lines must not be empty');
  return { origin, size: Number(sizeText), root, extensions };
}

/** Signs a checkpoint as a note. The origin is normally the signer's key name. */
export function signCheckpoint(checkpoint: Checkpoint, signer: NoteSigner): string {
  return signNote(formatCheckpoint(checkpoint), [signer]);
}

export interface VerifyCheckpointOptions {
  /** The origin the checkpoint must name (default: the verifier key's name). */
  origin?: string;
}

/**
 * Verifies a signed checkpoint against a verifier key (string or parsed) and returns its contents, or
 * throws: AUDIT_CHECKPOINT_INVALID (malformed note or checkpoint, wrong origin), SIGNATURE_INVALID
 * (a signature by the key that fails, e.g. truncated or altered), KEY_UNTRUSTED (not signed by the key).
 */
export function verifyCheckpoint(note: string | Uint8Array, verifierKey: string | NoteVerifier, options: VerifyCheckpointOptions = {}): VerifiedCheckpoint {
  const verifier = typeof verifierKey === 'string' ? parseVerifierKey(verifierKey) : verifierKey;
  const opened = openNote(note, [verifier]);
  const checkpoint = parseCheckpointText(opened.text);
  const origin = options.origin ?? verifier.name;
  if (checkpoint.origin !== origin) throw invalid(`the checkpoint is for log "${checkpoint.origin}", not "${origin}"`, { origin: checkpoint.origin });
  return { ...checkpoint, note: typeof note === 'string' ? note : Buffer.from(note).toString('utf8'), keyName: verifier.name };
}
