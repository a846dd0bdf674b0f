import { CustodyError, isCustodyError } from '../core/errors.js';
import { buildLeaf, canonicalEntry, parseLeaf } from './envelope.js';
import { CompactRange, consistencyProof, decomposeRange, hashLeaf, inclusionProof, rootAt, type StoredNode } from './merkle.js';
import { openNote, parseCheckpointText, parseNote, parseVerifierKey, signCheckpoint, type NoteSigner } from './note.js';
import type { AuditStore, StoredCheckpoint, StoredEntry } from './store.js';

/**
 * The audit log: one ordered sequence of entries in an RFC 6962 Merkle tree over an AuditStore.
 *
 * `append` is safe under concurrent callers. Calls made while a commit is running are queued and
 * committed together in the next transaction (group commit: one fsync for many entries); each promise
 * resolves with the entry's index and leaf hash once its transaction is durable, or rejects and leaves
 * the log as it was. The tree's right edge (a compact range) is kept in memory; every finished
 * complete subtree is stored with the entries, so proofs and roots at any size are O(log n) reads.
 */

export interface AuditLogOptions {
  store: AuditStore;
  /** Signs checkpoints; its key name is the log's origin. */
  signer: NoteSigner;
  /** Sign and store a checkpoint every this many entries (default 1000); exports carry them. */
  checkpointInterval?: number;
  /** Most entries committed in one transaction (default 1000). */
  maxBatchEntries?: number;
}

export interface AppendResult {
  index: number;
  leafHash: Buffer;
}

export interface AuditRecord {
  index: number;
  /** The registry's entry, as appended (parsed from the stored canonical JSON). */
  entry: unknown;
  /** The leaf text: canonical JSON of {entry, index, prev}. */
  leaf: string;
  leafHash: Buffer;
}

interface Pending {
  json: string;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

export const DEFAULT_CHECKPOINT_INTERVAL = 1000;
const DEFAULT_MAX_BATCH = 1000;
const CONFLICT_RETRIES = 8;
const READ_PAGE = 4096;

export class AuditLog {
  readonly origin: string;
  readonly checkpointInterval: number;
  private readonly store: AuditStore;
  private readonly signer: NoteSigner;
  private readonly maxBatch: number;
  private range: CompactRange;
  private lastLeafHash: Buffer | undefined;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private latest: StoredCheckpoint | undefined;

  private constructor(options: AuditLogOptions, range: CompactRange, lastLeafHash: Buffer | undefined, latest: StoredCheckpoint | undefined) {
    this.store = options.store;
    this.signer = options.signer;
    this.origin = options.signer.name;
    this.checkpointInterval = options.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL;
    this.maxBatch = options.maxBatchEntries ?? DEFAULT_MAX_BATCH;
    if (!Number.isSafeInteger(this.checkpointInterval) || this.checkpointInterval < 1) throw new CustodyError('USAGE', 'checkpointInterval must be a positive integer');
    if (!Number.isSafeInteger(this.maxBatch) || this.maxBatch < 1) throw new CustodyError('USAGE', 'maxBatchEntries must be a positive integer');
    this.range = range;
    this.lastLeafHash = lastLeafHash;
    this.latest = latest;
  }

  /**
   * Opens the log over a store: loads the right edge of the tree from stored subtrees and checks that
   * the stored tree still matches the latest checkpoints it signed (AUDIT_STORE_CORRUPT otherwise).
   */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const { range, lastLeafHash } = await loadState(options.store);
    const latest = await options.store.readLatestCheckpoint();
    const log = new AuditLog(options, range, lastLeafHash, latest);
    const lastInterval = Math.floor(range.size / log.checkpointInterval) * log.checkpointInterval;
    for (const checkpoint of lastInterval > 0 ? await options.store.readCheckpoints(lastInterval, lastInterval + 1) : []) await log.checkStoredCheckpoint(checkpoint);
    // The latest checkpoint is served again only if this key signed it (not after a key rotation).
    if (latest && !(await log.checkStoredCheckpoint(latest))) log.latest = undefined;
    return log;
  }

  /** Entries committed (durable). */
  get size(): number {
    return this.range.size;
  }

  /** The verifier key of the checkpoint signer (`name+hex+base64`). */
  get verifierKey(): string {
    return this.signer.verifierKey;
  }

