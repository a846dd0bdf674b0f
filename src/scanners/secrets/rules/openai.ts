import { defineSecretRule } from '../define.js';
import { B64URL, Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

/** `T3BlbkFJ` is base64 for `OpenAI`: every OpenAI secret key carries it between two random halves. */
const OPENAI_MARKER = 'T3BlbkFJ';

const KEY = /sk-[A-Za-z0-9_-]{40,400}(?![A-Za-z0-9_-])/y;

function openaiKind(token: string): string | undefined {
  const marker = token.indexOf(OPENAI_MARKER);
  if (marker < 0) return undefined;
  const kind = /^sk-(proj|svcacct|admin)-/.exec(token)?.[1];
  const head = marker - (kind === undefined ? 3 : kind.length + 4);
  const tail = token.length - marker - OPENAI_MARKER.length;
  if (head < 20 || tail < 20) return undefined;
  if (kind === undefined && !/^sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}$/.test(token)) return undefined;
  return kind === 'proj' ? 'project' : kind === 'svcacct' ? 'service account' : kind === 'admin' ? 'admin' : 'user';
}

export const openaiKeyRule = defineSecretRule({
  id: 'secrets/openai-api-key',
  title: 'OpenAI API key',
  description:
    'An OpenAI secret key: legacy user keys (`sk-` + 20 + `T3BlbkFJ` + 20) and project, service-account and admin keys ' +
    '(`sk-proj-`, `sk-svcacct-`, `sk-admin-`), recognised by the `T3BlbkFJ` marker they all carry. Keys without the marker ' +
    '(other vendors reuse `sk-`) are left to the generic rule.',
  severity: 'high',
  confidence: 'high',
  tags: tags('openai'),
  remediation: 'Revoke the key at platform.openai.com/api-keys, remove it from the file, notebook outputs and git history, and read it from `OPENAI_API_KEY` at run time.',
  messages: { found: 'OpenAI {{kind}} API key.' },
  family: 'openai',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['sk-'],
      pattern: KEY,
      prefixLength: 3,
      message: 'found',
      validate: (token) => {
        const kind = openaiKind(token);
        return kind === undefined ? false : { data: { kind } };
      },
    }),
  ],
  patterns: [KEY],
  examples: () => {
    const f = new Fake(707);
    return {
      positive: [
        { text: `OPENAI_API_KEY=sk-${f.alnum(20)}${OPENAI_MARKER}${f.alnum(20)}`, file: '.env' },
        { text: `client = OpenAI(api_key="sk-proj-${f.chars(B64URL, 74)}${OPENAI_MARKER}${f.alnum(74)}")`, file: 'chat.py' },
      ],
      negative: [
        { text: `OPENAI_API_KEY=sk-${f.alnum(48)}`, file: '.env' },
        { text: `OPENAI_API_KEY=sk-proj-${'x'.repeat(74)}${OPENAI_MARKER}${'x'.repeat(74)}`, file: '.env' },
        { text: `OPENAI_API_KEY=sk-${f.alnum(10)}${OPENAI_MARKER}${f.alnum(20)}`, file: '.env' },
        { text: 'task-sk-12345', file: 'notes.txt' },
      ],
    };
  },
});
