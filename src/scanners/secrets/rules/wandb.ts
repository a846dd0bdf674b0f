import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { isPlaceholder } from '../placeholder.js';
import { prefixToken } from '../tokens.js';
import { providerAssignment, tags } from './kit.js';

/** Current keys: `wandb_v1_` + 27 + `_` + 49 alphanumerics (86 characters in all). */
const V1 = /wandb_v1_[A-Za-z0-9]{27}_[A-Za-z0-9]{49}(?![A-Za-z0-9_])/y;
/** Legacy keys: 40 hex, optionally behind a host prefix for dedicated/local servers (`local-…`). */
const LEGACY = /^(?:[a-z0-9]{1,20}-)?[0-9a-f]{40}$/;
/** `wandb login [--relogin] [--host URL] KEY` on a command line. */
const LOGIN = /wandb login(?:[ \t]{1,8}--?[a-z-]{1,30}(?:[ =][^\s-][^\s]{0,200})?){0,3}[ \t]{1,8}([0-9a-f]{40}|wandb_v1_[A-Za-z0-9]{27}_[A-Za-z0-9]{49})(?![A-Za-z0-9_])/y;

export const wandbKeyRule = defineSecretRule({
  id: 'secrets/wandb-api-key',
  title: 'Weights & Biases API key',
  description:
    'A Weights & Biases API key in either format: the current `wandb_v1_…` keys (86 characters), and legacy 40-hex keys where a ' +
    'name, call or file says W&B (`WANDB_API_KEY`, `wandb.login(key=…)`, `wandb login <key>`, or `machine api.wandb.ai … password` ' +
    'in `.netrc`). The key reads and writes runs, artifacts and model registry entries.',
  severity: 'high',
  confidence: 'high',
  tags: tags('wandb'),
  remediation:
    'Revoke the key at wandb.ai/authorize (User settings → API keys), remove it from the file, notebook outputs and git history, ' +
    'and let `wandb login` store it in ~/.netrc or read it from `WANDB_API_KEY` at run time.',
  messages: { found: 'Weights & Biases API key.', legacy: 'Weights & Biases API key (legacy 40-hex format).' },
  family: 'wandb',
  priority: 3,
  detectors: [
    prefixToken({ keywords: ['wandb_v1_'], pattern: V1, prefixLength: 9, message: 'found' }),
    {
      keywords: ['wandb login'],
      find(doc, pos, _keyword, emit) {
        LOGIN.lastIndex = pos;
        const m = LOGIN.exec(doc.text);
        const key = m?.[1];
        if (!m || key === undefined || isPlaceholder(key)) return;
        const start = pos + m[0].length - key.length;
        emit({ start, end: start + key.length, secret: key, message: key.startsWith('wandb_v1_') ? 'found' : 'legacy', evidence: `wandb login ${key}` });
      },
    },
  ],
  assignment: providerAssignment({ names: ['wandb'], hints: ['wandb', 'weights & biases'], value: LEGACY, message: 'legacy' }),
  patterns: [V1, LEGACY, LOGIN],
  examples: () => {
    const f = new Fake(1919);
    const v1 = (): string => `wandb_v1_${f.alnum(27)}_${f.alnum(49)}`;
    return {
      positive: [
        { text: `export WANDB_API_KEY=${v1()}`, file: 'train.sh' },
        { text: `import wandb\nwandb.login(key="${f.hex(40)}")`, file: 'train.py' },
        { text: `machine api.wandb.ai\n  login user\n  password ${f.hex(40)}\n`, file: '.netrc' },
        { text: `!wandb login --relogin ${f.hex(40)}`, file: 'cell.py' },
      ],
      negative: [
        { text: `export WANDB_API_KEY=${f.hex(39)}`, file: 'train.sh' },
        { text: 'wandb.login(key=os.environ["WANDB_API_KEY"])', file: 'train.py' },
        { text: `WANDB_RUN_ID=${f.hex(40)}`, file: '.env' },
        { text: `export WANDB_API_KEY=wandb_v1_${f.alnum(27)}_${f.alnum(48)}`, file: 'train.sh' },
      ],
    };
  },
});
