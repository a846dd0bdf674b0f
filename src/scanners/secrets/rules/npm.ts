import { hasValidCrc32Base62Checksum } from '../checksum.js';
import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

const NPM = /npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])/y;

export const npmTokenRule = defineSecretRule({
  id: 'secrets/npm-token',
  title: 'npm access token',
  description:
    'An npm access token (`npm_` followed by 30 random characters and a six-character CRC-32 checksum, the same scheme as GitHub ' +
    'tokens); reported only when the checksum is right. A leaked publish token lets anyone push a malicious version of your packages.',
  severity: 'high',
  confidence: 'high',
  tags: tags('npm'),
  remediation:
    'Revoke the token with `npm token revoke` or on npmjs.com (Access Tokens), remove it from the file (often `.npmrc`) and from git ' +
    'history, and supply it at run time: `//registry.npmjs.org/:_authToken=${NPM_TOKEN}`.',
  messages: { found: 'npm access token (checksum valid).' },
  family: 'npm',
  priority: 3,
  detectors: [
    prefixToken({ keywords: ['npm_'], pattern: NPM, prefixLength: 4, message: 'found', validate: (token) => (hasValidCrc32Base62Checksum(token, 4) ? {} : false) }),
  ],
  patterns: [NPM],
  examples: () => {
    const f = new Fake(202);
    return {
      positive: [{ text: `//registry.npmjs.org/:_authToken=${f.checksummed('npm_')}`, file: '.npmrc' }],
      negative: [
        { text: `//registry.npmjs.org/:_authToken=${f.badChecksum('npm_')}`, file: '.npmrc' },
        { text: '//registry.npmjs.org/:_authToken=${NPM_TOKEN}', file: '.npmrc' },
        { text: `run npm_${f.alnum(35)}` },
      ],
    };
  },
});
