import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CustodyError } from '../core/errors.js';
import { sha256Hex } from './digest.js';

/** Key types Custody signs and verifies with. P-256 is the default; P-521 is accepted as OMS requires. */
export const KEY_TYPES = ['p256', 'p384', 'p521', 'ed25519'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export function isKeyType(value: unknown): value is KeyType {
  return typeof value === 'string' && (KEY_TYPES as readonly string[]).includes(value);
}

/** Sigstore PublicKeyDetails names, used as the algorithm in proofs. */
export const KEY_ALGORITHMS: Readonly<Record<KeyType, string>> = {
  p256: 'PKIX_ECDSA_P256_SHA_256',
  p384: 'PKIX_ECDSA_P384_SHA_384',
  p521: 'PKIX_ECDSA_P521_SHA_512',
  ed25519: 'PKIX_ED25519',
};

const CURVES: Readonly<Record<string, KeyType>> = { prime256v1: 'p256', secp384r1: 'p384', secp521r1: 'p521' };
const CURVE_NAMES: Readonly<Record<Exclude<KeyType, 'ed25519'>, string>> = { p256: 'P-256', p384: 'P-384', p521: 'P-521' };
/** ECDSA digests by curve size, as the Sigstore algorithm registry and model_signing use them. */
const ECDSA_HASH: Readonly<Record<Exclude<KeyType, 'ed25519'>, string>> = { p256: 'sha256', p384: 'sha384', p521: 'sha512' };

/** Public-key files larger than this are not keys. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

export interface PublicKeyInfo {
  key: KeyObject;
  type: KeyType;
  /** SHA-256 (hex) of the SubjectPublicKeyInfo PEM text: the OMS `publicKey.hint`. */
  hint: string;
  /** Where the key came from (a file path), for proofs and messages. */
  source?: string;
}

export interface PrivateKeyInfo {
  key: KeyObject;
  type: KeyType;
  publicKey: PublicKeyInfo;
}

export interface GeneratedKeyPair {
  type: KeyType;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** SubjectPublicKeyInfo PEM. */
  publicKeyPem: string;
  hint: string;
}

/** Generates a key pair in the PEM forms `openssl` writes (PKCS#8 private, SPKI public). */
export function generateKeyPair(type: KeyType = 'p256'): GeneratedKeyPair {
  const pair = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: CURVE_NAMES[type] });
  const publicKeyPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    type,
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem,
    hint: sha256Hex(publicKeyPem),
  };
}

/** The OMS key hint: SHA-256 of the key's SPKI PEM encoding, as model_signing computes it. */
export function computeKeyHint(publicKey: KeyObject): string {
  return sha256Hex(publicKey.export({ type: 'spki', format: 'pem' }).toString());
}

function keyTypeOf(key: KeyObject): KeyType {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec') {
    const type = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (type) return type;
    throw new CustodyError('KEY_INVALID', `unsupported elliptic curve ${key.asymmetricKeyDetails?.namedCurve ?? '(unknown)'}; use P-256, P-384, P-521 or Ed25519`);
  }
  throw new CustodyError('KEY_INVALID', `unsupported key type ${key.asymmetricKeyType ?? '(unknown)'}; use ECDSA P-256, P-384, P-521 or Ed25519`);
}

function describePublic(key: KeyObject, source: string | undefined): PublicKeyInfo {
  return { key, type: keyTypeOf(key), hint: computeKeyHint(key), ...(source === undefined ? {} : { source }) };
}

/** Reads a PEM (or DER SPKI) public key. A private key is refused: pass the public half. */
export function loadPublicKey(data: string | Buffer, source?: string): PublicKeyInfo {
  const text = typeof data === 'string' ? data : data.toString('utf8');
  if (/-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----/.test(text)) {
    throw new CustodyError('KEY_INVALID', `${source ?? 'the key'} is a private key; verification needs the public key (SPKI PEM)`);
  }
  let key: KeyObject;
  try {
    key = text.includes('-----BEGIN') ? createPublicKey(text) : createPublicKey({ key: Buffer.isBuffer(data) ? data : Buffer.from(data), format: 'der', type: 'spki' });
  } catch (error) {
    throw new CustodyError('KEY_INVALID', `${source ?? 'the key'} is not a PEM public key (SPKI): ${(error as Error).message}`, { cause: error });
  }
  return describePublic(key, source);
}

/** Reads a PEM private key (PKCS#8, or SEC1 for EC), optionally encrypted with a passphrase. */
export function loadPrivateKey(data: string | Buffer, options: { passphrase?: string; source?: string } = {}): PrivateKeyInfo {
  const source = options.source ?? 'the key';
  let key: KeyObject;
  try {
    key = createPrivateKey(options.passphrase === undefined ? { key: data, format: 'pem' } : { key: data, format: 'pem', passphrase: options.passphrase });
  } catch (error) {
    const message = (error as Error).message;
    const hint = /passphrase|decrypt/i.test(message) ? ' (is it encrypted? pass its passphrase)' : '';
    throw new CustodyError('KEY_INVALID', `${source} is not a PEM private key (PKCS#8)${hint}: ${message}`, { cause: error });
  }
  const type = keyTypeOf(key);
  return { key, type, publicKey: describePublic(createPublicKey(key), options.source) };
}

export async function readPublicKeyFile(path: string): Promise<PublicKeyInfo> {
  return loadPublicKey(await readKeyFile(path), path);
}

export async function readPrivateKeyFile(path: string, passphrase?: string): Promise<PrivateKeyInfo> {
  return loadPrivateKey(await readKeyFile(path), { source: path, ...(passphrase === undefined ? {} : { passphrase }) });
}

async function readKeyFile(path: string): Promise<Buffer> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new CustodyError('KEY_INVALID', `${path} is not a file`);
    if (info.size > MAX_KEY_FILE_BYTES) throw new CustodyError('KEY_INVALID', `${path} is ${info.size} bytes, too large for a key file`);
    return await readFile(path);
  } catch (error) {
    if (error instanceof CustodyError) throw error;
    throw new CustodyError('KEY_INVALID', `cannot read key file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

/**
 * Every public key in a directory of trusted keys (`*.pem`, `*.pub`, sorted by name). A file there
 * that is not a supported public key is an error, never silently skipped.
 */
export async function readTrustedKeys(dir: string): Promise<PublicKeyInfo[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.(pem|pub)$/i.test(n)).sort();
  } catch (error) {
    throw new CustodyError('KEY_INVALID', `cannot read trusted-keys directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  if (names.length === 0) throw new CustodyError('KEY_INVALID', `trusted-keys directory ${dir} holds no *.pem or *.pub public key`);
  const keys: PublicKeyInfo[] = [];
  for (const name of names) keys.push(await readPublicKeyFile(join(dir, name)));
  return keys;
}

/** Signs with the key's natural algorithm: ECDSA (DER signature) with the curve's hash, or Ed25519. */
export function signBytes(key: PrivateKeyInfo, data: Uint8Array): Buffer {
  if (key.type === 'ed25519') return sign(null, data, key.key);
  return sign(ECDSA_HASH[key.type], data, { key: key.key, dsaEncoding: 'der' });
}

/** Verifies; malformed signatures are false, never an exception. */
export function verifyBytes(key: PublicKeyInfo, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (key.type === 'ed25519') return verify(null, data, key.key, signature);
    return verify(ECDSA_HASH[key.type], data, { key: key.key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

/** Same public key? Compared on the DER SPKI encoding. */
export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
}
