/**
 * Red-team cases for `custody scan` walking an untrusted tree: files it must not miss (links, a Hugging
 * Face cache, names that are not UTF-8, paths past PATH_MAX, special files), a tree that tries to switch
 * scanning off (ignore files, a .custody.yml, an attestation over what was not scanned), and inputs that
 * try to hang the walk. Every case runs the built CLI bounded (test/support/hostile.ts) and must end in a
 * finding — a clean exit would be a pass over something that was not scanned.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertBounded, assertFindingOrCodedError, assertNoCommandRan, assertUnchanged, canaryCommand, makeSandbox, removeSandbox, runCustody, snapshot, type Sandbox } from '../support/hostile.js';

const boxes: Sandbox[] = [];
after(() => {
  // rm -rf copes with the tree deeper than PATH_MAX that one case builds.
  for (const box of boxes) execFileSync('rm', ['-rf', box.root]);
  for (const box of boxes) removeSandbox(box);
});

function sandbox(label: string): Sandbox {
  const box = makeSandbox(`scan-walk-${label}`);
  boxes.push(box);
  return box;
}

/** A protocol-0 pickle that would run the sandbox's canary command if anything ever loaded it. */
function evilPickle(box: Sandbox, label: string): Buffer {
  return Buffer.from(`cos\nsystem\n(S'${canaryCommand(box, label)}'\ntR.`, 'latin1');
}

interface JsonReport {
  findings: { ruleId: string; severity: string; location: { path: string }; properties?: Record<string, unknown> }[];
  summary: { files: number; ignored?: number; notScanned?: number };
}

/** Scans `args` bounded and checks the common bars; returns the JSON report. */
function scan(box: Sandbox, args: readonly string[], expected: { rule: string | RegExp }, bounds = {}): JsonReport {
  const before = snapshot(box.outside);
  const result = runCustody(box, ['scan', ...args, '--format', 'json'], bounds);
  assertFindingOrCodedError(result, expected);
  assertNoCommandRan(box);
  assertUnchanged(before, box.outside);
  return JSON.parse(result.stdout) as JsonReport;
}

const PICKLE_FINDING = /"ruleId": "models\/pickle-dangerous-global"/;

