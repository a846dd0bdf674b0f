// Public API of src/audit: the registry's tamper-evident audit log (RFC 6962/9162 Merkle tree of
// canonical JSON entries), C2SP signed checkpoints, proofs, client-side rollback/fork detection, and
// the export format with its offline verifier. Functions throw CustodyError with a stable code; see
// docs/audit.md.
export { canonicalJson, type CanonicalJsonLimits } from './canonical-json.js';
export { acceptCheckpoint, checkTreeHeadAdvance, verifyLeafInclusion, type AcceptCheckpointOptions, type TreeHead } from './client.js';
export { buildLeaf, canonicalEntry, MAX_ENTRY_BYTES, MAX_LEAF_BYTES, parseLeaf, type ParsedLeaf } from './envelope.js';
export {
  EXPORT_FORMAT,
  EXPORT_MAX_LINE_BYTES,
  EXPORT_VERSION,
  exportAuditLog,
  formatCheckpointLine,
  formatExportHeader,
  formatFinalLine,
  writeAuditExport,
  type ExportHeader,
  type WriteExportOptions,
} from './export.js';
export { AuditLog, DEFAULT_CHECKPOINT_INTERVAL, type AppendResult, type AuditLogOptions, type AuditRecord } from './log.js';
export {
  CompactRange,
  consistencyProof,
  consistencyProofRanges,
  decomposeRange,
  EMPTY_ROOT,
  HASH_SIZE,
  hashChildren,
  hashLeaf,
  inclusionProof,
  inclusionProofRanges,
  rootAt,
  rootOfLeaves,
  verifyConsistency,
  verifyInclusion,
  type NodeId,
  type NodeReader,
  type StoredNode,
} from './merkle.js';
export {
  checkKeyName,
  computeKeyId,
  formatCheckpoint,
  formatVerifierKey,
  generateCheckpointKey,
  loadCheckpointSigner,
  NOTE_LIMITS,
  openNote,
  parseCheckpointText,
  parseNote,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  verifyCheckpoint,
  type Checkpoint,
  type CheckpointKeyPair,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  type OpenedNote,
  type VerifiedCheckpoint,
  type VerifyCheckpointOptions,
} from './note.js';
export { AUDIT_SQLITE_MIGRATIONS, migrateAuditSqlite, SqliteAuditStore, type AuditMigration, type SqliteAuditStoreOptions } from './sqlite-store.js';
export { MemoryAuditStore, type AppendBatch, type AuditStore, type StoredCheckpoint, type StoredEntry } from './store.js';
export { describeVerification, EXPORT_FAILURE_KINDS, verifyAuditExport, type ExportFailure, type ExportFailureKind, type ExportVerification, type VerifyExportOptions } from './verify-export.js';
