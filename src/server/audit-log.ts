import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { exportAuditLog } from '../audit/export.js';
import { AuditLog } from '../audit/log.js';
import { generateCheckpointKey, loadCheckpointSigner } from '../audit/note.js';
import { SqliteAuditStore } from '../audit/sqlite-store.js';
import { CustodyError } from '../core/errors.js';
import { writeFileSafely } from '../core/safe-fs.js';
import type { AuditEntry } from '../registry/audit.js';
import type { AuditService } from './audit-service.js';

export interface ClosableAuditService extends AuditService {
  close(): Promise<void>;
  /** The underlying log (tests, offline tools). */
  readonly log: AuditLog;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CustodyError('IO_ERROR', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? ''}`, { cause: error });
  }
}

/**
 * The registry's audit log: the audit library's AuditLog over its SQLite store, in the registry's
 * database (same better-sqlite3 handle, tables prefixed audit_). The checkpoint key (Ed25519) and the
 * log's name (its origin) are generated into `<dataDir>/keys/` on first start; the verifier key is
 * written beside them for operators to hand to clients out of band.
 */
export async function openAuditLog(handle: BetterSqlite3.Database, dataDir: string, options: { checkpointInterval?: number; durable?: boolean } = {}): Promise<ClosableAuditService> {
  const keyPath = join(dataDir, 'keys', 'log.pem');
  const namePath = join(dataDir, 'keys', 'log.name');
  let pem = await readText(keyPath);
  let name = (await readText(namePath))?.trim();
  if (pem === undefined || name === undefined) {
    if (pem !== undefined || name !== undefined) throw new CustodyError('IO_ERROR', 'the data directory has half a checkpoint key (keys/log.pem and keys/log.name go together); restore both from a backup');
    name = `custody-registry/${randomBytes(6).toString('hex')}`;
    const pair = generateCheckpointKey(name);
    pem = pair.privateKeyPem;
    await writeFileSafely(namePath, `${name}\n`, { mode: 0o600, overwrite: false });
    await writeFileSafely(keyPath, pem, { mode: 0o600, overwrite: false });
  }
  const signer = loadCheckpointSigner(pem, name);
  await writeFileSafely(join(dataDir, 'keys', 'log.vkey'), `${signer.verifierKey}\n`, { mode: 0o644 });
  // Durable against a crash of the process either way (WAL); `durable` also survives a power loss, at
  // the price of an fsync per commit that blocks the event loop (better-sqlite3 is synchronous).
  const store = new SqliteAuditStore(handle, { durable: options.durable === true });
  const log = await AuditLog.open({ store, signer, ...(options.checkpointInterval === undefined ? {} : { checkpointInterval: options.checkpointInterval }) });
  const b64 = (hashes: readonly Uint8Array[]): string[] => hashes.map((h) => Buffer.from(h).toString('base64'));
  return {
    log,
    verifierKey: log.verifierKey,
    async append(entry: AuditEntry): Promise<void> {
      await log.append(entry);
    },
    async checkpoint() {
      const note = await log.checkpoint();
      return { size: Number(note.split('\n')[1]), note };
    },
    async consistencyProof(from: number, to: number) {
      return b64(await log.consistencyProof(from, to));
    },
    async inclusionProof(index: number, size: number) {
      const [row] = await log.readStoredEntries(index, index + 1);
      if (!row) throw new CustodyError('NOT_FOUND', `no audit entry ${index}`);
      return { leaf: row.leaf, proof: b64(await log.inclusionProof(index, size)) };
    },
    async leaves(start: number, end: number) {
      return (await log.readStoredEntries(start, end)).map((row) => ({ index: row.index, leaf: row.leaf }));
    },
    async size() {
      return log.size;
    },
    exportLines() {
      return exportAuditLog(log);
    },
    async close() {
      await log.close();
    },
  };
}
