// The OMS interoperability matrix (docs/integrity.md, "Interoperability matrix"): keys × hash types ×
// methods × single file / directory, on trees full of names where orders and encodings could
// disagree. The other side is scripts/oms_reference.py, which behaves as model_signing 1.1.1 does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createHasher } from '../../src/integrity/digest.js';
import { createKeySigner, hashArtifact, readPrivateKeyFile, readPublicKeyFile, serializeBundle, signArtifact, verifyArtifact, type HashType } from '../../src/integrity/index.js';
import { ensureFixtures, FIXTURES, readJson, rejectsWithCode, workDir } from './helpers.js';

const KEYS = ['p256', 'p384', 'p521', 'ed25519'] as const;
/** The reference's names for hash types (its hashing.Config), and Custody's. */
const HASHES = [
  ['sha256', 'sha256'],
  ['blake2', 'blake2b'],
  ['blake3', 'blake3'],
] as const;
const METHODS = ['files', 'shards'] as const;
const SHARD_SIZE = 4096;
const MODES = ['cli', 'guess', 'explicit'] as const;
type Key = (typeof KEYS)[number];
type Method = (typeof METHODS)[number];
type Mode = (typeof MODES)[number];
type Target = 'dir' | 'single' | 'colon';

const MATRIX = join(FIXTURES, 'matrix');
const pub = (key: string): string => join(FIXTURES, 'keys', `${key}.pub.pem`);
const priv = (key: string): string => join(FIXTURES, 'keys', `${key}.pem`);
const targetPath = (target: Target): string => (target === 'single' ? join(FIXTURES, 'single', 'weights.safetensors') : join(MATRIX, 'trees', target === 'dir' ? 'tricky' : 'colon'));

interface Cell {
  key: Key;
  hash: (typeof HASHES)[number];
  method: Method;
  target: Target;
  name: string;
}

function cells(): Cell[] {
  const out: Cell[] = [];
  for (const key of KEYS)
    for (const hash of HASHES)
      for (const method of METHODS)
        for (const target of ['dir', 'single', 'colon'] as const) {
          if (target === 'colon' && (key !== 'p256' || hash[0] !== 'sha256')) continue;
          out.push({ key, hash, method, target, name: `${key}-${hash[0]}-${method}-${target}` });
        }
  return out;
}

/**
 * What model_signing 1.1.1 does with a signature Custody writes for a cell, in each way of
 * verifying (docs/integrity.md explains each line): `ok`, or a pattern of its refusal.
 */
function expectedOutcome(cell: Cell, mode: Mode): 'ok' | RegExp {
  if (cell.key === 'ed25519') return /Unsupported key/;
  const method = cell.hash[0] === 'blake3' ? 'files' : cell.method; // BLAKE3 is never sharded
  if (cell.target === 'colon' && method === 'shards') return /Invalid resource name/;
  if (mode === 'cli') return method === 'files' && cell.hash[0] === 'sha256' ? 'ok' : /Signature mismatch/;
  if (mode === 'guess' && cell.hash[0] === 'blake2') return /Unsupported hashing method blake2b/;
  return 'ok';
}

interface RefResult {
  ok: boolean;
  root?: string;
  digest?: string;
  error?: string;
}

