import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readBaseline, writeBaseline } from '../../src/core/baseline.js';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig, parseConfig } from '../../src/core/config.js';
import { defineRule } from '../../src/core/rule.js';
import type { Scanner } from '../../src/core/scanner.js';
import { scanFile, scanSource } from '../../src/scanners/file-scan.js';

const dir = mkdtempSync(join(tmpdir(), 'custody-scan-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A test scanner: reports every line containing TOKEN=<value>, and nests into `NEST:` lines. */
const tokenRule = defineRule<'found', { lines: string[] }>({
  id: 'test/token',
  title: 'Token',
  description: 'Test rule.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:798'],
  remediation: 'Remove it.',
  messages: { found: 'Token {{name}} found' },
  check: () => undefined,
});

const testScanner: Scanner = {
  name: 'test',
  description: 'test',
  rules: [tokenRule],
  async scan(target, context) {
    const text = (await target.source.read(0, target.source.size)).toString('utf8');
    const report = context.reporter(tokenRule, target);
    for (const [i, line] of text.split('\n').entries()) {
      const m = /TOKEN=(\S+)/.exec(line);
      if (m?.[1]) report({ message: 'found', data: { name: 'T' }, line: i + 1, secret: m[1], evidence: line.trim() });
      if (line.startsWith('NEST:')) await context.scanMember(target, `inner${target.depth}`, new BufferSource(Buffer.from(line)));
      if (line === 'THROW') throw new Error('boom');
    }
  },
};

const known = new Set(['test/token', 'core/invalid-suppression', 'core/scan-error', 'core/nesting-limit']);
const options = { scanners: [testScanner], config: defaultConfig(), knownRuleIds: known };

function file(name: string, content: string) {
  const absPath = join(dir, name);
  writeFileSync(absPath, content);
  return { displayPath: `proj/${name}`, absPath, size: Buffer.byteLength(content) };
}

describe('scanFile', () => {
  it('redacts secrets at the source and fingerprints without line numbers', async () => {
    const secret = 'sk1234567890abcdefghij';
    const [finding] = await scanFile(file('a.env', `TOKEN=${secret}\n`), options);
    assert.ok(finding);
    assert.equal(finding.ruleId, 'test/token');
    assert.equal(finding.location.line, 1);
    assert.equal(finding.message, 'Token T found');
    assert.ok(!JSON.stringify(finding).includes(secret), 'raw secret must not appear anywhere in the finding');
    const [moved] = await scanFile(file('a.env', `\n\nTOKEN=${secret}\n`), options);
    assert.equal(moved?.location.line, 3);
    assert.equal(moved?.fingerprint, finding.fingerprint);
    const [other] = await scanFile(file('a.env', `TOKEN=${secret}x\n`), options);
    assert.notEqual(other?.fingerprint, finding.fingerprint);
  });

  it('honours a suppression with a reason, on the line or the line above', async () => {
    assert.deepEqual(await scanFile(file('b.py', 'TOKEN=abcdefgh12345678 # custody-ignore test/token -- test fixture\n'), options), []);
    assert.deepEqual(await scanFile(file('c.py', '# custody-ignore test/token -- documented example\nTOKEN=abcdefgh12345678\n'), options), []);
  });

  it('reports suppressions without a reason or for unknown rules, and keeps the finding', async () => {
    const noReason = await scanFile(file('d.py', 'TOKEN=abcdefgh12345678 # custody-ignore test/token\n'), options);
    assert.deepEqual(noReason.map((f) => f.ruleId).sort(), ['core/invalid-suppression', 'test/token']);
    const unknown = await scanFile(file('e.py', '# custody-ignore test/nope -- reason\nTOKEN=abcdefgh12345678\n'), options);
    assert.deepEqual(unknown.map((f) => f.ruleId), ['test/token']);
    const wrongRule = await scanFile(file('f.py', '# custody-ignore core/scan-error -- reason\nTOKEN=abcdefgh12345678\n'), options);
    assert.deepEqual(wrongRule.map((f) => f.ruleId), ['test/token']);
  });

  it('applies severity overrides and disabled rules from config', async () => {
    const config = parseConfig('rules:\n  test/token: low\n', 'x', known);
    const [f] = await scanFile(file('g.env', 'TOKEN=abcdefgh12345678\n'), { ...options, config });
    assert.equal(f?.severity, 'low');
    const off = parseConfig('rules:\n  test/token: off\n', 'x', known);
    assert.deepEqual(await scanFile(file('h.env', 'TOKEN=abcdefgh12345678\n'), { ...options, config: off }), []);
  });

  it('turns a scanner failure into core/scan-error instead of passing the file', async () => {
    const findings = await scanFile(file('i.txt', 'THROW\n'), options);
    assert.equal(findings[0]?.ruleId, 'core/scan-error');
    assert.equal(findings[0]?.severity, 'high');
  });

  it('bounds container nesting and reports it', async () => {
    const config = parseConfig('limits:\n  maxNesting: 2\n', 'x', known);
    const findings = await scanSource('n.txt', new BufferSource(Buffer.from('NEST:')), { ...options, config });
    assert.deepEqual(findings.map((f) => f.ruleId), ['core/nesting-limit']);
    assert.equal(findings[0]?.location.member, 'inner0!inner1!inner2');
  });

  it('round-trips a baseline and rejects malformed ones by code', async () => {
    const findings = await scanFile(file('j.env', 'TOKEN=abcdefgh12345678\n'), options);
    const path = join(dir, 'baseline.json');
    await writeBaseline(path, findings);
    const baseline = await readBaseline(path);
    assert.ok(baseline.fingerprints.has(findings[0]?.fingerprint ?? ''));
    writeFileSync(path, '{"version":2}');
    await assert.rejects(readBaseline(path), { code: 'BASELINE_INVALID' });
    writeFileSync(path, 'nope');
    await assert.rejects(readBaseline(path), { code: 'BASELINE_INVALID' });
  });
});

describe('scanFile on a tree that changes or hides things', () => {
  /** Stand-ins for the real scanners, by name: each reports one high and one low finding per file. */
  const rule = (id: `${string}/${string}`) => defineRule<'seen', void>({ id, title: 't', description: 'Test rule.', severity: 'high', confidence: 'high', tags: ['cwe:1'], remediation: 'r', messages: { seen: 'seen' }, check: () => undefined });
  const named = (name: string): Scanner => {
    const r = rule(`${name}/seen`);
    return {
      name,
      description: name,
      rules: [r],
      scan(target, context) {
        const report = context.reporter(r, target);
        report({ message: 'seen', key: 'high' });
        report({ message: 'seen', key: 'low', severity: 'low' });
        return Promise.resolve();
      },
    };
  };
  const scanners = [named('containers'), named('models'), named('secrets')];
  const byName = { scanners, config: defaultConfig(), knownRuleIds: known };

  it('refuses a file swapped for a FIFO after the walk, without waiting for a writer', async () => {
    const walked = file('swapped.pkl', 'x');
    rmSync(walked.absPath);
    execFileSync('mkfifo', [walked.absPath]);
    const findings = await scanFile(walked, options);
    assert.deepEqual(findings.map((f) => [f.ruleId, f.properties?.['errorCode']]), [['core/scan-error', 'SPECIAL_FILE']]);
  });

  it('refuses a file swapped for a link after the walk, and opens a walked link at its resolved target', async () => {
    const walked = file('relinked.env', 'TOKEN=abcdefgh12345678\n');
    const elsewhere = file('elsewhere.env', 'TOKEN=zzzzzzzz12345678\n');
    renameSync(walked.absPath, `${walked.absPath}.old`);
    symlinkSync(elsewhere.absPath, walked.absPath);
    assert.deepEqual((await scanFile(walked, options)).map((f) => [f.ruleId, f.properties?.['errorCode']]), [['core/scan-error', 'SYMLINK_REFUSED']]);
    const viaLink = await scanFile({ displayPath: 'proj/link.env', absPath: walked.absPath, openPath: elsewhere.absPath, size: 24 }, options);
    assert.deepEqual(viaLink.map((f) => [f.ruleId, f.location.path]), [['test/token', 'proj/link.env']]);
  });

  it('scans a file an ignore file matched with the high-risk scanners only, and keeps high findings only', async () => {
    const full = await scanFile(file('k.bin', 'x'), byName);
    assert.deepEqual(full.map((f) => `${f.ruleId} ${f.severity}`).sort(), ['containers/seen high', 'containers/seen low', 'models/seen high', 'models/seen low', 'secrets/seen high', 'secrets/seen low']);
    const ignored = await scanFile({ ...file('l.bin', 'x'), ignored: true }, byName);
    assert.deepEqual(ignored.map((f) => `${f.ruleId} ${f.severity}`).sort(), ['containers/seen high', 'models/seen high']);
  });

  it('notes the other paths of the same file on every finding', async () => {
    const findings = await scanFile({ ...file('m.bin', 'x'), alsoAt: ['proj/link.bin'] }, byName);
    assert.ok(findings.length > 0);
    for (const f of findings) assert.deepEqual(f.properties?.['alsoAt'], ['proj/link.bin']);
  });
});

describe('computeFingerprint', () => {
  it('does not depend on how the path was spelled on the command line', async () => {
    const { computeFingerprint } = await import('../../src/core/finding.js');
    assert.equal(computeFingerprint('a/b', { path: './repo/x.py' }, 'k'), computeFingerprint('a/b', { path: 'repo/x.py' }, 'k'));
    assert.equal(computeFingerprint('a/b', { path: 'repo//x.py' }, 'k'), computeFingerprint('a/b', { path: 'repo/x.py' }, 'k'));
    assert.notEqual(computeFingerprint('a/b', { path: 'repo/y.py' }, 'k'), computeFingerprint('a/b', { path: 'repo/x.py' }, 'k'));
    assert.notEqual(computeFingerprint('a/b', { path: 'repo/x.py', member: 'm' }, 'k'), computeFingerprint('a/b', { path: 'repo/x.py' }, 'k'));
  });
});

describe('limits.maxFindingsPerRule', () => {
  it('lists at most the limit per rule and counts the rest in one finding with their highest severity', async () => {
    const config = parseConfig('limits:\n  maxFindingsPerRule: 3\n', 'x', known);
    const text = Array.from({ length: 10 }, (_, i) => `TOKEN=abcdefgh1234567${i}`).join('\n');
    const findings = await scanSource('many.env', new BufferSource(Buffer.from(text)), { ...options, config });
    assert.equal(findings.filter((f) => f.ruleId === 'test/token').length, 3);
    const capped = findings.filter((f) => f.ruleId === 'core/findings-capped');
    assert.equal(capped.length, 1);
    assert.match(capped[0]?.message ?? '', /^7 more test\/token finding/);
    assert.equal(capped[0]?.severity, 'high', 'the count keeps the severity of what it hides, so the exit code is unchanged');
  });

  it('adds nothing at or under the limit', async () => {
    const config = parseConfig('limits:\n  maxFindingsPerRule: 3\n', 'x', known);
    const text = Array.from({ length: 3 }, (_, i) => `TOKEN=abcdefgh1234567${i}`).join('\n');
    const findings = await scanSource('few.env', new BufferSource(Buffer.from(text)), { ...options, config });
    assert.deepEqual(findings.map((f) => f.ruleId), ['test/token', 'test/token', 'test/token']);
  });
});
