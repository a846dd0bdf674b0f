import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { after, describe, it } from 'node:test';
import AjvModule from 'ajv-draft-04';
import type { CliIo } from '../../src/cli/command.js';
import { findUncoveredFiles } from '../../src/cli/commands/attest.js';
import { runCli } from '../../src/cli/main.js';

const require = createRequire(import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'custody-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A protocol-0 pickle that calls os.system when loaded, written opcode by opcode. */
const EVIL_PICKLE = Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1');
/** A protocol-0 pickle of {'a': 1}. */
const CLEAN_PICKLE = Buffer.from("(dp0\nS'a'\np1\nI1\ns.", 'latin1');

function project(files: Record<string, Buffer | string>): string {
  const root = mkdtempSync(join(dir, 'p-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

async function cli(args: string[], cwd = dir, tty = false): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, stdoutIsTTY: tty, stderrIsTTY: tty, cwd, env: {} };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

describe('custody CLI', () => {
  it('prints help for the program and for every command, exit 0', async () => {
    const main = await cli(['--help']);
    assert.equal(main.code, 0);
    for (const name of ['scan', 'rules', 'hash', 'sign', 'verify', 'keygen', 'attest', 'notebook']) {
      assert.match(main.stdout, new RegExp(`\\n  ${name} `));
      const help = await cli([name, '--help']);
      assert.equal(help.code, 0, name);
      assert.match(help.stdout, /Usage: custody/, name);
    }
  });

  it('exits 2 with a coded error for unknown commands, bad flags and missing paths', async () => {
    assert.equal((await cli(['frobnicate'])).code, 2);
    const badFlag = await cli(['scan', dir, '--bogus']);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /error USAGE/);
    const missing = await cli(['scan', join(dir, 'missing')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /error PATH_NOT_FOUND/);
    assert.match((await cli(['scan', dir, '--only', 'nope'])).stderr, /error USAGE/);
    assert.match((await cli(['scan', dir, '--config', join(dir, 'nope.yml')])).stderr, /error CONFIG_NOT_FOUND/);
  });

  it('exits 0 on a clean project and 1 when a finding is at or above --fail-on', async () => {
    const clean = project({ 'model.pkl': CLEAN_PICKLE, 'README.md': '# hi\n' });
    const ok = await cli(['scan', clean]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /No findings/);

    const evil = project({ 'models/evil.pkl': EVIL_PICKLE });
    const bad = await cli(['scan', evil]);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /CRITICAL/);
    assert.equal((await cli(['scan', evil, '--fail-on', 'critical'])).code, 1);
    assert.equal((await cli(['scan', evil, '--fail-on', 'none'])).code, 0);
  });

  it('writes JSON with paths as given joined with the relative path', async () => {
    const evil = project({ 'models/evil.pkl': EVIL_PICKLE });
    const { stdout } = await cli(['scan', evil, '--format', 'json', '--only', 'models']);
    const report = JSON.parse(stdout) as { findings: { ruleId: string; severity: string; location: { path: string; offset?: number }; fingerprint: string; remediation: string }[]; summary: { files: number } };
    assert.equal(report.summary.files, 1);
    const finding = report.findings.find((f) => f.severity === 'critical');
    assert.ok(finding, stdout);
    assert.equal(finding.location.path, `${evil}/models/evil.pkl`);
    assert.equal(typeof finding.location.offset, 'number');
    assert.match(finding.fingerprint, /^[0-9a-f]{32}$/);
    assert.ok(finding.remediation.length > 0);
  });

  it('writes SARIF 2.1.0 that validates against the official schema, with and without results', async () => {
    const schema = JSON.parse(readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as object;
    const Ajv = AjvModule.default;
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false });
    const validate = ajv.compile(schema);
    for (const files of [{ 'evil.pkl': EVIL_PICKLE }, { 'clean.pkl': CLEAN_PICKLE }]) {
      const root = project(files);
      const out = join(root, 'out.sarif');
      const run = await cli(['scan', root, '--format', 'sarif', '--output', out, '--exclude', 'out.sarif']);
      assert.ok(run.code === 0 || run.code === 1, run.stderr);
      const log = JSON.parse(readFileSync(out, 'utf8')) as { runs: { results: { ruleId: string; level: string; partialFingerprints: Record<string, string>; ruleIndex: number }[]; tool: { driver: { rules: { id: string }[] } } }[] };
      assert.ok(validate(log), JSON.stringify(validate.errors?.slice(0, 5)));
      const run0 = log.runs[0];
      assert.ok(run0);
      for (const result of run0.results) {
        assert.equal(run0.tool.driver.rules[result.ruleIndex]?.id, result.ruleId);
        assert.ok(result.partialFingerprints['custody/v1']);
      }
      if ('evil.pkl' in files) assert.ok(run0.results.some((r) => r.level === 'error'));
    }
  });

  it('writes an HTML report that escapes what it shows', async () => {
    const root = project({ '<b>evil</b>.pkl': EVIL_PICKLE });
    const { stdout } = await cli(['scan', root, '--format', 'html', '--fail-on', 'none']);
    assert.match(stdout, /^<!doctype html>/);
    assert.ok(!stdout.includes('<b>evil</b>'));
    assert.ok(stdout.includes('&lt;b&gt;evil&lt;/b&gt;'));
  });

  it('hides known findings with a baseline written by --write-baseline', async () => {
    const evil = project({ 'evil.pkl': EVIL_PICKLE });
    const baseline = join(evil, '..', `${evil.split('/').pop() ?? 'x'}.baseline.json`);
    assert.equal((await cli(['scan', evil, '--write-baseline', baseline])).code, 1);
    const again = await cli(['scan', evil, '--baseline', baseline]);
    assert.equal(again.code, 0, again.stdout);
    assert.match(again.stdout, /hidden by the baseline/);
    writeFileSync(join(evil, 'second.pkl'), EVIL_PICKLE);
    assert.equal((await cli(['scan', evil, '--baseline', baseline])).code, 1);
  });

  it('reads configuration only from --config, never on its own from the working directory', async () => {
    const evil = project({ 'evil.pkl': EVIL_PICKLE });
    const ids = (JSON.parse((await cli(['scan', evil, '--format', 'json'])).stdout) as { findings: { ruleId: string }[] }).findings.map((f) => f.ruleId);
    const offEverything = `rules:\n${[...new Set(ids)].map((id) => `  ${id}: off\n`).join('')}`;
    // The usual CI step, `cd repo && custody scan .`: the repository's own .custody.yml must not switch rules off.
    writeFileSync(join(evil, '.custody.yml'), offEverything);
    const inRepo = await cli(['scan', evil], evil);
    assert.equal(inRepo.code, 1, inRepo.stdout);
    assert.match(inRepo.stdout, /CRITICAL/);
    assert.match(inRepo.stderr, /\.custody\.yml in the working directory is not read; pass --config/);
    // Named, it is used (the user vouches for it).
    assert.equal((await cli(['scan', evil, '--config', '.custody.yml', '--exclude', '.custody.yml'], evil)).code, 0);
    writeFileSync(join(evil, 'invalid.yml'), 'rules:\n  not/a-rule: off\n');
    const invalid = await cli(['scan', evil, '--config', join(evil, 'invalid.yml')]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /CONFIG_INVALID/);
  });

  it('refuses a --config that is a FIFO instead of waiting on it', async () => {
    const root = project({ 'a.txt': '' });
    execFileSync('mkfifo', [join(root, 'config.yml')]);
    assert.match((await cli(['scan', root, '--config', join(root, 'config.yml')])).stderr, /error SPECIAL_FILE/);
  });

  it('scans what a .gitignore in the tree hides for high-risk content, and --no-gitignore scans it in full', async () => {
    const root = project({ '.gitignore': '*\n', 'models/evil.bin': EVIL_PICKLE, 'notes.txt': 'password = "correct-horse-battery-staple-42"\n' });
    const ignored = await cli(['scan', root, '--format', 'json']);
    assert.equal(ignored.code, 1, ignored.stdout);
    const report = JSON.parse(ignored.stdout) as { findings: { ruleId: string; severity: string; location: { path: string } }[]; summary: { files: number; ignored: number } };
    assert.ok(report.findings.some((f) => f.severity === 'critical' && f.location.path.endsWith('models/evil.bin')));
    assert.ok(report.findings.every((f) => f.severity === 'critical' || f.severity === 'high'), 'ignored files report high and critical findings only');
    assert.ok(!report.findings.some((f) => f.ruleId.startsWith('secrets/')), 'the secrets scanner does not read ignored files');
    assert.deepEqual([report.summary.files, report.summary.ignored], [3, 3]);
    const full = JSON.parse((await cli(['scan', root, '--format', 'json', '--no-gitignore'])).stdout) as { summary: { ignored: number } };
    assert.equal(full.summary.ignored, 0);
  });

  it('scans a link named on the command line and a Hugging Face cache snapshot', async () => {
    const root = project({ 'real/evil.pkl': EVIL_PICKLE, 'models--org--m/blobs/0123abcd': EVIL_PICKLE });
    symlinkSync(join(root, 'real', 'evil.pkl'), join(root, 'named.pkl'));
    mkdirSync(join(root, 'models--org--m', 'snapshots', 'rev'), { recursive: true });
    symlinkSync('../../blobs/0123abcd', join(root, 'models--org--m', 'snapshots', 'rev', 'pytorch_model.bin'));
    for (const path of [join(root, 'named.pkl'), join(root, 'models--org--m', 'snapshots', 'rev')]) {
      const run = await cli(['scan', path, '--format', 'json']);
      assert.equal(run.code, 1, `${path}: ${run.stdout}`);
      const report = JSON.parse(run.stdout) as { findings: { severity: string }[]; summary: { files: number } };
      assert.equal(report.summary.files, 1);
      assert.ok(report.findings.some((f) => f.severity === 'critical'));
    }
  });

  it('finds the same things with and without worker threads', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 20; i++) files[`m${i}.pkl`] = i % 3 === 0 ? EVIL_PICKLE : CLEAN_PICKLE;
    const root = project(files);
    const inThread = JSON.parse((await cli(['scan', root, '--format', 'json', '--jobs', '0'])).stdout) as { findings: unknown[] };
    const inWorkers = JSON.parse((await cli(['scan', root, '--format', 'json', '--jobs', '2'])).stdout) as { findings: unknown[] };
    assert.ok(inThread.findings.length >= 7);
    assert.deepEqual(inWorkers.findings, inThread.findings);
  });

  it('shows progress and colour only on a terminal, progress on standard error', async () => {
    const evil = project({ 'evil.pkl': EVIL_PICKLE });
    const piped = await cli(['scan', evil]);
    assert.equal(piped.stderr, '');
    assert.ok(!piped.stdout.includes('\x1b['));
    const tty = await cli(['scan', evil], dir, true);
    assert.match(tty.stderr, /scanning 1\/1 files/);
    assert.ok(tty.stdout.includes('\x1b['));
    assert.ok(!tty.stdout.includes('scanning'));
  });

  it('lists rules', async () => {
    const { code, stdout } = await cli(['rules', '--format', 'json']);
    assert.equal(code, 0);
    const rules = JSON.parse(stdout) as { id: string }[];
    assert.ok(rules.some((r) => r.id === 'core/scan-error'));
  });
});

