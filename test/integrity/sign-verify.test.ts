import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { ErrorCode } from '../../src/core/errors.js';
import {
  createKeySigner,
  generateKeyPair,
  KEY_TYPES,
  loadPrivateKey,
  loadPublicKey,
  parseBundle,
  readTrustedKeys,
  serializeBundle,
  signArtifact,
  signPayload,
  verifyArtifact,
  type KeyType,
  type SigstoreBundle,
} from '../../src/integrity/index.js';
import { copyModel, ensureFixtures, rejectsWithCode, workDir, writeTree } from './helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests edit arbitrary JSON fields
type Loose = Record<string | number, any>;

interface Keys {
  signer: ReturnType<typeof createKeySigner>;
  publicKeys: ReturnType<typeof loadPublicKey>[];
  privatePem: string;
}

function keys(type: KeyType = 'p256'): Keys {
  const pair = generateKeyPair(type);
  return { signer: createKeySigner(loadPrivateKey(pair.privateKeyPem)), publicKeys: [loadPublicKey(pair.publicKeyPem)], privatePem: pair.privateKeyPem };
}

function payloadOf(bundle: SigstoreBundle): Record<string, unknown> {
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Record<string, unknown>;
}

/** Every file of the signed fixture model, by relative name. */
function signedFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (['.git', '.gitignore', 'ignore-me'].includes(path)) continue;
      if (entry.isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk('');
  return out.sort();
}

