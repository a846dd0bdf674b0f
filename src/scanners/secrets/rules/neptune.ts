import { defineSecretRule } from '../define.js';
import { decodeBase64, parseJsonObject } from '../decode.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

/** Neptune API tokens are base64 JSON; `eyJhcGlfYWRkcmVzcyI6` is base64 for `{"api_address":`. */
const TOKEN = /eyJhcGlfYWRkcmVzcyI6[A-Za-z0-9+/]{40,1000}={0,2}(?![A-Za-z0-9+/=])/y;

export const neptuneTokenRule = defineSecretRule({
  id: 'secrets/neptune-api-token',
  title: 'Neptune.ai API token',
  description:
    'A Neptune.ai API token: base64-encoded JSON with `api_address` and `api_key`. The token is decoded and its fields checked ' +
    'before it is reported. It reads and writes every experiment, model and artifact in your Neptune workspace.',
  severity: 'high',
  confidence: 'high',
  tags: tags('neptune'),
  remediation: 'Reset the token in Neptune (user menu → Get your API token → reset), remove it from the file and from git history, and read it from `NEPTUNE_API_TOKEN` at run time.',
  messages: { found: 'Neptune.ai API token.' },
  family: 'neptune',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['eyJhcGlfYWRkcmVzcyI6'],
      pattern: TOKEN,
      prefixLength: 20,
      message: 'found',
      validate: (token) => {
        const bytes = decodeBase64(token);
        const json = bytes && parseJsonObject(bytes.toString('utf8'));
        if (!json || typeof json['api_key'] !== 'string' || (json['api_key'] as string).length < 16) return false;
        return {};
      },
    }),
  ],
  patterns: [TOKEN],
  examples: () => {
    const f = new Fake(1818);
    const token = (key: string): string => Buffer.from(JSON.stringify({ api_address: 'https://app.neptune.ai', api_url: 'https://app.neptune.ai', api_key: key })).toString('base64');
    return {
      positive: [
        { text: `NEPTUNE_API_TOKEN=${token(f.uuid())}`, file: '.env' },
        { text: `run = neptune.init_run(project="ws/proj", api_token="${token(f.uuid())}")`, file: 'train.py' },
      ],
      negative: [
        { text: `NEPTUNE_API_TOKEN=${Buffer.from(JSON.stringify({ api_address: 'https://app.neptune.ai', api_url: 'https://app.neptune.ai' })).toString('base64')}`, file: '.env' },
        { text: 'NEPTUNE_API_TOKEN="ANONYMOUS"', file: '.env' },
      ],
    };
  },
});
