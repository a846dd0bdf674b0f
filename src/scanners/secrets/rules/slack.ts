import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { isPlaceholder } from '../placeholder.js';
import { tags } from './kit.js';

const TOKEN = /xox[abposr]-(?:[0-9]{6,15}-){1,3}[A-Za-z0-9]{20,64}(?![A-Za-z0-9-])/y;
/** Legacy workspace app (`xoxa-`) and refresh (`xoxr-`) tokens: an optional one-digit version, then the random part. */
const WORKSPACE = /xox[ar]-(?:[0-9]-)?[A-Za-z0-9]{24,72}(?![A-Za-z0-9-])/y;
const APP = /xapp-[0-9]-[A-Z0-9]{8,14}-[0-9]{8,16}-[a-f0-9]{64}(?![A-Za-z0-9-])/y;
const CONFIG = /xoxe(?:\.xox[bp])?-[0-9]-[A-Za-z0-9]{100,200}(?![A-Za-z0-9-])/y;
/**
 * Incoming webhooks `services/T…/B…/<secret>`, workflow webhooks `workflows/T…/A…/<id>/<secret>` and trigger URLs
 * `triggers/T…/<id>/<secret>`.
 */
const WEBHOOK =
  /hooks\.slack\.com\/(?:services\/(T[A-Z0-9]{8,12}\/B[A-Z0-9]{8,12}\/[A-Za-z0-9]{20,32})|workflows\/(T[A-Z0-9]{8,12}\/A[A-Z0-9]{8,12}\/[0-9]{10,24}\/[A-Za-z0-9]{20,40})|triggers\/(T[A-Z0-9]{8,12}\/[0-9]{10,24}\/[A-Za-z0-9]{20,40}))(?![A-Za-z0-9])/y;

const KINDS: Readonly<Record<string, string>> = { b: 'bot', p: 'user', a: 'app', o: 'legacy', s: 'session', r: 'refresh' };

export const slackTokenRule = defineSecretRule({
  id: 'secrets/slack-token',
  title: 'Slack token',
  description:
    'A Slack bot, user, app-level or configuration token (`xoxb-`, `xoxp-`, `xapp-`, `xoxe-`), or a legacy workspace, refresh, session ' +
    'or legacy-user token (`xoxa-`, `xoxr-`, `xoxs-`, `xoxo-`). ML teams wire these into training ' +
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
    prefixToken({
      keywords: ['xoxa-', 'xoxr-'],
      pattern: WORKSPACE,
      prefixLength: 5,
      message: 'found',
      validate: (token) => {
        const random = token.slice(token.lastIndexOf('-') + 1);
        return /[0-9]/.test(random) && /[a-z]/.test(random) && /[A-Z]/.test(random) && { data: { kind: KINDS[token[3]!] ?? 'access' } };
      },
    }),

    prefixToken({ keywords: ['xapp-'], pattern: APP, prefixLength: 5, message: 'found', validate: () => ({ data: { kind: 'app-level' } }) }),
    prefixToken({ keywords: ['xoxe'], pattern: CONFIG, prefixLength: 4, message: 'found', validate: () => ({ data: { kind: 'configuration' } }) }),
  ],
  patterns: [TOKEN, WORKSPACE, APP, CONFIG],
  examples: () => {
    const f = new Fake(404);
    const num = (n: number): string => f.chars('0123456789', n);
    return {
      positive: [
        { text: `SLACK_BOT_TOKEN=xoxb-${num(12)}-${num(13)}-${f.alnum(24)}`, file: '.env' },
        { text: `slack_token = "xoxp-${num(11)}-${num(12)}-${num(13)}-${f.hex(32)}"`, file: 'notify.py' },
        { text: `SLACK_APP_TOKEN=xoxa-2-${f.alnum(46)}Ab3`, file: '.env' },
        { text: `SLACK_REFRESH_TOKEN=xoxr-${f.alnum(40)}Zq7`, file: '.env' },
        { text: `SLACK_SESSION=xoxs-${num(10)}-${num(11)}-${num(12)}-${f.hex(64)}`, file: 'cookies.txt' },
      ],
      negative: [
        { text: 'SLACK_BOT_TOKEN=xoxb-your-token-here', file: '.env' },
        { text: `SLACK_BOT_TOKEN=xoxb-${num(12)}-${f.alnum(10)}`, file: '.env' },
        { text: `SLACK_BOT_TOKEN=xoxq-${num(12)}-${num(13)}-${f.alnum(24)}`, file: '.env' },
        { text: 'SLACK_APP_TOKEN=xoxa-2-your-slack-token-here-xxxxxxxxxx', file: '.env' },
        { text: `SLACK_REFRESH_TOKEN=xoxr-${f.chars('abcdefghijklmnopqrstuvwxyz', 40)}`, file: '.env' },
      ],
    };
  },
});

export const slackWebhookRule = defineSecretRule({
  id: 'secrets/slack-webhook-url',
  title: 'Slack incoming webhook URL',
  description:
    'A Slack incoming-webhook URL (`https://hooks.slack.com/services/T…/B…/…`), workflow webhook (`…/workflows/T…/A…/<id>/…`) or ' +
    'workflow trigger URL (`…/triggers/T…/<id>/…`). The URL is the credential: anyone who ' +
    'has it can post to the channel, which makes it a ready phishing channel inside the team.',
  severity: 'medium',
  confidence: 'high',
  tags: tags('slack'),
  remediation: 'Regenerate the webhook in the Slack app settings (Incoming Webhooks), remove the URL from the file and from git history, and load it from a secret store.',
  messages: { found: 'Slack {{kind}} URL.' },
  family: 'slack',
  priority: 3,
  detectors: [
    {
      keywords: ['hooks.slack.com/'],
      find(doc, pos, _keyword, emit) {
        WEBHOOK.lastIndex = pos;
        const m = WEBHOOK.exec(doc.text);
        const path = m?.[1] ?? m?.[2] ?? m?.[3];
        if (!m || path === undefined || isPlaceholder(path.slice(path.lastIndexOf('/') + 1))) return;
        const start = pos + m[0].length - path.length;
        const kind = m[1] !== undefined ? 'incoming webhook' : m[2] !== undefined ? 'workflow webhook' : 'workflow trigger';
        emit({ start, end: start + path.length, secret: path, message: 'found', data: { kind }, evidence: `https://hooks.slack.com/…/${path}` });
      },
    },
  ],
  patterns: [WEBHOOK],
  examples: () => {
    const f = new Fake(405);
    const id = (c: string): string => `${c}${f.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 10)}`;
    return {
      positive: [
        { text: `SLACK_WEBHOOK_URL=https://hooks.slack.com/services/${id('T')}/${id('B')}/${f.alnum(24)}`, file: '.env' },
        { text: `url = "https://hooks.slack.com/workflows/${id('T')}/${id('A')}/${f.chars('0123456789', 18)}/${f.alnum(24)}"`, file: 'notify.py' },
        { text: `TRIGGER=https://hooks.slack.com/triggers/${id('T')}/${f.chars('0123456789', 13)}/${f.hex(32)}`, file: '.env' },
      ],
      negative: [
        { text: 'SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX', file: '.env' },
        { text: 'see https://hooks.slack.com/services for docs' },
      ],
    };
  },
});

