import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CliIo } from '../../src/cli/command.js';
import { runCli } from '../../src/cli/main.js';
import { isCustodyError, type ErrorCode } from '../../src/core/errors.js';
import type { Finding } from '../../src/core/finding.js';
import { DataEngine } from '../../src/data/engine.js';

/** Datasets written by scripts/fixtures/gen_data.py (generated here too when a test runs alone). */
export const DATA = resolve('test/.tmp/fixtures/data');
const WORK = resolve('test/.tmp/data-work', String(process.pid));
process.on('exit', () => rmSync(WORK, { recursive: true, force: true }));

export interface Planted {
  rows: number;
  flips: { keys: number[] };
  dups: { sourceKeys: number[]; copyKeys: number[] };
  trigger: { token: string; label: string; keys: number[] };
  shift: { column: string; value: string; label: string; delta: number };
}

export function ensureData(): Planted {
  if (!existsSync(join(DATA, 'planted.json'))) {
    const run = spawnSync('python3', ['scripts/fixtures/gen_data.py', DATA], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
  }
  return JSON.parse(readFileSync(join(DATA, 'planted.json'), 'utf8')) as Planted;
}

export function workDir(label: string): string {
  mkdirSync(WORK, { recursive: true });
  return mkdtempSync(join(WORK, `${label}-`));
}

/** Writes the result of a query to a file with DuckDB's COPY (no access restriction: test setup only). */
export async function writeQuery(sql: string, out: string, format: 'csv' | 'parquet' | 'json' = 'csv', extra = ''): Promise<string> {
  const engine = await DataEngine.open({ memoryLimit: '512MB' });
  try {
    const options = format === 'csv' ? 'FORMAT csv, HEADER' : format === 'json' ? 'FORMAT json' : `FORMAT parquet${extra}`;
    await engine.run(`COPY (${sql}) TO '${out.replace(/'/g, "''")}' (${options})`, 'writing a test file');
  } finally {
    await engine.close();
  }
  return out;
}

/** `read_csv('path')` for a fixture file, for use in writeQuery. */
export function csv(path: string): string {
  return `read_csv('${path.replace(/'/g, "''")}')`;
}

export async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode, label = ''): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isCustodyError(error), `${label}: expected a CustodyError, got ${String(error)}`);
    assert.equal(error.code, code, `${label}: ${error.message}`);
    return;
  }
  assert.fail(`${label}: expected ${code}, but it succeeded`);
}

export async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, stdoutIsTTY: false, stderrIsTTY: false, cwd, env: {} };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

export function byRule(findings: readonly Finding[], ruleId: string): Finding[] {
  return findings.filter((f) => f.ruleId === ruleId);
}

/** Findings that would fail the default --fail-on high. */
export function failing(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'high' || f.severity === 'critical');
}
