import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultConfig } from '../../src/core/config.js';
import { isCustodyError } from '../../src/core/errors.js';
import { cleanNotebook, findCellSecrets, MAX_NOTEBOOK_VALUES } from '../../src/notebook/clean.js';
import { secretsScanner } from '../../src/scanners/secrets/index.js';

const FIXTURES = join('test', '.tmp', 'fixtures', 'notebook');
const read = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const expected = JSON.parse(read('expected.json')) as { sourceSecret: { cell: number; line: number; cellId: string }; outputSecret: { cell: number } };

for (const name of ['dirty', 'dirty-crlf', 'dirty-indent2']) {
  test(`${name}: the cleaned notebook is byte-identical to nbformat's own serialisation of the stripped notebook`, () => {
    const result = cleanNotebook(read(`${name}.ipynb`));
    assert.equal(result.changed, true);
    assert.equal(result.text, read(`${name}.expected.ipynb`));
    assert.equal(result.summary.outputs, 2);
    assert.equal(result.summary.executionCounts, 1);
    assert.deepEqual(result.summary.metadata, [
      'cells[1].metadata.ExecuteTime',
      'cells[1].metadata.collapsed',
      'cells[1].metadata.execution',
      'cells[1].metadata.scrolled',
      'cells[2].metadata.papermill',
      'metadata.papermill',
      'metadata.widgets',
    ]);
  });
}

test('scalars are kept as written: 1.0, integers beyond 2^53, \\u escapes, non-ASCII', () => {
  const text = cleanNotebook(read('dirty.ipynb')).text;
  assert.ok(text.includes('"ratio": 1.0'));
  assert.ok(text.includes('"big": 12345678901234567890'));
  assert.ok(text.includes('"note": "tab\\there \\u0001"'));
  assert.ok(text.includes('résumé ✓'));
});

test('an already clean notebook is not changed and not re-serialised', () => {
  const input = read('clean.ipynb');
  const result = cleanNotebook(input);
  assert.equal(result.changed, false);
  assert.equal(result.text, input);
  // Idempotent: cleaning the cleaned output changes nothing.
  const once = cleanNotebook(read('dirty.ipynb')).text;
  assert.equal(cleanNotebook(once).changed, false);
});

test('options: keep outputs, keep listed metadata and counts, strip extra keys', () => {
  const kept = cleanNotebook(read('dirty.ipynb'), { keepOutput: true, keepMetadata: ['execution_count', 'ExecuteTime', 'widgets'] });
  assert.equal(kept.summary.outputs, 0);
  assert.equal(kept.summary.executionCounts, 0);
  assert.ok(!kept.summary.metadata.includes('cells[1].metadata.ExecuteTime'));
  assert.ok(!kept.summary.metadata.includes('metadata.widgets'));
  const doc = JSON.parse(kept.text) as { cells: { outputs?: unknown[]; execution_count?: unknown }[] };
  assert.equal(doc.cells[1]?.outputs?.length, 2);
  assert.equal(doc.cells[1]?.execution_count, 7);

  const extra = cleanNotebook(read('clean.ipynb'), { cellMetadata: ['tags'], notebookMetadata: ['toc'] });
  assert.deepEqual(extra.summary.metadata, ['cells[1].metadata.tags', 'metadata.toc']);
});

test('nbformat 3 notebooks (worksheets, prompt_number) are cleaned too', () => {
  const result = cleanNotebook(read('v3.ipynb'));
  assert.equal(result.summary.outputs, 1);
  assert.equal(result.summary.executionCounts, 1);
  const doc = JSON.parse(result.text) as { worksheets: { cells: Record<string, unknown>[] }[] };
  const cell = doc.worksheets[0]?.cells[0] ?? {};
  assert.deepEqual(cell['outputs'], []);
  assert.equal('prompt_number' in cell, false);
  assert.deepEqual(cell['metadata'], {});
});

