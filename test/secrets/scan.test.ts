import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig, parseConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import type { Report } from '../../src/core/rule.js';
import { HEAD_BYTES, type ScanContext, type ScanTarget } from '../../src/core/scanner.js';
import { runScan } from '../../src/scanners/engine.js';
import { buildFinding } from '../../src/scanners/file-scan.js';
import { Fake, LETTERS } from '../../src/scanners/secrets/fake.js';
import { secretsScanner } from '../../src/scanners/secrets/index.js';
import { scanText } from './helpers.js';

const f = new Fake(6060);
const hf = (): string => `hf_${f.chars(LETTERS, 34)}`;

function filler(lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(`row ${i}, value ${f.hex(16)}, note about tokens and keys`);
  return out.join('\n') + '\n';
}

test('large files are read in overlapping windows: every secret is found once, with its line', async () => {
  const config = defaultConfig();
  config.limits.maxTextBytes = 64 * 1024; // window = 64 KiB
  const parts: string[] = [];
  const secrets: { value: string; line: number }[] = [];
  let line = 1;
  for (let i = 0; i < 12; i++) {
    const block = filler(900 + f.int(300));
    parts.push(block);
    line += block.split('\n').length - 1;
    const value = hf();
    parts.push(`HF_TOKEN=${value}\n`);
    secrets.push({ value, line });
    line += 1;
  }
  const text = parts.join('');
  assert.ok(text.length > 6 * 64 * 1024);
  const findings = await scanText(text, 'big.log', config);
  assert.deepEqual(findings.map((x) => x.location.line), secrets.map((s) => s.line));
  for (const finding of findings) assert.equal(text.slice(finding.location.offset!, finding.location.offset! + 3), 'hf_');
});

test('a secret that straddles a window boundary is reported once', async () => {
  const config = defaultConfig();
  config.limits.maxTextBytes = 64 * 1024;
  const value = hf();
  const head = 'x'.repeat(64 * 1024 - 12) + '\n';
  const findings = await scanText(`${head}HF_TOKEN=${value}\n${filler(50)}`, 'edge.txt', config);
  assert.equal(findings.length, 1);
  assert.equal(findings[0]!.location.line, 2);
});

test('binary content is skipped; UTF-16 text is decoded', async () => {
  const value = hf();
  assert.deepEqual(await scanText(Buffer.concat([Buffer.from(`HF_TOKEN=${value}\n`), Buffer.from([0, 1, 2, 0])]), 'blob.bin'), []);
  assert.deepEqual(await scanText(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]), Buffer.from(`tEXt HF_TOKEN=${value}`)]), 'x.png'), []);
  assert.deepEqual(await scanText(Buffer.concat([Buffer.from([0x80, 0x04]), Buffer.from(`HF_TOKEN=${value}`)]), 'model.pkl'), []);
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`line one\nHF_TOKEN=${value}\n`, 'utf16le')]);
  const findings = await scanText(utf16, 'win.env');
  assert.deepEqual(findings.map((x) => [x.ruleId, x.location.line]), [['secrets/huggingface-token', 2]]);
});

test('raw values never leave the engine: evidence is redacted, fingerprints hash the value', async () => {
  const value = hf();
  const text = `HF_TOKEN=${value}\n`;
  const [a] = await scanText(text, 'a.env');
  const [b] = await scanText(`# moved\n\n${text}`, 'a.env');
  assert.ok(a && b);
  assert.equal(JSON.stringify(a).includes(value), false);
  assert.equal(JSON.stringify(a).includes(value.slice(4)), false);
  assert.match(a.evidence!, /^hf_.\*+$/);
  assert.equal(a.fingerprint, b.fingerprint, 'the fingerprint survives line moves');
  const [c] = await scanText(`HF_TOKEN=${hf()}\n`, 'a.env');
  assert.notEqual(a.fingerprint, c!.fingerprint);
});

test('.custody.yml secrets.allowValues and secrets.allowPaths drop findings', async () => {
  const value = hf();
  const text = `HF_TOKEN=${value}\nDB_PASSWORD=${f.alnum(10)}#${f.alnum(3)}\n`;
  const config = parseConfig(`secrets:\n  allowValues: ['^hf_${value.slice(3, 9)}']\n  allowPaths: ['fixtures/**']\n`, '.custody.yml');
  assert.deepEqual((await scanText(text, 'app/.env', config)).map((x) => x.ruleId), ['secrets/generic-secret']);
  assert.deepEqual(await scanText(text, 'fixtures/app/.env', config), []);
  const off = parseConfig('rules:\n  secrets/generic-secret: off\n  secrets/huggingface-token: critical\n', '.custody.yml');
  assert.deepEqual((await scanText(text, 'app/.env', off)).map((x) => [x.ruleId, x.severity]), [['secrets/huggingface-token', 'critical']]);
});

test('a scan that runs out of time is reported, never a silent pass', async () => {
  const findings: Finding[] = [];
  const config = defaultConfig();
  const bytes = Buffer.from(`HF_TOKEN=${hf()}\n`);
  const source = new BufferSource(bytes);
  const target: ScanTarget = { path: 'slow.txt', source, head: bytes.subarray(0, HEAD_BYTES), depth: 0 };
  const context: ScanContext = {
    config,
    limits: config.limits,
    deadline: Date.now() - 1,
    isEnabled: () => true,
    reporter: (rule, t) => ((input) => findings.push(buildFinding(rule, t, input, config))) as Report<string>,
    scanMember: () => Promise.resolve(),
  };
  await secretsScanner.scan(target, context);
  assert.deepEqual(findings.map((x) => x.ruleId), ['secrets/scan-incomplete']);
});

test('runScan over a directory, with inline suppressions honoured', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'custody-secrets-'));
  try {
    writeFileSync(join(dir, '.env'), `HF_TOKEN=${hf()}\n# custody-ignore secrets/generic-secret -- documented demo password\nDEMO_PASSWORD=${f.alnum(10)}#${f.alnum(3)}\n`);
    writeFileSync(join(dir, 'clean.py'), 'import os\napi_key = os.environ["API_KEY"]\n');
    const result = await runScan({ paths: [dir], only: ['secrets'], jobs: 0 });
    assert.deepEqual(result.findings.map((x) => [x.ruleId, x.location.line]), [['secrets/huggingface-token', 1]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('evidence shows names and URI users, unless they look like tokens themselves', async () => {
  const [named] = await scanText(`MLFLOW_TRACKING_PASSWORD=${f.alnum(12)}#${f.alnum(3)}\n`, '.env');
  assert.match(named!.evidence!, /^MLFLOW_TRACKING_PASSWORD=.{2,4}\*+$/);
  const [uri] = await scanText(`DATABASE_URL=postgresql://feast:${f.alnum(12)}#x@db:5432/f\n`, '.env');
  assert.match(uri!.evidence!, /^postgresql:\/\/feast:.{2,4}\*+@db:5432$/);
  const token = `${f.alnum(30)}Zz9`;
  const [hidden] = await scanText(`x = "https://${token}:${f.alnum(12)}#x@api.internal/v1"\n`, 'x.py');
  assert.equal(JSON.stringify(hidden).includes(token), false);
});
