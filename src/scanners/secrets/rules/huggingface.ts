import { defineSecretRule } from '../define.js';
import { Fake, LETTERS } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

const USER = /hf_[A-Za-z]{34}(?![A-Za-z0-9_])/y;
const ORG = /api_org_[A-Za-z]{34}(?![A-Za-z0-9_])/y;

export const huggingfaceTokenRule = defineSecretRule({
  id: 'secrets/huggingface-token',
  title: 'Hugging Face access token',
  description:
    'A Hugging Face user access token (`hf_` followed by 34 letters) or legacy organization API token (`api_org_`). A write token ' +
    'lets anyone replace model weights in your repositories, the most direct path to a model supply-chain compromise.',
  severity: 'high',
  confidence: 'high',
  tags: tags('huggingface'),
  remediation:
    'Invalidate the token at huggingface.co/settings/tokens, remove it from the file and from git history (and from notebook outputs), ' +
    'then authenticate with `huggingface-cli login` or the `HF_TOKEN` environment variable; prefer fine-grained read-only tokens.',
  messages: { user: 'Hugging Face user access token.', org: 'Hugging Face organization API token.' },
  family: 'huggingface',
  priority: 3,
  detectors: [
    prefixToken({ keywords: ['hf_'], pattern: USER, prefixLength: 3, message: 'user' }),
    prefixToken({ keywords: ['api_org_'], pattern: ORG, prefixLength: 8, message: 'org' }),
  ],
  patterns: [USER, ORG],
  examples: () => {
    const f = new Fake(606);
    return {
      positive: [
        { text: `from huggingface_hub import login\nlogin(token="hf_${f.chars(LETTERS, 34)}")`, file: 'train.py' },
        { text: `HF_TOKEN=hf_${f.chars(LETTERS, 34)}`, file: '.env' },
      ],
      negative: [
        { text: `HF_TOKEN=hf_${f.chars(LETTERS, 33)}`, file: '.env' },
        { text: 'HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', file: '.env' },
        { text: 'path = hf_hub_download(repo_id="org/model", filename="model.safetensors")', file: 'load.py' },
        { text: `HF_TOKEN=hf_${f.chars(LETTERS, 30)}1234`, file: '.env' },
      ],
    };
  },
});
