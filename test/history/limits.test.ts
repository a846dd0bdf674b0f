import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import { isCustodyError } from '../../src/core/errors.js';
import { scanHistory, type HistoryScanOptions } from '../../src/scanners/history/index.js';
import { fakeSecretsScanner } from './fake-secrets.js';

const root = mkdtempSync(join(tmpdir(), 'custody-history-limits-'));
after(() => rmSync(root, { recursive: true, force: true }));

function git(cwd: string, args: readonly string[]): string {
  const result = spawnSync('git', ['-c', 'core.hooksPath=/dev/null', ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' },
  });
  assert.equal(result.status, 0, `git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

/** Three commits, each adding one file: 3 commits + 3 file versions = 6 entries. */
function repository(name: string): { dir: string; blobs: string[] } {
  const dir = join(root, name);
  git(root, ['init', '-q', '-b', 'main', name]);
  const blobs: string[] = [];
  for (const file of ['a.txt', 'b.txt', 'c.txt']) {
    writeFileSync(join(dir, file), `${file}\n`);
    git(dir, ['add', file]);
    git(dir, ['commit', '-q', '-m', file]);
    blobs.push(git(dir, ['rev-parse', `HEAD:${file}`]));
  }
  return { dir, blobs };
}

const options = (repo: string, extra: Partial<HistoryScanOptions> = {}): HistoryScanOptions => ({
  repo,
  displayRoot: 'repo',
  scanners: [fakeSecretsScanner],
  config: defaultConfig(),
  knownRuleIds: new Set(fakeSecretsScanner.rules.map((r) => r.id)),
  ...extra,
});

test('a history with more commits and file versions than maxEntries is INPUT_LIMIT naming the limit; at the limit it is scanned', async () => {
  const { dir } = repository('entries');
  await assert.rejects(scanHistory(options(dir, { maxEntries: 5 })), (error: unknown) => isCustodyError(error, 'INPUT_LIMIT') && error.details?.['max'] === 5);
  assert.deepEqual(await scanHistory(options(dir, { maxEntries: 6 })), []);
});

test('missing versions are listed up to limits.maxFindingsPerRule; the rest are counted in one core/findings-capped finding', async () => {
  const { dir, blobs } = repository('missing');
  for (const sha of blobs) rmSync(join(dir, '.git', 'objects', sha.slice(0, 2), sha.slice(2)));
  const config = defaultConfig();
  const all = await scanHistory(options(dir, { config }));
  assert.deepEqual(all.map((f) => f.ruleId), ['history/blob-not-scanned', 'history/blob-not-scanned', 'history/blob-not-scanned']);
  const capped = await scanHistory(options(dir, { config: { ...config, limits: { ...config.limits, maxFindingsPerRule: 2 } } }));
  assert.deepEqual(capped.map((f) => [f.ruleId, f.location.path]), [
    ['history/blob-not-scanned', 'repo/a.txt'],
    ['history/blob-not-scanned', 'repo/b.txt'],
    ['core/findings-capped', 'repo'],
  ]);
  assert.equal(capped[2]?.severity, 'medium');
});

test('a planted shallow file cannot hide commits the repository holds; a genuine shallow clone is read as far as it goes', async () => {
  const { dir } = repository('shallow');
  // A secret in the first commit, then cut off by a `shallow` entry for the second commit.
  const first = git(dir, ['rev-list', '--max-parents=0', 'HEAD']);
  git(dir, ['checkout', '-q', first]);
  writeFileSync(join(dir, 'secret.txt'), 'id AKIAABCDEFGHIJKLMNOP\n');
  git(dir, ['add', 'secret.txt']);
  git(dir, ['commit', '-q', '-m', 'secret']);
  const secret = git(dir, ['rev-parse', 'HEAD']);
  git(dir, ['rm', '-q', 'secret.txt']);
  git(dir, ['commit', '-q', '-m', 'remove']);
  const tip = git(dir, ['rev-parse', 'HEAD']);
  git(dir, ['checkout', '-q', 'main']);
  git(dir, ['update-ref', 'refs/heads/side', tip]);
  writeFileSync(join(dir, '.git', 'shallow'), `${tip}\n${git(dir, ['rev-parse', 'main~1'])}\n`);
  assert.equal(git(dir, ['log', '--all', '--format=%H']).includes(secret), false, 'git itself no longer shows the commit');
  const findings = await scanHistory(options(dir));
  assert.deepEqual(findings.map((f) => [f.ruleId, f.location.path, f.properties?.['commit']]), [['fake/aws-key', 'repo/secret.txt', secret]]);

  // A real shallow clone: the boundary's parent is missing, the entry is kept, the scan reads what is there.
  const clone = join(root, 'clone');
  git(root, ['clone', '-q', '--depth', '1', '--branch', 'side', `file://${dir}`, clone]);
  assert.deepEqual(await scanHistory(options(clone)), []);
});
