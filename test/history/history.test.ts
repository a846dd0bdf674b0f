import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig, type ResolvedConfig } from '../../src/core/config.js';
import { isCustodyError } from '../../src/core/errors.js';
import type { Finding } from '../../src/core/finding.js';
import { containersScanner } from '../../src/scanners/containers/index.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { scanHistory, type HistoryScanOptions } from '../../src/scanners/history/index.js';
import { modelsScanner } from '../../src/scanners/models/index.js';
import { fakeSecretsScanner } from './fake-secrets.js';

const FIXTURES = join('test', '.tmp', 'fixtures', 'history');
const REPO = join(FIXTURES, 'repo');
const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as {
  secrets: Record<string, string>;
  commits: Record<string, string>;
  missing: { lostBlob: string };
};
const commits = expected.commits;

function scan(options: Partial<HistoryScanOptions> & { config?: ResolvedConfig } = {}): Promise<Finding[]> {
  return scanHistory({
    repo: REPO,
    displayRoot: 'repo',
    scanners: [containersScanner, modelsScanner, fakeSecretsScanner],
    config: defaultConfig(),
    knownRuleIds: new Set(fakeSecretsScanner.rules.map((r) => r.id)),
    ...options,
  });
}

function atPath(findings: readonly Finding[], path: string, rulePrefix = 'fake/'): Finding[] {
  return findings.filter((f) => f.location.path === path && f.ruleId.startsWith(rulePrefix));
}

function only(findings: readonly Finding[], path: string, rulePrefix = 'fake/'): Finding {
  const found = atPath(findings, path, rulePrefix);
  assert.equal(found.length, 1, `expected one ${rulePrefix} finding at ${path}; got ${JSON.stringify(findings.map((f) => [f.ruleId, f.location.path, f.properties?.['commit']]))}`);
  return found[0] as Finding;
}

test('a secret added, edited around and then deleted is one finding, attributed to the commit that added it', async () => {
  const findings = await scan();
  const finding = only(findings, 'repo/app/config.py');
  assert.equal(finding.properties?.['commit'], commits['add_secret']);
  assert.equal(finding.properties?.['inHead'], false);
  assert.equal(finding.properties?.['historyPath'], 'app/config.py');
  assert.equal(finding.properties?.['author'], 'Fixture Author');
  assert.match(String(finding.properties?.['date']), /^2024-01-01T/);
  assert.equal(finding.location.line, 3);
  assert.ok(!JSON.stringify(finding).includes(expected.secrets['pgDeleted'] as string), 'the raw secret never appears');
});

test('a secret still in HEAD is marked inHead', async () => {
  const finding = only(await scan(), 'repo/app/settings.py');
  assert.equal(finding.properties?.['commit'], commits['head_secret']);
  assert.equal(finding.properties?.['inHead'], true);
});

test('a renamed file: each path is attributed to the commit that put the blob there', async () => {
  const findings = await scan();
  const before = only(findings, 'repo/deploy/aws.env');
  const after = only(findings, 'repo/deploy/prod.env');
  assert.equal(before.properties?.['commit'], commits['add_aws']);
  assert.equal(after.properties?.['commit'], commits['rename_aws']);
  assert.equal(after.properties?.['inHead'], false);
});

test('content introduced only by a merge resolution is found and attributed to the merge', async () => {
  const finding = only(await scan(), 'repo/merge-only.txt');
  assert.equal(finding.properties?.['commit'], commits['merge']);
  assert.equal(finding.properties?.['inHead'], true);
});

test('commits reachable only from a tag are scanned', async () => {
  const finding = only(await scan(), 'repo/side.txt');
  assert.equal(finding.properties?.['commit'], commits['tag_only']);
  assert.equal(finding.properties?.['inHead'], false);
});

test('a pickle deleted from the tree is still found by the models scanner', async () => {
  const findings = atPath(await scan(), 'repo/models/evil.pkl', 'models/');
  assert.ok(findings.length >= 1);
  assert.ok(findings.every((f) => f.properties?.['commit'] === commits['add_pickle'] && f.properties?.['inHead'] === false));
});

test('inline suppressions with a reason hold in history', async () => {
  assert.equal(atPath(await scan(), 'repo/docs/example.py').length, 0);
});

