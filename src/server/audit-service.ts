import type { AuditSink } from '../registry/audit.js';

/**
 * What the HTTP layer needs of the audit log: appending (the registry's AuditSink), the signed
 * checkpoint and its verifier key, proofs, and entries for export and query. Implemented over the
 * audit library (src/audit) by audit-log.ts.
 */
export interface AuditService extends AuditSink {
  /** The C2SP verifier key (`<name>+<hex id>+<base64 key>`) clients pin to check checkpoints. */
  readonly verifierKey: string;
  /** The latest signed checkpoint (a signed note) and the size it commits to. */
  checkpoint(): Promise<{ size: number; note: string }>;
  /** Base64 hashes proving the tree of size `from` is a prefix of the tree of size `to`. */
  consistencyProof(from: number, to: number): Promise<string[]>;
  /** Base64 hashes proving entry `index` is in the tree of size `size`, and that entry's leaf. */
  inclusionProof(index: number, size: number): Promise<{ leaf: string; proof: string[] }>;
  /** Leaves (canonical JSON lines, as exported) of entries [start, end). */
  leaves(start: number, end: number): Promise<{ index: number; leaf: string }[]>;
  size(): Promise<number>;
  /** The whole log as an export (JSON Lines, see docs/audit.md), fixed at the size when it starts. */
  exportLines(): AsyncIterable<string>;
}
