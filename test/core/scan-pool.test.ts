import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { compareFindings } from '../../src/core/finding.js';
import { walkTree } from '../../src/core/walk.js';
import { DEFAULT_REGISTRY, defaultJobs, ruleIdsOf, runScan, scanWalkedFiles, type ScanResult } from '../../src/scanners/engine.js';
import { SCANNERS } from '../../src/scanners/index.js';
import { SCANNER_LOADERS } from '../../src/scanners/scanner-modules.js';
import { Fake } from '../../src/scanners/secrets/fake.js';

const dir = mkdtempSync(join(tmpdir(), 'custody-pool-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A tree with a bit of everything the engine routes differently: small files read whole and large ones
 * read by range (a secret past the first 64 KiB), a notebook, a pickle that imports os.system, a tarball
 * whose member holds a secret, a binary, a suppression (valid, and one without a reason), ignored
 * files (high-risk scanners only), a link (alsoAt), a name that is not UTF-8, and enough small files for
 * several batches.
 */
function mixedTree(): string {
  const root = mkdtempSync(join(dir, 'mixed-'));
  const f = new Fake(99);
  const put = (rel: string, data: string | Buffer): void => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), data);
  };
  put('.gitignore', 'venv/\n');
  put('src/app.py', `import os\nTOKEN = "${f.checksummed('ghp_')}"\n`);
  put('src/quiet.py', `# custody-ignore secrets/github-token -- test fixture value\nTOKEN = "${f.checksummed('ghp_')}"\n`);
  put('src/wrong.py', `# custody-ignore secrets/github-token\nTOKEN = "${f.checksummed('ghp_')}"\n`);
  put('configs/train.yaml', `wandb:\n  api_key: "${f.hex(40)}"\n`);
  put('notebooks/eda.ipynb', JSON.stringify({ cells: [{ cell_type: 'code', metadata: {}, outputs: [], source: [`HF_TOKEN = "hf_${f.chars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', 34)}"\n`] }], metadata: {}, nbformat: 4, nbformat_minor: 5 }));
  put('models/evil.pkl', Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1'));
  put('venv/lib/evil.pkl', Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1'));
  put('venv/lib/settings.py', `TOKEN = "${f.checksummed('ghp_')}"\n`);
  const big = `${'x = 1  # filler line of a long module\n'.repeat(4000)}PASSWORD = "${f.alnum(20)}!${f.alnum(6)}"\n`;
  put('src/big.py', big);
  put('assets/fig.png', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), f.bytes(20_000)]));
  put('pack/inner/creds.env', `AWS_ACCESS_KEY_ID=AKIA${f.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}\n`);
  execFileSync('tar', ['-cf', join(root, 'pack.tar'), '-C', join(root, 'pack'), 'inner']);
  rmSync(join(root, 'pack'), { recursive: true });
  for (let i = 0; i < 300; i++) put(`lib/mod_${i}.py`, i % 50 === 7 ? `KEY = "${f.checksummed('ghp_')}"\n` : `def f${i}(x):\n    return x * ${i}\n`);
  symlinkSync('app.py', join(root, 'src/app-link.py'));
  writeFileSync(Buffer.concat([Buffer.from(`${root}/src/na`), Buffer.from([0xff]), Buffer.from('me.py')]), `TOKEN = "${f.checksummed('ghp_')}"\n`);
  return root;
}

const line = (x: Finding): string => [x.ruleId, x.severity, x.location.path, x.location.member ?? '', x.location.line ?? '', x.fingerprint, JSON.stringify(x.properties ?? {})].join(' ');

function shape(result: ScanResult): { findings: string[]; files: number; ignored: number | undefined } {
  return { findings: result.findings.map(line), files: result.summary.files, ignored: result.summary.ignored };
}