test('blobs above the size limit are reported, not silently skipped; at the limit they are scanned', async () => {
  const small = await scan({ maxBlobBytes: 4096 });
  const notScanned = only(small, 'repo/data/big.txt', 'history/blob-not-scanned');
  assert.equal(notScanned.properties?.['commit'], commits['big']);
  assert.equal(atPath(small, 'repo/data/big.txt').length, 0);
  const size = (await readFile(join(REPO, 'data', 'big.txt'))).length;
  const exact = await scan({ maxBlobBytes: size });
  assert.equal(atPath(exact, 'repo/data/big.txt', 'history/').length, 0);
  assert.equal(only(exact, 'repo/data/big.txt').properties?.['inHead'], true);
});

test('blobs spooled to a temporary file give the same findings as blobs in memory', async () => {
  const inMemory = (await scan()).map((f) => f.fingerprint).sort();
  const spooled = (await scan({ memoryBlobBytes: 64 })).map((f) => f.fingerprint).sort();
  assert.deepEqual(spooled, inMemory);
});

test('worker threads give the same findings as the main thread', async () => {
  // Workers load the registered scanners by name: use the real models scanner, which the fixture's pickle triggers.
  const options = { scanners: [containersScanner, modelsScanner] };
  const inThread = await scan({ ...options, jobs: 0 });
  const inWorkers = await scan({ ...options, jobs: 2 });
  assert.ok(inThread.length > 0);
  assert.deepEqual(inWorkers.map((f) => [f.fingerprint, f.properties?.['commit']]).sort(), inThread.map((f) => [f.fingerprint, f.properties?.['commit']]).sort());
});

test('history findings share fingerprints with a scan of the same file, and are stable across runs', async () => {
  const first = await scan();
  const second = await scan();
  assert.deepEqual(first.map((f) => f.fingerprint).sort(), second.map((f) => f.fingerprint).sort());
  const bytes = await readFile(join(REPO, 'app', 'settings.py'));
  const direct = await scanSource('repo/app/settings.py', new BufferSource(bytes), { scanners: [fakeSecretsScanner], config: defaultConfig(), knownRuleIds: new Set() });
  assert.equal(direct.length, 1);
  assert.equal(only(first, 'repo/app/settings.py').fingerprint, direct[0]?.fingerprint);
});

test('a subdirectory scans only its own history, with display paths relative to it', async () => {
  const findings = await scanHistory({ repo: join(REPO, 'app'), displayRoot: 'app-dir', scanners: [fakeSecretsScanner], config: defaultConfig(), knownRuleIds: new Set() });
  assert.deepEqual(findings.map((f) => f.location.path).sort(), ['app-dir/config.py', 'app-dir/settings.py']);
  assert.equal(only(findings, 'app-dir/config.py').properties?.['historyPath'], 'app/config.py');
});

test('a single file scans only that file’s history', async () => {
  const findings = await scanHistory({ repo: join(REPO, 'app', 'config.py'), displayRoot: 'cfg.py', scanners: [fakeSecretsScanner], config: defaultConfig(), knownRuleIds: new Set() });
  assert.equal(findings.length, 1);
  assert.equal(findings[0]?.location.path, 'cfg.py');
  assert.equal(findings[0]?.properties?.['commit'], commits['add_secret']);
});

test('exclude globs apply to history paths', async () => {
  const findings = await scan({ exclude: ['deploy/**'] });
  assert.equal(findings.filter((f) => f.location.path.startsWith('repo/deploy/')).length, 0);
  assert.ok(findings.length > 0);
});

test('a clean history and an empty repository have no findings', async () => {
  assert.deepEqual(await scan({ repo: join(FIXTURES, 'clean'), displayRoot: 'clean' }), []);
  assert.deepEqual(await scan({ repo: join(FIXTURES, 'empty'), displayRoot: 'empty' }), []);
});

test('a blob missing from the object store is reported', async () => {
  const findings = await scan({ repo: join(FIXTURES, 'missing'), displayRoot: 'missing' });
  const lost = only(findings, 'missing/lost.txt', 'history/blob-not-scanned');
  assert.match(lost.message, /missing/);
  assert.equal(findings.filter((f) => f.ruleId.startsWith('fake/')).length, 0);
});

