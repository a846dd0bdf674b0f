import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { charClasses } from '../stats.js';
import { providerAssignment, tags } from './kit.js';

const VALUE = /^[A-Za-z0-9]{20,40}$/;

export const cometKeyRule = defineSecretRule({
  id: 'secrets/comet-api-key',
  title: 'Comet ML API key',
  description:
    'A Comet ML API key (alphanumerics, no prefix), recognised where a name or call says Comet (`COMET_API_KEY`, ' +
    '`comet_ml.login(api_key=…)`, `Experiment(api_key=…)` in a file that imports comet_ml, `[comet] api_key` in `.comet.config`).',
  severity: 'high',
  confidence: 'high',
  tags: tags('comet'),
  remediation: 'Regenerate the key in Comet (Account settings → API Keys), remove it from the file and from git history, and read it from `COMET_API_KEY` at run time.',
  messages: { found: 'Comet ML API key.' },
  family: 'comet',
  priority: 3,
  assignment: providerAssignment({
    names: ['comet'],
    // `Experiment(api_key=…)` is comet_ml's entry point (also `OfflineExperiment`, `ExistingExperiment`).
    hints: ['comet', 'experiment('],
    value: VALUE,
    message: 'found',
    validate: (v) => charClasses(v).count >= 2,
  }),
  patterns: [VALUE],
  examples: () => {
    const f = new Fake(1717);
    return {
      positive: [
        { text: `COMET_API_KEY=${f.alnum(25)}`, file: '.env' },
        { text: `[comet]\napi_key = ${f.alnum(25)}\n`, file: '.comet.config' },
        { text: `import comet_ml\ncomet_ml.login(api_key="${f.alnum(25)}")`, file: 'track.py' },
      ],
      negative: [
        { text: 'COMET_API_KEY=${COMET_API_KEY}', file: '.env' },
        { text: `COMET_PROJECT_NAME=${f.alnum(25)}`, file: '.env' },
        { text: `COMET_API_KEY=${f.alnum(12)}`, file: '.env' },
      ],
    };
  },
});