describe('the worker pool and one thread find the same', () => {
  it('gives identical findings with jobs 0, worker threads only, and the default', async () => {
    const tree = mixedTree();
    const config = defaultConfig();
    const one = shape(await runScan({ paths: [tree], config, jobs: 0 }));
    const workers = shape(await runScan({ paths: [tree], config, jobs: 2 }));
    const auto = shape(await runScan({ paths: [tree], config }));
    // The tree holds what each path must get right, so an empty result cannot pass.
    const rules = new Set(one.findings.map((l) => l.split(' ')[0]));
    for (const rule of ['secrets/github-token', 'secrets/wandb-api-key', 'secrets/huggingface-token', 'secrets/aws-access-key-id', 'secrets/generic-secret', 'core/invalid-suppression']) assert.ok(rules.has(rule), `expected a ${rule} finding`);
    assert.ok(one.findings.some((l) => l.includes('venv/lib/evil.pkl')) && !one.findings.some((l) => l.includes('venv/lib/settings.py')), 'ignored files get the high-risk scanners only');
    assert.ok(one.findings.some((l) => l.includes('pack.tar inner/creds.env')), 'a tar member is scanned');
    assert.ok(!one.findings.some((l) => l.includes('src/quiet.py') && l.startsWith('secrets/')), 'a valid suppression holds');
    assert.deepEqual(workers, one);
    assert.deepEqual(auto, one);
  });

  it('gives identical findings with this thread scanning beside a helper worker (the default on two cores and more)', async () => {
    // runScan chooses the helper only for big work (defaultJobs); here the engine is asked for it directly.
    // This thread is held a moment at each of its files until the helper has answered a batch (several
    // files done in one turn; this thread finishes one file a turn), so both halves and their hand-off
    // are exercised whatever the machine's speed.
    const tree = mixedTree();
    const config = defaultConfig();
    const walk = await walkTree([tree], { exclude: config.exclude });
    const options = { scanners: SCANNERS, config, knownRuleIds: ruleIdsOf(SCANNERS), registry: DEFAULT_REGISTRY };
    const lines = (findings: Finding[]): string[] => [...findings].sort(compareFindings).map(line);
    const one = lines(await scanWalkedFiles(walk.files, { ...options, jobs: 0 }));
    let done = 0;
    let sameTurn = false;
    let helperAnswered = false;
    const giveUpAt = Date.now() + 60_000;
    const onProgress = (p: { filesDone: number }): void => {
      done = p.filesDone;
      if (sameTurn) helperAnswered = true;
      sameTurn = true;
      queueMicrotask(() => (sameTurn = false));
      if (!helperAnswered && Date.now() < giveUpAt) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    };
    const shared = lines(await scanWalkedFiles(walk.files, { ...options, jobs: 1, shareWithThisThread: true, onProgress }));
    assert.ok(helperAnswered, 'the helper worker scanned a batch');
    assert.equal(done, walk.files.length, 'every file is reported done once');
    assert.ok(one.some((l) => l.startsWith('secrets/github-token')), 'the tree has findings to compare');
    assert.deepEqual(shared, one);
  });
});

describe('the default job count', () => {
  it('stays in this thread on one core, for one file, and for small work', () => {
    assert.deepEqual(defaultJobs(10_000, 1e9, 1, 0), { jobs: 0, shareWithThisThread: true });
    assert.deepEqual(defaultJobs(1, 1e9, 8, 0), { jobs: 0, shareWithThisThread: true });
    assert.deepEqual(defaultJobs(100, 1024 * 1024, 8, 0), { jobs: 0, shareWithThisThread: true });
    // A few hundred small files: a helper's start-up would cost more than it saves.
    assert.deepEqual(defaultJobs(600, 4 * 1024 * 1024, 2, 0), { jobs: 0, shareWithThisThread: true });
  });

  it('adds one helper per further idle core, this thread scanning too', () => {
    assert.deepEqual(defaultJobs(10_000, 1024, 2, 0), { jobs: 1, shareWithThisThread: true });
    assert.deepEqual(defaultJobs(10, 1e9, 4, 0), { jobs: 3, shareWithThisThread: true });
    assert.deepEqual(defaultJobs(10, 1e9, 64, 0), { jobs: 7, shareWithThisThread: true });
    // Up to the load of this thread and a bit (a previous run's trace in the 1-minute average).
    assert.deepEqual(defaultJobs(10_000, 1024, 2, 1.4), { jobs: 1, shareWithThisThread: true });
    assert.deepEqual(defaultJobs(10, 1e9, 8, 3), { jobs: 5, shareWithThisThread: true });
  });

  it('stays in this thread when no core is idle: a helper would add work and no CPU share', () => {
    assert.deepEqual(defaultJobs(10_000, 1e9, 2, 1.6), { jobs: 0, shareWithThisThread: true });
    assert.deepEqual(defaultJobs(10_000, 1e9, 2, 12), { jobs: 0, shareWithThisThread: true });
    assert.deepEqual(defaultJobs(10_000, 1e9, 8, 7.6), { jobs: 0, shareWithThisThread: true });
  });
});

describe('scanner loaders for worker threads', () => {
  it('name every scanner of the registry and load the same scanner objects', async () => {
    assert.deepEqual(Object.keys(SCANNER_LOADERS).sort(), SCANNERS.map((s) => s.name).sort());
    for (const scanner of SCANNERS) assert.equal(await (SCANNER_LOADERS[scanner.name] as () => Promise<unknown>)(), scanner);
  });
});
