import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

const KEY = /gsk_[A-Za-z0-9]{52}(?![A-Za-z0-9_])/y;

export const groqKeyRule = defineSecretRule({
  id: 'secrets/groq-api-key',
  title: 'Groq API key',
  description: 'A Groq API key (`gsk_` followed by 52 alphanumerics), used by LLM applications and evaluation harnesses to call hosted models.',
  severity: 'high',
  confidence: 'high',
  tags: tags('groq'),
  remediation: 'Delete the key at console.groq.com/keys, remove it from the file and from git history, and read it from `GROQ_API_KEY` at run time.',
  messages: { found: 'Groq API key.' },
  family: 'groq',
  priority: 3,
  detectors: [prefixToken({ keywords: ['gsk_'], pattern: KEY, prefixLength: 4, message: 'found' })],
  patterns: [KEY],
  examples: () => {
    const f = new Fake(909);
    return {
      positive: [{ text: `GROQ_API_KEY=gsk_${f.alnum(52)}`, file: '.env' }],
      negative: [
        { text: `GROQ_API_KEY=gsk_${f.alnum(51)}`, file: '.env' },
        { text: 'GROQ_API_KEY=gsk_your_groq_api_key_here', file: '.env' },
      ],
    };
  },
});
