import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { Fake, LETTERS, UPPER_B32 } from '../../src/scanners/secrets/fake.js';
import { VirtualText } from '../../src/scanners/secrets/json-tree.js';
import { MAX_NOTEBOOK_NODES } from '../../src/scanners/secrets/notebook.js';
import { scanText } from './helpers.js';

const f = new Fake(5150);
const hf = `hf_${f.chars(LETTERS, 34)}`;
const pw = `Zq${f.alnum(10)}!`;
const ghp = f.checksummed('ghp_');
const tb = f.alnum(30);
const meta = f.alnum(32);
const cellMeta = f.alnum(28);
const jwt = f.jwt();
const hidden = `AKIA${f.chars(UPPER_B32, 16)}`;

function notebook(): string {
  const nb = {
    cells: [
      { cell_type: 'markdown', id: 'm0', metadata: {}, source: ['# Title\n', 'Some text'] },
      {
        cell_type: 'code',
        execution_count: 1,
        id: 'c1',
        metadata: { tags: ['parameters'] },
        source: ['import os\n', `%env HF_TOKEN=${hf}\n`, `db_password = "${pw}"\n`, 'print("hi")'],
        outputs: [
          { output_type: 'stream', name: 'stdout', text: ['cloning\n', `token ${ghp}\n`] },
          { output_type: 'display_data', data: { 'image/png': Buffer.concat([f.bytes(100), Buffer.from(hidden), f.bytes(100)]).toString('base64') + hidden, 'text/plain': ['<Figure>'] }, metadata: {} },
          { output_type: 'execute_result', execution_count: 1, data: { 'text/plain': [`{'access_token': '${jwt}'}`] }, metadata: {} },
          { output_type: 'error', ename: 'AuthError', evalue: 'bad', traceback: ['\u001b[0;31m---\u001b[0m', `\u001b[0;31mAuthError\u001b[0m: client_secret=\u001b[0;32m"${tb}"\u001b[0m`] },
        ],
      },
      { cell_type: 'code', execution_count: 2, id: 'c2', metadata: { papermill: { parameters: { service_token: cellMeta } } }, source: 'print(1)', outputs: [] },
    ],
    metadata: { kernelspec: { name: 'python3' }, papermill: { parameters: { api_key: meta } } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  return JSON.stringify(nb, null, 1) + '\n';
}

function rawLine(text: string, secret: string): number {
  return text.slice(0, text.indexOf(secret)).split('\n').length;
}

function byRule(findings: Finding[], rule: string): Finding[] {
  return findings.filter((x) => x.ruleId === rule);
}

test('notebook findings carry the raw .ipynb line, the cell, the line in the cell and the field', async () => {
  const text = notebook();
  const findings = await scanText(text, 'nb/train.ipynb');
  const hfFinding = byRule(findings, 'secrets/huggingface-token')[0]!;
  assert.equal(hfFinding.location.line, rawLine(text, hf));
  assert.equal(hfFinding.location.column, text.split('\n')[rawLine(text, hf) - 1]!.indexOf(hf) + 1);
  assert.deepEqual(hfFinding.properties, { field: 'source', cell: 1, cellLine: 2 });
  const pwFinding = byRule(findings, 'secrets/generic-secret').find((x) => x.properties?.['field'] === 'source')!;
  assert.equal(pwFinding.location.line, rawLine(text, pw));
  assert.deepEqual(pwFinding.properties, { field: 'source', cell: 1, cellLine: 3 });

  const gh = byRule(findings, 'secrets/github-token')[0]!;
  assert.deepEqual(gh.properties, { field: 'outputs', cell: 1, cellLine: 2, output: 0 });
  assert.equal(gh.location.line, rawLine(text, ghp));
  const token = byRule(findings, 'secrets/jwt')[0]!;
  assert.equal(token.properties?.['field'], 'outputs');
  const traceback = byRule(findings, 'secrets/generic-secret').find((x) => x.properties?.['output'] === 3)!;
  assert.equal(traceback.location.line, rawLine(text, tb));
  const cellMetadata = byRule(findings, 'secrets/generic-secret').find((x) => x.properties?.['field'] === 'metadata')!;
  assert.deepEqual(cellMetadata.properties, { field: 'metadata', cell: 2 });
  assert.equal(cellMetadata.location.line, rawLine(text, cellMeta));
  const nbMetadata = byRule(findings, 'secrets/generic-secret').find((x) => x.properties?.['field'] === 'notebook-metadata')!;
  assert.equal(nbMetadata.location.line, rawLine(text, meta));
  // Image payloads are never read.
  assert.deepEqual(byRule(findings, 'secrets/aws-access-key-id'), []);
  assert.equal(findings.length, 7);
  // No raw value in any finding.
  const json = JSON.stringify(findings);
  for (const secret of [hf, pw, ghp, tb, meta, cellMeta, jwt]) assert.equal(json.includes(secret), false);
});

test('single-string sources map every line back to the one raw line', async () => {
  const nb = JSON.stringify({ cells: [{ cell_type: 'code', metadata: {}, outputs: [], source: `x = 1\ny = 2\nHF_TOKEN = "${hf}"\n` }], metadata: {}, nbformat: 4, nbformat_minor: 5 });
  const [finding] = await scanText(nb, 'one-line.ipynb');
  assert.equal(finding?.location.line, 1);
  assert.equal(finding?.location.column, nb.indexOf(hf) + 1);
  assert.deepEqual(finding?.properties, { field: 'source', cell: 0, cellLine: 3 });
});

test('nbformat 3 notebooks (worksheets, input) are read too', async () => {
  const nb = JSON.stringify({ worksheets: [{ cells: [{ cell_type: 'code', input: ['import os\n', `HF_TOKEN = "${hf}"`], outputs: [] }] }], metadata: {}, nbformat: 3, nbformat_minor: 0 }, null, 1);
  const findings = await scanText(nb, 'old.ipynb');
  assert.deepEqual(findings.map((x) => [x.ruleId, x.properties?.['field'], x.properties?.['cell']]), [['secrets/huggingface-token', 'source', 0]]);
});

test('a broken notebook is reported and scanned as raw text', async () => {
  const text = notebook().slice(0, -40);
  const findings = await scanText(text, 'broken.ipynb');
  assert.equal(byRule(findings, 'secrets/notebook-unparsed').length, 1);
  assert.equal(byRule(findings, 'secrets/huggingface-token')[0]?.location.line, rawLine(text, hf));
  // Raw text still un-escapes nothing, but JSON-escaped assignments are read.
  assert.ok(byRule(findings, 'secrets/generic-secret').some((x) => x.location.line === rawLine(text, pw)));
});

test('a notebook larger than limits.maxTextBytes is reported and scanned in windows', async () => {
  const config = defaultConfig();
  config.limits.maxTextBytes = 1024;
  const findings = await scanText(notebook(), 'big.ipynb', config);
  assert.equal(byRule(findings, 'secrets/notebook-unparsed')[0]?.message.includes('limits.maxTextBytes'), true);
  assert.equal(byRule(findings, 'secrets/huggingface-token').length, 1);
});

test('deeply nested or non-notebook JSON in a .ipynb is reported, never trusted', async () => {
  const deep = `${'['.repeat(600)}${']'.repeat(600)}`;
  assert.equal(byRule(await scanText(deep, 'deep.ipynb'), 'secrets/notebook-unparsed').length, 1);
  assert.equal(byRule(await scanText('{"not": "a notebook"}', 'odd.ipynb'), 'secrets/notebook-unparsed').length, 1);
  assert.deepEqual(await scanText('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', 'empty.ipynb'), []);
});

test('nothing a notebook holds goes unread: worksheets next to cells, duplicate keys, odd top-level values, attachments', async () => {
  const g = new Fake(5151);
  const tokens = Array.from({ length: 6 }, () => g.checksummed('ghp_'));
  const cell = (token: string): unknown => ({ cell_type: 'code', metadata: {}, outputs: [], source: [`HF = 1\n`, `GH_TOKEN = "${token}"\n`] });
  const text =
    `{"cells": [${JSON.stringify(cell(tokens[0]!))}], "worksheets": [{"cells": [${JSON.stringify(cell(tokens[1]!))}], "metadata": {"note": "${tokens[2]}"}}], ` +
    `"cells": [${JSON.stringify({ cell_type: 'markdown', metadata: {}, source: 'x', attachments: { 'notes.txt': { 'text/plain': [`token ${tokens[3]}`] }, 'a.png': { 'image/png': tokens[4] } } })}], ` +
    `"metadata": {}, "nbformat": "${tokens[5]}", "nbformat_minor": 5}`;
  const findings = await scanText(text, 'dup.ipynb');
  assert.deepEqual(byRule(findings, 'secrets/notebook-unparsed'), []);
  const lines = byRule(findings, 'secrets/github-token').map((x) => x.location.offset);
  // Every token but the one in the image attachment (image payloads are never read).
  const expected = [0, 1, 2, 3, 5].map((i) => text.indexOf(tokens[i]!));
  assert.deepEqual(lines.sort((a, b) => a! - b!), expected.sort((a, b) => a - b));
  const attachment = byRule(findings, 'secrets/github-token').find((x) => x.location.offset === text.indexOf(tokens[3]!))!;
  assert.deepEqual(attachment.properties, { field: 'attachments', cell: 0 });
});

test('a notebook with more values than the parser keeps is reported and scanned as raw text', async () => {
  const text = `{"cells": [{"cell_type": "code", "source": ["HF_TOKEN = '${hf}'"], "outputs": [{"output_type": "stream", "text": [${'"x",'.repeat(MAX_NOTEBOOK_NODES)}"x"]}]}], "metadata": {}}`;
  const findings = await scanText(text, 'huge.ipynb');
  const unparsed = byRule(findings, 'secrets/notebook-unparsed');
  assert.equal(unparsed.length, 1);
  assert.equal(unparsed[0]!.message.includes(`more than ${MAX_NOTEBOOK_NODES} values`), true);
  assert.equal(byRule(findings, 'secrets/huggingface-token').length, 1);
});

test('an nbformat 3 worksheet with very many cells is read without overflowing the stack', async () => {
  const text = `{"worksheets": [{"cells": [${'{},'.repeat(200_000)}{"cell_type": "code", "input": "HF_TOKEN = '${hf}'"}]}], "metadata": {}, "nbformat": 3}`;
  const findings = await scanText(text, 'v3.ipynb');
  assert.deepEqual(findings.map((x) => [x.ruleId, x.properties?.['cell']]), [['secrets/huggingface-token', 200_000]]);
});

/**
 * Decoding a string must cost its own length, not the distance to the next backslash in the file: many
 * short strings before a long payload without backslashes took time quadratic in the file (10^12
 * character comparisons for 100,000 lines before a 40 MB image). Checked without timing: the decoder
 * may read nothing past the closing quote.
 */
test('decoding a JSON string reads nothing past its closing quote', () => {
  const real = `"ab\\ncd\\u001b[0;31mef" ${'x'.repeat(1000)}\\n"`;
  const end = real.indexOf('"', 1) + 1;
  let furthest = 0;
  const seen = (at: number): void => {
    furthest = Math.max(furthest, at);
  };
  const spy = new Proxy(new String(real), {
    get(target, prop) {
      if (prop === 'indexOf') {
        return (needle: string, from?: number) => {
          const at = real.indexOf(needle, from);
          seen(at < 0 ? real.length : at + needle.length);
          return at;
        };
      }
      if (prop === 'slice') {
        return (a?: number, b?: number) => {
          seen(Math.min(b ?? real.length, real.length));
          return real.slice(a, b);
        };
      }
      if (typeof prop === 'string' && /^[0-9]+$/.test(prop)) {
        seen(Number(prop) + 1);
        return real[Number(prop)];
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real) : value;
    },
  });
  const text = new VirtualText();
  text.appendString(spy as unknown as string, 0, end);
  assert.equal(text.toString(), 'ab\ncdef');
  assert.ok(furthest <= end, `read up to ${furthest}, the string ends at ${end}`);
});
