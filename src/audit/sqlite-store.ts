import type Database from 'better-sqlite3';
import { CustodyError } from '../core/errors.js';
import type { NodeId } from './merkle.js';
import { checkRange, conflict, missingNode, type AppendBatch, type AuditStore, type StoredCheckpoint, type StoredEntry } from './store.js';

/**
 * AuditStore over a better-sqlite3 handle that the caller opened (the registry opens one database file
 * in WAL mode and shares it). Tables are prefixed `audit_`; AUDIT_SQLITE_MIGRATIONS creates them with
 * CREATE … IF NOT EXISTS, so running it again (here, at construction, or from the registry's own
 * migration runner) is harmless.
 *
 * Durability: an append resolves after its transaction committed with `PRAGMA synchronous = FULL`
 * (fsync of the WAL at commit). The store sets FULL on the handle unless told `durable: false`.
 * better-sqlite3 is synchronous, so a commit holds the event loop for its fsync; AuditLog groups
 * concurrent appends into one transaction so that one fsync serves them all.
 */

export interface AuditMigration {
  version: number;
  name: string;
  /** Idempotent SQL (CREATE … IF NOT EXISTS). */
  sql: string;
}

export const AUDIT_SQLITE_MIGRATIONS: readonly AuditMigration[] = [
  {
    version: 1,
    name: 'audit log: entries, complete subtrees, checkpoints',
    sql: `
CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_entries (idx INTEGER PRIMARY KEY, leaf TEXT NOT NULL, leaf_hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_latest_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, note TEXT NOT NULL);
`,
  },
];

/** Runs every audit migration newer than the one recorded in audit_meta, in one transaction. */
export function migrateAuditSqlite(db: Database.Database): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID');
    const recorded = db.prepare<[], string>("SELECT value FROM audit_meta WHERE key = 'schema_version'").pluck().get();
    const current = recorded === undefined ? 0 : Number(recorded);
    const latest = AUDIT_SQLITE_MIGRATIONS[AUDIT_SQLITE_MIGRATIONS.length - 1]?.version ?? 0;
    if (!Number.isSafeInteger(current) || current > latest) throw new CustodyError('AUDIT_STORE_CORRUPT', `the audit tables are at schema version ${String(recorded)}, newer than this build knows (${latest})`);
    for (const migration of AUDIT_SQLITE_MIGRATIONS) if (migration.version > current) db.exec(migration.sql);
    db.prepare("INSERT INTO audit_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(latest));
  }).immediate();
}

export interface SqliteAuditStoreOptions {
  /** Run AUDIT_SQLITE_MIGRATIONS at construction (default true). */
  migrate?: boolean;
  /** Set `PRAGMA synchronous = FULL` so a resolved append is on disk (default true). */
  durable?: boolean;
}

interface EntryRow {
  idx: number;
  leaf: string;
  leaf_hash: Buffer;
}

export class SqliteAuditStore implements AuditStore {
  private readonly db: Database.Database;
  private readonly sizeStatement: Database.Statement<[], number>;
  private readonly insertEntry: Database.Statement<[number, string, Uint8Array]>;
  private readonly insertNode: Database.Statement<[number, number, Uint8Array]>;
  private readonly insertCheckpoint: Database.Statement<[number, string]>;
  private readonly selectEntries: Database.Statement<[number, number], EntryRow>;
  private readonly selectLeafHashes: Database.Statement<[number, number], Buffer>;
  private readonly selectLeafHash: Database.Statement<[number], Buffer>;
  private readonly selectNode: Database.Statement<[number, number], Buffer>;
  private readonly selectCheckpoints: Database.Statement<[number, number], StoredCheckpoint>;
  private readonly upsertLatest: Database.Statement<[number, string]>;
  private readonly selectLatest: Database.Statement<[], StoredCheckpoint>;
  private readonly appendTransaction: (batch: AppendBatch) => void;

  constructor(db: Database.Database, options: SqliteAuditStoreOptions = {}) {
    this.db = db;
    if (options.durable !== false && !db.memory) db.pragma('synchronous = FULL');
    if (options.migrate !== false) migrateAuditSqlite(db);
    this.sizeStatement = db.prepare<[], number>('SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_entries').pluck();
    this.insertEntry = db.prepare('INSERT INTO audit_entries (idx, leaf, leaf_hash) VALUES (?, ?, ?)');
    this.insertNode = db.prepare('INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)');
    this.insertCheckpoint = db.prepare('INSERT INTO audit_checkpoints (size, note) VALUES (?, ?)');
    this.selectEntries = db.prepare<[number, number], EntryRow>('SELECT idx, leaf, leaf_hash FROM audit_entries WHERE idx >= ? AND idx < ? ORDER BY idx');
    this.selectLeafHashes = db.prepare<[number, number], Buffer>('SELECT leaf_hash FROM audit_entries WHERE idx >= ? AND idx < ? ORDER BY idx').pluck();
    this.selectLeafHash = db.prepare<[number], Buffer>('SELECT leaf_hash FROM audit_entries WHERE idx = ?').pluck();
    this.selectNode = db.prepare<[number, number], Buffer>('SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?').pluck();
    this.selectCheckpoints = db.prepare<[number, number], StoredCheckpoint>('SELECT size, note FROM audit_checkpoints WHERE size >= ? AND size < ? ORDER BY size');
    this.upsertLatest = db.prepare('INSERT INTO audit_latest_checkpoint (id, size, note) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note');
    this.selectLatest = db.prepare<[], StoredCheckpoint>('SELECT size, note FROM audit_latest_checkpoint WHERE id = 1');
    const append = (batch: AppendBatch): void => {
      const size = this.sizeStatement.get() ?? 0;
      if (size !== batch.start) throw conflict(batch.start, size);
      batch.entries.forEach((entry, i) => this.insertEntry.run(batch.start + i, entry.leaf, entry.leafHash));
      for (const node of batch.nodes) this.insertNode.run(node.level, node.index, node.hash);
      for (const checkpoint of batch.checkpoints) this.insertCheckpoint.run(checkpoint.size, checkpoint.note);
    };
    const transaction = db.transaction(append);
    this.appendTransaction = (batch) => transaction.immediate(batch);
  }

  async readSize(): Promise<number> {
    return this.sizeStatement.get() ?? 0;
  }

  async appendBatch(batch: AppendBatch): Promise<void> {
    this.appendTransaction(batch);
  }

  async readEntries(start: number, end: number): Promise<StoredEntry[]> {
    checkRange(start, end);
    return this.selectEntries.all(start, end).map((row) => ({ index: row.idx, leaf: row.leaf, leafHash: row.leaf_hash }));
  }

  async readLeafHashes(start: number, end: number): Promise<Uint8Array[]> {
    checkRange(start, end);
    return this.selectLeafHashes.all(start, end);
  }

  async readNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    return ids.map((id) => {
      const found = id.level === 0 ? this.selectLeafHash.get(id.index) : this.selectNode.get(id.level, id.index);
      if (!found) throw missingNode(id);
      return found;
    });
  }

  async readCheckpoints(start: number, end: number): Promise<StoredCheckpoint[]> {
    checkRange(start, end);
    return this.selectCheckpoints.all(start, end);
  }

  async writeLatestCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    this.upsertLatest.run(checkpoint.size, checkpoint.note);
  }

  async readLatestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.selectLatest.get();
  }
}
