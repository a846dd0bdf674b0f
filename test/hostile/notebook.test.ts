/**
 * Red-team cases for `custody notebook clean`: notebooks built to exhaust memory or block. Each case
 * ends within its bounds (1 GiB, the harness default) in a coded error, or cleans the notebook.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertBounded, assertFindingOrCodedError, assertNoCommandRan, assertUnchanged, makeSandbox, removeSandbox, runCustody, snapshot, type Sandbox } from '../support/hostile.js';

const header = '{"cells": [';
const footer = '], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n';

/** A notebook of `count` copies of `cell` (JSON text), written without building it in memory twice. */
function writeNotebook(path: string, cell: string, count: number): void {
  const body = new Array<string>(count).fill(cell).join(',');
  writeFileSync(path, `${header}${body}${footer}`);
}

describe('hostile notebooks: notebook clean stays bounded', { concurrency: 2 }, () => {
  let box: Sandbox;
  before(() => {
    box = makeSandbox('notebook');
  });
  after(() => removeSandbox(box));

  function run(args: readonly string[], expected: { code?: string; ok?: boolean }): void {
    const outside = snapshot(box.outside);
    const result = runCustody(box, ['notebook', 'clean', ...args]);
    if (expected.ok) {
      assertBounded(result);
      assert.equal(result.exit, 0, result.stderr.slice(-1500));
    } else assertFindingOrCodedError(result, expected.code === undefined ? {} : { code: expected.code });
    assertUnchanged(outside, box.outside);
    assertNoCommandRan(box);
  }

  it('60 MB of outputs (it used to reach 2.8 GB and abort): cleaned in bounded memory', () => {
    const line = JSON.stringify('epoch 1: loss 0.123456 accuracy 0.987654 lr 0.001 step 12345\n');
    const output = `{"output_type": "stream", "name": "stdout", "text": [${new Array(1000).fill(line).join(', ')}]}`;
    const cell = `{"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [${output}], "source": ["train()"]}`;
    const path = join(box.tree, 'outputs.ipynb');
    writeNotebook(path, cell, 960);
    assert.ok(statSync(path).size > 60_000_000);
    run(['outputs.ipynb'], { ok: true });
    assert.ok(statSync(path).size < 200_000);
    assert.doesNotMatch(readFileSync(path, 'utf8'), /epoch 1/);
  });

  it('the same outputs kept (--keep-output): INPUT_LIMIT naming the limit, not an exhausted heap', () => {
    const line = JSON.stringify('x\n');
    const cell = `{"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [{"output_type": "stream", "name": "stdout", "text": [${new Array(2000).fill(line).join(',')}]}], "source": []}`;
    writeNotebook(join(box.tree, 'kept.ipynb'), cell, 400);
    run(['--keep-output', 'kept.ipynb'], { code: 'INPUT_LIMIT' });
  });

  it('a million cells under the size limit (it used to take 2.9 GB): INPUT_LIMIT naming the limit', () => {
    writeNotebook(join(box.tree, 'cells.ipynb'), '{"cell_type":"raw","metadata":{},"source":""}', 1_000_000);
    run(['cells.ipynb'], { code: 'INPUT_LIMIT' });
  });

  it('a notebook over limits.maxTextBytes: INPUT_LIMIT before it is read', () => {
    const path = join(box.tree, 'huge.ipynb');
    writeFileSync(path, '');
    spawnSync('truncate', ['-s', String(2 * 1024 * 1024 * 1024), path]);
    run(['huge.ipynb'], { code: 'INPUT_LIMIT' });
  });

  it('a link to /dev/zero named as a notebook (it used to end in SIGSEGV): SPECIAL_FILE', () => {
    symlinkSync('/dev/zero', join(box.tree, 'zero.ipynb'));
    run(['zero.ipynb'], { code: 'SPECIAL_FILE' });
  });

  it('a FIFO named as a notebook (it used to hang): SPECIAL_FILE', () => {
    assert.equal(spawnSync('mkfifo', [join(box.tree, 'pipe.ipynb')]).status, 0);
    run(['pipe.ipynb'], { code: 'SPECIAL_FILE' });
  });

  it('60 MB of nesting: PARSE_ERROR at the depth bound, without recursion to match', () => {
    writeFileSync(join(box.tree, 'deep.ipynb'), `{"cells": [${'['.repeat(60_000_000)}`);
    run(['deep.ipynb'], { code: 'PARSE_ERROR' });
  });

  it('60 MB in one string, in a source and in an output', () => {
    const big = 'a'.repeat(30_000_000);
    writeFileSync(join(box.tree, 'string.ipynb'), `{"cells": [{"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [{"output_type": "stream", "name": "stdout", "text": "${big}"}], "source": "${big}"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`);
    const result = runCustody(box, ['notebook', 'clean', 'string.ipynb']);
    assertBounded(result);
    assertNoCommandRan(box);
  });
});
