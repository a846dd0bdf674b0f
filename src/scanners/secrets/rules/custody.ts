import { hasValidCrc32Base62Checksum } from '../checksum.js';
import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

/** `custody_` + 30 random base62 characters + their CRC-32 in base62 (src/registry/tokens.ts makes them). */
const TOKEN = /custody_[A-Za-z0-9]{36}(?![A-Za-z0-9_])/y;

export const custodyTokenRule = defineSecretRule({
  id: 'secrets/custody-token',
  title: 'Custody registry API token',
  description:
    'An API token of a Custody model registry (`custody_` followed by 36 base62 characters), reported only when the CRC-32 ' +
    'checksum in its last six characters is right. A leaked token lets anyone act as its account within its scope: pull or ' +
    'push model and dataset versions, or administer projects, until it expires or is revoked.',
  severity: 'high',
  confidence: 'high',
  tags: tags('custody'),
  remediation:
    'Revoke the token (`custody token list` shows its id, `custody token revoke ID` ends it), remove it from the file and from ' +
    'git history, and pass tokens through the environment (`CUSTODY_TOKEN`) or a secret store; prefer short-lived, project-scoped tokens.',
  messages: { token: 'Custody registry API token (checksum valid).' },
  family: 'custody',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['custody_'],
      pattern: TOKEN,
      prefixLength: 8,
      message: 'token',
      validate: (token) => (hasValidCrc32Base62Checksum(token, 8) ? {} : false),
    }),
  ],
  patterns: [TOKEN],
  examples: () => {
    const f = new Fake(1010);
    return {
      positive: [
        { text: `CUSTODY_TOKEN=${f.checksummed('custody_')}`, file: '.env' },
        { text: `headers = {"Authorization": "Bearer ${f.checksummed('custody_')}"}`, file: 'client.py' },
      ],
      negative: [
        { text: `CUSTODY_TOKEN=${f.badChecksum('custody_')}`, file: '.env' },
        { text: `token = "${f.checksummed('custody_').slice(0, -1)}"` },
        { text: `token = "${f.checksummed('custody_')}x"` },
        { text: `token = "custodx_${f.alnum(36)}"` },
      ],
    };
  },
});
