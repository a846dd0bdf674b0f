import { parseJsonBounded } from '../core/bounded-json.js';
import { CustodyError, formatProblems, type Problem } from '../core/errors.js';
import { readRegularFile } from '../core/safe-fs.js';
import type { DsseEnvelope, DsseSignature } from './dsse.js';

/** The Sigstore bundle media type Custody writes. */
export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** Both spellings of v0.3 that the Sigstore bundle specification allows. */
const ACCEPTED_MEDIA_TYPES = new Set([BUNDLE_MEDIA_TYPE, 'application/vnd.dev.sigstore.bundle+json;version=0.3']);

/**
 * Bounds on a bundle before it is parsed (docs/integrity.md, "Limits"): its size (the signed manifest
 * inside it is about 150 bytes a file, so 64 MiB holds some 400,000 files), the nesting of its JSON (a
 * bundle nests 5 deep) and the number of values in it (a key-signed bundle holds about 15).
 */
export const BUNDLE_LIMITS = { maxBytes: 64 * 1024 * 1024, maxDepth: 32, maxValues: 10_000 } as const;

export interface PublicKeyIdentifier {
  /** Hex SHA-256 of the signer's SPKI PEM (current OMS form). */
  hint?: string;
  /** Base64 public key (pre-v1.1.0 model_signing bundles: Base64 of the PEM text). */
  rawBytes?: string;
  keyDetails?: string;
}

export interface VerificationMaterial {
  publicKey?: PublicKeyIdentifier;
  /** Keyless Sigstore signing (not supported offline): a Fulcio certificate. */
  certificate?: { rawBytes: string };
  x509CertificateChain?: { certificates: { rawBytes: string }[] };
  tlogEntries?: unknown[];
  timestampVerificationData?: Record<string, unknown>;
}

export interface SigstoreBundle {
  mediaType: string;
  verificationMaterial: VerificationMaterial;
  dsseEnvelope: DsseEnvelope;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Json, allowed: readonly string[], path: string, problems: Problem[]): void {
  for (const key of Object.keys(value)) if (!allowed.includes(key)) problems.push({ path: `${path}.${key}`, message: 'is not a field this bundle format allows' });
}

/**
 * Parses and validates a Sigstore bundle v0.3 holding a DSSE envelope signed with a key. Every
 * problem is collected before failing with BUNDLE_INVALID (details.problems); bundles made for
 * keyless Sigstore or certificate verification are UNSUPPORTED_FORMAT in this offline build.
 * Fields are checked strictly: an unknown or edited field is an error, never ignored.
 */
