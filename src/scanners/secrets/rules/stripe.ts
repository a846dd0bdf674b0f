import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { tags } from './kit.js';

const KEY = /(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,247}(?![A-Za-z0-9_])/y;
const WEBHOOK = /whsec_[A-Za-z0-9+/]{32,64}(?![A-Za-z0-9_])/y;

export const stripeKeyRule = defineSecretRule({
  id: 'secrets/stripe-api-key',
  title: 'Stripe secret or restricted key',
  description:
    'A Stripe secret key (`sk_live_`, `sk_test_`), restricted key (`rk_…`) or webhook signing secret (`whsec_`). Live keys move ' +
    'money and read customer data; test keys are reported at low severity.',
  severity: 'high',
  confidence: 'high',
  tags: tags('stripe'),
  remediation: 'Roll the key in the Stripe dashboard (Developers → API keys), remove it from the file and from git history, and load it from a secret store.',
  messages: { live: 'Stripe live {{kind}} key.', test: 'Stripe test {{kind}} key.', webhook: 'Stripe webhook signing secret.' },
  family: 'stripe',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_'],
      pattern: KEY,
      prefixLength: 8,
      message: 'live',
      validate: (token) => {
        const kind = token.startsWith('rk_') ? 'restricted' : 'secret';
        return token.includes('_test_') ? { message: 'test', data: { kind }, severity: 'low' } : { data: { kind } };
      },
    }),
    prefixToken({ keywords: ['whsec_'], pattern: WEBHOOK, prefixLength: 6, message: 'webhook', validate: () => ({ severity: 'medium' }) }),
  ],
  patterns: [KEY, WEBHOOK],
  examples: () => {
    const f = new Fake(505);
    return {
      positive: [
        { text: `STRIPE_SECRET_KEY=sk_live_${f.alnum(24)}`, file: '.env' },
        { text: `stripe.api_key = "rk_test_${f.alnum(99)}"`, file: 'billing.py' },
      ],
      negative: [
        { text: `STRIPE_PUBLISHABLE_KEY=pk_live_${f.alnum(24)}`, file: '.env' },
        { text: 'STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx', file: '.env' },
        { text: `STRIPE_SECRET_KEY=sk_live_${f.alnum(12)}`, file: '.env' },
      ],
    };
  },
});
