import { CustodyError } from '../core/errors.js';
import type { NodeId, NodeReader, StoredNode } from './merkle.js';

/**
 * The persistence boundary of the audit log. AuditLog computes everything (envelopes, leaf hashes,
 * subtree hashes, signatures); a store only keeps rows and hands them back, so a PostgreSQL store can
 * follow without touching callers. Every method may be called concurrently with reads; appends come
 * from one AuditLog at a time per process, and `appendBatch` refuses (AUDIT_CONFLICT) a batch that does
 * not start at the store's current size, so several processes sharing one store stay one sequence.
 */

/** One log entry as stored: its position, the exact leaf bytes (canonical JSON text) and their hash. */
export interface StoredEntry {
  index: number;
  /** The leaf: canonical JSON of the envelope {entry, index, prev} (see docs/audit.md). */
  leaf: string;
  /** SHA-256(0x00 ‖ leaf as UTF-8). */
  leafHash: Uint8Array;
}

/** A signed checkpoint note and the tree size it commits to. */
export interface StoredCheckpoint {
  size: number;
  note: string;
}

export interface AppendBatch {
  /** The store's size before this batch; the batch's first entry has this index. */
  start: number;
  entries: readonly Omit<StoredEntry, 'index'>[];
  /** Complete subtrees (level ≥ 1) finished by these entries. */
  nodes: readonly StoredNode[];
  /** Checkpoints signed at sizes inside this batch (every `checkpointInterval` entries). */
  checkpoints: readonly StoredCheckpoint[];
}

export interface AuditStore extends NodeReader {
  /** Number of entries stored. */
  readSize(): Promise<number>;
  /**
   * Stores a batch of entries, their finished subtrees and checkpoints in one atomic, durable step: all
   * of it is visible and on disk when the promise resolves, or none of it. AUDIT_CONFLICT when
   * `batch.start` is not the current size.
   */
  appendBatch(batch: AppendBatch): Promise<void>;
  /** Entries with index in [start, end), in order (end is clamped to the size). */
  readEntries(start: number, end: number): Promise<StoredEntry[]>;
  /** Leaf hashes of entries [start, end), in order (end is clamped to the size). */
  readLeafHashes(start: number, end: number): Promise<Uint8Array[]>;
  /** Complete-subtree hashes by id (level 0: leaf hashes); AUDIT_STORE_CORRUPT when one is missing. */
  readNodes(ids: readonly NodeId[]): Promise<Uint8Array[]>;
  /** Interval checkpoints with size in [start, end), by size. */
  readCheckpoints(start: number, end: number): Promise<StoredCheckpoint[]>;
  /** Replaces the latest checkpoint handed out (signed on demand). */
  writeLatestCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  readLatestCheckpoint(): Promise<StoredCheckpoint | undefined>;
}

export function checkRange(start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) throw new CustodyError('USAGE', `invalid entry range [${String(start)}, ${String(end)})`);
}

export function missingNode(id: NodeId): CustodyError {
  return new CustodyError('AUDIT_STORE_CORRUPT', `the audit store has no subtree hash at level ${id.level}, index ${id.index}`, { details: { level: id.level, index: id.index } });
}

export function conflict(expected: number, actual: number): CustodyError {
  return new CustodyError('AUDIT_CONFLICT', `the batch starts at ${expected} but the store holds ${actual} entries (another writer appended first)`, { details: { expected, actual } });
}

/** An AuditStore in memory, for tests and tools. Not durable. */
export class MemoryAuditStore implements AuditStore {
  private readonly entries: StoredEntry[] = [];
  private readonly nodes = new Map<string, Uint8Array>();
  private readonly checkpoints: StoredCheckpoint[] = [];
  private latest: StoredCheckpoint | undefined;

  async readSize(): Promise<number> {
    return this.entries.length;
  }

  async appendBatch(batch: AppendBatch): Promise<void> {
    if (batch.start !== this.entries.length) throw conflict(batch.start, this.entries.length);
    batch.entries.forEach((entry, i) => this.entries.push({ index: batch.start + i, leaf: entry.leaf, leafHash: Buffer.from(entry.leafHash) }));
    for (const node of batch.nodes) this.nodes.set(`${node.level}/${node.index}`, Buffer.from(node.hash));
    for (const checkpoint of batch.checkpoints) this.checkpoints.push({ ...checkpoint });
  }

  async readEntries(start: number, end: number): Promise<StoredEntry[]> {
    checkRange(start, end);
    return this.entries.slice(start, end).map((e) => ({ ...e }));
  }

  async readLeafHashes(start: number, end: number): Promise<Uint8Array[]> {
    checkRange(start, end);
    return this.entries.slice(start, end).map((e) => e.leafHash);
  }

  async readNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    return ids.map((id) => {
      const found = id.level === 0 ? this.entries[id.index]?.leafHash : this.nodes.get(`${id.level}/${id.index}`);
      if (!found) throw missingNode(id);
      return found;
    });
  }

  async readCheckpoints(start: number, end: number): Promise<StoredCheckpoint[]> {
    checkRange(start, end);
    return this.checkpoints.filter((c) => c.size >= start && c.size < end).map((c) => ({ ...c }));
  }

  async writeLatestCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    this.latest = { ...checkpoint };
  }

  async readLatestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.latest ? { ...this.latest } : undefined;
  }

  /** Test hook: the raw rows, to simulate a tampering disk. */
  get rawEntries(): StoredEntry[] {
    return this.entries;
  }
}