test('compact one-line JSON stays compact', () => {
  const input = '{"cells":[{"cell_type":"code","execution_count":3,"metadata":{},"outputs":[{"output_type":"stream","name":"stdout","text":["x"]}],"source":["1"]}],"metadata":{},"nbformat":4,"nbformat_minor":5}';
  const result = cleanNotebook(input);
  assert.equal(result.text, '{"cells":[{"cell_type":"code","execution_count":null,"metadata":{},"outputs":[],"source":["1"]}],"metadata":{},"nbformat":4,"nbformat_minor":5}');
});

test('input that is not a notebook is a PARSE_ERROR', () => {
  for (const text of [read('broken.ipynb'), '[]', '{"metadata": {}}', '{"cells": []} x', `${'['.repeat(600)}${']'.repeat(600)}`, '{"a": "\u0001"}']) {
    assert.throws(() => cleanNotebook(text), (error: unknown) => isCustodyError(error, 'PARSE_ERROR'), text.slice(0, 30));
  }
});

const secretOptions = { scanners: [secretsScanner], config: defaultConfig(), knownRuleIds: new Set(secretsScanner.rules.map((r) => r.id)) };

test('a secret in a cell source is found with its cell and line', async () => {
  const secrets = await findCellSecrets('secret-source.ipynb', readFileSync(join(FIXTURES, 'secret-source.ipynb')), secretOptions);
  assert.equal(secrets.length, 1);
  assert.equal(secrets[0]?.cell, expected.sourceSecret.cell);
  assert.equal(secrets[0]?.line, expected.sourceSecret.line);
  assert.equal(secrets[0]?.field, 'source');
  assert.match(secrets[0]?.ruleId ?? '', /^secrets\//);
  const password = /custody-fixture:([A-Za-z0-9]+)@/.exec(read('secret-source.ipynb'))?.[1] ?? '';
  assert.ok(password.length > 10 && !JSON.stringify(secrets).includes(password), 'the raw secret never appears');
});

test('a secret only in an output is not a source secret, unless outputs are kept', async () => {
  const bytes = readFileSync(join(FIXTURES, 'secret-output.ipynb'));
  assert.deepEqual(await findCellSecrets('secret-output.ipynb', bytes, secretOptions), []);
  const kept = await findCellSecrets('secret-output.ipynb', bytes, { ...secretOptions, includeOutputs: true });
  assert.equal(kept.length, 1);
  assert.equal(kept[0]?.field, 'outputs');
  assert.equal(kept[0]?.cell, expected.outputSecret.cell);
});

test('a custody-ignore comment with a reason on the line holds; without a reason it does not', async () => {
  const probe = await findCellSecrets('t.ipynb', Buffer.from(read('suppressed.ipynb.template')), secretOptions);
  const ruleId = probe[0]?.ruleId ?? 'secrets/unknown';
  const suppressed = read('suppressed.ipynb.template').replace('RULE', ruleId);
  assert.deepEqual(await findCellSecrets('s.ipynb', Buffer.from(suppressed), secretOptions), []);
  const noReason = suppressed.replace(' -- documentation example, not a live host', '');
  assert.equal((await findCellSecrets('s.ipynb', Buffer.from(noReason), secretOptions)).length, 1);
});

test('a notebook without secrets has none', async () => {
  assert.deepEqual(await findCellSecrets('dirty.ipynb', readFileSync(join(FIXTURES, 'dirty.ipynb')), { ...secretOptions, includeOutputs: true }), []);
});

test('a notebook the secrets check cannot read as cells is an error, never "no secrets" (bug: such findings were dropped)', async () => {
  const bytes = readFileSync(join(FIXTURES, 'secret-source.ipynb'));
  const config = defaultConfig();
  // Above limits.maxTextBytes the secrets scanner reads the notebook as raw text, without cells.
  const small = { ...secretOptions, config: { ...config, limits: { ...config.limits, maxTextBytes: bytes.length - 1 } } };
  await assert.rejects(findCellSecrets('big.ipynb', bytes, small), (error) => isCustodyError(error, 'INPUT_LIMIT'));
  // Not notebook JSON: the scanner falls back to raw text, which names no cell.
  const broken = Buffer.from(bytes.toString('utf8').trimEnd().slice(0, -1));
  await assert.rejects(findCellSecrets('broken.ipynb', broken, secretOptions), (error) => isCustodyError(error, 'PARSE_ERROR'));
  // Boundary: exactly at the limit it is read as a notebook.
  const exact = { ...secretOptions, config: { ...config, limits: { ...config.limits, maxTextBytes: bytes.length } } };
  assert.equal((await findCellSecrets('exact.ipynb', bytes, exact)).length, 1);
});

test('cellIds stay aligned with cell indexes when a cell is not an object', () => {
  const notebook = JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [null, { id: 'second', cell_type: 'code', metadata: {}, source: 'x = 1', outputs: [], execution_count: null }] });
  assert.deepEqual(cleanNotebook(notebook).cellIds, [undefined, 'second']);
});

