// Public API of src/integrity: hash models and datasets, sign and verify them in the OpenSSF Model
// Signing format, and make or check attestations (SLSA provenance, scan results). Functions return
// proof or throw CustodyError with a stable code; see docs/integrity.md.
export { digestArtifact, signStatement, verifyAttestation, type ArtifactDigest, type AttestationProof, type AttestationVerifyOptions, type SubjectMatch } from './attest.js';
export { BUNDLE_MEDIA_TYPE, parseBundle, readBundle, serializeBundle, type PublicKeyIdentifier, type SigstoreBundle, type VerificationMaterial } from './bundle.js';
export { computeRootDigest, digestEquals, HASH_TYPES, isHashType, parseHashType, type HashType } from './digest.js';
export { describeDiff, diffResources, type ManifestDiff, type ModifiedFile, type RenamedFile } from './diff.js';
export { decodeBase64Strict, encodePae, IN_TOTO_PAYLOAD_TYPE, type DsseEnvelope, type DsseSignature } from './dsse.js';
export { DEFAULT_IGNORE_PATHS, enumerateArtifact, type ArtifactFile, type Enumeration } from './enumerate.js';
export {
  computeKeyHint,
  generateKeyPair,
  isKeyType,
  KEY_ALGORITHMS,
  KEY_TYPES,
  loadPrivateKey,
  loadPublicKey,
  readPrivateKeyFile,
  readPublicKeyFile,
  readTrustedKeys,
  type GeneratedKeyPair,
  type KeyType,
  type PrivateKeyInfo,
  type PublicKeyInfo,
} from './keys.js';
export { DEFAULT_SHARD_SIZE, effectiveShardSize, hashArtifact, manifestToJson, resourceAlgorithm, toOmsSerialization, type HashOptions, type HashProgress, type Manifest, type Resource, type Serialization } from './manifest.js';
export { describeInteropLimits, OMS_KEY_ALGORITHMS } from './interop.js';
export { compareNames, compareResourceNames, splitShardName } from './names.js';
export {
  buildOmsStatement,
  OMS_PREDICATE_TYPE,
  parseOmsStatement,
  signArtifact,
  verifyArtifact,
  type OmsPredicate,
  type SignedManifest,
  type SignOptions,
  type SignResult,
  type VerificationProof,
  type VerifyOptions,
} from './oms.js';
export {
  buildTrainingProvenance,
  collectTrainingProvenance,
  parseImageReference,
  SLSA_PROVENANCE_V1,
  TRAINING_BUILD_TYPE,
  type SlsaProvenance,
  type TrainingProvenanceInput,
  type TrainingRunPaths,
} from './provenance.js';
export { createKeySigner, createKeyVerifier, signPayload, verifyEnvelope, type BundleVerifier, type SignatureResult, type Signer, type SignerIdentity } from './signer.js';
export { buildStatement, parseStatement, STATEMENT_TYPE, type ResourceDescriptor, type Statement } from './statement.js';
export { buildScanAttestation, TEST_RESULT_PREDICATE_TYPE, type ScanAttestationInput, type ScanResultLike, type TestResultPredicate } from './test-result.js';
