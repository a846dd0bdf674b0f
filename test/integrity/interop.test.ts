import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createKeySigner, encodePae, readPrivateKeyFile, readPublicKeyFile, serializeBundle, signArtifact, verifyArtifact } from '../../src/integrity/index.js';
import { copyModel, ensureFixtures, FIXTURES, readJson, referenceVerify, rejectsWithCode, workDir, writeTree } from './helpers.js';

const KEY_NAMES = ['p256', 'p384', 'ed25519'] as const;
const pub = (name: string): string => join(FIXTURES, 'keys', `${name}.pub.pem`);
const priv = (name: string): string => join(FIXTURES, 'keys', `${name}.pem`);

// The matrix (oms-matrix.test.ts) covers model_signing 1.1.1's own bundles; these cover bundles as
// the OMS v1.0 text reads and as model_signing 1.0.x wrote them.
describe('interoperability: bundles in the OMS-text and model_signing 1.0 forms verify', () => {
  before(ensureFixtures);

  for (const key of KEY_NAMES) {
    for (const style of ['oms-text', 'v1.0'] as const) {
      // model_signing 1.0.x recorded no ignore paths: the verifier is told, as its users were.
      const ignorePaths = style === 'v1.0' ? ['ignore-me'] : [];
      for (const method of ['files', 'shards'] as const) {
        it(`${key}, ${style}, ${method}`, async () => {
          const signature = join(FIXTURES, 'bundles', `${key}-${style}-${method}.sig`);
          const proof = await verifyArtifact(join(FIXTURES, 'model'), { signaturePath: signature, publicKeys: [await readPublicKeyFile(pub(key))], ignorePaths, jobs: 0 });
          const expected = readJson(join(FIXTURES, 'expected', `${method}.json`)) as { subject: { digest: { sha256: string } }[] };
          if (style === 'v1.0') assert.equal(proof.digest.sha256, expected.subject[0]?.digest.sha256, 'model_signing order, same root digest');
          else assert.notEqual(proof.digest.sha256, expected.subject[0]?.digest.sha256, 'code point order lists a.txt before a/b: another root digest');
          assert.equal(proof.serialization.method, method);
        });
      }
      it(`${key}, ${style}, single file`, async () => {
        const signature = join(FIXTURES, 'bundles', `single-${key}-${style}.sig`);
        const proof = await verifyArtifact(join(FIXTURES, 'single', 'weights.safetensors'), { signaturePath: signature, publicKeys: [await readPublicKeyFile(pub(key))] });
        assert.equal(proof.files, 1);
      });
    }
  }

  it('finds tampering in a model the independent implementation signed', async () => {
    const model = copyModel('py-tamper');
    writeFileSync(join(model, 'config.json'), '{"hidden_size": 9}\n');
    const err = await rejectsWithCode(verifyArtifact(model, { signaturePath: join(FIXTURES, 'bundles', 'p384-v1.0-shards.sig'), publicKeys: [await readPublicKeyFile(pub('p384'))], ignorePaths: ['ignore-me'] }), 'DIGEST_MISMATCH');
    assert.deepEqual((err.details?.['modified'] as { name: string }[]).map((m) => m.name), ['config.json']);
    await rejectsWithCode(verifyArtifact(join(FIXTURES, 'model'), { signaturePath: join(FIXTURES, 'bundles', 'p384-oms-text-files.sig'), publicKeys: [await readPublicKeyFile(pub('p256'))] }), 'KEY_UNTRUSTED', 'another key');
    await rejectsWithCode(verifyArtifact(join(FIXTURES, 'model'), { signaturePath: join(FIXTURES, 'bundles', 'p256-v1.0-files.sig'), publicKeys: [await readPublicKeyFile(pub('p384'))] }), 'KEY_UNTRUSTED', 'another key (rawBytes)');
  });
});

