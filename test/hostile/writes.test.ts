/**
 * Red-team cases for every file the CLI writes: a symbolic link (or FIFO, or directory) planted at the
 * output's name must never be written through, and nothing outside the named outputs may change.
 * Outputs: sign --signature, hash --output, keygen's two key files, attest provenance/scan --output,
 * scan --output and --write-baseline, notebook clean (the notebook and its temporary file).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertBounded, assertFindingOrCodedError, assertNoCommandRan, assertUnchanged, makeSandbox, removeSandbox, runCustody, snapshot, type Sandbox } from '../support/hostile.js';

const DIRTY_NOTEBOOK = `${JSON.stringify(
  {
    cells: [{ cell_type: 'code', execution_count: 3, metadata: { ExecuteTime: { start: 'x' } }, outputs: [{ output_type: 'stream', name: 'stdout', text: ['hello\n'] }], source: ['print("hello")'] }],
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5,
  },
  null,
  1,
)}\n`;

describe('hostile output names: planted links are never written through', { concurrency: 2 }, () => {
  let box: Sandbox;
  let key: string;
  before(() => {
    box = makeSandbox('writes');
    const made = runCustody(box, ['keygen', '--out', join(box.out, 'signer')]);
    assertBounded(made);
    assert.equal(made.exit, 0, made.stderr);
    key = join(box.out, 'signer.pem');
    makeModel('model');
  });
  after(() => removeSandbox(box));

  /** A model directory of its own (cases run concurrently, and a link planted in one model must not trip another's hashing). */
  function makeModel(name: string): string {
    mkdirSync(join(box.tree, name));
    writeFileSync(join(box.tree, name, 'weights.bin'), Buffer.alloc(4096, 7));
    return name;
  }

  /** A victim outside the tree and a link to it at `name` inside the tree (or a dangling link to a new file outside). */
  function plant(name: string, dangling = false): { link: string; victim: string } {
    const victim = join(box.outside, `victim-${name.replace(/[^a-z0-9]/gi, '_')}${dangling ? '-new' : ''}`);
    if (!dangling) writeFileSync(victim, 'precious\n');
    const link = join(box.tree, name);
    symlinkSync(victim, link);
    return { link, victim };
  }

  function expectRefused(args: readonly string[], code = 'SYMLINK_REFUSED'): void {
    const before = snapshot(box.outside);
    const result = runCustody(box, args);
    assertFindingOrCodedError(result, { code });
    assertUnchanged(before, box.outside);
    assertNoCommandRan(box);
  }

  it('sign --signature: a link the model ships under that name (to an existing file, or dangling)', () => {
    const { link } = plant(`${makeModel('signed-a')}/model.sig`);
    expectRefused(['sign', 'signed-a', '--key', key, '--signature', 'signed-a/model.sig']);
    assert.equal(lstatSync(link).isSymbolicLink(), true);
    const dangling = plant(`${makeModel('signed-b')}/model.sig`, true);
    expectRefused(['sign', 'signed-b', '--key', key, '--signature', 'signed-b/model.sig']);
    assert.equal(existsSync(dangling.victim), false);
  });

  it('hash --output', () => {
    plant('manifest.json');
    expectRefused(['hash', 'model', '--output', 'manifest.json']);
  });

  it('keygen: links at PREFIX.pem and PREFIX.pub.pem, with --force (refused) and without (taken)', () => {
    plant('k1.pem');
    expectRefused(['keygen', '--out', 'k1', '--force']);
    plant('k2.pub.pem', true);
    expectRefused(['keygen', '--out', 'k2', '--force']);
    expectRefused(['keygen', '--out', 'k1'], 'USAGE');
  });

  it('keygen --force over an existing world-readable key file leaves the private key 0600', () => {
    writeFileSync(join(box.tree, 'k3.pem'), 'old');
    chmodSync(join(box.tree, 'k3.pem'), 0o644);
    const result = runCustody(box, ['keygen', '--out', 'k3', '--force']);
    assertBounded(result);
    assert.equal(result.exit, 0, result.stderr);
    assert.equal(statSync(join(box.tree, 'k3.pem')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(box.tree, 'k3.pem'), 'utf8'), /BEGIN PRIVATE KEY/);
  });

  it('attest provenance --output and attest scan --output', () => {
    plant('provenance.json');
    expectRefused(['attest', 'provenance', '--model', 'model', '--builder-id', 'https://ci.example.invalid', '--key', key, '--output', 'provenance.json']);
    plant('scan-attestation.json');
    expectRefused(['attest', 'scan', 'model', '--key', key, '--output', 'scan-attestation.json']);
  });

  it('scan --output and scan --write-baseline', () => {
    plant('report.json');
    expectRefused(['scan', 'model', '--format', 'json', '--output', 'report.json']);
    plant('baseline.json');
    expectRefused(['scan', 'model', '--write-baseline', 'baseline.json']);
  });

  it('an output name that is a FIFO or a directory: SPECIAL_FILE, without blocking', () => {
    assert.equal(spawnSync('mkfifo', [join(box.tree, 'report.fifo')]).status, 0);
    expectRefused(['scan', 'model', '--output', 'report.fifo'], 'SPECIAL_FILE');
    expectRefused(['sign', 'model', '--key', key, '--signature', 'report.fifo'], 'SPECIAL_FILE');
    mkdirSync(join(box.tree, 'out.dir'));
    expectRefused(['hash', 'model', '--output', 'out.dir'], 'SPECIAL_FILE');
  });

  it('notebook clean: the notebook itself is a link out of the tree', () => {
    const { victim } = plant('linked.ipynb');
    writeFileSync(victim, DIRTY_NOTEBOOK);
    expectRefused(['notebook', 'clean', 'linked.ipynb']);
  });

  it('notebook clean: links planted at the temporary names a process id would predict', () => {
    const dir = join(box.tree, 'nb');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train.ipynb'), DIRTY_NOTEBOOK);
    const victim = join(box.outside, 'victim-tmp');
    writeFileSync(victim, 'precious\n');
    // The next few thousand process ids: the CLI's own pid falls among them.
    const last = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
    for (let pid = last + 1; pid <= last + 3000; pid++) symlinkSync(victim, join(dir, `train.ipynb.custody-${pid}.tmp`));
    const before = snapshot(box.outside);
    const result = runCustody(box, ['notebook', 'clean', join('nb', 'train.ipynb')]);
    assertBounded(result);
    assert.equal(result.exit, 0, result.stderr);
    assertUnchanged(before, box.outside);
    assert.doesNotMatch(readFileSync(join(dir, 'train.ipynb'), 'utf8'), /"hello\\n"/);
    assert.equal(readdirSync(dir).filter((n) => !n.endsWith('.tmp')).length, 1, 'no temporary file is left beside the notebook');
  });

  it('control: sign and verify an ordinary model with outputs outside the tree', () => {
    makeModel('model2');
    const signed = runCustody(box, ['sign', 'model2', '--key', key, '--signature', join(box.out, 'model2.sig')]);
    assertBounded(signed);
    assert.equal(signed.exit, 0, signed.stderr);
    const verified = runCustody(box, ['verify', 'model2', '--key', join(box.out, 'signer.pub.pem'), '--signature', join(box.out, 'model2.sig')]);
    assertBounded(verified);
    assert.equal(verified.exit, 0, verified.stderr);
  });
});
