import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { progressBar } from '../../src/cli/commands/hash.js';
import { hashArtifact } from '../../src/integrity/index.js';
import { cli, workDir, writeTree } from './helpers.js';

function project(): string {
  return writeTree(workDir('cli'), { 'model/config.json': '{"a": 1}', 'model/weights.bin': Buffer.alloc(9000, 4), 'model/tok/vocab.txt': 'a\nb\n' });
}

describe('custody keygen', () => {
  it('writes a PKCS#8 private key (mode 0600) and an SPKI public key, and refuses to overwrite', async () => {
    const dir = workDir('keygen');
    const made = await cli(['keygen', '--out', 'signer'], dir);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /key hint: +[0-9a-f]{64}/);
    assert.match(readFileSync(join(dir, 'signer.pem'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    assert.match(readFileSync(join(dir, 'signer.pub.pem'), 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
    assert.equal(statSync(join(dir, 'signer.pem')).mode & 0o777, 0o600);
    const again = await cli(['keygen', '--out', 'signer'], dir);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /error USAGE: .*exists/);
    const ed = await cli(['keygen', '--out', 'signer', '--force', '--type', 'ed25519'], dir);
    assert.equal(ed.code, 0);
    assert.match(ed.stderr, /warning: Ed25519 is not in the OMS key registry/);
    assert.equal(made.stderr, '', 'no warning for the default P-256');
    assert.match((await cli(['keygen', '--type', 'rsa'], dir)).stderr, /error USAGE/);
    assert.equal((await cli(['keygen', '--out', 'p384', '--type', 'P-384'], dir)).code, 0);
  });

  it('refuses before writing either file when one path is taken by anything, even a dangling link', async () => {
    const dir = workDir('keygen-taken');
    symlinkSync('nowhere', join(dir, 'signer.pub.pem'));
    const taken = await cli(['keygen', '--out', 'signer'], dir);
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /error USAGE: .*exists/);
    assert.equal(existsSync(join(dir, 'signer.pem')), false, 'no private key was written without its public half');
  });
});

describe('progress on a terminal', () => {
  it('draws a bar on a TTY for inputs of 64 MiB or more, nothing otherwise, and clears it', () => {
    let err = '';
    const io = { stdout: { write: () => true }, stderr: { write: (t: string) => (err += t) }, stdoutIsTTY: false, stderrIsTTY: true, cwd: '.', env: {} };
    const bar = progressBar(io, 'hashing');
    bar.onProgress?.({ bytesDone: 1024, bytesTotal: 1024 * 1024, files: 1 });
    assert.equal(err, '', 'small inputs: no bar');
    bar.onProgress?.({ bytesDone: 64 * 1024 * 1024, bytesTotal: 128 * 1024 * 1024, files: 3 });
    assert.match(err, /hashing \[#{15}\.{15}\] 50% 64\.0 MiB\/128\.0 MiB/);
    bar.done();
    assert.ok(err.endsWith('\r\u001b[2K'), 'cleared');
    assert.equal(progressBar({ ...io, stderrIsTTY: false }, 'x').onProgress, undefined, 'not a terminal: no bar');
  });
});

describe('custody hash', () => {
  it('prints the manifest as JSON (default) or sha256sum-style text', async () => {
    const dir = project();
    const json = await cli(['hash', 'model'], dir);
    assert.equal(json.code, 0, json.stderr);
    const manifest = JSON.parse(json.stdout) as { name: string; digest: { sha256: string }; resources: { name: string }[]; serialization: Record<string, unknown> };
    assert.equal(manifest.digest.sha256, (await hashArtifact(join(dir, 'model'))).rootDigest);
    assert.deepEqual(manifest.resources.map((r) => r.name), ['config.json', 'tok/vocab.txt', 'weights.bin']);
    const text = await cli(['hash', 'model', '--format', 'text', '--shard-size', '4Ki', '--hash-type', 'blake2b'], dir);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^# model: root sha256:[0-9a-f]{64} \(3 files, .*shards\/blake2b\)\n/);
    assert.match(text.stdout, /\n[0-9a-f]{128} {2}weights\.bin:8192:9000\n/);
    assert.equal(text.stderr, '');
    const blake3 = await cli(['hash', 'model', '--format', 'text', '--shard-size', '4Ki', '--hash-type', 'blake3'], dir);
    assert.match(blake3.stdout, /\(3 files, .*files\/blake3\)\n/, 'BLAKE3 is never sharded, as in model_signing');
    assert.match(blake3.stderr, /warning: BLAKE3 manifests are never sharded/);
    const out = await cli(['hash', 'model', '--output', 'manifest.json', '--ignore', 'tok', '--ignore', '*.bin'], dir);
    assert.equal(out.code, 0);
    const written = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { resources: { name: string }[]; serialization: { ignore_paths: string[] } };
    assert.deepEqual(written.resources.map((r) => r.name), ['config.json']);
    assert.ok(written.serialization.ignore_paths.includes('tok') && written.serialization.ignore_paths.includes('weights.bin'));
  });

  it('exits 2 with a coded error for bad options, symlinks and missing paths', async () => {
    const dir = project();
    symlinkSync('config.json', join(dir, 'model', 'link'));
    assert.match((await cli(['hash', 'model'], dir)).stderr, /error SYMLINK_REFUSED/);
    assert.equal((await cli(['hash', 'model', '--allow-symlinks'], dir)).code, 0);
    for (const args of [['hash'], ['hash', 'model', '--shard-size', '0'], ['hash', 'model', '--shard-size', '1.5G'], ['hash', 'model', '--hash-type', 'md5'], ['hash', 'model', '--jobs', '-1'], ['hash', 'model', '--format', 'xml']]) {
      const r = await cli(args, dir);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /error USAGE/, args.join(' '));
    }
    assert.match((await cli(['hash', 'nope'], dir)).stderr, /error PATH_NOT_FOUND/);
  });
});

describe('custody sign / verify', () => {
  it('signs and verifies (exit 0), reports every difference (exit 1), and tool errors exit 2', async () => {
    const dir = project();
    await cli(['keygen', '--out', 'k'], dir);
    await cli(['keygen', '--out', 'other', '--type', 'p384'], dir);
    const signed = await cli(['sign', 'model', '--key', 'k.pem', '--signature', 'model/model.sig'], dir);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stdout, /^signed model: 3 files/);

    const ok = await cli(['verify', 'model', '--signature', 'model/model.sig', '--key', 'k.pub.pem'], dir);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^verified model: 3 files, .* sha256:[0-9a-f]{64}\n {2}signer key PKIX_ECDSA_P256_SHA_256 [0-9a-f]{64}/);
    writeTree(dir, { 'trusted/k.pub.pem': readFileSync(join(dir, 'k.pub.pem')), 'trusted/other.pub.pem': readFileSync(join(dir, 'other.pub.pem')) });
    assert.match((await cli(['verify', 'model', '--signature', 'model/model.sig', '--trusted-keys', '.'], dir)).stderr, /error KEY_INVALID: .*private key/, 'a private key among trusted keys');
    const okJson = JSON.parse((await cli(['verify', 'model', '--signature', 'model/model.sig', '--trusted-keys', 'trusted', '--format', 'json'], dir)).stdout) as { verified: boolean; digest: { sha256: string }; signer: { keyHint: string } };
    assert.equal(okJson.verified, true);

    assert.match((await cli(['verify', 'model', '--signature', 'model/model.sig', '--key', 'other.pub.pem'], dir)).stderr, /FAILED KEY_UNTRUSTED/);
    appendFileSync(join(dir, 'model', 'weights.bin'), 'x');
    writeFileSync(join(dir, 'model', 'extra.txt'), 'unsigned');
    const failed = await cli(['verify', 'model', '--signature', 'model/model.sig', '--key', 'k.pub.pem'], dir);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /FAILED MANIFEST_MISMATCH/);
    assert.match(failed.stderr, /modified: weights\.bin/);
    assert.match(failed.stderr, /added: +extra\.txt/);
    const failedJson = await cli(['verify', 'model', '--signature', 'model/model.sig', '--key', 'k.pub.pem', '--format', 'json'], dir);
    assert.equal(failedJson.code, 1);
    const report = JSON.parse(failedJson.stdout) as { verified: boolean; error: { code: string; details: { added: string[] } } };
    assert.deepEqual([report.verified, report.error.code, report.error.details.added], [false, 'MANIFEST_MISMATCH', ['extra.txt']]);
    assert.equal((await cli(['verify', 'model', '--signature', 'model/model.sig', '--key', 'k.pub.pem', '--ignore', 'extra.txt'], dir)).code, 1, 'still modified');

    writeFileSync(join(dir, 'broken.sig'), '{"mediaType": 1}');
    assert.equal((await cli(['verify', 'model', '--signature', 'broken.sig', '--key', 'k.pub.pem'], dir)).code, 1, 'malformed bundle: verification failure');
    const tool = [
      ['verify', 'model', '--signature', 'missing.sig', '--key', 'k.pub.pem'],
      ['verify', 'model', '--signature', 'model/model.sig', '--key', 'k.pem'],
      ['verify', 'model', '--signature', 'model/model.sig'],
      ['sign', 'model', '--key', 'k.pub.pem', '--signature', 'x.sig'],
      ['sign', 'model', '--key', 'k.pem'],
      ['sign', 'model', '--key', 'k.pem', '--signature', 'x.sig', '--passphrase-env', 'NOPE'],
    ];
    for (const args of tool) assert.equal((await cli(args, dir)).code, 2, args.join(' '));
  });

  it('signs with Ed25519 only when allowed explicitly, and then warns that OMS verifiers refuse it', async () => {
    const dir = project();
    await cli(['keygen', '--out', 'ed', '--type', 'ed25519'], dir);
    const refused = await cli(['sign', 'model', '--key', 'ed.pem', '--signature', 'ed.sig'], dir);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /error USAGE: .*OMS key registry.*--allow-ed25519/);
    assert.equal(existsSync(join(dir, 'ed.sig')), false);
    const allowed = await cli(['sign', 'model', '--key', 'ed.pem', '--signature', 'ed.sig', '--allow-ed25519'], dir);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stderr, /warning: the key is PKIX_ED25519, not in the OMS key registry: model_signing and other OMS verifiers will refuse/);
    assert.equal((await cli(['verify', 'model', '--signature', 'ed.sig', '--key', 'ed.pub.pem'], dir)).code, 0, 'Custody verifies it');
    await cli(['keygen', '--out', 'p', '--type', 'p521'], dir);
    const p521 = await cli(['sign', 'model', '--key', 'p.pem', '--signature', 'p.sig'], dir);
    assert.equal(p521.stderr, '', 'no warning for a key in the registry');
  });

  it('warns when a sharded signature names a file holding ":", which model_signing cannot read', async () => {
    const dir = writeTree(project(), { 'model/a:b.bin': 'colon' });
    await cli(['keygen', '--out', 'k'], dir);
    const sharded = await cli(['sign', 'model', '--key', 'k.pem', '--signature', 's.sig', '--shard-size', '4K'], dir);
    assert.equal(sharded.code, 0, sharded.stderr);
    assert.match(sharded.stderr, /warning: model_signing cannot read shard names of files whose name holds ":" \(such as "a:b\.bin"\)/);
    assert.equal((await cli(['sign', 'model', '--key', 'k.pem', '--signature', 'f.sig'], dir)).stderr, '', 'per-file names with ":" are fine');
  });
});

