import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AuditLog, exportAuditLog, generateCheckpointKey, loadCheckpointSigner, MemoryAuditStore, writeAuditExport, type AuditStore, type CheckpointKeyPair } from '../../src/audit/index.js';

/** Vectors written by scripts/fixtures/gen_audit.py (generated here too when run alone). */
export const FIXTURES = resolve('test/.tmp/fixtures/audit');
const WORK = resolve('test/.tmp/audit-work', String(process.pid));
process.on('exit', () => rmSync(WORK, { recursive: true, force: true }));

export function ensureFixtures(): void {
  if (existsSync(join(FIXTURES, '.stamp'))) return;
  const run = spawnSync('python3', ['scripts/fixtures/gen_audit.py', FIXTURES], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
}

export function readFixture<T>(name: string): T {
  ensureFixtures();
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;
}

/** A fresh directory under test/.tmp for one test. */
export function workDir(label: string): string {
  mkdirSync(WORK, { recursive: true });
  return mkdtempSync(join(WORK, `${label}-`));
}

/** LEAF(i) of gen_audit.py: the bytes (7i + j) mod 256 for j < i mod 37. */
export function leafData(i: number): Buffer {
  return Buffer.from(Array.from({ length: i % 37 }, (_, j) => (7 * i + j) % 256));
}

export const KEY: CheckpointKeyPair = generateCheckpointKey('registry.test/audit');
export const OTHER_KEY: CheckpointKeyPair = generateCheckpointKey('registry.test/audit');

/** A registry-like entry for request `i`. */
export function sampleEntry(i: number): Record<string, unknown> {
  return { actor: `user-${i % 7}`, action: i % 3 === 0 ? 'pull' : 'read', resource: `proj/model@sha256:${String(i).padStart(4, '0')}`, decision: i % 11 === 0 ? 'deny' : 'allow', time: `2025-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`, request: `req-${i}` };
}

export async function openLog(store: AuditStore = new MemoryAuditStore(), key: CheckpointKeyPair = KEY, checkpointInterval = 10): Promise<AuditLog> {
  return AuditLog.open({ store, signer: loadCheckpointSigner(key.privateKeyPem, key.name), checkpointInterval });
}

/** A log of `count` sample entries (appended concurrently), exported to a file; returns its path and lines. */
export async function makeExport(count: number, options: { key?: CheckpointKeyPair; interval?: number; label?: string; entry?: (i: number) => Record<string, unknown> } = {}): Promise<{ path: string; lines: string[]; log: AuditLog }> {
  const log = await openLog(new MemoryAuditStore(), options.key ?? KEY, options.interval ?? 10);
  await Promise.all(Array.from({ length: count }, (_, i) => log.append((options.entry ?? sampleEntry)(i))));
  const path = join(workDir(options.label ?? 'export'), 'audit.jsonl');
  await writeAuditExport(path, exportAuditLog(log));
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.pop(), '', 'the export ends with a newline');
  return { path, lines, log };
}

/** 1-based number of the first line where `tampered` differs from `original` (the line a verifier must name). */
export function firstDifference(original: readonly string[], tampered: readonly string[]): number {
  for (let i = 0; i < Math.max(original.length, tampered.length); i++) if (original[i] !== tampered[i]) return i + 1;
  return 0;
}
