import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  AUDIT_SQLITE_MIGRATIONS,
  AuditLog,
  canonicalJson,
  exportAuditLog,
  hashLeaf,
  loadCheckpointSigner,
  MAX_ENTRY_BYTES,
  MemoryAuditStore,
  migrateAuditSqlite,
  parseLeaf,
  SqliteAuditStore,
  verifyCheckpoint,
  verifyConsistency,
  verifyAuditExport,
  verifyInclusion,
  writeAuditExport,
  type AppendBatch,
  type AuditStore,
} from '../../src/audit/index.js';
import { isCustodyError, type ErrorCode } from '../../src/core/errors.js';
import { KEY, OTHER_KEY, openLog, sampleEntry, workDir } from './helpers.js';

const code = (expected: ErrorCode) => (error: unknown) => isCustodyError(error, expected);

function openDatabase(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  return db;
}

/** Runs the same behaviour against the memory store and a SQLite file in WAL mode. */
const STORES: [string, () => AuditStore][] = [
  ['memory', () => new MemoryAuditStore()],
  ['sqlite', () => new SqliteAuditStore(openDatabase(join(workDir('sqlite'), 'registry.db')))],
];

for (const [kind, makeStore] of STORES) {
  describe(`AuditLog over the ${kind} store`, () => {
    it('gives concurrent appends one ordered sequence: distinct indexes 0..n-1, each leaf chained to the one before', async () => {
      const log = await openLog(makeStore());
      const results = await Promise.all(Array.from({ length: 250 }, (_, i) => log.append(sampleEntry(i))));
      assert.deepEqual(results.map((r) => r.index), Array.from({ length: 250 }, (_, i) => i));
      assert.equal(log.size, 250);
      const records = await log.readEntries(0, 250);
      records.forEach((record, i) => {
        assert.deepEqual(record.entry, sampleEntry(i));
        assert.equal(record.leaf, `{"entry":${canonicalJson(sampleEntry(i))},"index":${i},"prev":"${i === 0 ? '' : (records[i - 1]?.leafHash.toString('base64') ?? '')}"}`);
        assert.deepEqual(record.leafHash, hashLeaf(record.leaf));
        assert.deepEqual(record.leafHash, results[i]?.leafHash);
      });
      const streamed = [];
      for await (const record of log.entries(100, 130)) streamed.push(record.index);
      assert.deepEqual(streamed, Array.from({ length: 30 }, (_, i) => 100 + i));
    });

    it('serves a checkpoint, inclusion proofs for every entry and consistency proofs between sizes that verify', async () => {
      const log = await openLog(makeStore());
      for (let i = 0; i < 37; i++) await log.append(sampleEntry(i));
      const note = await log.checkpoint();
      assert.equal(await log.checkpoint(), note, 'cached while the size stays');
      const checkpoint = verifyCheckpoint(note, KEY.verifierKey);
      assert.equal(checkpoint.size, 37);
      for (const record of await log.readEntries(0, 37)) verifyInclusion(record.leafHash, record.index, 37, await log.inclusionProof(record.index), checkpoint.root);
      for (const m of [1, 10, 20, 36, 37]) verifyConsistency(m, 37, await log.root(m), checkpoint.root, await log.consistencyProof(m));
      await log.append(sampleEntry(37));
      const next = verifyCheckpoint(await log.checkpoint(), KEY.verifierKey);
      assert.equal(next.size, 38);
      verifyConsistency(37, 38, checkpoint.root, next.root, await log.consistencyProof(37, 38));
      await assert.rejects(log.inclusionProof(0, 39), code('AUDIT_PROOF_INVALID'), 'beyond the committed size');
    });

    it('signs and stores a checkpoint every interval, inside the batch that reaches it', async () => {
      const store = makeStore();
      const log = await openLog(store, KEY, 10);
      await Promise.all(Array.from({ length: 35 }, (_, i) => log.append(sampleEntry(i))));
      const stored = await store.readCheckpoints(0, 100);
      assert.deepEqual(stored.map((c) => c.size), [10, 20, 30]);
      for (const c of stored) assert.deepEqual(verifyCheckpoint(c.note, KEY.verifierKey).root, await log.root(c.size));
    });

    it('refuses entries that are not JSON objects or are too large, without disturbing other appends', async () => {
      const log = await openLog(makeStore());
      const good = log.append({ ok: 1 });
      await assert.rejects(log.append([1, 2]), code('AUDIT_ENTRY_INVALID'));
      await assert.rejects(log.append('text'), code('AUDIT_ENTRY_INVALID'));
      await assert.rejects(log.append({ n: NaN }), code('AUDIT_ENTRY_INVALID'));
      await assert.rejects(log.append({ big: 'x'.repeat(MAX_ENTRY_BYTES) }), code('AUDIT_ENTRY_INVALID'));
      assert.equal((await log.append({ big: 'x'.repeat(MAX_ENTRY_BYTES - 20) })).index, 1, 'just under the limit');
      assert.equal((await good).index, 0);
    });

    it('reopens where it left off, checks the stored tree against its checkpoints, and continues the chain', async () => {
      const store = makeStore();
      const first = await openLog(store);
      for (let i = 0; i < 23; i++) await first.append(sampleEntry(i));
      const note = await first.checkpoint();
      const second = await openLog(store);
      assert.equal(second.size, 23);
      assert.equal(await second.checkpoint(), note);
      const appended = await second.append(sampleEntry(23));
      assert.equal(appended.index, 23);
      const [record] = await second.readEntries(23, 24);
      assert.deepEqual(parseLeaf(record?.leaf ?? '').prev, (await second.readEntries(22, 23))[0]?.leafHash);
    });
  });
}