describe('interoperability: Custody signs, model_signing (scripts/oms_reference.py) verifies', () => {
  before(ensureFixtures);

  for (const key of ['p256', 'p384'] as const) {
    for (const method of ['files', 'shards'] as const) {
      it(`${key}, ${method}: verifies, and rejects a flipped byte and an edited bundle`, async () => {
        const model = copyModel(`to-py-${key}-${method}`);
        const signature = join(model, 'model.sig');
        const { bundle, manifest } = await signArtifact(model, {
          signer: createKeySigner(await readPrivateKeyFile(priv(key))),
          signaturePath: signature,
          // model_signing cannot read the shard names of a file whose name holds ':' (see the matrix).
          ignorePaths: method === 'shards' ? ['ignore-me', 'weird:name.bin'] : ['ignore-me'],
          ...(method === 'shards' ? { shardSize: 4096 } : {}),
        });
        writeFileSync(signature, serializeBundle(bundle));
        // model_signing's CLI verifies files/SHA-256 only; shards need its library (settings from the signature).
        const mode = method === 'files' ? ['--mode', 'cli'] : ['--mode', 'guess'];
        const ok = referenceVerify(pub(key), signature, model, mode);
        assert.equal(ok.status, 0, ok.stderr);
        assert.equal(ok.stdout.trim(), `OK ${manifest.rootDigest}`);

        const edited = JSON.parse(readFileSync(signature, 'utf8')) as { dsseEnvelope: { signatures: { sig: string }[] } };
        const sig = Buffer.from(edited.dsseEnvelope.signatures[0]?.sig ?? '', 'base64');
        sig[sig.length - 2] = (sig[sig.length - 2] ?? 0) ^ 0x01;
        (edited.dsseEnvelope.signatures[0] as { sig: string }).sig = sig.toString('base64');
        const editedPath = join(workDir('edited'), 'model.sig');
        writeFileSync(editedPath, JSON.stringify(edited));
        assert.equal(referenceVerify(pub(key), editedPath, model, [...mode, '--ignore', 'model.sig']).status, 1, 'edited signature');

        const weights = readFileSync(join(model, 'weights.bin'));
        weights[1234] = (weights[1234] ?? 0) ^ 0x80;
        writeFileSync(join(model, 'weights.bin'), weights);
        const bad = referenceVerify(pub(key), signature, model, mode);
        assert.equal(bad.status, 1);
        assert.match(bad.stderr, /hash mismatch: weights\.bin/);
      });
    }
  }

  it('an Ed25519 signature (made with the explicit choice) is refused by the reference', async () => {
    const model = copyModel('to-py-ed25519');
    const signature = join(workDir('ed25519-sig'), 'model.sig');
    const { bundle } = await signArtifact(model, { signer: createKeySigner(await readPrivateKeyFile(priv('ed25519'))), allowNonOmsKey: true, ignorePaths: ['ignore-me'] });
    writeFileSync(signature, serializeBundle(bundle));
    const run = referenceVerify(pub('ed25519'), signature, model, ['--mode', 'cli']);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /Unsupported key/);
  });
});

describe('interoperability: keys and signatures as openssl makes and checks them', () => {
  it('signs with keys from `openssl genpkey` / `openssl ecparam` and `openssl dgst -verify` accepts the DSSE signature', async () => {
    const dir = writeTree(workDir('openssl'), { 'model/w.bin': Buffer.alloc(2048, 6) });
    const openssl = (...args: string[]): void => {
      const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
      assert.equal(run.status, 0, `openssl ${args.join(' ')}: ${run.stderr}`);
    };
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'pkcs8.pem');
    openssl('ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', 'sec1.pem');
    for (const [key, digest] of [['pkcs8.pem', '-sha256'], ['sec1.pem', '-sha384']] as const) {
      openssl('pkey', '-in', key, '-pubout', '-out', `${key}.pub`);
      const { bundle } = await signArtifact(join(dir, 'model'), { signer: createKeySigner(await readPrivateKeyFile(join(dir, key))) });
      await verifyArtifact(join(dir, 'model'), { bundle, publicKeys: [await readPublicKeyFile(join(dir, `${key}.pub`))] });
      writeFileSync(join(dir, 'pae.bin'), encodePae(bundle.dsseEnvelope.payloadType, Buffer.from(bundle.dsseEnvelope.payload, 'base64')));
      writeFileSync(join(dir, 'sig.der'), Buffer.from(bundle.dsseEnvelope.signatures[0]?.sig ?? '', 'base64'));
      openssl('dgst', digest, '-verify', `${key}.pub`, '-signature', 'sig.der', 'pae.bin');
    }
  });
});