describe('sign and verify (OMS v1.0)', () => {
  before(ensureFixtures);

  for (const type of KEY_TYPES) {
    it(`round-trips with ${type} and returns proof (signer, digest, time)`, async () => {
      const model = copyModel(`rt-${type}`);
      const k = keys(type);
      const { bundle, manifest } = await signArtifact(model, { signer: k.signer, ignorePaths: ['ignore-me'], allowNonOmsKey: type === 'ed25519' });
      const proof = await verifyArtifact(model, { bundle, publicKeys: k.publicKeys });
      assert.equal(proof.digest.sha256, manifest.rootDigest);
      assert.equal(proof.signer.method, 'key');
      assert.equal(proof.signer.keyHint, k.publicKeys[0]?.hint);
      assert.match(proof.signer.algorithm, type === 'ed25519' ? /^PKIX_ED25519$/ : /^PKIX_ECDSA_P\d+_SHA_\d+$/);
      assert.ok(!Number.isNaN(Date.parse(proof.verifiedAt)));
      assert.equal(proof.files, manifest.files);
    });
  }

  it('writes the OMS bundle layout: Sigstore v0.3, key hint, DSSE in-toto, one subject, serialization', async () => {
    const model = copyModel('layout');
    const k = keys();
    const { bundle, manifest } = await signArtifact(model, { signer: k.signer, signaturePath: join(model, 'model.sig'), shardSize: 4096 });
    assert.equal(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.deepEqual(bundle.verificationMaterial, { publicKey: { hint: k.publicKeys[0]?.hint }, tlogEntries: [] });
    assert.equal(bundle.dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
    assert.equal(bundle.dsseEnvelope.signatures.length, 1);
    assert.equal(bundle.dsseEnvelope.signatures[0]?.keyid, '');
    const statement = payloadOf(bundle);
    assert.equal(statement['_type'], 'https://in-toto.io/Statement/v1');
    assert.equal(statement['predicateType'], 'https://model_signing/signature/v1.0');
    assert.deepEqual(statement['subject'], [{ name: 'model', digest: { sha256: manifest.rootDigest } }]);
    const predicate = statement['predicate'] as { serialization: Record<string, unknown>; resources: { algorithm: string }[] };
    assert.deepEqual(predicate.serialization, { method: 'shards', hash_type: 'sha256', shard_size: 4096, allow_symlinks: false, ignore_paths: ['.git', '.gitattributes', '.github', '.gitignore', 'model.sig'] });
    assert.ok(predicate.resources.every((r) => r.algorithm === 'sha256-sharded-4096'), 'the shard algorithm model_signing writes and compares');
    assert.deepEqual(parseBundle(serializeBundle(bundle)), bundle);
  });

  it('leaves the signature file out when it lies inside the model', async () => {
    const model = copyModel('inside');
    const k = keys();
    const sig = join(model, 'model.sig');
    writeFileSync(sig, 'an old signature');
    const { bundle } = await signArtifact(model, { signer: k.signer, signaturePath: sig, ignorePaths: ['ignore-me'] });
    writeFileSync(sig, serializeBundle(bundle));
    const proof = await verifyArtifact(model, { signaturePath: sig, publicKeys: k.publicKeys });
    assert.ok(proof.files > 0);
  });

  it('verifies a single file, and finds its tampering', async () => {
    const dir = writeTree(workDir('single'), { 'model.onnx': Buffer.alloc(5000, 1) });
    const k = keys();
    const { bundle } = await signArtifact(join(dir, 'model.onnx'), { signer: k.signer });
    assert.equal((await verifyArtifact(join(dir, 'model.onnx'), { bundle, publicKeys: k.publicKeys })).files, 1);
    appendFileSync(join(dir, 'model.onnx'), 'x');
    await rejectsWithCode(verifyArtifact(join(dir, 'model.onnx'), { bundle, publicKeys: k.publicKeys }), 'DIGEST_MISMATCH');
  });

  it('picks the signer among trusted keys (--trusted-keys) and refuses a bundle from an untrusted key', async () => {
    const model = copyModel('trusted');
    const signer = generateKeyPair('p384');
    const other = generateKeyPair('p256');
    const dir = writeTree(workDir('keys'), { 'a.pem': other.publicKeyPem, 'b.pub': signer.publicKeyPem, 'notes.txt': 'not a key' });
    const { bundle } = await signArtifact(model, { signer: createKeySigner(loadPrivateKey(signer.privateKeyPem)) });
    const proof = await verifyArtifact(model, { bundle, publicKeys: await readTrustedKeys(dir) });
    assert.equal(proof.signer.keyHint, signer.hint);
    assert.equal(proof.signer.keySource, join(dir, 'b.pub'));
    await rejectsWithCode(verifyArtifact(model, { bundle, publicKeys: [loadPublicKey(other.publicKeyPem)] }), 'KEY_UNTRUSTED');
    await rejectsWithCode(readTrustedKeys(workDir('no-keys')), 'KEY_INVALID');
    writeFileSync(join(dir, 'c.pem'), signer.privateKeyPem);
    await rejectsWithCode(readTrustedKeys(dir), 'KEY_INVALID', 'a private key in the trusted directory');
  });

  it('fails with IO_ERROR for a missing signature and SYMLINK_REFUSED for a link added after signing', async () => {
    const model = copyModel('misc');
    const k = keys();
    await rejectsWithCode(verifyArtifact(model, { signaturePath: join(model, 'nope.sig'), publicKeys: k.publicKeys }), 'IO_ERROR');
    const { bundle } = await signArtifact(model, { signer: k.signer });
    symlinkSync('a.txt', join(model, 'link'));
    await rejectsWithCode(verifyArtifact(model, { bundle, publicKeys: k.publicKeys }), 'SYMLINK_REFUSED');
  });
});

describe('tampering with the model fails verification with the right code', () => {
  before(ensureFixtures);

  type Tamper = (model: string, file: string) => boolean;
  const contentTampers: [string, Tamper][] = [
    [
      'flip one byte',
      (m, f) => {
        const data = readFileSync(join(m, f));
        if (data.length === 0) return false;
        const at = Math.floor(data.length / 2);
        data[at] = (data[at] ?? 0) ^ 0x01;
        writeFileSync(join(m, f), data);
        return true;
      },
    ],
    [
      'truncate',
      (m, f) => {
        const size = statSync(join(m, f)).size;
        if (size === 0) return false;
        truncateSync(join(m, f), size - 1);
        return true;
      },
    ],
    ['append', (m, f) => (appendFileSync(join(m, f), Buffer.from([0])), true)],
  ];

  for (const method of ['files', 'shards'] as const) {
    it(`${method}: flipping, truncating or appending to any file → DIGEST_MISMATCH naming that file`, async () => {
      const k = keys();
      const base = copyModel(`content-${method}`);
      const { bundle } = await signArtifact(base, { signer: k.signer, ignorePaths: ['ignore-me'], ...(method === 'shards' ? { shardSize: 4096 } : {}) });
      for (const file of signedFiles(base)) {
        for (const [label, tamper] of contentTampers) {
          const model = copyModel(`c-${method}`);
          if (!tamper(model, file)) continue;
          if (method === 'shards' && file === 'empty.bin') {
            // Boundary: an empty file has no shard, so bytes appended to it show up as an added file.
            const error = await rejectsWithCode(verifyArtifact(model, { bundle, publicKeys: k.publicKeys, jobs: 0 }), 'MANIFEST_MISMATCH', `${label} ${file}`);
            assert.deepEqual(error.details?.['added'], [file]);
            continue;
          }
          const error = await rejectsWithCode(verifyArtifact(model, { bundle, publicKeys: k.publicKeys, jobs: 0 }), 'DIGEST_MISMATCH', `${label} ${file}`);
          assert.deepEqual((error.details?.['modified'] as { name: string }[]).map((m) => m.name), [file], `${label} ${file}`);
          rmSync(join(model, '..'), { recursive: true, force: true });
        }
      }
    });

    it(`${method}: adding, removing or renaming any file → MANIFEST_MISMATCH with the difference`, async () => {
      const k = keys();
      const base = copyModel(`set-${method}`);
      const { bundle } = await signArtifact(base, { signer: k.signer, ignorePaths: ['ignore-me'], ...(method === 'shards' ? { shardSize: 4096 } : {}) });
      const verify = (model: string, label: string): ReturnType<typeof rejectsWithCode> => rejectsWithCode(verifyArtifact(model, { bundle, publicKeys: k.publicKeys, jobs: 0 }), 'MANIFEST_MISMATCH', label);

      for (const added of ['new.bin', 'a/c', 'sub/dir/x', '.github2/x', 'nested/.git/config']) {
        const model = copyModel('add');
        writeTree(model, { [added]: 'unsigned' });
        assert.deepEqual((await verify(model, `add ${added}`)).details?.['added'], [added]);
      }
      for (const file of signedFiles(base)) {
        const removedModel = copyModel('remove');
        rmSync(join(removedModel, file));
        if (method === 'shards' && file === 'empty.bin') {
          // Boundary: shards record no resource for an empty file (OMS §6.3.2), so its removal is not signed content.
          await verifyArtifact(removedModel, { bundle, publicKeys: k.publicKeys, jobs: 0 });
          continue;
        }
        assert.deepEqual((await verify(removedModel, `remove ${file}`)).details?.['removed'], [file], `remove ${file}`);

        const renamedModel = copyModel('rename');
        mkdirSync(join(renamedModel, 'moved'), { recursive: true });
        renameSync(join(renamedModel, file), join(renamedModel, 'moved', 'renamed.bin'));
        const renamed = await verify(renamedModel, `rename ${file}`);
        assert.deepEqual(renamed.details?.['renamed'], [{ from: file, to: 'moved/renamed.bin' }], `rename ${file}`);
      }
    });
  }

  it('a top-level .git directory and the default-ignored files may change freely (boundary)', async () => {
    const model = copyModel('git');
    const k = keys();
    const { bundle } = await signArtifact(model, { signer: k.signer, ignorePaths: ['ignore-me'] });
    writeTree(model, { '.git/objects/x': 'new object', '.gitignore': 'changed', '.gitattributes': 'new', 'ignore-me': 'changed' });
    await verifyArtifact(model, { bundle, publicKeys: k.publicKeys });
    writeTree(model, { 'nested/.git/x': 'not top-level, so signed' });
    await rejectsWithCode(verifyArtifact(model, { bundle, publicKeys: k.publicKeys }), 'MANIFEST_MISMATCH');
  });
});

describe('editing any field of the signature fails verification with the right code', () => {
  before(ensureFixtures);

  async function setup(): Promise<{ model: string; bundle: SigstoreBundle; k: Keys }> {
    const model = copyModel('fields');
    const k = keys();
    const { bundle } = await signArtifact(model, { signer: k.signer, ignorePaths: ['ignore-me'] });
    return { model, bundle, k };
  }

  function edited(bundle: SigstoreBundle, edit: (b: Loose) => void): SigstoreBundle {
    const copy = JSON.parse(JSON.stringify(bundle)) as Loose;
    edit(copy);
    return copy as unknown as SigstoreBundle;
  }

  async function expectCode(model: string, bundle: SigstoreBundle, k: Keys, code: ErrorCode, label: string): Promise<void> {
    // Through the file reader too, so parse-time checks run as they do for `custody verify`.
    const path = join(workDir('sig'), 'model.sig');
    writeFileSync(path, JSON.stringify(bundle));
    await rejectsWithCode(verifyArtifact(model, { signaturePath: path, publicKeys: k.publicKeys, jobs: 0 }), code, label);
  }

  it('bundle and envelope fields', async () => {
    const { model, bundle, k } = await setup();
    const other = generateKeyPair('p256');
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0]?.sig ?? '', 'base64');
    const flipped = Buffer.from(sig);
    flipped[flipped.length - 3] = (flipped[flipped.length - 3] ?? 0) ^ 0x01;
    const cases: [string, (b: Loose) => void, ErrorCode][] = [
      ['mediaType', (b) => void (b['mediaType'] = 'application/vnd.dev.sigstore.bundle.v0.2+json'), 'BUNDLE_INVALID'],
      ['mediaType removed', (b) => delete b['mediaType'], 'BUNDLE_INVALID'],
      ['unknown top-level field', (b) => void (b['extra'] = 1), 'BUNDLE_INVALID'],
      ['verificationMaterial removed', (b) => delete b['verificationMaterial'], 'BUNDLE_INVALID'],
      ['publicKey.hint → another key', (b) => void (b['verificationMaterial'].publicKey.hint = other.hint), 'KEY_UNTRUSTED'],
      ['publicKey.hint → not hex', (b) => void (b['verificationMaterial'].publicKey.hint = 'xyz'), 'BUNDLE_INVALID'],
      ['publicKey → rawBytes of another key', (b) => void (b['verificationMaterial'].publicKey = { rawBytes: Buffer.from(other.publicKeyPem).toString('base64') }), 'KEY_UNTRUSTED'],
      ['publicKey extra field', (b) => void (b['verificationMaterial'].publicKey.extra = 'x'), 'BUNDLE_INVALID'],
      ['tlogEntries added', (b) => void (b['verificationMaterial'].tlogEntries = [{ logIndex: '1' }]), 'BUNDLE_INVALID'],
      ['certificate added', (b) => void (b['verificationMaterial'].certificate = { rawBytes: 'AAAA' }), 'UNSUPPORTED_FORMAT'],
      ['payloadType', (b) => void (b['dsseEnvelope'].payloadType = 'application/json'), 'SIGNATURE_INVALID'],
      ['payload: one character changed', (b) => void (b['dsseEnvelope'].payload = `${b['dsseEnvelope'].payload.slice(0, 40)}${b['dsseEnvelope'].payload[40] === 'A' ? 'B' : 'A'}${b['dsseEnvelope'].payload.slice(41)}`), 'SIGNATURE_INVALID'],
      ['payload: a character Node would skip', (b) => void (b['dsseEnvelope'].payload = `${b['dsseEnvelope'].payload.slice(0, 8)}!${b['dsseEnvelope'].payload.slice(8)}`), 'BUNDLE_INVALID'],
      ['payload: truncated', (b) => void (b['dsseEnvelope'].payload = b['dsseEnvelope'].payload.slice(0, -4)), 'SIGNATURE_INVALID'],
      ['signatures[0].sig bit flip', (b) => void (b['dsseEnvelope'].signatures[0].sig = flipped.toString('base64')), 'SIGNATURE_INVALID'],
      ['signatures[0].sig removed', (b) => delete b['dsseEnvelope'].signatures[0].sig, 'BUNDLE_INVALID'],
      ['signatures emptied', (b) => void (b['dsseEnvelope'].signatures = []), 'BUNDLE_INVALID'],
      ['second signature', (b) => void b['dsseEnvelope'].signatures.push({ sig: b['dsseEnvelope'].signatures[0].sig, keyid: '' }), 'BUNDLE_INVALID'],
      ['keyid → another key', (b) => void (b['dsseEnvelope'].signatures[0].keyid = other.hint), 'KEY_UNTRUSTED'],
      ['keyid → a number', (b) => void (b['dsseEnvelope'].signatures[0].keyid = 7), 'BUNDLE_INVALID'],
      ['signature extra field', (b) => void (b['dsseEnvelope'].signatures[0].extra = 1), 'BUNDLE_INVALID'],
      ['dsseEnvelope removed', (b) => delete b['dsseEnvelope'], 'BUNDLE_INVALID'],
    ];
    for (const [label, edit, code] of cases) await expectCode(model, edited(bundle, edit), k, code, label);

    // Boundaries that must still verify: keyid absent, null or equal to the key hint.
    for (const keyid of [undefined, null, k.publicKeys[0]?.hint]) {
      const ok = edited(bundle, (b) => {
        if (keyid === undefined) delete b['dsseEnvelope'].signatures[0].keyid;
        else b['dsseEnvelope'].signatures[0].keyid = keyid;
      });
      await verifyArtifact(model, { bundle: ok, publicKeys: k.publicKeys });
    }

    const path = join(workDir('sig'), 'model.sig');
    writeFileSync(path, serializeBundle(bundle).slice(0, 200));
    await rejectsWithCode(verifyArtifact(model, { signaturePath: path, publicKeys: k.publicKeys }), 'BUNDLE_INVALID', 'truncated file');
  });

  it('every field of the signed statement, edited without re-signing → SIGNATURE_INVALID', async () => {
    const { model, bundle, k } = await setup();
    const statement = payloadOf(bundle);
    const leaves: (string | number)[][] = [];
    const collect = (value: unknown, path: (string | number)[]): void => {
      if (Array.isArray(value)) value.forEach((v, i) => collect(v, [...path, i]));
      else if (typeof value === 'object' && value !== null) for (const [key, v] of Object.entries(value)) collect(v, [...path, key]);
      else leaves.push(path);
    };
    collect(statement, []);
    assert.ok(leaves.length > 30, `${leaves.length} leaves`);
    for (const path of leaves) {
      const copy = JSON.parse(JSON.stringify(statement)) as Loose;
      let parent: Loose = copy;
      for (const key of path.slice(0, -1)) parent = parent[key] as Loose;
      const key = path[path.length - 1] as string | number;
      const value: unknown = parent[key];
      parent[key] = typeof value === 'string' ? (/^[0-9a-f]+$/.test(value) ? `${value.slice(0, -1)}${value.endsWith('0') ? '1' : '0'}` : `${value}x`) : typeof value === 'boolean' ? !value : (value as number) + 1;
      const tampered = edited(bundle, (b) => void (b['dsseEnvelope'].payload = Buffer.from(JSON.stringify(copy)).toString('base64')));
      await rejectsWithCode(verifyArtifact(model, { bundle: tampered, publicKeys: k.publicKeys, jobs: 0 }), 'SIGNATURE_INVALID', path.join('.'));
    }
  });

  it('a validly signed but inconsistent or foreign statement → BUNDLE_INVALID (or DIGEST_MISMATCH for a wrong resource digest)', async () => {
    const { model, bundle, k } = await setup();
    const statement = payloadOf(bundle);
    const resign = async (edit: (s: Loose) => void): Promise<SigstoreBundle> => {
      const copy = JSON.parse(JSON.stringify(statement)) as Loose;
      edit(copy);
      return signPayload(Buffer.from(JSON.stringify(copy)), 'application/vnd.in-toto+json', k.signer);
    };
    const cases: [string, (s: Loose) => void, ErrorCode][] = [
      ['subject digest', (s) => void (s['subject'][0].digest.sha256 = '0'.repeat(64)), 'BUNDLE_INVALID'],
      ['two subjects', (s) => void s['subject'].push(s['subject'][0]), 'BUNDLE_INVALID'],
      ['_type', (s) => void (s['_type'] = 'https://in-toto.io/Statement/v0.1'), 'BUNDLE_INVALID'],
      ['predicateType', (s) => void (s['predicateType'] = 'https://slsa.dev/provenance/v1'), 'BUNDLE_INVALID'],
      ['hash_type md5', (s) => void (s['predicate'].serialization.hash_type = 'md5'), 'BUNDLE_INVALID'],
      ['method', (s) => void (s['predicate'].serialization.method = 'tensors'), 'BUNDLE_INVALID'],
      ['unknown serialization field', (s) => void (s['predicate'].serialization.chunk = 1), 'BUNDLE_INVALID'],
      ['ignore path escaping the root', (s) => void s['predicate'].serialization.ignore_paths.push('../etc'), 'BUNDLE_INVALID'],
      ['resource name escaping the root', (s) => void (s['predicate'].resources[0].name = '../a.txt'), 'BUNDLE_INVALID'],
      ['duplicate resource', (s) => void s['predicate'].resources.push(s['predicate'].resources[0]), 'BUNDLE_INVALID'],
      ['resource algorithm', (s) => void (s['predicate'].resources[0].algorithm = 'md5'), 'BUNDLE_INVALID'],
      ['no resources', (s) => void (s['predicate'].resources = []), 'BUNDLE_INVALID'],
      ['not JSON', (s) => void (s['predicate'] = undefined), 'BUNDLE_INVALID'],
    ];
    for (const [label, edit, code] of cases) await rejectsWithCode(verifyArtifact(model, { bundle: await resign(edit), publicKeys: k.publicKeys, jobs: 0 }), code, label);

    // A wrong digest for a resource, with the subject recomputed to match: the model differs.
    const wrongDigest = await resign((s) => {
      const resources = s['predicate'].resources as { digest: string }[];
      const first = resources[0] as { digest: string };
      first.digest = 'f'.repeat(64);
      s['subject'][0].digest.sha256 = createHash('sha256').update(Buffer.concat(resources.map((r) => Buffer.from(r.digest, 'hex')))).digest('hex');
    });
    await rejectsWithCode(verifyArtifact(model, { bundle: wrongDigest, publicKeys: k.publicKeys, jobs: 0 }), 'DIGEST_MISMATCH', 'resource digest');
  });
});