/** Wraps a store to count batches and to fail on demand. */
class ObservedStore extends MemoryAuditStore {
  batches: number[] = [];
  failNext: Error | undefined;
  override async appendBatch(batch: AppendBatch): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve)); // a commit takes time, as a real one does
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    this.batches.push(batch.entries.length);
    return super.appendBatch(batch);
  }
}

describe('AuditLog appends', () => {
  it('groups concurrent appends into few transactions (group commit), in call order', async () => {
    const store = new ObservedStore();
    const log = await openLog(store);
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => log.append(sampleEntry(i))));
    assert.deepEqual(results.map((r) => r.index), Array.from({ length: 300 }, (_, i) => i));
    assert.ok(store.batches.length <= 3, `300 concurrent appends took ${store.batches.length} transactions`);
    await log.append(sampleEntry(300));
    assert.equal(store.batches.at(-1), 1, 'a lone append is its own batch');
  });

  it('rejects every append of a failed batch and keeps the log as it was; the next append goes on from there', async () => {
    const store = new ObservedStore();
    const log = await openLog(store);
    await log.append(sampleEntry(0));
    store.failNext = new Error('disk full');
    const failed = await Promise.allSettled([log.append(sampleEntry(1)), log.append(sampleEntry(2))]);
    assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected']);
    assert.equal(log.size, 1);
    assert.equal((await log.append(sampleEntry(3))).index, 1);
    const records = await log.readEntries(0, 2);
    assert.deepEqual(parseLeaf(records[1]?.leaf ?? '').prev, records[0]?.leafHash, 'the chain skips nothing');
  });

  it('keeps one sequence when two logs (two processes) append to the same store: a stale writer reloads and retries', async () => {
    const path = join(workDir('two-writers'), 'registry.db');
    const a = await openLog(new SqliteAuditStore(openDatabase(path)));
    const b = await openLog(new SqliteAuditStore(openDatabase(path)));
    const indexes = [];
    for (let i = 0; i < 20; i++) indexes.push((await (i % 2 === 0 ? a : b).append(sampleEntry(i))).index);
    assert.deepEqual(indexes, Array.from({ length: 20 }, (_, i) => i));
    const reader = await openLog(new SqliteAuditStore(openDatabase(path)));
    const records = await reader.readEntries(0, 20);
    records.forEach((record, i) => assert.deepEqual(parseLeaf(record.leaf).prev, i === 0 ? undefined : records[i - 1]?.leafHash));
  });

  it('waits for pending appends on close and flush', async () => {
    const log = await openLog(new ObservedStore());
    const pending = Array.from({ length: 5 }, (_, i) => log.append(sampleEntry(i)));
    await log.close();
    assert.equal(log.size, 5);
    await Promise.all(pending);
  });
});

