/**
 * Harness for the hostile-input suite (test/hostile/): runs the built CLI (`bin/custody`, as a user
 * runs it) as a child process under scripts/bounded-run.py, which kills it past a wall-clock or memory
 * bound, inside a sandbox laid out as
 *
 *   <root>/tree      the untrusted input (what is scanned, hashed, cleaned, signed)
 *   <root>/outside   files an attacker would like to overwrite (must stay byte-identical)
 *   <root>/home      $HOME for the child (no global git or tool configuration leaks in)
 *   <root>/canary    planted payloads `touch` a file here: it must stay empty (no command ran)
 *   <root>/out       where the test names its outputs
 *
 * Every case must end, within its bounds, in a finding (exit 1) or a coded error (exit 2,
 * `custody: error CODE: …`) unless the test says a clean exit is right.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const CUSTODY_BIN = join(ROOT, 'bin', 'custody');
const BOUNDED = join(ROOT, 'scripts', 'bounded-run.py');

export interface Sandbox {
  root: string;
  tree: string;
  outside: string;
  home: string;
  canary: string;
  out: string;
}

export function makeSandbox(label: string): Sandbox {
  const root = mkdtempSync(join(tmpdir(), `custody-hostile-${label.replace(/[^a-z0-9-]/gi, '_')}-`));
  const box = { root, tree: join(root, 'tree'), outside: join(root, 'outside'), home: join(root, 'home'), canary: join(root, 'canary'), out: join(root, 'out') };
  for (const dir of [box.tree, box.outside, box.home, box.canary, box.out]) mkdirSync(dir);
  return box;
}

export function removeSandbox(box: Sandbox): void {
  rmSync(box.root, { recursive: true, force: true });
}

/** A shell command that proves it ran by creating `<canary>/<label>`. Plant it wherever a payload goes. */
export function canaryCommand(box: Sandbox, label: string): string {
  return `touch ${JSON.stringify(join(box.canary, label))}`;
}

export interface RunBounds {
  /** Wall-clock limit for the whole process, start-up included (default 60 s). */
  timeoutMs?: number;
  /** Resident-memory limit for the process group (default 1024 MiB: the bar). */
  maxRssMb?: number;
  cwd?: string;
  env?: Record<string, string>;
}

export interface RunResult {
  exit: number | null;
  signal: number | null;
  stdout: string;
  stderr: string;
  maxRssKb: number;
  seconds: number;
  timedOut: boolean;
  memoryKilled: boolean;
}

/** Runs `custody ARGS…` bounded; HOME points into the sandbox. */
export function runCustody(box: Sandbox, args: readonly string[], bounds: RunBounds = {}): RunResult {
  const timeoutMs = bounds.timeoutMs ?? 60_000;
  const maxRssMb = bounds.maxRssMb ?? 1024;
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: box.home, LANG: 'C.UTF-8', ...bounds.env };
  const child = spawnSync('python3', [BOUNDED, String(timeoutMs / 1000), String(maxRssMb), '--', process.execPath, CUSTODY_BIN, ...args], {
    cwd: bounds.cwd ?? box.tree,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: timeoutMs + 30_000, // the wrapper's own bound is the real one
  });
  const stderr = child.stderr ?? '';
  const marker = stderr.lastIndexOf('\n{"bounded": ');
  assert.ok(marker >= 0, `bounded-run.py gave no report (status ${child.status}, error ${String(child.error)}):\n${stderr.slice(-2000)}`);
  const report = (JSON.parse(stderr.slice(marker + 1)) as { bounded: Omit<RunResult, 'stdout' | 'stderr'> }).bounded;
  return { ...report, stdout: child.stdout ?? '', stderr: stderr.slice(0, marker) };
}

/** The process ended by itself within its bounds, with one of the documented exit codes. */
export function assertBounded(result: RunResult): void {
  const tail = `\nstderr: ${result.stderr.slice(-1500)}`;
  assert.equal(result.timedOut, false, `timed out after ${result.seconds} s${tail}`);
  assert.equal(result.memoryKilled, false, `killed past the memory bound (peak ${Math.round(result.maxRssKb / 1024)} MiB)${tail}`);
  assert.equal(result.signal, null, `killed by signal ${result.signal}${tail}`);
  assert.ok(result.exit === 0 || result.exit === 1 || result.exit === 2, `exit ${result.exit}${tail}`);
}

/** The case ended in a finding (exit 1) or a coded error (exit 2 with `error CODE`), never a clean pass. */
export function assertFindingOrCodedError(result: RunResult, expected?: { rule?: string | RegExp; code?: string }): void {
  assertBounded(result);
  const tail = `\nstdout: ${result.stdout.slice(-1500)}\nstderr: ${result.stderr.slice(-1500)}`;
  assert.notEqual(result.exit, 0, `exit 0: the hostile input passed silently${tail}`);
  if (result.exit === 2) {
    assert.match(result.stderr, /custody: error [A-Z][A-Z_]+:/, `exit 2 without a coded error${tail}`);
    if (expected?.code) assert.match(result.stderr, new RegExp(`error ${expected.code}:`), `expected error ${expected.code}${tail}`);
    else if (expected?.rule) assert.fail(`expected finding ${String(expected.rule)}, got an error${tail}`);
  } else if (expected?.rule) {
    const rule = expected.rule;
    assert.ok(typeof rule === 'string' ? result.stdout.includes(rule) : rule.test(result.stdout), `expected a finding ${String(rule)}${tail}`);
  } else if (expected?.code) {
    assert.fail(`expected error ${expected.code}, got exit ${result.exit}${tail}`);
  }
}

/** A snapshot of a directory tree: every entry's type, mode, size and content hash (links by target). */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (abs: string, rel: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const path = join(abs, name);
      const key = rel === '' ? name : `${rel}/${name}`;
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) out.set(key, `link ${readlinkSync(path)}`);
      else if (stat.isDirectory()) {
        out.set(key, `dir ${stat.mode & 0o7777}`);
        walk(path, key);
      } else if (stat.isFile()) out.set(key, `file ${stat.mode & 0o7777} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
      else out.set(key, `special ${stat.mode}`);
    }
  };
  walk(dir, '');
  return out;
}

/** No planted command ran: the canary directory is still empty. */
export function assertNoCommandRan(box: Sandbox): void {
  assert.deepEqual(readdirSync(box.canary), [], 'a command planted in the input ran on the scanning machine');
}

/** Nothing outside the named outputs changed: compare a snapshot taken before the run. */
export function assertUnchanged(before: Map<string, string>, dir: string, what = dir): void {
  const after = snapshot(dir);
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
  assert.deepEqual(changed, [], `${what} changed: ${changed.join(', ')}`);
}

/** One ustar entry (header, data, padding to 512 bytes) for archives built in a test. */
export function tarEntry(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return Buffer.concat([header, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}
