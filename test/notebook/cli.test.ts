import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { CliIo } from '../../src/cli/command.js';
import { runCli } from '../../src/cli/main.js';

const FIXTURES = join('test', '.tmp', 'fixtures', 'notebook');
const dir = mkdtempSync(join(tmpdir(), 'custody-notebook-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh directory holding copies of the named fixtures. */
function workspace(...names: string[]): string {
  const root = mkdtempSync(join(dir, 'w-'));
  for (const name of names) copyFileSync(join(FIXTURES, name), join(root, name));
  return root;
}

async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, stdoutIsTTY: false, stderrIsTTY: false, cwd, env: {} };
  return { code: await runCli(args, io), stdout, stderr };
}

test('clean rewrites a dirty notebook in place, exit 0; a second run changes nothing', async () => {
  const root = workspace('dirty.ipynb');
  const first = await cli(['notebook', 'clean', 'dirty.ipynb'], root);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /cleaned dirty\.ipynb \(2 output\(s\), 1 execution count\(s\), metadata: /);
  assert.equal(readFileSync(join(root, 'dirty.ipynb'), 'utf8'), readFileSync(join(FIXTURES, 'dirty.expected.ipynb'), 'utf8'));
  const second = await cli(['notebook', 'clean', 'dirty.ipynb'], root);
  assert.equal(second.code, 0);
  assert.doesNotMatch(second.stdout, /cleaned dirty/);
});

test('--check exits 1 when a notebook would change and writes nothing; 0 when clean', async () => {
  const root = workspace('dirty.ipynb', 'clean.ipynb');
  const before = readFileSync(join(root, 'dirty.ipynb'), 'utf8');
  const dirty = await cli(['notebook', 'clean', '--check', 'dirty.ipynb'], root);
  assert.equal(dirty.code, 1);
  assert.match(dirty.stdout, /dirty\.ipynb would be cleaned/);
  assert.equal(readFileSync(join(root, 'dirty.ipynb'), 'utf8'), before);
  assert.equal((await cli(['notebook', 'clean', '--check', 'clean.ipynb'], root)).code, 0);
});

test('--dry-run reports and writes nothing, exit 0', async () => {
  const root = workspace('dirty.ipynb');
  const before = readFileSync(join(root, 'dirty.ipynb'), 'utf8');
  const result = await cli(['notebook', 'clean', '--dry-run', 'dirty.ipynb'], root);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /would be cleaned/);
  assert.equal(readFileSync(join(root, 'dirty.ipynb'), 'utf8'), before);
});

test('a secret in a cell source is refused with cell and line, exit 1, notebook untouched; others are still cleaned', async () => {
  const root = workspace('secret-source.ipynb', 'dirty.ipynb');
  const before = readFileSync(join(root, 'secret-source.ipynb'), 'utf8');
  const result = await cli(['notebook', 'clean', 'secret-source.ipynb', 'dirty.ipynb'], root);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /secret-source\.ipynb: cell 3 line 2: secrets\/[a-z0-9-]+: /);
  assert.match(result.stderr, /not cleaned/);
  assert.equal(readFileSync(join(root, 'secret-source.ipynb'), 'utf8'), before);
  assert.equal(readFileSync(join(root, 'dirty.ipynb'), 'utf8'), readFileSync(join(FIXTURES, 'dirty.expected.ipynb'), 'utf8'));
  const password = /custody-fixture:([A-Za-z0-9]+)@/.exec(before)?.[1] ?? '';
  assert.ok(password.length > 10 && !result.stderr.includes(password), 'the raw secret is never printed');
});

test('a secret only in outputs is removed by cleaning; with --keep-output it is refused', async () => {
  const root = workspace('secret-output.ipynb');
  const kept = await cli(['notebook', 'clean', '--keep-output', 'secret-output.ipynb'], root);
  assert.equal(kept.code, 1);
  assert.match(kept.stderr, /cell 1 output line 1: secrets\//);
  const cleaned = await cli(['notebook', 'clean', 'secret-output.ipynb'], root);
  assert.equal(cleaned.code, 0, cleaned.stderr);
  assert.doesNotMatch(readFileSync(join(root, 'secret-output.ipynb'), 'utf8'), /postgres:/);
});

test('directories are walked for .ipynb files; --keep-metadata and --strip-metadata apply', async () => {
  const root = workspace();
  mkdirSync(join(root, 'nb', 'sub'), { recursive: true });
  copyFileSync(join(FIXTURES, 'dirty.ipynb'), join(root, 'nb', 'sub', 'a.ipynb'));
  writeFileSync(join(root, 'nb', 'notes.txt'), 'not a notebook');
  const result = await cli(['notebook', 'clean', '--keep-metadata', 'execution_count,widgets', '--strip-metadata', 'toc', 'nb'], root);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /cleaned nb\/sub\/a\.ipynb/);
  const doc = JSON.parse(readFileSync(join(root, 'nb', 'sub', 'a.ipynb'), 'utf8')) as { cells: { execution_count?: unknown }[]; metadata: Record<string, unknown> };
  assert.equal(doc.cells[1]?.execution_count, 7);
  assert.ok('widgets' in doc.metadata);
  assert.equal('toc' in doc.metadata, false);
  assert.equal(readFileSync(join(root, 'nb', 'notes.txt'), 'utf8'), 'not a notebook');
});