describe('SqliteAuditStore', () => {
  it('is durable: an append that resolved is visible to a fresh connection, with synchronous = FULL', async () => {
    const path = join(workDir('durable'), 'registry.db');
    const db = openDatabase(path);
    const log = await openLog(new SqliteAuditStore(db));
    assert.equal(db.pragma('synchronous', { simple: true }), 2);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    await log.append(sampleEntry(0));
    const other = new Database(path, { readonly: true });
    assert.equal(other.prepare('SELECT COUNT(*) FROM audit_entries').pluck().get(), 1);
    other.close();
  });

  it('creates only audit_ tables, idempotently, and refuses a schema newer than it knows', () => {
    const db = new Database(':memory:');
    migrateAuditSqlite(db);
    migrateAuditSqlite(db);
    new SqliteAuditStore(db);
    const tables = db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    assert.ok(tables.length >= 5 && tables.every((t) => t.startsWith('audit_')), tables.join(', '));
    assert.equal(db.prepare("SELECT value FROM audit_meta WHERE key = 'schema_version'").pluck().get(), String(AUDIT_SQLITE_MIGRATIONS.at(-1)?.version));
    db.prepare("UPDATE audit_meta SET value = '999' WHERE key = 'schema_version'").run();
    assert.throws(() => migrateAuditSqlite(db), code('AUDIT_STORE_CORRUPT'));
  });
});

describe('key rotation', () => {
  it('exports after a rotation verify with the new key; a stored tree that no longer matches an old checkpoint is not re-signed', async () => {
    const store = new MemoryAuditStore();
    const old = await openLog(store, KEY, 10);
    for (let i = 0; i < 25; i++) await old.append(sampleEntry(i));
    await old.checkpoint();
    const rotated = await openLog(store, OTHER_KEY, 10);
    const path = join(workDir('rotation'), 'audit.jsonl');
    await writeAuditExport(path, exportAuditLog(rotated));
    assert.equal((await verifyAuditExport(path, { verifierKey: OTHER_KEY.verifierKey })).verified, true);
    const [node] = await store.readNodes([{ level: 1, index: 4 }]);
    node?.fill(0); // leaves 8 and 9, under the checkpoint of size 10 that the old key signed
    await assert.rejects(writeAuditExport(join(workDir('rotation'), 'again.jsonl'), exportAuditLog(rotated)), code('AUDIT_STORE_CORRUPT'));
  });
});

describe('a tampering disk', () => {
  it('an altered row is refused when read (AUDIT_STORE_CORRUPT), naming the entry', async () => {
    const store = new MemoryAuditStore();
    const log = await openLog(store);
    for (let i = 0; i < 5; i++) await log.append(sampleEntry(i));
    const row = store.rawEntries[3];
    assert.ok(row);
    row.leaf = row.leaf.replace('user-3', 'user-4');
    const error = await log.readEntries(0, 5).then(() => undefined, (e: unknown) => e);
    assert.ok(isCustodyError(error, 'AUDIT_STORE_CORRUPT'));
    assert.equal(error.details?.['index'], 3);
  });

  it('removed trailing rows or a missing subtree stop the log from opening or proving (AUDIT_STORE_CORRUPT)', async () => {
    const path = join(workDir('truncated'), 'registry.db');
    const db = openDatabase(path);
    const log = await openLog(new SqliteAuditStore(db));
    for (let i = 0; i < 12; i++) await log.append(sampleEntry(i));
    await log.checkpoint();
    db.prepare('DELETE FROM audit_entries WHERE idx >= 10').run();
    await assert.rejects(openLog(new SqliteAuditStore(db)), code('AUDIT_STORE_CORRUPT'), 'rolled back under the latest checkpoint');
    db.prepare('DELETE FROM audit_nodes WHERE level = 2').run();
    await assert.rejects(log.inclusionProof(1, 12), code('AUDIT_STORE_CORRUPT'), 'a subtree hash is missing');
  });

  it('a subtree hash altered on disk no longer matches the signed checkpoint at reopen', async () => {
    const db = new Database(':memory:');
    const log = await openLog(new SqliteAuditStore(db));
    for (let i = 0; i < 16; i++) await log.append(sampleEntry(i));
    await log.checkpoint();
    db.prepare('UPDATE audit_nodes SET hash = zeroblob(32) WHERE level = 4').run();
    await assert.rejects(AuditLog.open({ store: new SqliteAuditStore(db), signer: loadCheckpointSigner(KEY.privateKeyPem, KEY.name) }), code('AUDIT_STORE_CORRUPT'));
  });
});