describe('custody attest scan', () => {
  function predicateOf(bundleText: string): { result: string; failedTests: string[]; configuration: { annotations: { files: number | null } }[] } {
    const bundle = JSON.parse(bundleText) as { dsseEnvelope: { payload: string } };
    return (JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()) as { predicate: ReturnType<typeof predicateOf> }).predicate;
  }

  it('never signs a pass over files an ignore file in the subject hides', async () => {
    const root = project({ 'model/.gitignore': '*\n', 'model/weights.bin': EVIL_PICKLE, 'model/config.json': '{"a": 1}' });
    assert.equal((await cli(['keygen', '--out', 'k'], root)).code, 0);
    const run = await cli(['attest', 'scan', 'model', '--key', 'k.pem'], root);
    assert.equal(run.code, 0, run.stderr);
    const predicate = predicateOf(run.stdout);
    assert.equal(predicate.result, 'FAILED');
    assert.ok(predicate.failedTests.some((t) => t.startsWith('models/pickle-')), predicate.failedTests.join(', '));
    assert.equal(predicate.configuration[0]?.annotations.files, 2, 'every file of the subject was scanned');
  });

  it('does not pass a saved report that covers fewer files than the subject, or part of it only for high risks', async () => {
    const root = project({ 'model/a.json': '{}', 'model/b.json': '{}', 'model/c.json': '{}' });
    assert.equal((await cli(['keygen', '--out', 'k'], root)).code, 0);
    const attest = async (summary: object): Promise<string> => {
      writeFileSync(join(root, 'report.json'), JSON.stringify({ findings: [], summary }));
      const run = await cli(['attest', 'scan', 'model', '--report', 'report.json', '--key', 'k.pem', '--fail-on', 'none'], root);
      assert.equal(run.code, 0, run.stderr);
      return predicateOf(run.stdout).result;
    };
    assert.equal(await attest({ files: 3, ignored: 0, scanners: ['models'] }), 'PASSED');
    assert.equal(await attest({ files: 0, scanners: ['models'] }), 'WARNED');
    assert.equal(await attest({ files: 3, ignored: 2, scanners: ['models'] }), 'WARNED');
    assert.equal(await attest({ scanners: ['models'] }), 'WARNED');
  });

  it('finds the files of a subject that a scan did not read in full', () => {
    const scanned = [
      { path: '/m/a.bin', coverage: 'full' as const, alsoAt: ['/m/link.bin'] },
      { path: '/m/b.bin', coverage: 'high-risk' as const },
    ];
    assert.deepEqual(findUncoveredFiles(['/m/a.bin', '/m/link.bin', '/m/b.bin', '/m/c.bin'], scanned), ['/m/b.bin', '/m/c.bin']);
    assert.deepEqual(findUncoveredFiles(['/m/a.bin'], scanned), []);
  });
});
