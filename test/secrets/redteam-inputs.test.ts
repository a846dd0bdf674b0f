import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Fake, LETTERS } from '../../src/scanners/secrets/fake.js';
import { scanText } from './helpers.js';

// Awkward inputs seen in real repositories: CRLF, UTF-16, late NUL bytes, minified lines, notebooks whose
// secrets sit in JSON-escaped sources, and regex-hostile text. Line numbers are those of the raw file.
const f = new Fake(4242);
const hf = (): string => `hf_${f.chars(LETTERS, 34)}`;

test('CRLF files report the right line and no carriage return in the value', async () => {
  const value = hf();
  const findings = await scanText(`@echo off\r\nrem setup\r\nset HF_TOKEN=${value}\r\n`, 'setup.bat');
  assert.deepEqual(findings.map((x) => [x.ruleId, x.location.line]), [['secrets/huggingface-token', 3]]);
});

test('UTF-16 BE with a byte-order mark is decoded', async () => {
  const value = hf();
  const le = Buffer.from(`x = 1\nHF_TOKEN="${value}"\n`, 'utf16le');
  const be = Buffer.alloc(le.length);
  for (let i = 0; i < le.length; i += 2) {
    be[i] = le[i + 1]!;
    be[i + 1] = le[i]!;
  }
  const findings = await scanText(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'profile.ps1');
  assert.deepEqual(findings.map((x) => x.location.line), [2]);
});

test('UTF-16 without a byte-order mark is recognised by its shape, not skipped as binary', async () => {
  const value = hf();
  const le = Buffer.from(`x = 1\nHF_TOKEN="${value}"\n`, 'utf16le');
  const be = Buffer.alloc(le.length);
  for (let i = 0; i < le.length; i += 2) {
    be[i] = le[i + 1]!;
    be[i + 1] = le[i]!;
  }
  for (const [name, bytes] of [['le.ps1', le], ['be.ps1', be]] as const) {
    const findings = await scanText(bytes, name);
    assert.deepEqual(findings.map((x) => [x.ruleId, x.location.line, x.location.offset]), [['secrets/huggingface-token', 2, 2 * 16]], name);
  }
  // Boundary: NULs that do not alternate with ASCII text are binary, as before.
  const mixed = Buffer.concat([le, Buffer.from([0, 0, 0x01, 0x00])]);
  assert.deepEqual(await scanText(mixed, 'mixed.bin'), []);
});

test('a NUL byte late in a text file does not hide the secrets before or after it', async () => {
  const before = hf();
  const after = hf();
  const text = Buffer.concat([Buffer.from(`HF_TOKEN=${before}\n${'log line without secrets\n'.repeat(600)}`), Buffer.from([0]), Buffer.from(`\nHF_TOKEN=${after}\n`)]);
  const findings = await scanText(text, 'train.log');
  assert.equal(findings.length, 2);
});

test('a secret in the middle of a long minified line is found with its column', async () => {
  const value = hf();
  const pad = 'var a=function(t){return t*2};'.repeat(4000);
  const text = `${pad}var cfg={token:"${value}"};${pad}\n`;
  const findings = await scanText(text, 'app.min.js');
  assert.equal(findings.length, 1);
  assert.equal(findings[0]!.location.line, 1);
  assert.equal(findings[0]!.location.column, text.indexOf(value) + 1);
});

test('notebook findings carry the raw .ipynb line, the cell and the line inside the cell', async () => {
  const value = hf();
  const nb = JSON.stringify({ cells: [
    { cell_type: 'markdown', metadata: {}, source: ['# Title\n', 'text'] },
    { cell_type: 'code', execution_count: 1, metadata: {}, outputs: [], source: ['import os\n', `os.environ["HF_TOKEN"] = "${value}"\n`] },
  ], metadata: {}, nbformat: 4, nbformat_minor: 5 }, null, 1);
  const findings = await scanText(nb, 'nb.ipynb');
  assert.equal(findings.length, 1);
  const rawLine = nb.split('\n').findIndex((l) => l.includes(value)) + 1;
  assert.equal(findings[0]!.location.line, rawLine);
  assert.equal(findings[0]!.properties?.['cell'], 1);
  assert.equal(findings[0]!.properties?.['cellLine'], 2);
});

test('regex-hostile inputs finish and report nothing (long runs of prefix fragments and separators)', async () => {
  const hostile = [
    'sk-'.repeat(40_000),
    'password='.repeat(20_000),
    `${'a'.repeat(100_000)}@`,
    `postgresql://${':'.repeat(50_000)}@`,
    `-----BEGIN PRIVATE KEY-----${'A'.repeat(70_000)}`,
    `eyJ${'A'.repeat(30_000)}.eyJ${'B'.repeat(30_000)}.`,
    'token: "'.repeat(20_000),
    `hooks.slack.com/services/T${'A'.repeat(50_000)}`,
    `${'\\"'.repeat(40_000)}`,
  ];
  for (const text of hostile) assert.deepEqual(await scanText(text, 'hostile.txt'), []);
});