test('an unreadable notebook is exit 2 with a coded error; usage errors are exit 2', async () => {
  const root = workspace('broken.ipynb', 'dirty.ipynb');
  const broken = await cli(['notebook', 'clean', 'broken.ipynb', 'dirty.ipynb'], root);
  assert.equal(broken.code, 2);
  assert.match(broken.stderr, /error PARSE_ERROR: broken\.ipynb/);
  assert.match(broken.stdout, /cleaned dirty\.ipynb/);
  assert.match((await cli(['notebook'], root)).stderr, /error USAGE/);
  assert.equal((await cli(['notebook', 'clean'], root)).code, 2);
  assert.match((await cli(['notebook', 'clean', 'missing.ipynb'], root)).stderr, /error PATH_NOT_FOUND/);
  assert.equal((await cli(['notebook', 'clean', '--bogus', 'x'], root)).code, 2);
});

test('.pre-commit-hooks.yaml declares both hooks with the documented commands', () => {
  const hooks = parseYaml(readFileSync('.pre-commit-hooks.yaml', 'utf8')) as { id: string; entry: string; language: string; types?: string[]; files?: string }[];
  const byId = new Map(hooks.map((h) => [h.id, h]));
  assert.equal(byId.get('custody-secrets')?.entry, 'custody scan --only secrets --fail-on high');
  assert.equal(byId.get('custody-notebook-clean')?.entry, 'custody notebook clean');
  assert.deepEqual(byId.get('custody-notebook-clean')?.types, ['jupyter']);
  for (const hook of hooks) assert.equal(hook.language, 'node');
});

test('a cleaned notebook keeps its file mode and leaves no temporary file beside it', async () => {
  const root = workspace('dirty.ipynb');
  chmodSync(join(root, 'dirty.ipynb'), 0o640);
  const result = await cli(['notebook', 'clean', 'dirty.ipynb'], root);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(statSync(join(root, 'dirty.ipynb')).mode & 0o777, 0o640);
  assert.deepEqual(readdirSync(root), ['dirty.ipynb']);
});

test('a notebook that is a symbolic link is never written through: SYMLINK_REFUSED, its target unchanged', async () => {
  const root = workspace('dirty.ipynb');
  const outside = mkdtempSync(join(dir, 'outside-'));
  renameSync(join(root, 'dirty.ipynb'), join(outside, 'victim.ipynb'));
  symlinkSync(join(outside, 'victim.ipynb'), join(root, 'linked.ipynb'));
  const before = readFileSync(join(outside, 'victim.ipynb'), 'utf8');
  const result = await cli(['notebook', 'clean', 'linked.ipynb'], root);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /error SYMLINK_REFUSED: linked\.ipynb/);
  assert.equal(readFileSync(join(outside, 'victim.ipynb'), 'utf8'), before);
  assert.equal(lstatSync(join(root, 'linked.ipynb')).isSymbolicLink(), true);
});

test('a FIFO or a link to /dev/zero named as a notebook is SPECIAL_FILE, without blocking or reading without end', async () => {
  const root = workspace('dirty.ipynb');
  assert.equal(spawnSync('mkfifo', [join(root, 'pipe.ipynb')]).status, 0);
  symlinkSync('/dev/zero', join(root, 'zero.ipynb'));
  const result = await cli(['notebook', 'clean', 'pipe.ipynb', 'zero.ipynb', 'dirty.ipynb'], root);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /error SPECIAL_FILE: pipe\.ipynb/);
  assert.match(result.stderr, /error SPECIAL_FILE: zero\.ipynb/);
  assert.match(result.stdout, /cleaned dirty\.ipynb/);
});

test('a notebook over limits.maxTextBytes is INPUT_LIMIT before it is read or parsed', async () => {
  const root = workspace('dirty.ipynb');
  const size = statSync(join(root, 'dirty.ipynb')).size;
  writeFileSync(join(root, 'small.yml'), `limits:\n  maxTextBytes: ${size - 1}\n`);
  const over = await cli(['notebook', 'clean', '--config', 'small.yml', 'dirty.ipynb'], root);
  assert.equal(over.code, 2);
  assert.match(over.stderr, /error INPUT_LIMIT: dirty\.ipynb: .*limits\.maxTextBytes/);
  writeFileSync(join(root, 'exact.yml'), `limits:\n  maxTextBytes: ${size}\n`);
  assert.equal((await cli(['notebook', 'clean', '--config', 'exact.yml', 'dirty.ipynb'], root)).code, 0);
});
