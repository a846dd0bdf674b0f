import { lstat } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { CustodyError, formatProblems, type Problem } from '../core/errors.js';
import { readBundle, type SigstoreBundle } from './bundle.js';
import { computeRootDigest, digestEquals, DIGEST_BYTES, isDigestHex, parseHashType } from './digest.js';
import { assertNoDiff, diffResources } from './diff.js';
import { IN_TOTO_PAYLOAD_TYPE } from './dsse.js';
import { DEFAULT_IGNORE_PATHS, enumerateArtifact } from './enumerate.js';
import type { PublicKeyInfo } from './keys.js';
import { hashArtifact, hashEnumeration, toOmsSerialization, type HashOptions, type HashProgress, type Manifest, type Resource, type Serialization } from './manifest.js';
import { OMS_KEY_ALGORITHMS } from './interop.js';
import { isCanonicalName, isUnder, requireIgnorePath, splitShardName } from './names.js';
import { createKeyVerifier, signPayload, verifyEnvelope, type BundleVerifier, type Signer, type SignerIdentity } from './signer.js';
import { buildStatement, encodeStatement, parseStatement, type Statement } from './statement.js';
import { isRecord } from '../core/json.js';

/** OMS v1.0 predicate type. */
export const OMS_PREDICATE_TYPE = 'https://model_signing/signature/v1.0';
/** The predicate of model_signing v0.2.0, deprecated by OMS and not verified here. */
const OMS_LEGACY_PREDICATE_TYPE = 'https://model_signing/Digests/v0.1';

export interface OmsPredicate {
  resources: Resource[];
  serialization: Record<string, unknown>;
}

/** The in-toto statement OMS signs: one subject (name + root digest), resources and serialization. */
export function buildOmsStatement(manifest: Manifest): Statement<OmsPredicate> {
  return buildStatement([{ name: manifest.name, digest: { sha256: manifest.rootDigest } }], OMS_PREDICATE_TYPE, {
    resources: manifest.resources.map((r) => ({ name: r.name, algorithm: r.algorithm, digest: r.digest })),
    serialization: toOmsSerialization(manifest.serialization),
  });
}

/** A manifest as read back from a verified OMS statement. */
export interface SignedManifest {
  name: string;
  rootDigest: string;
  serialization: Serialization;
  /** In the order the bundle lists them (any order verifies; see names.ts). */
  resources: Resource[];
}

const SERIALIZATION_KEYS = ['method', 'hash_type', 'shard_size', 'allow_symlinks', 'ignore_paths'];

/**
 * Reads the OMS predicate of an authenticated statement. Accepts what model_signing writes as well
 * as what the OMS text prescribes: any resource order, `.` or the basename as the name of a
 * single-file model, `<hash>-sharded-<size>` or the bare hash type as a shard's algorithm,
 * `shard_size` as an integer or an integral float (`4096.0`), and `blake2b` or `blake2` for BLAKE2.
 * Checks that the subject digest is the root digest of the resources as listed.
 */