describe('custody attest', () => {
  it('provenance: signs an SLSA statement that attest verify checks against the model on disk', async () => {
    const dir = writeTree(project(), { 'data/train.csv': 'x,y\n', 'requirements.txt': 'torch==2.3.0\n', 'params.json': '{"lr": 0.01}' });
    await cli(['keygen', '--out', 'k'], dir);
    const made = await cli(
      [
        'attest', 'provenance', '--model', 'model', '--dataset', 'train=data/train.csv', '--repo', 'https://github.com/acme/t', '--commit', 'b'.repeat(40),
        '--lockfile', 'requirements.txt', '--image', `python:3.12@sha256:${'e'.repeat(64)}`, '--params', 'params.json', '--param', 'epochs=3', '--param', 'name=base',
        '--builder-id', 'https://ci.example/train', '--started', '2025-01-01T00:00:00Z', '--finished', '2025-01-01T01:00:00Z', '--key', 'k.pem', '--output', 'prov.sig',
      ],
      dir,
    );
    assert.equal(made.code, 0, made.stderr);
    const bundle = JSON.parse(readFileSync(join(dir, 'prov.sig'), 'utf8')) as { dsseEnvelope: { payload: string } };
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()) as { predicate: { buildDefinition: { externalParameters: { parameters: unknown } } } };
    assert.deepEqual(statement.predicate.buildDefinition.externalParameters.parameters, { lr: 0.01, epochs: 3, name: 'base' });

    const ok = await cli(['attest', 'verify', 'model', '--attestation', 'prov.sig', '--key', 'k.pub.pem', '--type', 'provenance'], dir);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /verified https:\/\/slsa\.dev\/provenance\/v1 attestation/);
    assert.equal((await cli(['attest', 'verify', 'model', '--attestation', 'prov.sig', '--key', 'k.pub.pem', '--type', 'scan'], dir)).code, 1);
    appendFileSync(join(dir, 'model', 'config.json'), ' ');
    const bad = await cli(['attest', 'verify', 'model', '--attestation', 'prov.sig', '--key', 'k.pub.pem'], dir);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /FAILED SUBJECT_MISMATCH/);
    assert.match((await cli(['attest', 'provenance', '--model', 'model', '--key', 'k.pem'], dir)).stderr, /error USAGE: .*--builder-id/);
    assert.match((await cli(['attest', 'provenance', '--model', 'model', '--key', 'k.pem', '--builder-id', 'x', '--image', 'python:3'], dir)).stderr, /error USAGE: .*pinned by digest/);
    assert.match((await cli(['attest', 'nope'], dir)).stderr, /error USAGE/);
  });

  it('scan: wraps a scan (or a saved JSON report) as a test-result attestation', async () => {
    const dir = project();
    await cli(['keygen', '--out', 'k'], dir);
    const scanned = await cli(['attest', 'scan', 'model', '--key', 'k.pem', '--output', 'scan.sig', '--only', 'secrets'], dir);
    assert.equal(scanned.code, 0, scanned.stderr);
    const verified = await cli(['attest', 'verify', 'model', '--attestation', 'scan.sig', '--key', 'k.pub.pem', '--type', 'scan', '--format', 'json'], dir);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal((JSON.parse(verified.stdout) as { predicate: { result: string } }).predicate.result, 'PASSED');

    writeFileSync(join(dir, 'report.json'), JSON.stringify({ tool: { name: 'custody' }, findings: [{ ruleId: 'models/x', severity: 'critical' }], summary: { files: 3, scanners: ['models'] } }));
    const fromReport = await cli(['attest', 'scan', 'model', '--report', 'report.json', '--key', 'k.pem'], dir);
    assert.equal(fromReport.code, 0, fromReport.stderr);
    const statement = JSON.parse(Buffer.from((JSON.parse(fromReport.stdout) as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload, 'base64').toString()) as { predicate: { result: string; failedTests: string[] } };
    assert.deepEqual([statement.predicate.result, statement.predicate.failedTests], ['FAILED', ['models/x']]);
    writeFileSync(join(dir, 'bad.json'), '{"findings": 3}');
    assert.match((await cli(['attest', 'scan', 'model', '--report', 'bad.json', '--key', 'k.pem'], dir)).stderr, /error PARSE_ERROR/);
  });
});