export function parseBundle(text: string | Buffer, source = 'signature bundle'): SigstoreBundle {
  const raw = parseJsonBounded(text, { ...BUNDLE_LIMITS, what: source, invalidCode: 'BUNDLE_INVALID' });
  const problems: Problem[] = [];
  if (!isObject(raw)) throw new CustodyError('BUNDLE_INVALID', `${source} must be a JSON object`);
  checkKeys(raw, ['mediaType', 'verificationMaterial', 'dsseEnvelope', 'messageSignature'], 'bundle', problems);
  if (typeof raw['mediaType'] !== 'string' || !ACCEPTED_MEDIA_TYPES.has(raw['mediaType'])) {
    problems.push({ path: 'bundle.mediaType', message: `must be ${BUNDLE_MEDIA_TYPE}` });
  }
  if (raw['messageSignature'] !== undefined) {
    throw new CustodyError('UNSUPPORTED_FORMAT', `${source} holds a message signature; OMS bundles hold a DSSE envelope`);
  }

  const material = raw['verificationMaterial'];
  if (!isObject(material)) problems.push({ path: 'bundle.verificationMaterial', message: 'is required and must be an object' });
  else {
    checkKeys(material, ['publicKey', 'certificate', 'x509CertificateChain', 'tlogEntries', 'timestampVerificationData'], 'bundle.verificationMaterial', problems);
    if (material['certificate'] !== undefined || material['x509CertificateChain'] !== undefined) {
      throw new CustodyError('UNSUPPORTED_FORMAT', `${source} is signed with a certificate (keyless Sigstore or a CA chain); this build verifies key-signed bundles only`);
    }
    const key = material['publicKey'];
    if (!isObject(key)) problems.push({ path: 'bundle.verificationMaterial.publicKey', message: 'is required for key-signed bundles' });
    else {
      checkKeys(key, ['hint', 'rawBytes', 'keyDetails'], 'bundle.verificationMaterial.publicKey', problems);
      for (const field of ['hint', 'rawBytes', 'keyDetails']) {
        const v = key[field];
        if (v !== undefined && v !== null && typeof v !== 'string') problems.push({ path: `bundle.verificationMaterial.publicKey.${field}`, message: 'must be a string' });
      }
      if (typeof key['hint'] === 'string' && key['hint'] !== '' && !/^[0-9a-f]{64}$/.test(key['hint'])) {
        problems.push({ path: 'bundle.verificationMaterial.publicKey.hint', message: 'must be 64 lower-case hex characters (SHA-256 of the SPKI PEM)' });
      }
    }
    const tlog = material['tlogEntries'];
    if (tlog !== undefined && !(Array.isArray(tlog) && tlog.length === 0)) {
      problems.push({ path: 'bundle.verificationMaterial.tlogEntries', message: 'must be absent or empty: transparency-log entries cannot be verified offline, so they are refused rather than ignored' });
    }
    const ts = material['timestampVerificationData'];
    if (ts !== undefined && !(isObject(ts) && Object.entries(ts).every(([k, v]) => k === 'rfc3161Timestamps' && Array.isArray(v) && v.length === 0))) {
      problems.push({ path: 'bundle.verificationMaterial.timestampVerificationData', message: 'must be absent or empty: timestamps cannot be verified offline' });
    }
  }

  const envelope = raw['dsseEnvelope'];
  if (!isObject(envelope)) problems.push({ path: 'bundle.dsseEnvelope', message: 'is required and must be an object' });
  else {
    checkKeys(envelope, ['payload', 'payloadType', 'signatures'], 'bundle.dsseEnvelope', problems);
    if (typeof envelope['payload'] !== 'string' || envelope['payload'] === '') problems.push({ path: 'bundle.dsseEnvelope.payload', message: 'must be a non-empty Base64 string' });
    if (typeof envelope['payloadType'] !== 'string' || envelope['payloadType'] === '') problems.push({ path: 'bundle.dsseEnvelope.payloadType', message: 'must be a non-empty string' });
    const signatures = envelope['signatures'];
    if (!Array.isArray(signatures) || signatures.length !== 1) problems.push({ path: 'bundle.dsseEnvelope.signatures', message: 'must hold exactly one signature' });
    else {
      const sig: unknown = signatures[0];
      if (!isObject(sig)) problems.push({ path: 'bundle.dsseEnvelope.signatures[0]', message: 'must be an object' });
      else {
        checkKeys(sig, ['sig', 'keyid'], 'bundle.dsseEnvelope.signatures[0]', problems);
        if (typeof sig['sig'] !== 'string' || sig['sig'] === '') problems.push({ path: 'bundle.dsseEnvelope.signatures[0].sig', message: 'must be a non-empty Base64 string' });
        if (sig['keyid'] !== undefined && sig['keyid'] !== null && typeof sig['keyid'] !== 'string') problems.push({ path: 'bundle.dsseEnvelope.signatures[0].keyid', message: 'must be a string, null or absent' });
      }
    }
  }

  if (problems.length > 0) {
    throw new CustodyError('BUNDLE_INVALID', `${source} is not a valid Sigstore bundle:\n${formatProblems(problems)}`, { details: { problems } });
  }
  return raw as unknown as SigstoreBundle;
}

/**
 * Reads and parses a bundle file; a missing or unreadable file is IO_ERROR. A FIFO or device is
 * refused without blocking (SPECIAL_FILE), a file over the size limit before it is read (INPUT_LIMIT).
 */
export async function readBundle(path: string): Promise<SigstoreBundle> {
  let text: Buffer;
  try {
    text = await readRegularFile(path, { maxBytes: BUNDLE_LIMITS.maxBytes });
  } catch (error) {
    if (error instanceof CustodyError && error.code === 'PATH_NOT_FOUND') throw new CustodyError('IO_ERROR', `cannot read signature ${path}: ${error.message}`, { cause: error });
    if (error instanceof CustodyError) throw new CustodyError(error.code, `signature: ${error.message}`, { cause: error, ...(error.details ? { details: error.details } : {}) });
    throw error;
  }
  return parseBundle(text, `signature ${path}`);
}

/** Builds a key-signed bundle around a signed envelope. */
export function buildBundle(envelope: DsseEnvelope, verificationMaterial: VerificationMaterial): SigstoreBundle {
  return { mediaType: BUNDLE_MEDIA_TYPE, verificationMaterial, dsseEnvelope: envelope };
}

/** Bundle JSON as Custody writes it: two-space indentation and a final newline. */
export function serializeBundle(bundle: SigstoreBundle): string {
  return `${JSON.stringify(bundle, null, 2)}\n`;
}

export function firstSignature(bundle: SigstoreBundle): DsseSignature {
  const signature = bundle.dsseEnvelope.signatures[0];
  if (!signature) throw new CustodyError('BUNDLE_INVALID', 'the envelope holds no signature');
  return signature;
}
