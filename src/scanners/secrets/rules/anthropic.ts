import { defineSecretRule } from '../define.js';
import { B64URL, Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

const KEY = /sk-ant-(?:api|admin|oat)[0-9]{2}-[A-Za-z0-9_-]{80,120}(?![A-Za-z0-9_-])/y;

export const anthropicKeyRule = defineSecretRule({
  id: 'secrets/anthropic-api-key',
  title: 'Anthropic API key',
  description:
    'An Anthropic API or admin key (`sk-ant-api03-…AA`, `sk-ant-admin01-…AA`): a versioned prefix, 93 random base64url characters ' +
    'and the `AA` suffix every key ends with.',
  severity: 'high',
  confidence: 'high',
  tags: tags('anthropic'),
  remediation: 'Disable the key in the Anthropic Console (API keys), remove it from the file, notebook outputs and git history, and read it from `ANTHROPIC_API_KEY` at run time.',
  messages: { found: 'Anthropic {{kind}} key.' },
  family: 'anthropic',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['sk-ant-'],
      pattern: KEY,
      prefixLength: 14,
      message: 'found',
      validate: (token) => {
        const body = token.slice(token.indexOf('-', 7) + 1);
        if (!body.endsWith('AA') || body.length < 90) return false;
        return { data: { kind: token.startsWith('sk-ant-admin') ? 'admin' : 'API' } };
      },
    }),
  ],
  patterns: [KEY],
  examples: () => {
    const f = new Fake(808);
    return {
      positive: [
        { text: `ANTHROPIC_API_KEY=sk-ant-api03-${f.chars(B64URL, 93)}AA`, file: '.env' },
        { text: `client = anthropic.Anthropic(api_key="sk-ant-admin01-${f.chars(B64URL, 93)}AA")`, file: 'agent.py' },
      ],
      negative: [
        { text: `ANTHROPIC_API_KEY=sk-ant-api03-${f.chars(B64URL, 93)}QQ`, file: '.env' },
        { text: 'ANTHROPIC_API_KEY=sk-ant-api03-...', file: '.env' },
        { text: `ANTHROPIC_API_KEY=sk-ant-api03-${f.chars(B64URL, 40)}AA`, file: '.env' },
      ],
    };
  },
});
