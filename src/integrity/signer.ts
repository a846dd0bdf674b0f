import { CustodyError } from '../core/errors.js';
import { buildBundle, firstSignature, type SigstoreBundle, type VerificationMaterial } from './bundle.js';
import { decodeBase64Strict, encodePae } from './dsse.js';
import { KEY_ALGORITHMS, loadPublicKey, samePublicKey, signBytes, verifyBytes, type PrivateKeyInfo, type PublicKeyInfo } from './keys.js';

/** Who signed, as established by verification. */
export interface SignerIdentity {
  /** `key` for a long-lived key; a keyless Sigstore verifier would report `sigstore`. */
  method: string;
  /** Sigstore algorithm name, e.g. PKIX_ECDSA_P256_SHA_256. */
  algorithm: string;
  /** SHA-256 of the signer's SPKI PEM (the OMS key hint). */
  keyHint: string;
  /** Where the trusted key that verified came from (a file path), when known. */
  keySource?: string;
}

export interface SignatureResult {
  signature: Buffer;
  /** The DSSE `keyid`; OMS producers leave it empty. */
  keyid?: string;
  /** What a verifier needs to find the key (or certificate and log entries, for keyless signing). */
  verificationMaterial: VerificationMaterial;
}

/**
 * Makes the signature over DSSE's pre-authentication encoding. Key signing is built in; keyless
 * Sigstore signing (Fulcio certificate + Rekor entry) can be added as another implementation,
 * since the verification material comes back with the signature.
 */
export interface Signer {
  readonly method: string;
  /** Sigstore algorithm name of the signing key (e.g. PKIX_ECDSA_P256_SHA_256), when known. */
  readonly algorithm?: string;
  sign(pae: Buffer): Promise<SignatureResult>;
}

/** Verifies a bundle's envelope signature over `pae`; returns the signer or throws a coded error. */
export interface BundleVerifier {
  verify(bundle: SigstoreBundle, pae: Buffer): Promise<SignerIdentity>;
}

/** Signs with a private key; the bundle carries the key hint (OMS ≥ v1.1.0 form). */
export function createKeySigner(privateKey: PrivateKeyInfo): Signer {
  return {
    method: 'key',
    algorithm: KEY_ALGORITHMS[privateKey.type],
    sign(pae: Buffer): Promise<SignatureResult> {
      return Promise.resolve({
        signature: signBytes(privateKey, pae),
        keyid: '',
        verificationMaterial: { publicKey: { hint: privateKey.publicKey.hint }, tlogEntries: [] },
      });
    },
  };
}

/**
 * Verifies against a set of trusted public keys. The bundle's key hint (or, in bundles made before
 * model_signing v1.1.0, its raw public key) picks the trusted key; a bundle naming no trusted key
 * is KEY_UNTRUSTED, a signature that does not verify is SIGNATURE_INVALID.
 */
export function createKeyVerifier(trusted: readonly PublicKeyInfo[]): BundleVerifier {
  if (trusted.length === 0) throw new CustodyError('KEY_INVALID', 'no trusted public key was given');
  return {
    verify(bundle: SigstoreBundle, pae: Buffer): Promise<SignerIdentity> {
      const identifier = bundle.verificationMaterial.publicKey ?? {};
      let candidates: readonly PublicKeyInfo[];
      if (identifier.hint) {
        candidates = trusted.filter((k) => k.hint === identifier.hint);
        if (candidates.length === 0) {
          throw new CustodyError('KEY_UNTRUSTED', `the signature names key ${identifier.hint}, which is not among the trusted keys (${trusted.map((k) => k.hint.slice(0, 16)).join(', ')}…)`, {
            details: { keyHint: identifier.hint, trusted: trusted.map((k) => k.hint) },
          });
        }
      } else if (identifier.rawBytes) {
        const bytes = decodeBase64Strict(identifier.rawBytes, 'verificationMaterial.publicKey.rawBytes');
        let embedded: PublicKeyInfo;
        try {
          embedded = loadPublicKey(bytes, 'the public key in the bundle');
        } catch (error) {
          throw new CustodyError('BUNDLE_INVALID', `verificationMaterial.publicKey.rawBytes is not a public key: ${(error as Error).message}`, { cause: error });
        }
        candidates = trusted.filter((k) => samePublicKey(k.key, embedded.key));
        if (candidates.length === 0) {
          throw new CustodyError('KEY_UNTRUSTED', `the signature was made with key ${embedded.hint}, which is not among the trusted keys`, { details: { keyHint: embedded.hint } });
        }
      } else candidates = trusted;

      const signature = firstSignature(bundle);
      const keyid = signature.keyid;
      if (typeof keyid === 'string' && keyid !== '') {
        candidates = candidates.filter((k) => k.hint === keyid);
        if (candidates.length === 0) throw new CustodyError('KEY_UNTRUSTED', `the signature's keyid "${keyid.slice(0, 80)}" names no trusted key`, { details: { keyid } });
      }
      const sig = decodeBase64Strict(signature.sig, 'dsseEnvelope.signatures[0].sig');
      const verified = candidates.find((k) => verifyBytes(k, pae, sig));
      if (!verified) {
        throw new CustodyError('SIGNATURE_INVALID', `the signature does not verify with ${candidates.length === 1 ? `key ${candidates[0]?.hint ?? ''}` : `any of ${candidates.length} trusted keys`}: the envelope was altered or signed with another key`);
      }
      return Promise.resolve({ method: 'key', algorithm: KEY_ALGORITHMS[verified.type], keyHint: verified.hint, ...(verified.source === undefined ? {} : { keySource: verified.source }) });
    },
  };
}

/** Signs a payload into a DSSE envelope inside a Sigstore bundle. */
export async function signPayload(payload: Buffer, payloadType: string, signer: Signer): Promise<SigstoreBundle> {
  const result = await signer.sign(encodePae(payloadType, payload));
  return buildBundle(
    { payload: payload.toString('base64'), payloadType, signatures: [{ sig: result.signature.toString('base64'), keyid: result.keyid ?? '' }] },
    result.verificationMaterial,
  );
}

/** Verifies the envelope signature; returns the authenticated payload and the signer. */
export async function verifyEnvelope(bundle: SigstoreBundle, verifier: BundleVerifier): Promise<{ payload: Buffer; payloadType: string; signer: SignerIdentity }> {
  const payload = decodeBase64Strict(bundle.dsseEnvelope.payload, 'dsseEnvelope.payload');
  const payloadType = bundle.dsseEnvelope.payloadType;
  const signer = await verifier.verify(bundle, encodePae(payloadType, payload));
  return { payload, payloadType, signer };
}
