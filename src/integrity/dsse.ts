import { CustodyError } from '../core/errors.js';

/** The DSSE payload type of in-toto statements. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignature {
  /** Base64 signature over PAE(payloadType, payload). */
  sig: string;
  /** Unauthenticated key hint; OMS producers leave it empty or absent. */
  keyid?: string | null;
}

export interface DsseEnvelope {
  /** Base64 of the payload bytes. */
  payload: string;
  payloadType: string;
  signatures: DsseSignature[];
}

/**
 * DSSE v1 Pre-Authentication Encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`,
 * lengths being byte counts in ASCII decimal.
 */
export function encodePae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  const header = Buffer.from(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `, 'utf8');
  return Buffer.concat([header, payload]);
}

const STANDARD = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Decodes Base64 (standard or URL-safe, as DSSE allows) strictly: Node's decoder skips characters
 * it does not know, so an edited envelope could otherwise decode to the same bytes. The input must
 * be the canonical encoding of what it decodes to.
 */
export function decodeBase64Strict(value: unknown, what: string): Buffer {
  if (typeof value !== 'string') throw new CustodyError('BUNDLE_INVALID', `${what} must be a Base64 string`);
  const urlSafe = !STANDARD.test(value) && URL_SAFE.test(value);
  if (!urlSafe && !STANDARD.test(value)) throw new CustodyError('BUNDLE_INVALID', `${what} is not valid Base64`);
  const padded = value.endsWith('=');
  if ((padded && value.length % 4 !== 0) || (!padded && value.length % 4 === 1)) throw new CustodyError('BUNDLE_INVALID', `${what} is not valid Base64 (bad length)`);
  const bytes = Buffer.from(value, urlSafe ? 'base64url' : 'base64');
  let again = bytes.toString(urlSafe ? 'base64url' : 'base64');
  if (urlSafe || !padded) again = again.replace(/=+$/, '');
  if (urlSafe && padded) again = again.padEnd(value.length, '=');
  if (again !== value) throw new CustodyError('BUNDLE_INVALID', `${what} is not canonical Base64`);
  return bytes;
}