test('a notebook with more values to keep than the limit is INPUT_LIMIT naming it, before memory grows with it (a million cells)', () => {
  // Each cell is 4 values (the object, cell_type, metadata, source): 130,000 cells pass the limit.
  const cells = Array.from({ length: Math.ceil(MAX_NOTEBOOK_VALUES / 4) + 10 }, () => ({ cell_type: 'raw', metadata: {}, source: '' }));
  const text = JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 });
  assert.throws(
    () => cleanNotebook(text),
    (error: unknown) => isCustodyError(error, 'INPUT_LIMIT') && error.details?.['max'] === MAX_NOTEBOOK_VALUES && error.message.includes(String(MAX_NOTEBOOK_VALUES)),
  );
  // Under the limit the same shape is cleaned (nothing to change).
  const few = JSON.stringify({ cells: cells.slice(0, 1000), metadata: {}, nbformat: 4, nbformat_minor: 5 });
  assert.equal(cleanNotebook(few).changed, false);
});

test('outputs being stripped are checked but not kept: millions of output lines clean in bounded memory; kept, they are over the limit', () => {
  const lines = Array.from({ length: MAX_NOTEBOOK_VALUES + 1000 }, (_, i) => `${i}\n`);
  const notebook = { cells: [{ cell_type: 'code', execution_count: 1, metadata: {}, outputs: [{ output_type: 'stream', name: 'stdout', text: lines }, { output_type: 'stream', name: 'stderr', text: ['x'] }], source: ['print(1)'] }], metadata: {}, nbformat: 4, nbformat_minor: 5 };
  const text = JSON.stringify(notebook, null, 1);
  const result = cleanNotebook(text);
  assert.equal(result.summary.outputs, 2);
  assert.equal(result.summary.executionCounts, 1);
  assert.deepEqual(JSON.parse(result.text), { ...notebook, cells: [{ ...notebook.cells[0], execution_count: null, outputs: [] }] });
  assert.throws(() => cleanNotebook(text, { keepOutput: true }), (error: unknown) => isCustodyError(error, 'INPUT_LIMIT'));
});

test('skipped outputs are still checked: invalid JSON or nesting too deep inside them is a PARSE_ERROR', () => {
  const wrap = (outputs: string): string => `{"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": ${outputs}, "source": []}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`;
  assert.equal(cleanNotebook(wrap('[{"text": ["ok"]}]')).summary.outputs, 1);
  for (const outputs of ['[{"text": ["\u0001"]}]', '[{"text": [1,]}]', '[{"text" ["x"]}]', `[${'['.repeat(600)}${']'.repeat(600)}]`, '[tru]']) {
    assert.throws(() => cleanNotebook(wrap(outputs)), (error: unknown) => isCustodyError(error, 'PARSE_ERROR'), outputs.slice(0, 30));
  }
  // An `outputs` that is not an array is kept as written.
  assert.match(cleanNotebook(wrap('{"odd": [1, 2]}')).text, /"outputs": ?\{"odd": \[1, 2\]\}/);
});
