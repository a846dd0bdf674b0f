import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { providerAssignment, tags } from './kit.js';

const TOKEN = /KGAT_[0-9a-f]{32}(?![A-Za-z0-9_])/y;
const LEGACY = /^[0-9a-f]{32}$/;

export const kaggleKeyRule = defineSecretRule({
  id: 'secrets/kaggle-api-key',
  title: 'Kaggle API key',
  description:
    'A Kaggle API credential: the `KGAT_` access tokens, or the legacy 32-hex key from `kaggle.json` (`{"username": …, "key": …}`), ' +
    '`KAGGLE_KEY`, or a notebook cell that writes `~/.kaggle/kaggle.json`. It downloads private datasets and publishes under your name.',
  severity: 'high',
  confidence: 'high',
  tags: tags('kaggle'),
  remediation: 'Expire the token in Kaggle (Settings → API), remove it from the file, notebook and git history, and keep kaggle.json only in ~/.kaggle with mode 600.',
  messages: { found: 'Kaggle API token.', legacy: 'Kaggle API key.' },
  family: 'kaggle',
  priority: 3,
  detectors: [prefixToken({ keywords: ['KGAT_'], pattern: TOKEN, prefixLength: 5, message: 'found' })],
  assignment: providerAssignment({ names: ['kaggle'], hints: ['kaggle'], value: LEGACY, message: 'legacy' }),
  patterns: [TOKEN, LEGACY],
  examples: () => {
    const f = new Fake(1414);
    return {
      positive: [
        { text: `{"username":"ana","key":"${f.hex(32)}"}`, file: 'kaggle.json' },
        { text: `KAGGLE_KEY=${f.hex(32)}`, file: '.env' },
        { text: `KAGGLE_API_TOKEN=KGAT_${f.hex(32)}`, file: '.env' },
      ],
      negative: [
        { text: `{"username":"ana","key":"${f.hex(31)}"}`, file: 'kaggle.json' },
        { text: '{"username":"ana","key":"<your-kaggle-key>"}', file: 'kaggle.json' },
        { text: `{"name":"ana","key":"${f.hex(32)}"}`, file: 'data.json' },
      ],
    };
  },
});
