import { CustodyError } from '../core/errors.js';
import { readBundle, type SigstoreBundle } from './bundle.js';
import { digestEquals } from './digest.js';
import { IN_TOTO_PAYLOAD_TYPE } from './dsse.js';
import type { PublicKeyInfo } from './keys.js';
import { hashArtifact } from './manifest.js';
import { createKeyVerifier, signPayload, verifyEnvelope, type BundleVerifier, type Signer, type SignerIdentity } from './signer.js';
import { encodeStatement, parseStatement, type ResourceDescriptor, type Statement } from './statement.js';

/** Signs any in-toto statement as a DSSE envelope in a Sigstore bundle (the format `sign` writes). */
export function signStatement(statement: Statement, signer: Signer): Promise<SigstoreBundle> {
  return signPayload(encodeStatement(statement), IN_TOTO_PAYLOAD_TYPE, signer);
}

/** An artifact as an attestation subject. */
export interface ArtifactDigest {
  name: string;
  digest: { sha256: string };
  kind: 'file' | 'directory';
  files: number;
  bytes: number;
}

/**
 * The digest that names an artifact in attestations: a file's own SHA-256 (what other in-toto and
 * SLSA tools expect), or for a directory the root digest of its manifest (method `files`, SHA-256,
 * default exclusions: the same value `custody hash DIR` prints as `digest.sha256`).
 */
export async function digestArtifact(path: string, options: { jobs?: number; allowSymlinks?: boolean; ignorePaths?: readonly string[] } = {}): Promise<ArtifactDigest> {
  const manifest = await hashArtifact(path, options);
  const sha256 = manifest.kind === 'file' ? (manifest.resources[0]?.digest ?? '') : manifest.rootDigest;
  return { name: manifest.name, digest: { sha256 }, kind: manifest.kind, files: manifest.files, bytes: manifest.bytes };
}

export interface AttestationVerifyOptions {
  bundle?: SigstoreBundle;
  bundlePath?: string;
  verifier?: BundleVerifier;
  publicKeys?: readonly PublicKeyInfo[];
  /** Artifacts on disk that must each match a subject of the statement. */
  artifacts?: readonly string[];
  /** Require this predicate type. */
  predicateType?: string;
  jobs?: number;
}

export interface SubjectMatch {
  path: string;
  subject: string;
  digest: { sha256: string };
}

export interface AttestationProof {
  predicateType: string;
  subjects: ResourceDescriptor[];
  signer: SignerIdentity;
  matched: SubjectMatch[];
  statement: Statement;
  verifiedAt: string;
}

/**
 * Verifies an attestation bundle: signature (KEY_UNTRUSTED, SIGNATURE_INVALID), statement
 * (BUNDLE_INVALID), then that every artifact given hashes to one of the subjects
 * (SUBJECT_MISMATCH, with the computed digest and the subjects in `details`).
 */
export async function verifyAttestation(options: AttestationVerifyOptions): Promise<AttestationProof> {
  const bundle = options.bundle ?? (options.bundlePath !== undefined ? await readBundle(options.bundlePath) : undefined);
  if (!bundle) throw new CustodyError('USAGE', 'verifyAttestation needs a bundle or a bundle path');
  const verifier = options.verifier ?? (options.publicKeys ? createKeyVerifier(options.publicKeys) : undefined);
  if (!verifier) throw new CustodyError('USAGE', 'verifyAttestation needs a verifier or trusted public keys');
  const { payload, payloadType, signer } = await verifyEnvelope(bundle, verifier);
  const statement = parseStatement(payloadType, payload);
  if (options.predicateType !== undefined && statement.predicateType !== options.predicateType) {
    throw new CustodyError('BUNDLE_INVALID', `the attestation's predicate type is ${statement.predicateType.slice(0, 200)}, expected ${options.predicateType}`);
  }
  const matched: SubjectMatch[] = [];
  for (const path of options.artifacts ?? []) {
    const artifact = await digestArtifact(path, options.jobs === undefined ? {} : { jobs: options.jobs });
    const subject = statement.subject.find((s) => typeof s.digest?.['sha256'] === 'string' && digestEquals(s.digest['sha256'], artifact.digest.sha256));
    if (!subject) {
      throw new CustodyError('SUBJECT_MISMATCH', `${path} (sha256:${artifact.digest.sha256}) matches no subject of the attestation: ${statement.subject.map((s) => `${s.name ?? '?'} sha256:${s.digest?.['sha256'] ?? '?'}`).join(', ')}`, {
        details: { path, digest: artifact.digest, subjects: statement.subject.map((s) => ({ name: s.name, digest: s.digest })) },
      });
    }
    matched.push({ path, subject: subject.name ?? '', digest: artifact.digest });
  }
  return { predicateType: statement.predicateType, subjects: statement.subject, signer, matched, statement, verifiedAt: new Date().toISOString() };
}
