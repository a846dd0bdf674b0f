import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { cli, DATA, ensureData, workDir } from './helpers.js';

describe('custody data (CLI)', () => {
  let dir: string;
  before(() => {
    ensureData();
    dir = workDir('cli');
  });

  it('profile → check: findings in the scan JSON shape, exit codes by --fail-on, SARIF and HTML', async () => {
    const profile = await cli(['data', 'profile', join(DATA, 'base.csv'), '--label', 'label', '--output', 'base.json'], dir);
    assert.equal(profile.code, 0, profile.stderr);
    const json = await cli(['data', 'check', join(DATA, 'trigger.csv'), '--baseline', 'base.json', '--format', 'json'], dir);
    assert.equal(json.code, 1, json.stderr);
    const report = JSON.parse(json.stdout) as { findings: { ruleId: string; severity: string; message: string; location: { path: string } }[]; summary: { findings: number } };
    assert.deepEqual(report.findings.map((f) => f.ruleId), ['data/trigger-token']);
    assert.equal(report.findings[0]?.location.path, join(DATA, 'trigger.csv'));
    assert.equal(report.summary.findings, 1);
    const none = await cli(['data', 'check', join(DATA, 'trigger.csv'), '--baseline', 'base.json', '--fail-on', 'none'], dir);
    assert.equal(none.code, 0);
    assert.match(none.stdout, /CRITICAL .*zqx7vortal.*\[data\/trigger-token\]/);
    const clean = await cli(['data', 'check', join(DATA, 'clean.csv'), '--baseline', 'base.json'], dir);
    assert.equal(clean.code, 0, clean.stdout);
    const sarif = await cli(['data', 'check', join(DATA, 'trigger.csv'), '--baseline', 'base.json', '--format', 'sarif', '--fail-on', 'none'], dir);
    const log = JSON.parse(sarif.stdout) as { runs: { results: { ruleId: string }[]; tool: { driver: { rules: { id: string }[] } } }[] };
    assert.equal(log.runs[0]?.results[0]?.ruleId, 'data/trigger-token');
    assert.ok(log.runs[0]?.tool.driver.rules.some((r) => r.id === 'data/trigger-token'));
  });

  it('HTML report: plots for numeric drift and example rows, every value escaped', async () => {
    const drifted = join(dir, 'drift.csv');
    const lines = readFileSync(join(DATA, 'base.csv'), 'utf8').split('\n');
    writeFileSync(drifted, lines.map((l, i) => (i === 0 || l === '' ? l : l.replace(/^(\d+),(\d),([\d.]+),/, (_m, id: string, lab: string, amt: string) => `${id},${lab},${(Number(amt) * 2).toFixed(2)},`))).join('\n'));
    const html = await cli(['data', 'check', drifted, '--baseline', join(DATA, 'base.csv'), '--label', 'label', '--format', 'html', '--fail-on', 'none'], dir);
    assert.equal(html.code, 0, html.stderr);
    assert.match(html.stdout, /<svg [^>]*role="img"/);
    assert.match(html.stdout, /data\/numeric-drift/);
    // The page's one script is the report's own (allowed by its hash in the CSP); the data details add none.
    assert.equal(html.stdout.match(/<script/gi)?.length, 1);
    assert.match(html.stdout, /script-src 'sha256-/);
    const details = html.stdout.slice(html.stdout.indexOf('<section><h2>Details</h2>'));
    assert.ok(details.length < html.stdout.length && details.includes('<svg'));
    assert.doesNotMatch(details, /<script|\son[a-z]+=|style=/i);
  });

  it('fingerprint: the manifest digest is what custody sign signs and custody verify checks', async () => {
    assert.equal((await cli(['keygen', '--out', 'k'], dir)).code, 0);
    const fp = await cli(['data', 'fingerprint', join(DATA, 'base.csv')], dir);
    assert.equal(fp.code, 0, fp.stderr);
    const manifest = JSON.parse(fp.stdout) as { digest: { sha256: string }; data: { contentHash: { sha256: string }; rows: number } };
    assert.equal(manifest.data.rows, 20000);
    const signed = await cli(['sign', join(DATA, 'base.csv'), '--key', 'k.pem', '--signature', 'base.sig', '--format', 'json'], dir);
    assert.equal(signed.code, 0, signed.stderr);
    assert.equal((JSON.parse(signed.stdout) as { digest: { sha256: string } }).digest.sha256, manifest.digest.sha256);
    const verified = await cli(['verify', join(DATA, 'base.csv'), '--signature', 'base.sig', '--key', 'k.pub.pem'], dir);
    assert.equal(verified.code, 0, verified.stderr);
    const other = await cli(['verify', join(DATA, 'flips.csv'), '--signature', 'base.sig', '--key', 'k.pub.pem'], dir);
    assert.equal(other.code, 1);
  });

  it('attest data: a signed test-result attestation that attest verify accepts for the candidate only', async () => {
    const run = await cli(['attest', 'data', join(DATA, 'flips.csv'), '--baseline', join(DATA, 'base.csv'), '--key-column', 'id', '--label', 'label', '--key', 'k.pem', '--output', 'flips.att'], dir);
    assert.equal(run.code, 0, run.stderr);
    const verify = await cli(['attest', 'verify', join(DATA, 'flips.csv'), '--attestation', 'flips.att', '--key', 'k.pub.pem', '--type', 'scan', '--format', 'json'], dir);
    assert.equal(verify.code, 0, verify.stderr);
    const proof = JSON.parse(verify.stdout) as { predicate: { result: string; failedTests: string[]; passedTests: string[] } };
    assert.equal(proof.predicate.result, 'FAILED');
    assert.deepEqual(proof.predicate.failedTests, ['data/label-flips']);
    assert.ok(proof.predicate.passedTests.includes('data/trigger-token'));
    const wrong = await cli(['attest', 'verify', join(DATA, 'base.csv'), '--attestation', 'flips.att', '--key', 'k.pub.pem'], dir);
    assert.equal(wrong.code, 1);
    const check = await cli(['data', 'check', join(DATA, 'clean.csv'), '--baseline', join(DATA, 'base.csv'), '--label', 'label', '--attest', 'clean.att', '--signing-key', 'k.pem'], dir);
    assert.equal(check.code, 0, check.stdout);
    const ok = await cli(['attest', 'verify', join(DATA, 'clean.csv'), '--attestation', 'clean.att', '--key', 'k.pub.pem', '--format', 'json'], dir);
    assert.equal((JSON.parse(ok.stdout) as { predicate: { result: string } }).predicate.result, 'PASSED');
  });

  it('usage errors are coded (exit 2); rules lists the data rules', async () => {
    assert.equal((await cli(['data'], dir)).code, 2);
    assert.match((await cli(['data', 'check', 'x.csv'], dir)).stderr, /error USAGE:/);
    assert.match((await cli(['data', 'profile', join(DATA, 'base.csv'), '--memory-limit', 'lots'], dir)).stderr, /error USAGE:/);
    const byKey = await cli(['data', 'profile', join(DATA, 'base.csv'), '--key', 'id', '--output', 'k.json'], dir);
    assert.equal(byKey.code, 0);
    assert.match((await cli(['data', 'check', join(DATA, 'base.csv'), '--baseline', 'k.json'], dir)).stderr, /error USAGE: .*--baseline-data/);
    assert.match((await cli(['data', 'profile', join(DATA, 'base.csv'), '--label', 'nope'], dir)).stderr, /error USAGE: .*no column "nope"/);
    const rules = await cli(['rules'], dir);
    assert.match(rules.stdout, /data\/trigger-token +critical/);
  });
});
