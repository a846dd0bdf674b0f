import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { isPlaceholder } from '../placeholder.js';
import { charClasses } from '../stats.js';
import { providerAssignment, tags } from './kit.js';

const VALUE = /^[A-Za-z0-9]{40}$/;
// cohere.Client("…") / cohere.ClientV2("…") with the key as the first positional argument.
const POSITIONAL = /cohere\.(?:Async)?Client(?:V2)?\([ \t]*["']([A-Za-z0-9]{40})["']/y;

export const cohereKeyRule = defineSecretRule({
  id: 'secrets/cohere-api-key',
  title: 'Cohere API key',
  description:
    'A Cohere API key: 40 alphanumerics with no prefix, recognised where a name or call says Cohere (`COHERE_API_KEY`, ' +
    '`CO_API_KEY`, `cohere.Client("…")`, `CohereEmbeddings(cohere_api_key=…)`).',
  severity: 'high',
  confidence: 'high',
  tags: tags('cohere'),
  remediation: 'Delete the key in the Cohere dashboard (API Keys), remove it from the file and from git history, and read it from `CO_API_KEY` at run time.',
  messages: { found: 'Cohere API key.' },
  family: 'cohere',
  priority: 3,
  detectors: [
    {
      keywords: ['cohere.'],
      find(doc, pos, _keyword, emit) {
        POSITIONAL.lastIndex = pos;
        const m = POSITIONAL.exec(doc.text);
        const key = m?.[1];
        if (!m || key === undefined || isPlaceholder(key) || charClasses(key).count < 2) return;
        const start = pos + m[0].length - key.length - 1;
        emit({ start, end: start + key.length, secret: key, message: 'found' });
      },
    },
  ],
  assignment: providerAssignment({ names: ['cohere', 'co'], hints: ['cohere'], value: VALUE, message: 'found', validate: (v) => charClasses(v).count >= 2 }),
  patterns: [VALUE, POSITIONAL],
  examples: () => {
    const f = new Fake(1616);
    return {
      positive: [
        { text: `CO_API_KEY=${f.alnum(40)}`, file: '.env' },
        { text: `co = cohere.ClientV2("${f.alnum(40)}")`, file: 'embed.py' },
        { text: `emb = CohereEmbeddings(cohere_api_key="${f.alnum(40)}")`, file: 'embed.py' },
      ],
      negative: [
        { text: `co = cohere.ClientV2("${f.alnum(39)}")`, file: 'embed.py' },
        { text: 'co = cohere.ClientV2(os.environ["CO_API_KEY"])', file: 'embed.py' },
        { text: `COMPANY_API_KEY_ID=${f.alnum(40)}`, file: '.env' },
      ],
    };
  },
});
