import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base62, crc32, hasValidCrc32Base62Checksum } from '../../src/scanners/secrets/checksum.js';
import { checkPrivateKey, decodeJwt } from '../../src/scanners/secrets/decode.js';
import { Fake } from '../../src/scanners/secrets/fake.js';

test('crc32 matches the IEEE check value and base62 pads to width', () => {
  assert.equal(crc32('123456789'), 0xcbf43926);
  assert.equal(crc32(''), 0);
  assert.equal(base62(0, 6), '000000');
  assert.equal(base62(61, 2), '0z');
  assert.equal(base62(62, 1), '10');
  assert.equal(base62(0xffffffff, 6), '4gfFC3');
});

test('GitHub and npm checksums accept generated tokens and reject altered ones', () => {
  const f = new Fake(9);
  for (const prefix of ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'npm_']) {
    for (let i = 0; i < 20; i++) {
      const token = f.checksummed(prefix);
      assert.equal(hasValidCrc32Base62Checksum(token, 4), true, token);
      assert.equal(hasValidCrc32Base62Checksum(f.badChecksum(prefix), 4), false);
      const flipped = token.slice(0, 10) + (token[10] === 'a' ? 'b' : 'a') + token.slice(11);
      assert.equal(hasValidCrc32Base62Checksum(flipped, 4), false);
    }
  }
  assert.equal(hasValidCrc32Base62Checksum('ghp_short', 4), false);
});

test('private keys: each PEM kind decodes; truncated, placeholder and public material does not', () => {
  const f = new Fake(10);
  const body = (pem: string): string => pem.slice(pem.indexOf('-----', 10) + 5, pem.lastIndexOf('-----END'));
  assert.deepEqual(checkPrivateKey('RSA PRIVATE KEY', body(f.pem('RSA PRIVATE KEY', f.derKey()))), { valid: true, encrypted: false, kind: 'pkcs1' });
  assert.deepEqual(checkPrivateKey('PRIVATE KEY', body(f.pem('PRIVATE KEY', f.pkcs8Key()))), { valid: true, encrypted: false, kind: 'pkcs8' });
  assert.deepEqual(checkPrivateKey('OPENSSH PRIVATE KEY', body(f.pem('OPENSSH PRIVATE KEY', f.opensshKey()))), { valid: true, encrypted: false, kind: 'openssh' });
  assert.deepEqual(checkPrivateKey('OPENSSH PRIVATE KEY', body(f.pem('OPENSSH PRIVATE KEY', f.opensshKey('aes256-ctr')))), { valid: true, encrypted: true, kind: 'openssh' });
  // JSON-escaped newlines and string concatenation are read through.
  assert.equal(checkPrivateKey('PRIVATE KEY', body(f.pem('PRIVATE KEY', f.pkcs8Key(), true))).valid, true);
  const lines = body(f.pem('RSA PRIVATE KEY', f.derKey())).trim().split('\n');
  assert.equal(checkPrivateKey('RSA PRIVATE KEY', lines.map((l) => `"${l}"`).join(' +\n')).valid, true);
  // Legacy encrypted PEM headers.
  assert.equal(checkPrivateKey('RSA PRIVATE KEY', `\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,${f.hex(32)}\n${body(f.pem('RSA PRIVATE KEY', f.derKey()))}`).encrypted, true);
  // Truncated body, documentation ellipsis, wrong label.
  assert.equal(checkPrivateKey('RSA PRIVATE KEY', lines.slice(0, -2).join('\n')).valid, false);
  assert.equal(checkPrivateKey('RSA PRIVATE KEY', '\nMIIEpAIBAAKCAQEA...\n').valid, false);
  assert.equal(checkPrivateKey('OPENSSH PRIVATE KEY', body(f.pem('OPENSSH PRIVATE KEY', f.derKey()))).valid, false);
  // A PGP secret-key packet (new format, tag 5) versus a public-key packet (tag 6).
  const pgp = (tag: number): string => Buffer.concat([Buffer.from([tag, 0xff]), f.bytes(200)]).toString('base64');
  assert.equal(checkPrivateKey('PGP PRIVATE KEY BLOCK', `\nVersion: x\n\n${pgp(0xc5)}\n=abcd\n`).valid, true);
  assert.equal(checkPrivateKey('PGP PRIVATE KEY BLOCK', `\n${pgp(0xc6)}\n`).valid, false);
});

test('JWTs decode when header and payload are JSON objects with an alg', () => {
  const f = new Fake(11);
  const jwt = decodeJwt(f.jwt());
  assert.equal(jwt?.alg, 'HS256');
  assert.equal(jwt?.signed, true);
  const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`;
  assert.equal(decodeJwt(none)?.signed, false);
  assert.equal(decodeJwt('a.b.c'), undefined);
  assert.equal(decodeJwt(`${Buffer.from('{"typ":"JWT"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.sig`), undefined);
  assert.equal(decodeJwt(`${Buffer.from('[1]').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.sig`), undefined);
});
