import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { CliIo } from '../../src/cli/command.js';
import { runCli } from '../../src/cli/main.js';
import { isCustodyError, type ErrorCode } from '../../src/core/errors.js';

/** Fixtures written by scripts/fixtures/gen_integrity.py (generated here too when run alone). */
export const FIXTURES = resolve('test/.tmp/fixtures/integrity');
/** Scratch space of this test process, removed when it exits. */
const WORK = resolve('test/.tmp/integrity-work', String(process.pid));
process.on('exit', () => rmSync(WORK, { recursive: true, force: true }));

export function ensureFixtures(): void {
  if (existsSync(join(FIXTURES, '.stamp'))) return;
  const run = spawnSync('python3', ['scripts/fixtures/gen_integrity.py', FIXTURES], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
}

/** A fresh directory under test/.tmp for one test. */
export function workDir(label: string): string {
  mkdirSync(WORK, { recursive: true });
  return mkdtempSync(join(WORK, `${label}-`));
}

/** A copy of the fixture model (so tests can tamper with it). */
export function copyModel(label: string): string {
  ensureFixtures();
  const dir = join(workDir(label), 'model');
  cpSync(join(FIXTURES, 'model'), dir, { recursive: true });
  return dir;
}

export function writeTree(root: string, files: Record<string, string | Buffer>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

/** Asserts that `promise` rejects with a CustodyError of `code`; returns the error. */
export async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode, label = ''): Promise<Error & { code: ErrorCode; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isCustodyError(error), `${label}: expected a CustodyError, got ${String(error)}`);
    assert.equal(error.code, code, `${label}: ${error.message}`);
    return error as Error & { code: ErrorCode; details?: Record<string, unknown> };
  }
  assert.fail(`${label}: expected ${code}, but it succeeded`);
}

export async function cli(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, stdoutIsTTY: false, stderrIsTTY: false, cwd, env };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

/** Verifies a bundle with scripts/oms_reference.py, which behaves as model_signing 1.1.1 does. */
export function referenceVerify(key: string, signature: string, model: string, extra: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync('python3', ['scripts/oms_reference.py', 'verify', model, '--key', key, '--signature', signature, ...extra], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

export function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}
