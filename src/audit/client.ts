import { CustodyError, isCustodyError } from '../core/errors.js';
import { verifyConsistency, verifyInclusion, hashLeaf } from './merkle.js';
import { verifyCheckpoint, type NoteVerifier, type VerifiedCheckpoint } from './note.js';

/**
 * What a client of the registry does with checkpoints: remember the last one it accepted from each
 * server, and accept a new one only if it is signed by the pinned key and is consistent with the
 * remembered one — same size and root, or larger with a consistency proof. A smaller size is a rolled
 * back log (AUDIT_ROLLBACK); the same size with another root, or a larger tree that the proof does not
 * connect, is a forked or rewritten log (AUDIT_FORK). The caller keeps the state (a file per server).
 */

export interface TreeHead {
  origin: string;
  size: number;
  root: Uint8Array;
}

/** Throws AUDIT_ROLLBACK or AUDIT_FORK unless `next` extends `previous` (proof: PROOF(previous.size, next.size)). */
export function checkTreeHeadAdvance(previous: TreeHead, next: TreeHead, proof: readonly Uint8Array[]): void {
  if (next.origin !== previous.origin) {
    throw new CustodyError('AUDIT_FORK', `the checkpoint is for log "${next.origin}", but this server's log is "${previous.origin}"`, { details: { previous: previous.origin, next: next.origin } });
  }
  if (next.size < previous.size) {
    throw new CustodyError('AUDIT_ROLLBACK', `the log shows ${next.size} entries, but a checkpoint of ${previous.size} entries was seen before: it was rolled back`, { details: { previous: previous.size, next: next.size } });
  }
  try {
    verifyConsistency(previous.size, next.size, previous.root, next.root, proof);
  } catch (error) {
    if (!isCustodyError(error, 'AUDIT_PROOF_INVALID')) throw error;
    const what = next.size === previous.size ? `a different root for the same size ${next.size}` : `a tree of ${next.size} entries that does not extend the ${previous.size} seen before`;
    throw new CustodyError('AUDIT_FORK', `the log shows ${what}: it was forked or rewritten`, { cause: error, details: { previous: previous.size, next: next.size } });
  }
}

export interface AcceptCheckpointOptions {
  /** The server's pinned verifier key (string or parsed). */
  verifierKey: string | NoteVerifier;
  /** The checkpoint note remembered for this server, if any. */
  previous?: string | undefined;
  /** The checkpoint note the server shows now. */
  next: string;
  /** Fetches PROOF(m, n) from the server; called only when the sizes differ. */
  fetchConsistencyProof(m: number, n: number): Promise<readonly Uint8Array[]>;
}

/**
 * Verifies `next` and its consistency with `previous`; returns it (to be remembered in place of
 * `previous`) or throws: AUDIT_ROLLBACK, AUDIT_FORK, or the codes of `verifyCheckpoint` for a note
 * that is malformed or not signed by the key.
 */
export async function acceptCheckpoint(options: AcceptCheckpointOptions): Promise<VerifiedCheckpoint> {
  const next = verifyCheckpoint(options.next, options.verifierKey);
  if (options.previous === undefined) return next;
  const previous = verifyCheckpoint(options.previous, options.verifierKey);
  const proof = next.size > previous.size && previous.size > 0 ? await options.fetchConsistencyProof(previous.size, next.size) : [];
  checkTreeHeadAdvance(previous, next, proof);
  return next;
}

/** Checks that a leaf (the exact canonical JSON text the log returned) is entry `index` of a verified checkpoint. */
export function verifyLeafInclusion(leaf: string | Uint8Array, index: number, checkpoint: TreeHead, proof: readonly Uint8Array[]): void {
  verifyInclusion(hashLeaf(leaf), index, checkpoint.size, proof, checkpoint.root);
}