export function parseOmsStatement(statement: Statement): SignedManifest {
  if (statement.predicateType === OMS_LEGACY_PREDICATE_TYPE) {
    throw new CustodyError('UNSUPPORTED_FORMAT', `predicate ${OMS_LEGACY_PREDICATE_TYPE} (model_signing v0.2) is deprecated and not verified; re-sign the model`);
  }
  if (statement.predicateType !== OMS_PREDICATE_TYPE) {
    throw new CustodyError('BUNDLE_INVALID', `predicate type is "${statement.predicateType.slice(0, 200)}", expected ${OMS_PREDICATE_TYPE}`);
  }
  const problems: Problem[] = [];
  if (statement.subject.length !== 1) problems.push({ path: 'subject', message: 'must hold exactly one entry (the model)' });
  const subject = statement.subject[0];
  const name = subject?.name;
  const rootDigest = subject?.digest?.['sha256'];
  if (typeof name !== 'string' || name === '') problems.push({ path: 'subject[0].name', message: 'must be a non-empty string' });
  if (!isDigestHex(rootDigest)) problems.push({ path: 'subject[0].digest.sha256', message: 'must be 64 lower-case hex characters' });

  const predicate = statement.predicate;
  const raw = isRecord(predicate) ? predicate['serialization'] : undefined;
  let serialization: Serialization | undefined;
  if (!isRecord(raw)) problems.push({ path: 'predicate.serialization', message: 'is required' });
  else {
    for (const key of Object.keys(raw)) if (!SERIALIZATION_KEYS.includes(key)) problems.push({ path: `predicate.serialization.${key}`, message: 'is not an OMS v1.0 serialization parameter' });
    const method = raw['method'];
    const hashType = parseHashType(raw['hash_type']);
    const shardSize = raw['shard_size'];
    const allowSymlinks = raw['allow_symlinks'];
    const ignore = raw['ignore_paths'];
    if (method !== 'files' && method !== 'shards') problems.push({ path: 'predicate.serialization.method', message: 'must be "files" or "shards"' });
    if (hashType === undefined) problems.push({ path: 'predicate.serialization.hash_type', message: 'must be "sha256", "blake2b" (or "blake2") or "blake3"' });
    if (method === 'shards' && !(typeof shardSize === 'number' && Number.isSafeInteger(shardSize) && shardSize > 0)) problems.push({ path: 'predicate.serialization.shard_size', message: 'must be a positive integer for method "shards"' });
    if (method === 'files' && shardSize !== undefined) problems.push({ path: 'predicate.serialization.shard_size', message: 'must be absent for method "files"' });
    if (typeof allowSymlinks !== 'boolean') problems.push({ path: 'predicate.serialization.allow_symlinks', message: 'must be true or false' });
    const ignorePaths: string[] = [];
    if (ignore !== undefined) {
      if (!Array.isArray(ignore) || !ignore.every((p) => typeof p === 'string')) problems.push({ path: 'predicate.serialization.ignore_paths', message: 'must be an array of strings' });
      else {
        for (const p of ignore as string[]) {
          try {
            ignorePaths.push(requireIgnorePath(p, 'BUNDLE_INVALID'));
          } catch (error) {
            problems.push({ path: 'predicate.serialization.ignore_paths', message: (error as Error).message });
          }
        }
      }
    }
    if ((method === 'files' || method === 'shards') && hashType !== undefined && typeof allowSymlinks === 'boolean') {
      serialization = { method, hashType, ...(method === 'shards' ? { shardSize: shardSize as number } : {}), allowSymlinks, ignorePaths };
    }
  }

  const list = isRecord(predicate) ? predicate['resources'] : undefined;
  const resources: Resource[] = [];
  if (!Array.isArray(list) || list.length === 0) problems.push({ path: 'predicate.resources', message: 'must be a non-empty array' });
  else if (serialization) {
    const accepted = acceptedAlgorithms(serialization);
    const seen = new Set<string>();
    list.forEach((r: unknown, i) => {
      const at = `predicate.resources[${i}]`;
      if (!isRecord(r)) return void problems.push({ path: at, message: 'must be an object' });
      const rName = r['name'];
      const algorithm = r['algorithm'];
      const digest = r['digest'];
      if (typeof rName !== 'string' || !isResourceName(rName, serialization.method)) problems.push({ path: `${at}.name`, message: `"${String(rName).slice(0, 200)}" is not a canonical relative path${serialization.method === 'shards' ? ' with :start:end' : ''}` });
      else if (seen.has(rName)) problems.push({ path: `${at}.name`, message: `"${rName.slice(0, 200)}" is listed twice` });
      else seen.add(rName);
      if (typeof algorithm !== 'string' || !accepted.has(algorithm)) problems.push({ path: `${at}.algorithm`, message: `must be ${[...accepted].join(' or ')}` });
      if (!isDigestHex(digest, DIGEST_BYTES[serialization.hashType])) problems.push({ path: `${at}.digest`, message: 'must be lower-case hex of the digest length' });
      if (typeof rName === 'string' && typeof algorithm === 'string' && typeof digest === 'string') resources.push({ name: rName, algorithm, digest });
    });
  }
  if (problems.length > 0 || !serialization || typeof name !== 'string' || typeof rootDigest !== 'string') {
    throw new CustodyError('BUNDLE_INVALID', `the signed statement is not a valid OMS v1.0 statement:\n${formatProblems(problems)}`, { details: { problems } });
  }
  const computed = computeRootDigest(resources.map((r) => r.digest));
  if (!digestEquals(computed, rootDigest)) {
    throw new CustodyError('BUNDLE_INVALID', `the signed statement is inconsistent: its subject digest ${rootDigest} is not the digest of its resources (${computed})`);
  }
  return { name, rootDigest, serialization, resources };
}

