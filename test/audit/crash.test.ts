import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { exportAuditLog, SqliteAuditStore, verifyAuditExport, writeAuditExport } from '../../src/audit/index.js';
import { KEY, openLog, sampleEntry, workDir } from './helpers.js';

// A writer killed with SIGKILL in the middle of its appends leaves a database whose log reopens,
// carries on, and exports a log that verifies: a transaction is all or nothing, and the log's state
// is reloaded from what was committed.
const CHILD = `
import Database from 'better-sqlite3';
import { AuditLog, loadCheckpointSigner, SqliteAuditStore } from ${JSON.stringify(resolve('src/audit/index.ts'))};
const [path, pem, name] = process.argv.slice(2);
const db = new Database(path);
db.pragma('journal_mode = WAL');
const log = await AuditLog.open({ store: new SqliteAuditStore(db), signer: loadCheckpointSigner(pem, name), checkpointInterval: 10 });
let i = log.size;
process.stdout.write('ready\\n');
await Promise.all(Array.from({ length: 16 }, async () => { for (;;) await log.append({ writer: process.pid, n: i++ }); }));
`;

function countRows(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[], number>('SELECT COUNT(*) FROM audit_entries').pluck().get() ?? 0;
  } catch {
    return 0;
  } finally {
    db.close();
  }
}

async function killWhileAppending(script: string, path: string, atLeast: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, path, KEY.privateKeyPem, KEY.name], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ready, fail) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && ready());
    child.on('exit', (code) => fail(new Error(`the writer exited early (${code})`)));
  });
  const deadline = Date.now() + 60_000;
  while (countRows(path) < atLeast && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  await new Promise((done) => child.once('exit', done));
}

describe('a writer killed mid-append', () => {
  it('leaves a log that reopens, continues its chain and verifies (3 kills)', async () => {
    const dir = workDir('crash');
    const script = join(dir, 'writer.mts');
    writeFileSync(script, CHILD);
    const path = join(dir, 'registry.db');
    for (let round = 1; round <= 3; round++) await killWhileAppending(script, path, round * 200);
    const db = new Database(path);
    const log = await openLog(new SqliteAuditStore(db));
    assert.ok(log.size >= 600, `${log.size} entries survived`);
    await log.append(sampleEntry(0));
    const out = join(dir, 'audit.jsonl');
    await writeAuditExport(out, exportAuditLog(log));
    const result = await verifyAuditExport(out, { verifierKey: KEY.verifierKey });
    assert.equal(result.verified, true, result.failure?.message);
    assert.equal(result.entries, log.size);
    db.close();
  });
});
