import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

const V2 = /lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}(?![A-Za-z0-9_])/y;
const LEGACY = /ls__[0-9a-f]{32}(?![A-Za-z0-9_])/y;

export const langsmithKeyRule = defineSecretRule({
  id: 'secrets/langsmith-api-key',
  title: 'LangSmith API key',
  description:
    'A LangSmith personal access token or service key (`lsv2_pt_…`, `lsv2_sk_…`) or legacy key (`ls__…`). LangSmith stores full ' +
    'traces of prompts and completions, so a leaked key exposes every input your LLM application has seen.',
  severity: 'high',
  confidence: 'high',
  tags: tags('langsmith'),
  remediation: 'Delete the key in LangSmith (Settings → API Keys), remove it from the file, notebook outputs and git history, and read it from `LANGSMITH_API_KEY` at run time.',
  messages: { found: 'LangSmith {{kind}}.' },
  family: 'langsmith',
  priority: 3,
  detectors: [
    prefixToken({ keywords: ['lsv2_'], pattern: V2, prefixLength: 8, message: 'found', validate: (t) => ({ data: { kind: t.startsWith('lsv2_sk') ? 'service key' : 'personal access token' } }) }),
    prefixToken({ keywords: ['ls__'], pattern: LEGACY, prefixLength: 4, message: 'found', validate: () => ({ data: { kind: 'API key' } }) }),
  ],
  patterns: [V2, LEGACY],
  examples: () => {
    const f = new Fake(1212);
    return {
      positive: [
        { text: `os.environ["LANGCHAIN_API_KEY"] = "lsv2_pt_${f.hex(32)}_${f.hex(10)}"`, file: 'app.py' },
        { text: `LANGSMITH_API_KEY=lsv2_sk_${f.hex(32)}_${f.hex(10)}`, file: '.env' },
      ],
      negative: [
        { text: 'LANGSMITH_API_KEY=lsv2_pt_...', file: '.env' },
        { text: `LANGSMITH_API_KEY=lsv2_pt_${f.hex(32)}_${f.hex(9)}`, file: '.env' },
      ],
    };
  },
});