describe('hostile scan: files that must not be missed', () => {
  it('a symbolic link named on the command line is scanned', () => {
    const box = sandbox('named-link');
    writeFileSync(join(box.tree, 'real.bin'), evilPickle(box, 'named-link'));
    symlinkSync('real.bin', join(box.tree, 'model.pkl'));
    const report = scan(box, ['model.pkl'], { rule: PICKLE_FINDING });
    assert.equal(report.summary.files, 1);
    assert.ok(report.findings.every((f) => f.location.path === 'model.pkl'));
  });

  it('a Hugging Face cache snapshot (every file a link into ../../blobs) is scanned, whole or by snapshot', () => {
    const box = sandbox('hf-cache');
    const repo = join(box.tree, 'hub', 'models--acme--classifier');
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    mkdirSync(join(repo, 'snapshots', '3f2a9c1e', 'onnx'), { recursive: true });
    mkdirSync(join(repo, 'refs'));
    writeFileSync(join(repo, 'refs', 'main'), '3f2a9c1e');
    writeFileSync(join(repo, 'blobs', 'a1b2c3d4e5f6'), evilPickle(box, 'hf-cache'));
    writeFileSync(join(repo, 'blobs', 'f6e5d4c3b2a1'), '{"model_type": "bert"}');
    symlinkSync('../../blobs/a1b2c3d4e5f6', join(repo, 'snapshots', '3f2a9c1e', 'pytorch_model.bin'));
    symlinkSync('../../../blobs/f6e5d4c3b2a1', join(repo, 'snapshots', '3f2a9c1e', 'onnx', 'config.json'));
    for (const path of ['hub/models--acme--classifier/snapshots/3f2a9c1e', 'hub']) {
      const report = scan(box, [path], { rule: PICKLE_FINDING });
      const critical = report.findings.filter((f) => f.severity === 'critical');
      assert.ok(critical.length > 0);
      // Reported once, under the name a loader uses.
      assert.ok(critical.every((f) => f.location.path.endsWith('snapshots/3f2a9c1e/pytorch_model.bin')), JSON.stringify(critical));
    }
  });

  it('a file whose name is not valid UTF-8 is scanned and shown escaped', () => {
    const box = sandbox('non-utf8-file');
    writeFileSync(Buffer.concat([Buffer.from(`${box.tree}/weights-`), Buffer.from([0xff, 0xfe]), Buffer.from('.pkl')]), evilPickle(box, 'non-utf8-file'));
    const report = scan(box, ['.'], { rule: PICKLE_FINDING });
    assert.ok(report.findings.some((f) => f.location.path === 'weights-\\xff\\xfe.pkl'));
  });

  it('a directory whose name is not valid UTF-8 neither aborts the scan nor hides what it holds', () => {
    const box = sandbox('non-utf8-dir');
    const dir = Buffer.concat([Buffer.from(`${box.tree}/`), Buffer.from([0x6d, 0xe9, 0x6c])]); // "mél" in Latin-1
    mkdirSync(dir);
    writeFileSync(Buffer.concat([dir, Buffer.from('/model.pkl')]), evilPickle(box, 'non-utf8-dir'));
    writeFileSync(join(box.tree, 'z-after.pkl'), evilPickle(box, 'non-utf8-dir-2'));
    const report = scan(box, ['.'], { rule: PICKLE_FINDING });
    const paths = new Set(report.findings.map((f) => f.location.path));
    assert.deepEqual([paths.has('m\\xe9l/model.pkl'), paths.has('z-after.pkl')], [true, true]);
  });

  it('a path longer than PATH_MAX is a finding, not a silent skip', () => {
    const box = sandbox('path-max');
    execFileSync('python3', ['-c', `import os\nos.chdir(${JSON.stringify(box.tree)})\nfor _ in range(22):\n    os.mkdir('d' * 200)\n    os.chdir('d' * 200)\nopen('model.pkl', 'wb').write(b"cos\\nsystem\\n(S'true'\\ntR.")\n`]);
    const report = scan(box, ['.'], { rule: '"ruleId": "core/scan-error"' });
    assert.equal(report.summary.notScanned, 1);
  });

  it('a FIFO, a socket or a device named on the command line is a finding, never read', () => {
    const box = sandbox('special-named');
    execFileSync('mkfifo', [join(box.tree, 'model.pkl')]);
    execFileSync('python3', ['-c', `import socket\ns = socket.socket(socket.AF_UNIX)\ns.bind(${JSON.stringify(join(box.tree, 'model.sock'))})\n`]);
    for (const path of ['model.pkl', 'model.sock', '/dev/zero']) {
      const report = scan(box, [path], { rule: '"ruleId": "core/special-file"' }, { timeoutMs: 30_000 });
      assert.deepEqual(report.findings.map((f) => [f.ruleId, f.severity]), [['core/special-file', 'high']]);
    }
  });

  it('a link that leaves the tree is a finding and is not followed', () => {
    const box = sandbox('link-outside');
    writeFileSync(join(box.outside, 'payload.pkl'), evilPickle(box, 'link-outside'));
    symlinkSync(join(box.outside, 'payload.pkl'), join(box.tree, 'model.pkl'));
    symlinkSync('/dev/zero', join(box.tree, 'zeros.bin'));
    symlinkSync(box.outside, join(box.tree, 'data'));
    const report = scan(box, ['.'], { rule: '"ruleId": "core/link-outside-root"' });
    assert.deepEqual(report.findings.map((f) => [f.ruleId, f.location.path]).sort(), [
      ['core/link-outside-root', 'data'],
      ['core/link-outside-root', 'model.pkl'],
      ['core/link-outside-root', 'zeros.bin'],
    ]);
  });

  it('link loops and a lattice of directory links end, each file scanned once', () => {
    const box = sandbox('link-lattice');
    // d0 … d20, each with two links to the next: 2^20 paths to the last file if links were walked naively.
    for (let i = 0; i <= 20; i++) mkdirSync(join(box.tree, `d${i}`));
    for (let i = 0; i < 20; i++) for (const name of ['l', 'r']) symlinkSync(`../d${i + 1}`, join(box.tree, `d${i}`, name));
    writeFileSync(join(box.tree, 'd20', 'model.pkl'), evilPickle(box, 'link-lattice'));
    symlinkSync('.', join(box.tree, 'self'));
    symlinkSync('loop-b', join(box.tree, 'loop-a'));
    symlinkSync('loop-a', join(box.tree, 'loop-b'));
    linkSync(join(box.tree, 'd20', 'model.pkl'), join(box.tree, 'hardlink.pkl'));
    const report = scan(box, ['.'], { rule: PICKLE_FINDING });
    assert.equal(report.summary.files, 1);
    assert.equal(new Set(report.findings.map((f) => f.location.path)).size, 1);
  });
});