test('switching history/blob-not-scanned off silences it', async () => {
  const config = defaultConfig();
  config.rules = new Map([['history/blob-not-scanned', { enabled: false }]]);
  assert.deepEqual(await scan({ repo: join(FIXTURES, 'missing'), displayRoot: 'missing', config }), []);
});

test('a directory outside any repository is a USAGE error; a missing path is PATH_NOT_FOUND', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'custody-nogit-'));
  try {
    await writeFile(join(dir, 'a.txt'), 'a\n');
    await assert.rejects(scan({ repo: dir, displayRoot: 'x' }), (error: unknown) => isCustodyError(error, 'USAGE'));
    await assert.rejects(scan({ repo: join(dir, 'nope'), displayRoot: 'x' }), (error: unknown) => isCustodyError(error, 'PATH_NOT_FOUND'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('end to end: custody scan --history --only secrets finds the deleted secrets with the real secrets scanner', async () => {
  const { runScan } = await import('../../src/scanners/engine.js');
  const result = await runScan({ paths: [REPO], only: ['secrets'], history: true, jobs: 0 });
  const config = result.findings.filter((f) => f.location.path === `${REPO}/app/config.py` && f.properties?.['commit'] !== undefined);
  assert.ok(config.some((f) => f.ruleId.startsWith('secrets/') && f.properties?.['commit'] === commits['add_secret'] && f.properties?.['inHead'] === false), JSON.stringify(result.findings.map((f) => [f.ruleId, f.location.path])));
  const aws = result.findings.filter((f) => f.location.path === `${REPO}/deploy/aws.env`);
  assert.ok(aws.length >= 1 && aws.every((f) => f.properties?.['commit'] === commits['add_aws']));
  assert.ok(!JSON.stringify(result.findings).includes(expected.secrets['awsSecret'] as string));
  // A secret still in the working tree is one finding: today's copy, with the commit that introduced it.
  const head = result.findings.filter((f) => f.location.path === `${REPO}/app/settings.py` && f.ruleId.startsWith('secrets/'));
  assert.equal(new Set(head.map((f) => f.fingerprint)).size, head.length, 'no finding twice');
  assert.ok(head.length >= 1 && head.every((f) => f.properties?.['inHead'] === true && typeof f.properties['commit'] === 'string'), JSON.stringify(head));
});

test('a baseline makes history scans incremental: after new commits only new secrets are reported', async () => {
  const { runScan } = await import('../../src/scanners/engine.js');
  const { execFileSync } = await import('node:child_process');
  const dir = await mkdtemp(join(tmpdir(), 'custody-history-'));
  try {
    const clone = join(dir, 'clone');
    const git = (...args: string[]): string =>
      execFileSync('git', args, { cwd: clone, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.invalid' } });
    execFileSync('git', ['clone', '-q', '--mirror', REPO, join(clone, '.git')]);
    git('config', 'core.bare', 'false');
    git('checkout', '-q', '-f', 'main');
    const first = await runScan({ paths: [clone], only: ['secrets'], history: true, jobs: 0 });
    assert.ok(first.findings.length > 0);
    const baseline = { version: 1 as const, fingerprints: new Set(first.findings.map((f) => f.fingerprint)) };
    assert.equal((await runScan({ paths: [clone], only: ['secrets'], history: true, jobs: 0, baseline })).findings.length, 0);

    const password = Array.from({ length: 20 }, (_, i) => 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'[(i * 7 + Date.now()) % 56]).join('');
    await writeFile(join(clone, 'new.py'), `URL = "postgres://custody-fixture:${password}@db.example.invalid/app"\n`);
    git('add', 'new.py');
    git('commit', '-q', '-m', 'new secret');
    git('rm', '-q', 'new.py');
    git('commit', '-q', '-m', 'remove it again');
    const next = await runScan({ paths: [clone], only: ['secrets'], history: true, jobs: 0, baseline });
    assert.deepEqual(next.findings.map((f) => f.location.path), [`${clone}/new.py`]);
    assert.equal(next.findings[0]?.properties?.['inHead'], false);
    assert.equal(next.summary.baselined, first.findings.length);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
