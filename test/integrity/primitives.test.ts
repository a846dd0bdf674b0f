import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { isCustodyError } from '../../src/core/errors.js';
import { computeRootDigest, createHasher, digestEquals, isDigestHex } from '../../src/integrity/digest.js';
import { decodeBase64Strict, encodePae } from '../../src/integrity/dsse.js';
import { computeKeyHint, generateKeyPair, KEY_TYPES, loadPrivateKey, loadPublicKey, signBytes, verifyBytes } from '../../src/integrity/keys.js';
import { compareNames, compareResourceNames, isCanonicalName, normalizeIgnorePath, splitShardName } from '../../src/integrity/names.js';

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => isCustodyError(error) && error.code === code);
}

describe('digests', () => {
  it('computes SHA-256 and BLAKE3 known answers', async () => {
    const sha = await createHasher('sha256');
    sha.update(Buffer.from('abc'));
    assert.equal(sha.digest().toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const empty = await createHasher('blake3');
    assert.equal(empty.digest().toString('hex'), 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
    const abc = await createHasher('blake3');
    abc.update(Buffer.from('ab'));
    abc.update(Buffer.from('c'));
    assert.equal(abc.digest().toString('hex'), '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
  });

  it('computes the root digest over raw digest bytes in listed order (OMS §6.5.1)', () => {
    const a = 'aa'.repeat(32);
    const b = 'bb'.repeat(32);
    const expected = createHash('sha256').update(Buffer.from(a + b, 'hex')).digest('hex');
    assert.equal(computeRootDigest([a, b]), expected);
    assert.notEqual(computeRootDigest([b, a]), expected);
    throwsCode(() => computeRootDigest(['zz']), 'BUNDLE_INVALID');
  });

  it('compares digests in constant time and refuses malformed ones', () => {
    const d = 'ab'.repeat(32);
    assert.equal(digestEquals(d, d), true);
    assert.equal(digestEquals(d, `${'ab'.repeat(31)}ac`), false);
    assert.equal(digestEquals(d, d.slice(2)), false);
    assert.equal(digestEquals('AB'.repeat(32), 'AB'.repeat(32)), false);
    assert.equal(isDigestHex(d), true);
    assert.equal(isDigestHex(d.toUpperCase()), false);
    assert.equal(isDigestHex(d.slice(1)), false);
  });
});

describe('names', () => {
  it('orders names by code point, and resources as model_signing does (components, then offsets)', () => {
    assert.ok(compareNames('a.txt', 'a/b') < 0);
    assert.ok(compareResourceNames('a/b', 'a.txt', 'files') < 0);
    assert.ok(compareResourceNames('a/b:0:1', 'a.txt:0:1', 'shards') < 0);
    assert.ok(compareResourceNames('f:10:20', 'f:9:20', 'files') < 0, 'files: a colon is part of the name, never offsets');
    assert.ok(compareResourceNames('f:10:20', 'f:9:20', 'shards') > 0);
    assert.ok(compareNames('f:12288:16384', 'f:4096:8192') < 0);
    assert.ok(compareResourceNames('f:4096:8192', 'f:12288:16384', 'shards') < 0);
    assert.ok(compareResourceNames('\u{1F600}/x', '\uFF5E/x', 'files') > 0, 'components compare by code point, not UTF-16 unit');
    // Code point, not UTF-16 unit: U+FF5E sorts before U+1F600 (a surrogate pair starting 0xD83D).
    assert.ok(compareNames('\u{1F600}', '\uFF5E') > 0);
    // The same order as comparing UTF-8 bytes, at every boundary of the UTF-16 encoding.
    const names = ['a', 'a/b', 'a.txt', 'ab', '\u007F', '\u0080', '\u07FF', '\u0800', '\uD7FF', '\uE000', '\uFFFF', '\u{10000}', '\u{1F600}', '\u{10FFFF}', 'x\u{1F600}y', 'x\uFFFFy'];
    for (const x of names) {
      for (const y of names) assert.equal(Math.sign(compareNames(x, y)), Buffer.compare(Buffer.from(x), Buffer.from(y)), `${x} vs ${y}`);
    }
  });

  it('splits shard names at the last two colons', () => {
    assert.deepEqual(splitShardName('weird:name.bin:0:4096'), { path: 'weird:name.bin', start: 0, end: 4096 });
    assert.equal(splitShardName('a:1'), undefined);
    assert.equal(splitShardName('a:5:3'), undefined);
    assert.equal(splitShardName('a:01:3'), undefined);
    assert.equal(splitShardName(':0:3'), undefined);
  });

  it('accepts only canonical relative names and OMS ignore paths', () => {
    assert.equal(isCanonicalName('a/b.bin'), true);
    for (const bad of ['', '/a', 'a/', 'a//b', './a', 'a/../b', '..']) assert.equal(isCanonicalName(bad), false, bad);
    assert.equal(normalizeIgnorePath('./cache/'), 'cache');
    assert.equal(normalizeIgnorePath('a//b'), 'a/b');
    for (const bad of ['../x', '/x', 'a*', 'x?', '[ab]', '.']) assert.equal(normalizeIgnorePath(bad), undefined, bad);
  });
});

describe('DSSE', () => {
  it('encodes PAE as the DSSE protocol example', () => {
    assert.equal(encodePae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
    assert.equal(encodePae('t', Buffer.from('é')).toString(), 'DSSEv1 1 t 2 é');
  });

  it('decodes only canonical Base64 (standard or URL-safe)', () => {
    assert.equal(decodeBase64Strict('aGVsbG8=', 'x').toString(), 'hello');
    assert.equal(decodeBase64Strict('aGVsbG8', 'x').toString(), 'hello');
    assert.deepEqual(decodeBase64Strict('-_8', 'x'), Buffer.from([0xfb, 0xff]));
    assert.deepEqual(decodeBase64Strict('+/8=', 'x'), Buffer.from([0xfb, 0xff]));
    for (const bad of ['aGVs bG8=', 'aGVsbG8=!', 'aGVsbG9=', 'aGVsbG8==', 'a', '+_8=', 42]) throwsCode(() => decodeBase64Strict(bad, 'x'), 'BUNDLE_INVALID');
  });
});

describe('keys', () => {
  for (const type of KEY_TYPES) {
    it(`generates, signs and verifies with ${type}; the hint is SHA-256 of the SPKI PEM`, () => {
      const pair = generateKeyPair(type);
      assert.match(pair.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
      assert.match(pair.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
      assert.equal(pair.hint, createHash('sha256').update(pair.publicKeyPem).digest('hex'));
      const priv = loadPrivateKey(pair.privateKeyPem);
      const pub = loadPublicKey(pair.publicKeyPem);
      assert.equal(priv.type, type);
      assert.equal(pub.hint, pair.hint);
      assert.equal(computeKeyHint(pub.key), pair.hint);
      const sig = signBytes(priv, Buffer.from('data'));
      assert.equal(verifyBytes(pub, Buffer.from('data'), sig), true);
      assert.equal(verifyBytes(pub, Buffer.from('datA'), sig), false);
      assert.equal(verifyBytes(pub, Buffer.from('data'), Buffer.from('garbage')), false);
      assert.equal(verifyBytes(loadPublicKey(generateKeyPair(type).publicKeyPem), Buffer.from('data'), sig), false);
    });
  }

  it('refuses private keys as public keys, garbage, RSA, and encrypted keys without passphrase', () => {
    const pair = generateKeyPair('p256');
    throwsCode(() => loadPublicKey(pair.privateKeyPem), 'KEY_INVALID');
    throwsCode(() => loadPublicKey('not a key'), 'KEY_INVALID');
    throwsCode(() => loadPrivateKey(pair.publicKeyPem), 'KEY_INVALID');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    throwsCode(() => loadPublicKey(rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()), 'KEY_INVALID');
    const encrypted = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    throwsCode(() => loadPrivateKey(encrypted), 'KEY_INVALID');
    throwsCode(() => loadPrivateKey(encrypted, { passphrase: 'wrong' }), 'KEY_INVALID');
    assert.equal(loadPrivateKey(encrypted, { passphrase: 'pw' }).type, 'p256');
    const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    throwsCode(() => loadPublicKey(secp256k1.publicKey.export({ type: 'spki', format: 'pem' }).toString()), 'KEY_INVALID');
  });
});
