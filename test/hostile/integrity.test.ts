/**
 * Red-team cases for `hash`, `sign` and `verify`: signatures built to exhaust memory, FIFOs and
 * devices where a signature or a model file should be. Each case ends within its bounds in a coded
 * error (or does its job), with nothing outside the tree written.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertBounded, assertFindingOrCodedError, assertNoCommandRan, assertUnchanged, makeSandbox, removeSandbox, runCustody, snapshot, type Sandbox } from '../support/hostile.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('hostile signatures and model files: hash, sign and verify stay bounded', { concurrency: 2 }, () => {
  let box: Sandbox;
  let publicKey: string;
  let privateKey: string;
  before(() => {
    box = makeSandbox('integrity');
    const made = runCustody(box, ['keygen', '--out', join(box.out, 'signer')]);
    assert.equal(made.exit, 0, made.stderr);
    publicKey = join(box.out, 'signer.pub.pem');
    privateKey = join(box.out, 'signer.pem');
    mkdirSync(join(box.tree, 'model'));
    writeFileSync(join(box.tree, 'model', 'weights.bin'), Buffer.alloc(1 << 16, 1));
  });
  after(() => removeSandbox(box));

  function verify(signature: string, code: string): void {
    const outside = snapshot(box.outside);
    const result = runCustody(box, ['verify', 'model', '--key', publicKey, '--signature', signature]);
    assertFindingOrCodedError(result, { code });
    assertUnchanged(outside, box.outside);
    assertNoCommandRan(box);
  }

  it('a 100 MB deeply nested signature (it used to abort with bad_alloc): INPUT_LIMIT before it is read', () => {
    writeFileSync(join(box.tree, 'deep100.sig'), `${'['.repeat(100_000_000)}${']'.repeat(4_000_000)}`);
    verify('deep100.sig', 'INPUT_LIMIT');
  });

  it('a deeply nested signature under the size limit: INPUT_LIMIT before JSON.parse', () => {
    writeFileSync(join(box.tree, 'deep60.sig'), `{"mediaType": ${'{"a":'.repeat(12_000_000)}1${'}'.repeat(12_000_000)}}`);
    verify('deep60.sig', 'INPUT_LIMIT');
  });

  it('a wide signature: millions of empty objects under the size limit: INPUT_LIMIT before JSON.parse', () => {
    writeFileSync(join(box.tree, 'wide.sig'), `{"mediaType": [${new Array(15_000_000).fill('{}').join(',')}]}`);
    verify('wide.sig', 'INPUT_LIMIT');
  });

  it('a signature that is a FIFO, or a link to /dev/zero: SPECIAL_FILE, without blocking', () => {
    assert.equal(spawnSync('mkfifo', [join(box.tree, 'pipe.sig')]).status, 0);
    verify('pipe.sig', 'SPECIAL_FILE');
    symlinkSync('/dev/zero', join(box.tree, 'zero.sig'));
    verify('zero.sig', 'SPECIAL_FILE');
  });

  it('a signature that is not JSON: BUNDLE_INVALID (a failed verification), its text never quoted', () => {
    writeFileSync(join(box.tree, 'text.sig'), '{"mediaType": not-json-hunter2-secret}');
    const result = runCustody(box, ['verify', 'model', '--key', publicKey, '--signature', 'text.sig']);
    assertBounded(result);
    assert.equal(result.exit, 1);
    assert.match(result.stderr, /BUNDLE_INVALID/);
    assert.doesNotMatch(result.stderr, /hunter2/);
  });

  it('hash and sign a model holding a FIFO, or a link to /dev/zero', () => {
    const model = join(box.tree, 'special');
    mkdirSync(model);
    writeFileSync(join(model, 'ok.bin'), 'x');
    assert.equal(spawnSync('mkfifo', [join(model, 'pipe.bin')]).status, 0);
    for (const args of [
      ['hash', 'special'],
      ['sign', 'special', '--key', privateKey, '--signature', join(box.out, 'special.sig')],
    ]) {
      const result = runCustody(box, args);
      assertFindingOrCodedError(result);
    }
    rmSync(join(model, 'pipe.bin'));
    symlinkSync('/dev/zero', join(model, 'zero.bin'));
    assertFindingOrCodedError(runCustody(box, ['hash', 'special', '--allow-symlinks']));
    assertFindingOrCodedError(runCustody(box, ['hash', 'special']), { code: 'SYMLINK_REFUSED' });
    assertNoCommandRan(box);
  });

  it('a model file swapped for a FIFO after listing: the hashing open does not block, SPECIAL_FILE', () => {
    // The hashing step on its own, as it runs after the walk: a unit listed as a regular file whose
    // path is now a FIFO. Run bounded in a child process (a blocking open could not be interrupted).
    const fifo = join(box.tree, 'swapped.bin');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const probe = `
      import { hashUnits } from ${JSON.stringify(join(ROOT, 'src', 'integrity', 'hash-io.ts'))};
      try {
        await hashUnits({ units: [{ name: 'swapped.bin', path: ${JSON.stringify(fifo)}, start: 0, end: 10, fileSize: 10 }], hashType: 'sha256', noFollow: true }, Buffer.alloc(1024));
        console.log('hashed');
      } catch (error) { console.log('code', error.code); }
    `;
    const run = spawnSync('python3', [join(ROOT, 'scripts', 'bounded-run.py'), '30', '1024', '--', process.execPath, '--import', 'tsx', '--input-type=module', '-e', probe], { cwd: ROOT, encoding: 'utf8' });
    const report = JSON.parse(run.stderr.slice(run.stderr.lastIndexOf('{"bounded"'))) as { bounded: { timedOut: boolean; exit: number } };
    assert.equal(report.bounded.timedOut, false, 'the open blocked on the FIFO');
    assert.equal(run.stdout.trim(), 'code SPECIAL_FILE');
  });
});
