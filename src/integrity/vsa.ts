import { CustodyError } from '../core/errors.js';
import { isRecord } from '../core/json.js';
import { signStatement } from './attest.js';
import type { SigstoreBundle } from './bundle.js';
import { digestEquals } from './digest.js';
import { createKeyVerifier, verifyEnvelope, type Signer, type SignerIdentity } from './signer.js';
import { buildStatement, parseStatement, type Statement } from './statement.js';
import type { PublicKeyInfo } from './keys.js';

/** SLSA Verification Summary Attestation v1. */
export const VSA_PREDICATE_TYPE = 'https://slsa.dev/verification_summary/v1';

export interface VsaPredicate {
  verifier: { id: string; version?: Record<string, string> };
  timeVerified: string;
  resourceUri: string;
  policy: { uri: string; digest: { sha256: string } };
  inputAttestations: { uri: string; digest: { sha256: string } }[];
  verificationResult: 'PASSED' | 'FAILED';
  verifiedLevels: string[];
  slsaVersion: '1.0';
}

export interface VsaInput {
  subject: { name: string; digest: { sha256: string } };
  predicate: VsaPredicate;
}

/** Builds and signs a VSA (an in-toto statement in a DSSE envelope in a Sigstore bundle). */
export function signVsa(input: VsaInput, signer: Signer): Promise<SigstoreBundle> {
  return signStatement(buildStatement([input.subject], VSA_PREDICATE_TYPE, input.predicate), signer);
}

export interface VsaExpectations {
  /** The artifact digest the VSA must be about. */
  digest: string;
  /** Levels that must all be listed in verifiedLevels. */
  levels?: readonly string[];
  /** The resourceUri it must name, when given. */
  resourceUri?: string;
  /** Accept a FAILED result (a forced promotion); default false. */
  allowFailed?: boolean;
}

export interface VerifiedVsa {
  statement: Statement<VsaPredicate>;
  signer: SignerIdentity;
}

/**
 * Verifies a VSA bundle: the signature against the given keys (KEY_UNTRUSTED, SIGNATURE_INVALID),
 * the statement (BUNDLE_INVALID), the subject (SUBJECT_MISMATCH), the result, levels and resource
 * (SIGNATURE_INVALID: a VSA that does not say what is needed is no proof of it). Returns the proof or throws.
 */
export async function verifyVsa(bundle: SigstoreBundle, keys: readonly PublicKeyInfo[], expect: VsaExpectations): Promise<VerifiedVsa> {
  const { payload, payloadType, signer } = await verifyEnvelope(bundle, createKeyVerifier(keys));
  const statement = parseStatement(payloadType, payload);
  if (statement.predicateType !== VSA_PREDICATE_TYPE) throw new CustodyError('BUNDLE_INVALID', `the statement is a ${statement.predicateType.slice(0, 100)}, not a verification summary`);
  const p = statement.predicate;
  if (!isRecord(p) || typeof p['timeVerified'] !== 'string' || typeof p['resourceUri'] !== 'string' || !Array.isArray(p['verifiedLevels']) || (p['verificationResult'] !== 'PASSED' && p['verificationResult'] !== 'FAILED')) {
    throw new CustodyError('BUNDLE_INVALID', 'the verification summary lacks timeVerified, resourceUri, verifiedLevels or verificationResult');
  }
  if (!statement.subject.some((s) => typeof s.digest?.['sha256'] === 'string' && digestEquals(s.digest['sha256'], expect.digest))) {
    throw new CustodyError('SUBJECT_MISMATCH', `the verification summary is not about ${expect.digest}`);
  }
  if (p['verificationResult'] !== 'PASSED' && expect.allowFailed !== true) throw new CustodyError('SIGNATURE_INVALID', 'the verification summary says the policy was not met (a forced promotion)');
  const levels = p['verifiedLevels'] as unknown[];
  const missing = (expect.levels ?? []).filter((l) => !levels.includes(l));
  if (missing.length > 0) throw new CustodyError('SIGNATURE_INVALID', `the verification summary does not vouch for ${missing.join(', ')}`);
  if (expect.resourceUri !== undefined && p['resourceUri'] !== expect.resourceUri) throw new CustodyError('SUBJECT_MISMATCH', `the verification summary is about ${String(p['resourceUri']).slice(0, 200)}, not ${expect.resourceUri}`);
  return { statement: statement as Statement<VsaPredicate>, signer };
}