  /** Appends one entry (a JSON object); resolves when it is durable. AUDIT_ENTRY_INVALID for a bad entry. */
  append(entry: unknown): Promise<AppendResult> {
    let json: string;
    try {
      json = canonicalEntry(entry);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ json, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Resolves when every append made before this call has been committed or rejected. */
  async flush(): Promise<void> {
    while (this.flushing || this.queue.length > 0) {
      this.scheduleFlush();
      await this.flushing;
    }
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    // setImmediate lets every append made in this turn of the event loop join the batch.
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const results = await this.commit(batch);
          batch.forEach((pending, i) => pending.resolve(results[i] as AppendResult));
        } catch (error) {
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async commit(batch: readonly Pending[]): Promise<AppendResult[]> {
    for (let attempt = 0; ; attempt++) {
      const start = this.range.size;
      const range = this.range.copy();
      let prev = this.lastLeafHash;
      const entries: { leaf: string; leafHash: Buffer }[] = [];
      const nodes: StoredNode[] = [];
      const checkpoints: StoredCheckpoint[] = [];
      const results: AppendResult[] = [];
      for (const pending of batch) {
        const index = range.size;
        const leaf = buildLeaf(pending.json, index, prev);
        const leafHash = hashLeaf(leaf);
        nodes.push(...range.append(leafHash));
        entries.push({ leaf, leafHash });
        results.push({ index, leafHash });
        prev = leafHash;
        if (range.size % this.checkpointInterval === 0) checkpoints.push({ size: range.size, note: this.sign(range.size, range.root()) });
      }
      try {
        await this.store.appendBatch({ start, entries, nodes, checkpoints });
      } catch (error) {
        // The store may hold more than we knew (another writer) or be in a state we cannot assume:
        // reload before anything else is appended, then retry a conflict from the new size.
        await this.reload();
        if (isCustodyError(error, 'AUDIT_CONFLICT') && attempt < CONFLICT_RETRIES) continue;
        throw error;
      }
      this.range = range;
      this.lastLeafHash = prev;
      return results;
    }
  }

  private async reload(): Promise<void> {
    const state = await loadState(this.store);
    this.range = state.range;
    this.lastLeafHash = state.lastLeafHash;
  }

  private sign(size: number, root: Buffer): string {
    return signCheckpoint({ origin: this.origin, size, root, extensions: [] }, this.signer);
  }

  /**
   * A signed checkpoint (C2SP tlog-checkpoint note) for the current committed size. Signed once per
   * size and cached; the latest one is stored so a restart can check the tree against it.
   */
  async checkpoint(): Promise<string> {
    const size = this.range.size;
    if (this.latest && this.latest.size === size) return this.latest.note;
    const note = this.sign(size, this.range.root());
    if (!this.latest || this.latest.size < size) {
      this.latest = { size, note };
      await this.store.writeLatestCheckpoint(this.latest);
    }
    return note;
  }

  /** A signed checkpoint for an earlier size, signed now from the stored tree (exports). */
  async checkpointAt(size: number): Promise<string> {
    if (size === this.size) return this.checkpoint();
    return this.sign(size, await this.root(size));
  }

  /**
   * The interval checkpoint of `size` for an export: the one stored when that size was reached if it
   * is signed by the current key; if it was signed by an earlier key (a rotation), or none was stored
   * (the interval changed), one signed now — but only after checking that the stored tree still has
   * the root the stored checkpoint signed (AUDIT_STORE_CORRUPT otherwise: an export must not launder a
   * tree altered on disk).
   */
  async intervalCheckpoint(size: number, stored: string | undefined): Promise<string> {
    if (stored === undefined) return this.checkpointAt(size);
    const own = parseVerifierKey(this.signer.verifierKey);
    try {
      openNote(stored, [own]);
      return stored;
    } catch (error) {
      if (!isCustodyError(error, 'KEY_UNTRUSTED')) throw new CustodyError('AUDIT_STORE_CORRUPT', `the stored checkpoint of size ${size} does not verify`, { cause: error });
    }
    const signed = parseCheckpointText(parseNote(stored).text);
    if (signed.size !== size || !signed.root.equals(await this.root(size))) throw new CustodyError('AUDIT_STORE_CORRUPT', `the stored tree no longer matches the checkpoint signed at size ${size}`, { details: { size } });
    return this.checkpointAt(size);
  }

  /** MTH of the first `size` entries (default: all committed). */
  async root(size = this.size): Promise<Buffer> {
    this.checkSize(size);
    return size === this.size ? this.range.root() : rootAt(this.store, size);
  }

  /** Inclusion proof of entry `index` in the tree of `size` entries (default: all committed). */
  async inclusionProof(index: number, size = this.size): Promise<Buffer[]> {
    this.checkSize(size);
    return inclusionProof(this.store, index, size);
  }

  /** Consistency proof from the tree of `m` entries to the tree of `n` (default: all committed). */
  async consistencyProof(m: number, n = this.size): Promise<Buffer[]> {
    this.checkSize(n);
    return consistencyProof(this.store, m, n);
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) throw new CustodyError('AUDIT_PROOF_INVALID', `the log has ${this.size} entries; size ${String(size)} is not available`, { details: { size: this.size } });
  }

  /**
   * Entries [start, end) (end clamped to the committed size), each checked against its stored leaf
   * hash and position (AUDIT_STORE_CORRUPT when a row was altered on disk).
   */
  async readEntries(start: number, end: number): Promise<AuditRecord[]> {
    const stop = Math.min(end, this.size);
    if (start >= stop) return [];
    const rows = await this.store.readEntries(start, stop);
    return rows.map(toRecord);
  }

  /** Entries [start, end) in pages, for range scans (query helpers, exports) in bounded memory. */
  async *entries(start = 0, end = this.size): AsyncGenerator<AuditRecord> {
    const stop = Math.min(end, this.size);
    for (let page = start; page < stop; page += READ_PAGE) yield* await this.readEntries(page, Math.min(page + READ_PAGE, stop));
  }

  /** The raw stored rows [start, end) without parsing (exports). */
  async readStoredEntries(start: number, end: number): Promise<StoredEntry[]> {
    const stop = Math.min(end, this.size);
    return start >= stop ? [] : this.store.readEntries(start, stop);
  }

  /** Interval checkpoints with size in [start, end). */
  async readCheckpoints(start: number, end: number): Promise<StoredCheckpoint[]> {
    return this.store.readCheckpoints(start, end);
  }

  /** Waits for pending appends. The store's handle belongs to the caller, who closes it. */
  async close(): Promise<void> {
    await this.flush();
  }

  /** Checks a stored checkpoint against the stored tree; true when the current key signed it. */
  private async checkStoredCheckpoint(stored: StoredCheckpoint): Promise<boolean> {
    let parsed;
    try {
      parsed = parseCheckpointText(parseNote(stored.note).text);
    } catch (error) {
      throw new CustodyError('AUDIT_STORE_CORRUPT', `the stored checkpoint of size ${stored.size} is not a checkpoint note`, { cause: error });
    }
    let ownKey = true;
    try {
      openNote(stored.note, [parseVerifierKey(this.signer.verifierKey)]);
    } catch (error) {
      // A checkpoint signed by an earlier key (after a rotation) is still checked against the tree.
      if (!isCustodyError(error, 'KEY_UNTRUSTED')) throw new CustodyError('AUDIT_STORE_CORRUPT', `the stored checkpoint of size ${stored.size} does not verify`, { cause: error });
      ownKey = false;
    }
    if (parsed.size !== stored.size || parsed.size > this.size) {
      throw new CustodyError('AUDIT_STORE_CORRUPT', `the store holds ${this.size} entries but a checkpoint it signed covers ${parsed.size} (entries were removed)`, { details: { size: this.size, checkpoint: parsed.size } });
    }
    const root = await rootAt(this.store, parsed.size);
    if (!root.equals(parsed.root)) throw new CustodyError('AUDIT_STORE_CORRUPT', `the stored tree no longer matches the checkpoint it signed at size ${parsed.size}`, { details: { size: parsed.size } });
    return ownKey;
  }
}

async function loadState(store: AuditStore): Promise<{ range: CompactRange; lastLeafHash: Buffer | undefined }> {
  const size = await store.readSize();
  const hashes = size === 0 ? [] : await store.readNodes(decomposeRange(0, size));
  const range = new CompactRange(size, hashes);
  const [last] = size === 0 ? [] : await store.readLeafHashes(size - 1, size);
  if (size > 0 && last === undefined) throw new CustodyError('AUDIT_STORE_CORRUPT', `the audit store reports ${size} entries but has no entry ${size - 1}`);
  return { range, lastLeafHash: last === undefined ? undefined : Buffer.from(last) };
}

function toRecord(row: StoredEntry): AuditRecord {
  const leafHash = hashLeaf(row.leaf);
  if (!leafHash.equals(row.leafHash)) throw new CustodyError('AUDIT_STORE_CORRUPT', `stored entry ${row.index} does not match its leaf hash (altered on disk)`, { details: { index: row.index } });
  const parsed = parseLeaf(row.leaf);
  if (parsed.index !== row.index) throw new CustodyError('AUDIT_STORE_CORRUPT', `stored entry ${row.index} claims index ${parsed.index}`, { details: { index: row.index } });
  return { index: row.index, entry: parsed.entry, leaf: row.leaf, leafHash };
}