describe('hostile scan: a tree that tries to switch scanning off', () => {
  it('a .gitignore with * does not hide a malicious pickle', () => {
    const box = sandbox('gitignore-star');
    writeFileSync(join(box.tree, '.gitignore'), '*\n');
    mkdirSync(join(box.tree, 'weights'));
    writeFileSync(join(box.tree, 'weights', 'model.bin'), evilPickle(box, 'gitignore-star'));
    const report = scan(box, ['.'], { rule: PICKLE_FINDING });
    assert.deepEqual([report.summary.files, report.summary.ignored], [2, 2]);
  });

  it('a .custody.yml in the working directory does not drop a critical finding', () => {
    const box = sandbox('cwd-config');
    writeFileSync(join(box.tree, 'model.pkl'), evilPickle(box, 'cwd-config'));
    writeFileSync(join(box.tree, '.custody.yml'), 'rules:\n  models/pickle-dangerous-global: off\n  models/pickle-unknown-global: off\nexclude:\n  - "*.pkl"\n');
    scan(box, ['.'], { rule: PICKLE_FINDING });
  });

  it('attest scan never signs PASSED over a subject whose files an ignore file hides', () => {
    const box = sandbox('attest-ignored');
    mkdirSync(join(box.tree, 'model'));
    writeFileSync(join(box.tree, 'model', '.gitignore'), '*\n');
    writeFileSync(join(box.tree, 'model', 'weights.bin'), evilPickle(box, 'attest-ignored'));
    assertBounded(runCustody(box, ['keygen', '--out', join(box.out, 'k')]));
    const before = snapshot(box.outside);
    const run = runCustody(box, ['attest', 'scan', 'model', '--key', join(box.out, 'k.pem'), '--fail-on', 'none']);
    assertBounded(run);
    assert.equal(run.exit, 0, run.stderr);
    assertNoCommandRan(box);
    assertUnchanged(before, box.outside);
    const bundle = JSON.parse(run.stdout) as { dsseEnvelope: { payload: string } };
    const predicate = (JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()) as { predicate: { result: string; warnedTests: string[] } }).predicate;
    assert.notEqual(predicate.result, 'PASSED');
    assert.ok(predicate.warnedTests.includes('models/pickle-dangerous-global'), predicate.warnedTests.join(', '));
  });
});

describe('hostile scan: inputs that try to hang the walk', () => {
  it('a .gitignore that is a FIFO, or a link to /dev/zero, is not waited on', () => {
    for (const kind of ['fifo', 'zero']) {
      const box = sandbox(`gitignore-${kind}`);
      if (kind === 'fifo') execFileSync('mkfifo', [join(box.tree, '.gitignore')]);
      else symlinkSync('/dev/zero', join(box.tree, '.gitignore'));
      writeFileSync(join(box.tree, 'model.pkl'), evilPickle(box, `gitignore-${kind}`));
      scan(box, ['.'], { rule: PICKLE_FINDING }, { timeoutMs: 30_000 });
    }
  });

  it('a .gitignore pattern that backtracks badly on a deep path does not stall the walk', () => {
    const box = sandbox('gitignore-redos');
    writeFileSync(join(box.tree, '.gitignore'), `${Array.from({ length: 12 }, () => '**/a').join('/')}/z\n`);
    const deep = join(box.tree, ...Array.from({ length: 60 }, () => 'a'));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'model.pkl'), evilPickle(box, 'gitignore-redos'));
    scan(box, ['.'], { rule: PICKLE_FINDING }, { timeoutMs: 30_000 });
  });

  it('a --config that is a FIFO is refused with a coded error', () => {
    const box = sandbox('config-fifo');
    execFileSync('mkfifo', [join(box.tree, 'custody.yml')]);
    writeFileSync(join(box.tree, 'model.pkl'), readFileSync('/dev/null'));
    const result = runCustody(box, ['scan', '.', '--config', 'custody.yml'], { timeoutMs: 30_000 });
    assertFindingOrCodedError(result, { code: 'SPECIAL_FILE' });
  });
});
