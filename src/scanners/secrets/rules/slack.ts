import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { isPlaceholder } from '../placeholder.js';
import { tags } from './kit.js';

const TOKEN = /xox[abposr]-(?:[0-9]{6,15}-){1,3}[A-Za-z0-9]{20,64}(?![A-Za-z0-9-])/y;
const APP = /xapp-[0-9]-[A-Z0-9]{8,14}-[0-9]{8,16}-[a-f0-9]{64}(?![A-Za-z0-9-])/y;
const CONFIG = /xoxe(?:\.xox[bp])?-[0-9]-[A-Za-z0-9]{100,200}(?![A-Za-z0-9-])/y;
const WEBHOOK = /hooks\.slack\.com\/(?:services|workflows|triggers)\/(T[A-Z0-9]{8,12}\/[AB][A-Z0-9]{8,12}\/[A-Za-z0-9]{20,32})(?![A-Za-z0-9])/y;

const KINDS: Readonly<Record<string, string>> = { b: 'bot', p: 'user', a: 'app', o: 'legacy', s: 'session', r: 'refresh' };

export const slackTokenRule = defineSecretRule({
  id: 'secrets/slack-token',
  title: 'Slack token',
  description:
    'A Slack bot, user, app-level or configuration token (`xoxb-`, `xoxp-`, `xapp-`, `xoxe-`). ML teams wire these into training ' +
    'alerts and notebooks; a leaked token reads and posts in every channel the app can reach.',
  severity: 'high',
  confidence: 'high',
  tags: tags('slack'),
  remediation: 'Revoke the token (api.slack.com → Your apps → OAuth & Permissions, or `auth.revoke`), remove it from the file and from git history, and load it from a secret store.',
  messages: { found: 'Slack {{kind}} token.' },
  family: 'slack',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['xoxb-', 'xoxp-', 'xoxa-', 'xoxo-', 'xoxs-', 'xoxr-'],
      pattern: TOKEN,
      prefixLength: 5,
      message: 'found',
      validate: (token) => ({ data: { kind: KINDS[token[3]!] ?? 'access' } }),
    }),
    prefixToken({ keywords: ['xapp-'], pattern: APP, prefixLength: 5, message: 'found', validate: () => ({ data: { kind: 'app-level' } }) }),
    prefixToken({ keywords: ['xoxe'], pattern: CONFIG, prefixLength: 4, message: 'found', validate: () => ({ data: { kind: 'configuration' } }) }),
  ],
  patterns: [TOKEN, APP, CONFIG],
  examples: () => {
    const f = new Fake(404);
    const num = (n: number): string => f.chars('0123456789', n);
    return {
      positive: [
        { text: `SLACK_BOT_TOKEN=xoxb-${num(12)}-${num(13)}-${f.alnum(24)}`, file: '.env' },
        { text: `slack_token = "xoxp-${num(11)}-${num(12)}-${num(13)}-${f.hex(32)}"`, file: 'notify.py' },
      ],
      negative: [
        { text: 'SLACK_BOT_TOKEN=xoxb-your-token-here', file: '.env' },
        { text: `SLACK_BOT_TOKEN=xoxb-${num(12)}-${f.alnum(10)}`, file: '.env' },
        { text: `SLACK_BOT_TOKEN=xoxq-${num(12)}-${num(13)}-${f.alnum(24)}`, file: '.env' },
      ],
    };
  },
});

export const slackWebhookRule = defineSecretRule({
  id: 'secrets/slack-webhook-url',
  title: 'Slack incoming webhook URL',
  description:
    'A Slack incoming-webhook or workflow URL (`https://hooks.slack.com/services/T…/B…/…`). The URL is the credential: anyone who ' +
    'has it can post to the channel, which makes it a ready phishing channel inside the team.',
  severity: 'medium',
  confidence: 'high',
  tags: tags('slack'),
  remediation: 'Regenerate the webhook in the Slack app settings (Incoming Webhooks), remove the URL from the file and from git history, and load it from a secret store.',
  messages: { found: 'Slack incoming webhook URL.' },
  family: 'slack',
  priority: 3,
  detectors: [
    {
      keywords: ['hooks.slack.com/'],
      find(doc, pos, _keyword, emit) {
        WEBHOOK.lastIndex = pos;
        const m = WEBHOOK.exec(doc.text);
        if (!m || m[1] === undefined || isPlaceholder(m[1].split('/')[2]!)) return;
        const start = pos + m[0].length - m[1].length;
        emit({ start, end: start + m[1].length, secret: m[1], message: 'found', evidence: `https://hooks.slack.com/…/${m[1]}` });
      },
    },
  ],
  patterns: [WEBHOOK],
  examples: () => {
    const f = new Fake(405);
    const id = (c: string): string => `${c}${f.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 10)}`;
    return {
      positive: [{ text: `SLACK_WEBHOOK_URL=https://hooks.slack.com/services/${id('T')}/${id('B')}/${f.alnum(24)}`, file: '.env' }],
      negative: [
        { text: 'SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX', file: '.env' },
        { text: 'see https://hooks.slack.com/services for docs' },
      ],
    };
  },
});