function runReference(jobs: Record<string, unknown>[]): RefResult[] {
  const plan = join(workDir('matrix-plan'), 'plan.json');
  writeFileSync(plan, JSON.stringify(jobs));
  const run = spawnSync('python3', ['scripts/oms_reference.py', 'batch', plan], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as RefResult[];
}

describe('OMS matrix: the hashes themselves', () => {
  it('the reference side (hashlib; BLAKE3 written from its specification) and Custody agree at every chunk and tree boundary', async () => {
    const lengths = [0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 2049, 3072, 4097, 8192, 16385, 31744, 65536, 70_000];
    const data = lengths.map((n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff)));
    const jobs = HASHES.flatMap(([reference]) => data.map((d) => ({ op: 'digest', hash_type: reference, data: d.toString('hex') })));
    const results = runReference(jobs);
    let k = 0;
    for (const [, custody] of HASHES) {
      for (const d of data) {
        const hasher = await createHasher(custody);
        hasher.update(d);
        assert.equal(results[k]?.digest, hasher.digest().toString('hex'), `${custody}, ${d.length} bytes`);
        k += 1;
      }
    }
    assert.equal(results[2 * data.length]?.digest, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262', 'BLAKE3 of "" as published');
  });
});

describe('OMS matrix: model_signing 1.1.1 signs, Custody verifies, same root digest', () => {
  before(ensureFixtures);

  for (const cell of cells()) {
    it(cell.name, async () => {
      const index = readJson(join(MATRIX, 'index.json')) as Record<string, { root?: string; refused?: string }>;
      const entry = index[cell.name];
      assert.ok(entry, 'the generator wrote this cell');
      if (cell.key === 'ed25519') {
        assert.match(entry.refused ?? '', /Unsupported key/, 'the reference refuses to sign with a key outside the OMS registry');
        return;
      }
      const proof = await verifyArtifact(targetPath(cell.target), { signaturePath: join(MATRIX, `${cell.name}.sig`), publicKeys: [await readPublicKeyFile(pub(cell.key))], jobs: 0 });
      assert.equal(proof.digest.sha256, entry.root);
      const manifest = await hashArtifact(targetPath(cell.target), { hashType: cell.hash[1], jobs: 0, ...(cell.method === 'shards' ? { shardSize: SHARD_SIZE } : {}) });
      assert.equal(manifest.rootDigest, entry.root, 'custody hash gives the root digest the reference signed');
      assert.equal(manifest.serialization.method, cell.hash[0] === 'blake3' ? 'files' : cell.method);
    });
  }

  it('verifies a model signed with its git files included (--no-ignore-git-paths), and checks those files', async () => {
    const index = readJson(join(MATRIX, 'index.json')) as Record<string, { root?: string }>;
    const signature = join(MATRIX, 'p256-sha256-files-dir-with-git.sig');
    const keys = [await readPublicKeyFile(pub('p256'))];
    const proof = await verifyArtifact(targetPath('dir'), { signaturePath: signature, publicKeys: keys });
    assert.equal(proof.digest.sha256, index['p256-sha256-files-dir-with-git']?.root);
    assert.equal(proof.files, 19, 'the 16 model files, and .git/HEAD, .github/workflows/ci.yml, .gitignore');
    const tree = join(workDir('matrix-git'), 'tricky');
    cpSync(targetPath('dir'), tree, { recursive: true });
    writeFileSync(join(tree, '.git', 'HEAD'), 'ref: refs/heads/evil\n');
    const err = await rejectsWithCode(verifyArtifact(tree, { signaturePath: signature, publicKeys: keys }), 'DIGEST_MISMATCH');
    assert.deepEqual((err.details?.['modified'] as { name: string }[]).map((m) => m.name), ['.git/HEAD']);
  });

  it('detects tampering in a reference-signed tree, and an edited reference bundle', async () => {
    const tree = join(workDir('matrix-tamper'), 'tricky');
    cpSync(targetPath('dir'), tree, { recursive: true });
    writeFileSync(join(tree, 'caf\u00e9.bin'), 'changed\n');
    const signature = join(MATRIX, 'p384-sha256-shards-dir.sig');
    const keys = [await readPublicKeyFile(pub('p384'))];
    const err = await rejectsWithCode(verifyArtifact(tree, { signaturePath: signature, publicKeys: keys }), 'DIGEST_MISMATCH');
    assert.deepEqual((err.details?.['modified'] as { name: string }[]).map((m) => m.name), ['caf\u00e9.bin'], 'the NFC file, not its NFD twin');
    const bundle = JSON.parse(readFileSync(signature, 'utf8')) as { dsseEnvelope: { payload: string } };
    const original = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8');
    const payload = original.replace('"a/b:0:10"', '"a/c:0:10"');
    assert.notEqual(payload, original);
    bundle.dsseEnvelope.payload = Buffer.from(payload).toString('base64');
    const edited = join(workDir('matrix-edited'), 'edited.sig');
    writeFileSync(edited, JSON.stringify(bundle));
    await rejectsWithCode(verifyArtifact(targetPath('dir'), { signaturePath: edited, publicKeys: keys }), 'SIGNATURE_INVALID');
  });
});

describe('OMS matrix: Custody signs, model_signing 1.1.1 verifies', () => {
  const results = new Map<string, RefResult>();
  const roots = new Map<string, string>();

  before(async () => {
    ensureFixtures();
    const out = workDir('matrix-custody');
    const jobs: Record<string, unknown>[] = [];
    const labels: string[] = [];
    for (const cell of cells()) {
      const signature = join(out, `${cell.name}.sig`);
      const { bundle, manifest } = await signArtifact(targetPath(cell.target), {
        signer: createKeySigner(await readPrivateKeyFile(priv(cell.key))),
        hashType: cell.hash[1] as HashType,
        allowNonOmsKey: cell.key === 'ed25519',
        jobs: 0,
        ...(cell.method === 'shards' ? { shardSize: SHARD_SIZE } : {}),
      });
      writeFileSync(signature, serializeBundle(bundle));
      roots.set(cell.name, manifest.rootDigest);
      const settings = { method: cell.method, hash_type: cell.hash[0], shard_size: SHARD_SIZE };
      for (const mode of MODES) {
        jobs.push({ op: 'verify', mode, model: targetPath(cell.target), key: pub(cell.key), signature, ...settings });
        labels.push(`${cell.name}/${mode}`);
      }
      if (cell.key === 'p256') {
        jobs.push({ op: 'hash', model: targetPath(cell.target), ...settings });
        labels.push(`${cell.name}/hash`);
      }
    }
    // Negative controls: the reference side must be able to say no.
    const tampered = join(out, 'tampered');
    cpSync(targetPath('dir'), tampered, { recursive: true });
    writeFileSync(join(tampered, 'cafe\u0301.bin'), 'changed\n');
    jobs.push({ op: 'verify', mode: 'explicit', model: tampered, key: pub('p256'), signature: join(out, 'p256-sha256-shards-dir.sig'), method: 'shards', hash_type: 'sha256', shard_size: SHARD_SIZE });
    labels.push('tampered');
    jobs.push({ op: 'verify', mode: 'cli', model: targetPath('dir'), key: pub('p384'), signature: join(out, 'p256-sha256-files-dir.sig') });
    labels.push('wrong-key');
    runReference(jobs).forEach((result, i) => results.set(labels[i] ?? '', result));
  });

  for (const cell of cells()) {
    it(cell.name, () => {
      for (const mode of MODES) {
        const result = results.get(`${cell.name}/${mode}`);
        const want = expectedOutcome(cell, mode);
        if (want === 'ok') {
          assert.equal(result?.error, undefined, `${mode}: ${result?.error ?? ''}`);
          assert.equal(result?.root, roots.get(cell.name), mode);
        } else {
          assert.equal(result?.ok, false, `${mode} should be refused`);
          assert.match(result.error ?? '', want, mode);
        }
      }
      const hashed = results.get(`${cell.name}/hash`);
      if (hashed) assert.equal(hashed.root, roots.get(cell.name), 'same files and options, same root digest');
    });
  }

  it('the reference refuses a tampered tree and a key that did not sign', () => {
    assert.match(results.get('tampered')?.error ?? '', /Signature mismatch: extra: cafe\u0301\.bin:0:8; missing: cafe\u0301\.bin:0:9/);
    assert.match(results.get('wrong-key')?.error ?? '', /Key mismatch/);
  });

  it('Custody refuses Ed25519 for a model signature unless it is allowed explicitly', async () => {
    await rejectsWithCode(signArtifact(targetPath('single'), { signer: createKeySigner(await readPrivateKeyFile(priv('ed25519'))) }), 'USAGE');
  });
});
