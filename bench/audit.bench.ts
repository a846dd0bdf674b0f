// The audit log: sustained durable appends through the SQLite store, and `custody audit verify` over a
// 1,000,000-entry export as a whole CLI process.
//
// Targets (issue 10): ≥ 2,000 audit appends/s sustained with durability on (WAL, synchronous = FULL:
// each commit fsyncs), and verifying an exported log of 1,000,000 entries in < 10 s, start-up included.
// Baselines measured in the same run: raw SQLite inserts of the same leaf rows (one durable transaction
// per row, and transactions of the same group size as our appenders), and `sha256sum` reading and
// hashing the export file once. Proof latency at 1,000,000 entries is reported against one SQLite point
// read (the unit a proof costs O(log n) of).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AuditLog, exportAuditLog, generateCheckpointKey, hashLeaf, loadCheckpointSigner, SqliteAuditStore, verifyCheckpoint, writeAuditExport } from '../src/audit/index.js';
import { cpus, loadavg } from 'node:os';
import { canMeasureCli } from './cli-process.js';

const VERSION = 'audit-bench-2';
const WORK = resolve('bench', '.work', 'audit');
const BIG = 1_000_000;
const CONCURRENCY = 64;
const APPENDS = 20_000;
const SERIAL_APPENDS = 300;

function entry(i: number): Record<string, unknown> {
  return {
    action: ['model.pull', 'model.push', 'token.issue', 'login', 'dataset.read'][i % 5],
    actor: { id: `acct_${(i * 7919) % 5000}`, kind: i % 3 === 0 ? 'service' : 'user' },
    decision: i % 17 === 0 ? 'deny' : 'allow',
    reason: i % 17 === 0 ? 'role trainer may not read project fraud-detection' : undefined,
    request: `req_${i.toString(36).padStart(10, '0')}`,
    resource: { project: `proj-${i % 40}`, model: `model-${i % 300}`, version: `sha256:${hashLeaf(String(i % 9000)).toString('hex')}` },
    time: new Date(1_750_000_000_000 + i * 250).toISOString(),
  };
}

function openDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  return db;
}

function freshDb(name: string): Database.Database {
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(WORK, `${name}${suffix}`), { force: true });
  return openDb(join(WORK, name));
}

async function appendsPerSecond(concurrency: number, total: number): Promise<number> {
  const db = freshDb(`appends-${concurrency}.db`);
  const key = generateCheckpointKey('bench.example/audit');
  const log = await AuditLog.open({ store: new SqliteAuditStore(db), signer: loadCheckpointSigner(key.privateKeyPem, key.name) });
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await log.append(entry(next++));
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  if (log.size !== total) throw new Error(`appended ${log.size} of ${total}`);
  db.close();
  return total / seconds;
}