/** Algorithm names a resource may carry under a serialization (see parseOmsStatement). */
function acceptedAlgorithms(serialization: Serialization): Set<string> {
  const names: string[] = serialization.hashType === 'blake2b' ? ['blake2b', 'blake2'] : [serialization.hashType];
  const accepted = new Set<string>(names);
  if (serialization.method === 'shards') for (const n of names) accepted.add(`${n}-sharded-${serialization.shardSize ?? 0}`);
  return accepted;
}

function isResourceName(name: string, method: 'files' | 'shards'): boolean {
  const path = method === 'shards' ? splitShardName(name)?.path : name;
  return path !== undefined && (path === '.' || isCanonicalName(path));
}

export interface SignOptions extends HashOptions {
  signer: Signer;
  /** Where the signature will be written; left out of the manifest when it lies inside the model. */
  signaturePath?: string;
  /**
   * Sign with a key outside the OMS key registry (Ed25519). model_signing and other OMS verifiers
   * refuse such signatures, so it takes this explicit choice (USAGE otherwise).
   */
  allowNonOmsKey?: boolean;
}


export interface SignResult {
  bundle: SigstoreBundle;
  manifest: Manifest;
  statement: Statement<OmsPredicate>;
}

/** The signature file's path relative to a model directory, when it lies inside it. */
async function signatureInside(modelPath: string, signaturePath: string | undefined): Promise<string | undefined> {
  if (signaturePath === undefined) return undefined;
  const info = await lstat(modelPath).catch(() => undefined);
  if (!info?.isDirectory()) return undefined;
  const rel = relative(resolve(modelPath), resolve(signaturePath));
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || resolve(rel) === rel) return undefined;
  return rel.split(sep).join('/');
}

/**
 * Hashes a model and signs its manifest as an OMS v1.0 bundle. A signer whose key is outside the
 * OMS key registry (Ed25519) is refused with USAGE unless `allowNonOmsKey`.
 */
export async function signArtifact(path: string, options: SignOptions): Promise<SignResult> {
  const { signer, signaturePath: _sig, allowNonOmsKey, ...hashOptions } = options;
  if (signer.algorithm !== undefined && !OMS_KEY_ALGORITHMS.includes(signer.algorithm) && allowNonOmsKey !== true) {
    throw new CustodyError(
      'USAGE',
      `the signing key is ${signer.algorithm}, which is not in the OMS key registry (ECDSA P-256, P-384, P-521): model_signing and other OMS verifiers refuse such signatures. Use an ECDSA key, or allow it explicitly (--allow-ed25519)`,
    );
  }
  const sigRel = await signatureInside(path, options.signaturePath);
  const manifest = await hashArtifact(path, { ...hashOptions, ignorePaths: [...(options.ignorePaths ?? []), ...(sigRel ? [sigRel] : [])] });
  const statement = buildOmsStatement(manifest);
  const bundle = await signPayload(encodeStatement(statement), IN_TOTO_PAYLOAD_TYPE, signer);
  return { bundle, manifest, statement };
}

export interface VerifyOptions {
  /** The bundle, or the path to read it from. */
  bundle?: SigstoreBundle;
  signaturePath?: string;
  /** How to check the signature; or give `publicKeys` to trust. */
  verifier?: BundleVerifier;
  publicKeys?: readonly PublicKeyInfo[];
  /** More paths to leave out, on top of those the signature records. */
  ignorePaths?: readonly string[];
  jobs?: number;
  onProgress?: (progress: HashProgress) => void;
}

