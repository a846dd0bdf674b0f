import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

const TOKEN = /r8_[A-Za-z0-9]{37}(?![A-Za-z0-9_])/y;

export const replicateTokenRule = defineSecretRule({
  id: 'secrets/replicate-api-token',
  title: 'Replicate API token',
  description: 'A Replicate API token (`r8_` followed by 37 alphanumerics). It runs models and deploys private models billed to the owner.',
  severity: 'high',
  confidence: 'high',
  tags: tags('replicate'),
  remediation: 'Disable the token at replicate.com/account/api-tokens, remove it from the file and from git history, and read it from `REPLICATE_API_TOKEN` at run time.',
  messages: { found: 'Replicate API token.' },
  family: 'replicate',
  priority: 3,
  detectors: [prefixToken({ keywords: ['r8_'], pattern: TOKEN, prefixLength: 3, message: 'found' })],
  patterns: [TOKEN],
  examples: () => {
    const f = new Fake(1010);
    return {
      positive: [{ text: `os.environ["REPLICATE_API_TOKEN"] = "r8_${f.alnum(37)}"`, file: 'gen.py' }],
      negative: [
        { text: `os.environ["REPLICATE_API_TOKEN"] = "r8_${f.alnum(36)}"`, file: 'gen.py' },
        { text: 'REPLICATE_API_TOKEN=r8_******', file: '.env' },
        { text: `layer = "br8_${f.alnum(37)}"`, file: 'x.py' },
      ],
    };
  },
});