/** Raw inserts of the same leaf rows into a table like audit_entries, `group` rows per durable transaction. */
function rawInsertsPerSecond(group: number, total: number): number {
  const db = freshDb(`raw-${group}.db`);
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE rows (idx INTEGER PRIMARY KEY, leaf TEXT NOT NULL, leaf_hash BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO rows (idx, leaf, leaf_hash) VALUES (?, ?, ?)');
  const rows = Array.from({ length: total }, (_, i) => {
    const leaf = JSON.stringify({ entry: entry(i), index: i });
    return [i, leaf, hashLeaf(leaf)] as const;
  });
  const commit = db.transaction((slice: (typeof rows)[number][]) => {
    for (const row of slice) insert.run(...row);
  });
  const start = performance.now();
  for (let i = 0; i < total; i += group) commit(rows.slice(i, i + group));
  const seconds = (performance.now() - start) / 1000;
  db.close();
  return total / seconds;
}

interface BigExport {
  path: string;
  verifierKey: string;
  bytes: number;
  buildSeconds: number;
  exportSeconds: number;
}

/** A 1,000,000-entry log in SQLite and its export (kept in bench/.work between runs). */
async function bigExport(): Promise<BigExport> {
  const stamp = join(WORK, 'big.stamp');
  const path = join(WORK, 'big-export.jsonl');
  if (existsSync(stamp) && existsSync(path)) {
    const saved = JSON.parse(readFileSync(stamp, 'utf8')) as BigExport & { version: string };
    if (saved.version === VERSION) return { ...saved, path };
  }
  const db = freshDb('big.db');
  const key = generateCheckpointKey('bench.example/audit');
  writeFileSync(join(WORK, 'big-key.pem'), key.privateKeyPem, { mode: 0o600 });
  const log = await AuditLog.open({ store: new SqliteAuditStore(db, { durable: false }), signer: loadCheckpointSigner(key.privateKeyPem, key.name) });
  let start = performance.now();
  for (let wave = 0; wave < BIG; wave += 1000) await Promise.all(Array.from({ length: 1000 }, (_, i) => log.append(entry(wave + i))));
  const buildSeconds = (performance.now() - start) / 1000;
  rmSync(path, { force: true });
  start = performance.now();
  await writeAuditExport(path, exportAuditLog(log));
  const exportSeconds = (performance.now() - start) / 1000;
  db.close();
  const result = { path, verifierKey: key.verifierKey, bytes: statSync(path).size, buildSeconds, exportSeconds };
  writeFileSync(stamp, JSON.stringify({ ...result, version: VERSION }));
  return result;
}

async function proofMicros(): Promise<{ inclusion: number; consistency: number; pointRead: number }> {
  const db = openDb(join(WORK, 'big.db'));
  const pem = readFileSync(join(WORK, 'big-key.pem'), 'utf8');
  const log = await AuditLog.open({ store: new SqliteAuditStore(db, { durable: false, migrate: false }), signer: loadCheckpointSigner(pem, 'bench.example/audit') });
  if (log.size !== BIG) throw new Error(`the big log holds ${log.size} entries`);
  const checkpoint = verifyCheckpoint(await log.checkpoint(), log.verifierKey);
  const rounds = 2000;
  let start = performance.now();
  for (let i = 0; i < rounds; i++) await log.inclusionProof((i * 7_919_993) % BIG);
  const inclusion = ((performance.now() - start) * 1000) / rounds;
  start = performance.now();
  for (let i = 0; i < rounds; i++) await log.consistencyProof(1 + ((i * 7_919_993) % (BIG - 1)));
  const consistency = ((performance.now() - start) * 1000) / rounds;
  const read = db.prepare('SELECT leaf_hash FROM audit_entries WHERE idx = ?').pluck();
  start = performance.now();
  for (let i = 0; i < rounds * 10; i++) read.get((i * 7_919_993) % BIG);
  const pointRead = ((performance.now() - start) * 1000) / (rounds * 10);
  if (checkpoint.size !== BIG) throw new Error('unexpected checkpoint');
  db.close();
  return { inclusion, consistency, pointRead };
}

/** Wall time, CPU time (user + system) and peak RSS of a whole process, from /usr/bin/time. */
function measure(args: readonly string[]): { seconds: number; cpu: number; rssMb: number; status: number | null } {
  const run = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const [wall, user, system, kb] = (run.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
  return { seconds: wall ?? NaN, cpu: (user ?? NaN) + (system ?? NaN), rssMb: (kb ?? NaN) / 1024, status: run.status };
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const rawSingle = rawInsertsPerSecond(1, SERIAL_APPENDS);
  const rawGrouped = rawInsertsPerSecond(CONCURRENCY, APPENDS);
  const serial = await appendsPerSecond(1, SERIAL_APPENDS);
  const concurrent = await appendsPerSecond(CONCURRENCY, APPENDS);

  const big = await bigExport();
  const proofs = await proofMicros();
  const lines = [
    '## Audit log (bench/audit.bench.ts)',
    '',
    `Target: ≥ 2,000 audit appends/s sustained through the SQLite store with durability on (WAL, \`synchronous = FULL\`: every commit is fsynced before its appends resolve), and \`custody audit verify\` of a ${BIG.toLocaleString('en')}-entry export in < 10 s as a whole CLI process.`,
    '',
    '| appends (SQLite file, WAL, synchronous = FULL) | rows/s | ratio |',
    '|---|---|---|',
    `| raw INSERT of the same leaf rows, one durable transaction per row (baseline) | ${rawSingle.toFixed(0)} | 1.00 |`,
    `| raw INSERT, transactions of ${CONCURRENCY} rows | ${rawGrouped.toFixed(0)} | ${(rawGrouped / rawSingle).toFixed(1)} |`,
    `| AuditLog.append, 1 appender (${SERIAL_APPENDS} appends) | ${serial.toFixed(0)} | ${(serial / rawSingle).toFixed(2)} |`,
    `| AuditLog.append, ${CONCURRENCY} concurrent appenders (${APPENDS.toLocaleString('en')} appends, group commit) | **${concurrent.toFixed(0)}** | ${(concurrent / rawSingle).toFixed(1)} (${(concurrent / rawGrouped).toFixed(2)} of raw grouped) |`,
    '',
    'An append canonicalises the entry (RFC 8785), builds its envelope, hashes it, merges the compact range, stores the entry and the subtrees it completes, and signs a checkpoint every 1,000 entries, all in the transaction that its group shares.',
    '',
  ];
  if (canMeasureCli()) {
    const load = loadavg()[0] ?? 0;
    const sha = measure(['sha256sum', big.path]);
    const verify = measure([process.execPath, 'bin/custody', 'audit', 'verify', big.path, '--key', big.verifierKey]);
    lines.push(
      `| ${BIG.toLocaleString('en')}-entry export (${(big.bytes / 1e6).toFixed(0)} MB; built in ${big.buildSeconds.toFixed(1)} s, exported in ${big.exportSeconds.toFixed(1)} s) | wall time | CPU time | peak RSS | ratio (wall) |`,
      '|---|---|---|---|---|',
      `| \`sha256sum\` of the file (baseline: read and hash every byte once) | ${sha.seconds.toFixed(2)} s | ${sha.cpu.toFixed(2)} s | ${sha.rssMb.toFixed(0)} MB | 1.00 |`,
      `| \`custody audit verify FILE --key …\` (whole process, start-up included; exit ${verify.status}) | **${verify.seconds.toFixed(2)} s** | ${verify.cpu.toFixed(2)} s | ${verify.rssMb.toFixed(0)} MB | ${(verify.seconds / sha.seconds).toFixed(2)} |`,
      '',
      `The verifier is one thread: on an otherwise idle machine its wall time is its CPU time. Load average when measured: ${load.toFixed(1)} on ${cpus().length} cores.`,
      '',
    );
    lines.push(`Bars: appends ≥ 2,000/s — ${concurrent >= 2000 ? 'met' : 'NOT met'}; verify < 10 s — ${verify.seconds < 10 && verify.status === 0 ? 'met' : `NOT met in wall time${verify.cpu < 10 && verify.status === 0 ? ' (met in CPU time)' : ''}`}.`, '');
  } else {
    lines.push('The CLI figures need the built CLI and /usr/bin/time (`npm run bench` builds first).', '');
  }
  lines.push(
    `Proofs at ${BIG.toLocaleString('en')} entries (SQLite store): inclusion ${proofs.inclusion.toFixed(0)} µs, consistency ${proofs.consistency.toFixed(0)} µs, against one point read of a leaf hash at ${proofs.pointRead.toFixed(1)} µs (${(proofs.inclusion / proofs.pointRead).toFixed(0)}× and ${(proofs.consistency / proofs.pointRead).toFixed(0)}×: O(log n) reads, not a scan).`,
    '',
  );
  process.stdout.write(lines.join('\n'));
}

await main();