/** What a successful verification proves. */
export interface VerificationProof {
  /** The subject name recorded at signing (informational). */
  name: string;
  /** The OMS root digest of the verified model. */
  digest: { sha256: string };
  signer: SignerIdentity;
  serialization: Serialization;
  resources: number;
  files: number;
  bytes: number;
  /** When this verification ran (key-signed OMS bundles carry no signing time). */
  verifiedAt: string;
}

/**
 * Verifies a model against an OMS signature: the bundle's structure, the key, the DSSE signature,
 * the statement, then every file re-hashed with the signed settings. Returns the proof or throws
 * BUNDLE_INVALID, KEY_UNTRUSTED, SIGNATURE_INVALID, DIGEST_MISMATCH (content changed) or
 * MANIFEST_MISMATCH (files added, removed or renamed; `details` lists each difference).
 */
export async function verifyArtifact(path: string, options: VerifyOptions): Promise<VerificationProof> {
  const bundle = options.bundle ?? (options.signaturePath !== undefined ? await readBundle(options.signaturePath) : undefined);
  if (!bundle) throw new CustodyError('USAGE', 'verifyArtifact needs a bundle or a signature path');
  const verifier = options.verifier ?? (options.publicKeys ? createKeyVerifier(options.publicKeys) : undefined);
  if (!verifier) throw new CustodyError('USAGE', 'verifyArtifact needs a verifier or trusted public keys');

  const { payload, payloadType, signer } = await verifyEnvelope(bundle, verifier);
  const signed = parseOmsStatement(parseStatement(payloadType, payload));
  const sigRel = await signatureInside(path, options.signaturePath);
  const extra = (options.ignorePaths ?? []).map((p) => requireIgnorePath(p, 'USAGE'));
  // model_signing can sign the git files too (--no-ignore-git-paths): a default exclusion under
  // which the signature lists resources is not applied, so those files are checked, not skipped.
  const sharded = signed.serialization.method === 'shards';
  const signedPaths = signed.resources.map((r) => (sharded ? (splitShardName(r.name)?.path ?? r.name) : r.name));
  const keepDefaults = DEFAULT_IGNORE_PATHS.filter((d) => signedPaths.some((p) => isUnder(p, d)));
  const enumeration = await enumerateArtifact(path, {
    allowSymlinks: signed.serialization.allowSymlinks,
    ignorePaths: [...signed.serialization.ignorePaths.filter((p) => !keepDefaults.includes(p)), ...extra, ...(sigRel ? [sigRel] : [])],
    keepDefaults,
  });

  let actual: Resource[] = [];
  let bytes = 0;
  if (enumeration.files.length > 0) {
    const manifest = await hashEnumeration(enumeration, {
      hashType: signed.serialization.hashType,
      ...(signed.serialization.shardSize === undefined ? {} : { shardSize: signed.serialization.shardSize }),
      allowSymlinks: signed.serialization.allowSymlinks,
      ...(options.jobs === undefined ? {} : { jobs: options.jobs }),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    actual = manifest.resources;
    bytes = manifest.bytes;
  }
  // A single-file model's file is named "." (model_signing, and Custody since it follows it) or,
  // in bundles that follow the OMS text, by its basename: compare under the name the bundle uses.
  if (enumeration.kind === 'file' && !signed.resources.every((r) => (sharded ? splitShardName(r.name)?.path : r.name) === '.')) {
    actual = actual.map((r) => ({ ...r, name: `${enumeration.modelName}${r.name.slice(1)}` }));
  }
  assertNoDiff(diffResources(signed.resources, actual, sharded), path);
  return {
    name: signed.name,
    digest: { sha256: signed.rootDigest },
    signer,
    serialization: signed.serialization,
    resources: signed.resources.length,
    files: enumeration.files.length,
    bytes,
    verifiedAt: new Date().toISOString(),
  };
}
