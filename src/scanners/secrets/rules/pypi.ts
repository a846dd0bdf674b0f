import { decodeBase64Url } from '../decode.js';
import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

/** `pypi-` and a base64url macaroon (unpadded). Real tokens are 150 to 250 characters; caveats can make them longer. */
const PYPI = /pypi-[A-Za-z0-9_-]{60,2000}(?![A-Za-z0-9_-])/y;

const MAX_FIELDS = 64;

/**
 * Reads a serialized macaroon (libmacaroons format version 2): version byte 2, then packets of
 * `type, varint length, data` ending with EOS (0): the optional location (1) and the identifier (2);
 * then caveats, each its own packet list ending with EOS; an EOS; and the signature (6, 32 bytes) as
 * the last bytes. Returns the location, or undefined when the bytes are not such a macaroon.
 */
export function readMacaroonV2(bytes: Buffer): { location: string } | undefined {
  let p = 0;
  if (bytes[p++] !== 2) return undefined;
  const field = (): { type: number; data: Buffer } | undefined => {
    if (p >= bytes.length) return undefined;
    const type = bytes[p++]!;
    if (type === 0) return { type, data: Buffer.alloc(0) };
    let len = 0;
    for (let shift = 0; ; shift += 7) {
      if (p >= bytes.length || shift > 21) return undefined;
      const b = bytes[p++]!;
      len |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
    }
    if (len > bytes.length - p) return undefined;
    const data = bytes.subarray(p, p + len);
    p += len;
    return { type, data };
  };
  let f = field();
  let location = '';
  if (f?.type === 1) {
    location = f.data.toString('latin1');
    if (!/^[\x21-\x7e]{1,255}$/.test(location)) return undefined;
    f = field();
  }
  if (f?.type !== 2 || f.data.length === 0) return undefined;
  if (field()?.type !== 0) return undefined;
  // Caveats: [location] identifier [verification id] EOS, until an empty packet list (a bare EOS).
  for (let caveats = 0; ; caveats++) {
    if (caveats > MAX_FIELDS) return undefined;
    f = field();
    if (f === undefined) return undefined;
    if (f.type === 0) break;
    for (let n = 0; f.type !== 0; n++) {
      if (n > 4 || f.type === 6 || f.type > 6) return undefined;
      f = field();
      if (f === undefined) return undefined;
    }
  }
  const signature = field();
  if (signature?.type !== 6 || signature.data.length !== 32 || p !== bytes.length) return undefined;
  return { location };
}

function validPypi(token: string): false | { data: { index: string } } {
  const bytes = decodeBase64Url(token.slice(5));
  if (bytes === undefined) return false;
  const macaroon = readMacaroonV2(bytes);
  if (macaroon === undefined) return false;
  return { data: { index: macaroon.location === '' ? 'package index' : macaroon.location } };
}

/** A fake PyPI token with the real structure (location, UUID identifier, one caveat, signature). */
export function fakePypiToken(f: Fake, location = 'pypi.org'): string {
  const packet = (type: number, data: Buffer): Buffer => Buffer.concat([Buffer.from([type, data.length]), data]);
  const caveat = Buffer.from(JSON.stringify({ version: 1, permissions: { projects: [`ml-pkg-${f.hex(4)}`] } }));
  const bytes = Buffer.concat([
    Buffer.from([2]),
    packet(1, Buffer.from(location)),
    packet(2, Buffer.from(f.uuid())),
    Buffer.from([0]),
    packet(2, caveat),
    Buffer.from([0, 0]),
    packet(6, f.bytes(32)),
  ]);
  return `pypi-${bytes.toString('base64url')}`;
}

export const pypiTokenRule = defineSecretRule({
  id: 'secrets/pypi-token',
  title: 'PyPI API token',
  description:
    'A PyPI (or TestPyPI) upload token: `pypi-` followed by a base64url macaroon, typically in `.pypirc` (`password = pypi-…` ' +
    'under `username = __token__`), `TWINE_PASSWORD`, `UV_PUBLISH_TOKEN`, `POETRY_PYPI_TOKEN_PYPI` or CI files. The macaroon is ' +
    'decoded and its structure checked (version 2, location, identifier, caveats, 32-byte signature) before it is reported. ' +
    'Whoever holds it can publish new versions of your packages: a supply-chain compromise of everyone who installs them.',
  severity: 'critical',
  confidence: 'high',
  tags: tags('pypi'),
  remediation:
    'Delete the token on pypi.org (Account settings → API tokens), check the release history of the projects it covers, remove it ' +
    'from the file and from git history, and publish with Trusted Publishing (OIDC) or a CI secret instead.',
  messages: { found: 'PyPI API token for {{index}} (macaroon structure valid).' },
  family: 'pypi',
  priority: 3,
  detectors: [prefixToken({ keywords: ['pypi-'], pattern: PYPI, prefixLength: 5, message: 'found', validate: validPypi })],
  patterns: [PYPI],
  examples: () => {
    const f = new Fake(1818);
    const good = fakePypiToken(f);
    return {
      positive: [
        { text: `[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = ${good}\n`, file: '.pypirc' },
        { text: `TWINE_PASSWORD=${fakePypiToken(f, 'test.pypi.org')}`, file: '.env' },
        { text: `      - run: uv publish --token ${fakePypiToken(f)}`, file: 'release.yml' },
      ],
      negative: [
        // The familiar head with a random tail: no identifier, caveats or signature.
        { text: `password = pypi-AgEIcHlwaS5vcmc${f.alnum(150)}`, file: '.pypirc' },
        // A real structure cut short (the signature is missing).
        { text: `TWINE_PASSWORD=${good.slice(0, -20)}`, file: '.env' },
        { text: 'password = pypi-AgEIcHlwaS5vcmcxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', file: '.pypirc' },
        { text: '- uses: pypa/gh-action-pypi-publish@release/v1', file: 'release.yml' },
      ],
    };
  },
});
