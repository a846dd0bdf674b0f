import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { charClasses } from '../stats.js';
import { providerAssignment, tags } from './kit.js';

const VALUE = /^[A-Za-z0-9]{32}$/;

export const mistralKeyRule = defineSecretRule({
  id: 'secrets/mistral-api-key',
  title: 'Mistral AI API key',
  description:
    'A Mistral AI API key: 32 alphanumerics with no prefix, so it is recognised only where a name or call says Mistral ' +
    '(`MISTRAL_API_KEY`, `Mistral(api_key=…)`, `ChatMistralAI(api_key=…)`).',
  severity: 'high',
  confidence: 'high',
  tags: tags('mistral'),
  remediation: 'Revoke the key in La Plateforme (console.mistral.ai → API keys), remove it from the file and from git history, and read it from `MISTRAL_API_KEY` at run time.',
  messages: { found: 'Mistral AI API key.' },
  family: 'mistral',
  priority: 3,
  assignment: providerAssignment({ names: ['mistral', 'mistralai'], hints: ['mistral'], value: VALUE, message: 'found', validate: (v) => charClasses(v).count >= 2 }),
  patterns: [VALUE],
  examples: () => {
    const f = new Fake(1515);
    return {
      positive: [
        { text: `MISTRAL_API_KEY=${f.alnum(32)}`, file: '.env' },
        { text: `client = Mistral(api_key="${f.alnum(32)}")`, file: 'chat.py' },
      ],
      negative: [
        { text: `MISTRAL_API_KEY=${f.alnum(31)}`, file: '.env' },
        { text: 'client = Mistral(api_key=os.environ["MISTRAL_API_KEY"])', file: 'chat.py' },
        { text: `MISTRAL_MODEL=${f.alnum(32)}`, file: '.env' },
      ],
    };
  },
});
