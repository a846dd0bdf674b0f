import { decodeBase64, parseJsonObject } from '../decode.js';
import { defineSecretRule } from '../define.js';
import { B64, B64URL, Fake } from '../fake.js';
import { isPlaceholder } from '../placeholder.js';
import { charClasses, shannonEntropy } from '../stats.js';
import { prefixToken } from '../tokens.js';
import type { Emit, ScanDoc } from '../types.js';
import { providerAssignment, tags } from './kit.js';

/**
 * Credentials of the services around an ML stack: Cloudflare, Docker Hub, Atlassian, Sentry, Grafana, Datadog,
 * New Relic, SendGrid, Twilio, Telegram, Discord and Shopify. Prefixed formats are read by their prefix and
 * structure; prefix-less keys (Datadog, Twilio auth tokens, legacy Cloudflare tokens) only where a name, call or
 * host names the service.
 */

const DIGITS = '0123456789';
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function mixed(random: string, classes = 2): boolean {
  return charClasses(random).count >= classes && shannonEntropy(random) >= 3;
}

// --- Cloudflare ---------------------------------------------------------------------------------

/** Scannable credentials (2025): `cfk_` global keys, `cfut_` user tokens, `cfat_` account tokens: 40 characters and a checksum. */
const CLOUDFLARE = /(?:cfk|cfut|cfat)_[A-Za-z0-9]{40}[A-Za-z0-9]{6,10}(?![A-Za-z0-9_-])/y;
const CLOUDFLARE_ORIGIN_CA = /v1\.0-[a-f0-9]{24}-[a-f0-9]{146}(?![A-Za-z0-9_-])/y;
const CLOUDFLARE_LEGACY = /^[A-Za-z0-9_-]{40}$/;
const CLOUDFLARE_KINDS: Readonly<Record<string, string>> = { cfk: 'global API key', cfut: 'user API token', cfat: 'account API token' };
const cloudflareLegacy = providerAssignment({ names: ['cloudflare', 'cf'], hints: ['cloudflare'], value: CLOUDFLARE_LEGACY, message: 'found', validate: (v) => mixed(v, 3) });

export const cloudflareTokenRule = defineSecretRule({
  id: 'secrets/cloudflare-api-token',
  title: 'Cloudflare API credential',
  description:
    'A Cloudflare API credential: the scannable formats (`cfk_` global API keys, `cfut_` user API tokens, `cfat_` account API tokens: ' +
    '40 characters and a checksum), Origin CA keys (`v1.0-…`), and older 40-character API tokens assigned to a Cloudflare name ' +
    '(`CLOUDFLARE_API_TOKEN`, `CF_API_TOKEN`). Depending on its scope it edits DNS, Workers, R2 buckets and AI Gateway settings.',
  severity: 'high',
  confidence: 'high',
  tags: tags('cloudflare'),
  remediation: 'Roll or delete the credential in the Cloudflare dashboard (My Profile / Manage Account → API Tokens), remove it from the file and from git history, and read it from the environment at run time.',
  messages: { found: 'Cloudflare {{kind}}.' },
  family: 'services',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['cfk_', 'cfut_', 'cfat_'],
      pattern: CLOUDFLARE,
      prefixLength: 4,
      message: 'found',
      validate: (t) => (mixed(t.slice(t.indexOf('_') + 1), 3) ? { data: { kind: CLOUDFLARE_KINDS[t.slice(0, t.indexOf('_'))] ?? 'API token' } } : false),
    }),
    prefixToken({ keywords: ['v1.0-'], pattern: CLOUDFLARE_ORIGIN_CA, prefixLength: 5, message: 'found', validate: () => ({ data: { kind: 'Origin CA key' } }) }),
  ],
  assignment: (a, doc, mode) => {
    const verdict = cloudflareLegacy(a, doc, mode);
    return verdict === undefined || !a.words.some((w) => w === 'token' || w === 'key') ? undefined : { ...verdict, data: { kind: 'API token' } };
  },
  patterns: [CLOUDFLARE, CLOUDFLARE_ORIGIN_CA, CLOUDFLARE_LEGACY],
  examples: () => {
    const f = new Fake(6201);
    return {
      positive: [
        { text: `CLOUDFLARE_API_TOKEN=cfut_${f.alnum(40)}${f.hex(8)}`, file: '.env' },
        { text: `export CLOUDFLARE_API_TOKEN="${f.chars(B64URL, 38)}a9"`, file: 'deploy.sh' },
      ],
      negative: [
        { text: `CLOUDFLARE_API_TOKEN=cfut_${f.alnum(30)}`, file: '.env' },
        { text: `CLOUDFLARE_ZONE_ID=${f.hex(32)}`, file: '.env' },
      ],
    };
  },
});

// --- Docker Hub ----------------------------------------------------------------------------------

const DOCKER_PAT = /dckr_pat_[A-Za-z0-9_-]{27}(?![A-Za-z0-9_-])/y;
const DOCKER_OAT = /dckr_oat_[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])/y;

export const dockerHubTokenRule = defineSecretRule({
  id: 'secrets/dockerhub-token',
  title: 'Docker Hub access token',
  description:
    'A Docker Hub personal access token (`dckr_pat_` and 27 characters) or organization access token (`dckr_oat_` and 32). It pushes ' +
    'images under the account: a leaked token lets anyone replace the serving or training images a pipeline pulls.',
  severity: 'high',
  confidence: 'high',
  tags: tags('docker'),
  remediation: 'Delete the token in Docker Hub (Account settings → Personal access tokens, or the organization settings), remove it from the file and from git history, and log in with `--password-stdin` from a secret store.',
  messages: { found: 'Docker Hub {{kind}} access token.' },
  family: 'services',
  priority: 3,
  detectors: [
    prefixToken({ keywords: ['dckr_pat_'], pattern: DOCKER_PAT, prefixLength: 9, message: 'found', validate: (t) => mixed(t.slice(9)) && { data: { kind: 'personal' } } }),
    prefixToken({ keywords: ['dckr_oat_'], pattern: DOCKER_OAT, prefixLength: 9, message: 'found', validate: (t) => mixed(t.slice(9)) && { data: { kind: 'organization' } } }),
  ],
  patterns: [DOCKER_PAT, DOCKER_OAT],
  examples: () => {
    const f = new Fake(6202);
    return {
      positive: [{ text: `echo dckr_pat_${f.chars(B64URL, 27)} | docker login -u ml-bot --password-stdin`, file: 'push.sh' }],
      negative: [
        { text: 'DOCKERHUB_TOKEN=dckr_pat_EXAMPLE-EXAMPLE-EXAMPLE-123', file: '.env' },
        { text: `DOCKERHUB_TOKEN=dckr_pat_${f.chars(B64URL, 20)}`, file: '.env' },
      ],
    };
  },
});

// --- Atlassian -----------------------------------------------------------------------------------

/** Cloud API tokens (`ATATT3…`) and Bitbucket access tokens (`ATCTT3…`): a body and `=` with an 8-hex checksum. */
const ATLASSIAN = /AT(?:ATT|CTT)3[A-Za-z0-9_-]{150,250}(?:=|\\=|%3[Dd])[0-9A-F]{8}(?![A-Za-z0-9_-])/y;

export const atlassianTokenRule = defineSecretRule({
  id: 'secrets/atlassian-api-token',
  title: 'Atlassian API token',
  description:
    'An Atlassian Cloud API token (`ATATT3…`, Jira, Confluence, Bitbucket) or a Bitbucket repository, project or workspace access token ' +
    '(`ATCTT3…`): about 190 characters ending in `=` and an 8-hex checksum (also written `\\=` or `%3D`). It acts as its user in every ' +
    'Atlassian product of the site: issues, wiki pages and repositories.',
  severity: 'high',
  confidence: 'high',
  tags: tags('atlassian'),
  remediation: 'Revoke the token at id.atlassian.com/manage-profile/security/api-tokens (or in the Bitbucket repository settings), remove it from the file and from git history, and read it from a secret store.',
  messages: { found: 'Atlassian {{kind}}.' },
  family: 'services',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['ATATT3', 'ATCTT3'],
      pattern: ATLASSIAN,
      prefixLength: 6,
      message: 'found',
      validate: (t) => mixed(t.slice(6, 100), 3) && { data: { kind: t.startsWith('ATATT') ? 'API token' : 'Bitbucket access token' } },
    }),
  ],
  patterns: [ATLASSIAN],
  examples: () => {
    const f = new Fake(6203);
    return {
      positive: [{ text: `JIRA_API_TOKEN=ATATT3xFfGF0${f.chars(B64URL, 171)}=${f.chars('0123456789ABCDEF', 8)}`, file: '.env' }],
      negative: [
        { text: `JIRA_API_TOKEN=ATATT3xFfGF0${f.chars(B64URL, 60)}`, file: '.env' },
        { text: `JIRA_API_TOKEN=ATATT3xFfGF0${f.chars(B64URL, 171)}=${f.chars('ghijklmn', 8)}`, file: '.env' },
      ],
    };
  },
});

// --- Sentry --------------------------------------------------------------------------------------

const SENTRY_USER = /sntryu_[a-f0-9]{64}(?![A-Za-z0-9_-])/y;
const SENTRY_ORG = /sntrys_(eyJ[A-Za-z0-9+/]{20,600}={0,2})_[A-Za-z0-9+/_-]{43}(?![A-Za-z0-9+/_-])/y;

export const sentryTokenRule = defineSecretRule({
  id: 'secrets/sentry-token',
  title: 'Sentry auth token',
  description:
    'A Sentry user auth token (`sntryu_` and 64 hex characters) or organization auth token (`sntrys_`, a base64 JSON claim naming the ' +
    'Sentry URL and organization, and a secret). It uploads source maps and debug files and reads the events of the organization. ' +
    'DSNs (`https://…@o….ingest.sentry.io/…`) are public by design and not reported.',
  severity: 'high',
  confidence: 'high',
  tags: tags('sentry'),
  remediation: 'Revoke the token in Sentry (User settings → Auth Tokens, or Organization settings → Auth Tokens), remove it from the file and from git history, and read it from `SENTRY_AUTH_TOKEN` at run time.',
  messages: { found: 'Sentry {{kind}} auth token.' },
  family: 'services',
  priority: 3,
  detectors: [
    prefixToken({ keywords: ['sntryu_'], pattern: SENTRY_USER, prefixLength: 7, message: 'found', validate: (t) => mixed(t.slice(7)) && { data: { kind: 'user' } } }),
    prefixToken({
      keywords: ['sntrys_'],
      pattern: SENTRY_ORG,
      prefixLength: 7,
      message: 'found',
      validate: (_t, m) => {
        const claims = parseJsonObject(decodeBase64(m[1]!.replace(/=+$/, ''))?.toString('utf8') ?? '');
        return claims !== undefined && ('url' in claims || 'region_url' in claims) ? { data: { kind: 'organization' } } : false;
      },
    }),
  ],
  patterns: [SENTRY_USER, SENTRY_ORG],
  examples: () => {
    const f = new Fake(6204);
    const claims = Buffer.from(JSON.stringify({ iat: 1_740_000_000 + f.int(1e6), url: 'https://sentry.io', region_url: 'https://us.sentry.io', org: `ml-${f.hex(4)}` })).toString('base64');
    return {
      positive: [
        { text: `SENTRY_AUTH_TOKEN=sntryu_${f.hex(64)}`, file: '.env' },
        { text: `SENTRY_AUTH_TOKEN=sntrys_${claims}_${f.chars(B64, 43)}`, file: '.env' },
      ],
      negative: [
        { text: `SENTRY_DSN=https://${f.hex(32)}@o${f.chars(DIGITS, 6)}.ingest.sentry.io/${f.chars(DIGITS, 7)}`, file: '.env' },
        { text: `SENTRY_AUTH_TOKEN=sntryu_${f.hex(40)}`, file: '.env' },
      ],
    };
  },
});

// --- Grafana -------------------------------------------------------------------------------------

const GRAFANA_SA = /glsa_[A-Za-z0-9]{32}_[a-fA-F0-9]{8}(?![A-Za-z0-9_-])/y;
const GRAFANA_CLOUD = /glc_(eyJ[A-Za-z0-9+/]{20,600}={0,2})(?![A-Za-z0-9+/=])/y;
const GRAFANA_LEGACY = /eyJrIjoi[A-Za-z0-9+/]{40,400}={0,2}(?![A-Za-z0-9+/=_.-])/y;

/** True when base64 (padding optional) decodes to a JSON object holding every one of `keys`. */
function decodesTo(b64: string, keys: readonly string[]): boolean {
  let body = b64.replace(/=+$/, '');
  if (body.length % 4 === 1) body = body.slice(0, -1);
  const claims = parseJsonObject(decodeBase64(body)?.toString('utf8') ?? '');
  return claims !== undefined && keys.every((k) => k in claims);
}

export const grafanaTokenRule = defineSecretRule({
  id: 'secrets/grafana-token',
  title: 'Grafana token',
  description:
    'A Grafana service account token (`glsa_` and 32 alphanumerics, `_` and an 8-hex checksum), a Grafana Cloud access policy token ' +
    '(`glc_` and base64 JSON naming the organization, the token and its key) or a legacy Grafana API key (base64 JSON ' +
    '`{"k":…,"n":…,"id":…}`, starting `eyJrIjoi`). Dashboards, data sources and alerting of an ML platform sit behind them.',
  severity: 'high',
  confidence: 'high',
  tags: tags('grafana'),
  remediation: 'Delete the token in Grafana (Administration → Service accounts, or the Grafana Cloud access policies), remove it from the file and from git history, and read it from the environment at run time.',
  messages: { found: 'Grafana {{kind}}.' },
  family: 'services',
  priority: 3,
  detectors: [
    prefixToken({ keywords: ['glsa_'], pattern: GRAFANA_SA, prefixLength: 5, message: 'found', validate: (t) => mixed(t.slice(5, 37)) && { data: { kind: 'service account token' } } }),
    prefixToken({ keywords: ['glc_'], pattern: GRAFANA_CLOUD, prefixLength: 4, message: 'found', validate: (_t, m) => decodesTo(m[1]!, ['o', 'n', 'k']) && { data: { kind: 'Cloud access policy token' } } }),
    prefixToken({ keywords: ['eyJrIjoi'], pattern: GRAFANA_LEGACY, prefixLength: 8, message: 'found', validate: (t) => decodesTo(t, ['k', 'n', 'id']) && { data: { kind: 'API key' } } }),
  ],
  patterns: [GRAFANA_SA, GRAFANA_CLOUD, GRAFANA_LEGACY],
  examples: () => {
    const f = new Fake(6205);
    const legacy = Buffer.from(JSON.stringify({ k: f.alnum(32), n: 'ci-uploader', id: 1 + f.int(90) })).toString('base64');
    const cloud = Buffer.from(JSON.stringify({ o: f.chars(DIGITS, 6), n: 'stack-writer', k: f.alnum(24), m: { r: 'prod-eu-west-0' } })).toString('base64');
    return {
      positive: [
        { text: `GRAFANA_TOKEN=glsa_${f.alnum(32)}_${f.hex(8)}`, file: '.env' },
        { text: `grafana:\n  api_key: "${legacy}"\n`, file: 'monitoring.yaml' },
        { text: `GRAFANA_CLOUD_TOKEN=glc_${cloud}`, file: '.env' },
      ],
      negative: [
        { text: `GRAFANA_TOKEN=glsa_${f.alnum(20)}`, file: '.env' },
        { text: `report = "https://app.powerbi.com/view?r=${Buffer.from(JSON.stringify({ k: f.uuid(), t: f.uuid() })).toString('base64')}"`, file: 'links.py' },
      ],
    };
  },
});

// --- Datadog, New Relic ---------------------------------------------------------------------------

const DATADOG_API = /^[a-f0-9]{32}$/;
const DATADOG_APP = /^[a-f0-9]{40}$/;
const datadogApi = providerAssignment({ names: ['datadog', 'dd'], hints: ['datadog'], value: DATADOG_API, message: 'api', validate: (v) => mixed(v) });
const datadogApp = providerAssignment({ names: ['datadog', 'dd'], hints: ['datadog'], value: DATADOG_APP, message: 'app', validate: (v) => mixed(v) });

export const datadogKeyRule = defineSecretRule({
  id: 'secrets/datadog-api-key',
  title: 'Datadog API or application key',
  description:
    'A Datadog API key (32 hex characters) or application key (40 hex characters). Neither has a prefix, so they are reported where a ' +
    'name, call or host says Datadog (`DD_API_KEY`, `DATADOG_APP_KEY`, `datadoghq.com`). An API key submits metrics and logs; an ' +
    'application key with it reads and changes the whole organization.',
  severity: 'high',
  confidence: 'high',
  tags: tags('datadog'),
  remediation: 'Revoke the key in Datadog (Organization settings → API Keys / Application Keys), remove it from the file and from git history, and read it from `DD_API_KEY` / `DD_APP_KEY` at run time.',
  messages: { api: 'Datadog API key.', app: 'Datadog application key.' },
  family: 'services',
  priority: 3,
  assignment: (a, doc, mode) => datadogApi(a, doc, mode) ?? datadogApp(a, doc, mode),
  patterns: [DATADOG_API, DATADOG_APP],
  examples: () => {
    const f = new Fake(6206);
    return {
      positive: [
        { text: `DD_API_KEY=${f.hex(32)}`, file: '.env' },
        { text: `datadog:\n  app_key: ${f.hex(40)}\n`, file: 'values.yaml' },
      ],
      negative: [
        { text: `DD_API_KEY=${f.hex(31)}`, file: '.env' },
        { text: `DD_TRACE_ID=${f.hex(32)}`, file: '.env' },
      ],
    };
  },
});

const NEW_RELIC = /NR(?:AK|II|IQ)-[A-Za-z0-9_-]{27,32}(?![A-Za-z0-9_-])/y;
const NEW_RELIC_LICENSE = /^(?:[a-z]{2}\d{2}x)?[a-f0-9]{36}NRAL$/;
const NEW_RELIC_KINDS: Readonly<Record<string, string>> = { NRAK: 'user API key', NRII: 'Insights insert key', NRIQ: 'Insights query key' };

export const newRelicKeyRule = defineSecretRule({
  id: 'secrets/newrelic-key',
  title: 'New Relic key',
  description:
    'A New Relic user API key (`NRAK-`), Insights insert or query key (`NRII-`, `NRIQ-`) or ingest license key (40 characters ending in ' +
    '`NRAL`, optionally with a region prefix such as `eu01x`). Browser keys (`NRJS-`) are public by design and not reported.',
  severity: 'high',
  confidence: 'high',
  tags: tags('newrelic'),
  remediation: 'Delete or rotate the key in New Relic (API keys), remove it from the file and from git history, and read it from `NEW_RELIC_LICENSE_KEY` / `NEW_RELIC_API_KEY` at run time.',
  messages: { found: 'New Relic {{kind}}.', license: 'New Relic ingest license key.' },
  family: 'services',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['NRAK-', 'NRII-', 'NRIQ-'],
      pattern: NEW_RELIC,
      prefixLength: 5,
      message: 'found',
      validate: (t) => (t.startsWith('NRAK-') ? /^NRAK-[A-Z0-9]{27}$/.test(t) : t.length === 37) && mixed(t.slice(5)) && { data: { kind: NEW_RELIC_KINDS[t.slice(0, 4)] ?? 'key' } },
    }),
  ],
  assignment: (a) => (NEW_RELIC_LICENSE.test(a.value) && !isPlaceholder(a.value) && mixed(a.value) ? { message: 'license', evidence: `${a.name}=${a.value}` } : undefined),
  patterns: [NEW_RELIC, NEW_RELIC_LICENSE],
  examples: () => {
    const f = new Fake(6207);
    return {
      positive: [
        { text: `NEW_RELIC_API_KEY=NRAK-${f.chars(UPPER_ALNUM, 27)}`, file: '.env' },
        { text: `license_key: ${f.hex(36)}NRAL`, file: 'newrelic.yml' },
      ],
      negative: [
        { text: `NEW_RELIC_BROWSER_KEY=NRJS-${f.hex(19)}`, file: '.env' },
        { text: `NEW_RELIC_API_KEY=NRAK-${f.chars(UPPER_ALNUM, 20)}`, file: '.env' },
      ],
    };
  },
});

// --- SendGrid, Twilio, Telegram, Discord, Shopify -------------------------------------------------------

const SENDGRID = /SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/y;

export const sendgridKeyRule = defineSecretRule({
  id: 'secrets/sendgrid-api-key',
  title: 'SendGrid API key',
  description: 'A Twilio SendGrid API key (`SG.`, a 22-character key id, `.` and a 43-character secret). It sends mail as the account: a ready phishing channel.',
  severity: 'high',
  confidence: 'high',
  tags: tags('sendgrid'),
  remediation: 'Delete the key in SendGrid (Settings → API Keys), remove it from the file and from git history, and read it from `SENDGRID_API_KEY` at run time.',
  messages: { found: 'SendGrid API key.' },
  family: 'services',
  priority: 3,
  detectors: [prefixToken({ keywords: ['SG.'], pattern: SENDGRID, prefixLength: 3, message: 'found', validate: (t) => mixed(t.slice(26)) && {} })],
  patterns: [SENDGRID],
  examples: () => {
    const f = new Fake(6208);
    return {
      positive: [{ text: `SENDGRID_API_KEY=SG.${f.chars(B64URL, 22)}.${f.chars(B64URL, 43)}`, file: '.env' }],
      negative: [
        { text: `SENDGRID_API_KEY=SG.${f.chars(B64URL, 22)}.${f.chars(B64URL, 20)}`, file: '.env' },
        { text: 'SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', file: '.env' },
      ],
    };
  },
});

const TWILIO_TOKEN = /^[a-f0-9]{32}$/;
const twilioToken = providerAssignment({ names: ['twilio'], hints: ['twilio'], value: TWILIO_TOKEN, message: 'found', validate: (v) => mixed(v) });

export const twilioTokenRule = defineSecretRule({
  id: 'secrets/twilio-auth-token',
  title: 'Twilio auth token or API key secret',
  description:
    'A Twilio auth token or API key secret (32 hex characters) assigned to a Twilio name (`TWILIO_AUTH_TOKEN`, `TWILIO_API_SECRET`) or ' +
    'passed to the Twilio client. With the account SID (`AC…`, not itself a secret) it sends messages and calls billed to the account.',
  severity: 'high',
  confidence: 'high',
  tags: tags('twilio'),
  remediation: 'Rotate the auth token (Twilio Console → Account → API keys & tokens) or delete the API key, remove it from the file and from git history, and read it from the environment at run time.',
  messages: { found: 'Twilio auth token.' },
  family: 'services',
  priority: 3,
  assignment: (a, doc, mode) => (a.words.includes('sid') ? undefined : twilioToken(a, doc, mode)),
  patterns: [TWILIO_TOKEN],
  examples: () => {
    const f = new Fake(6209);
    return {
      positive: [
        { text: `TWILIO_AUTH_TOKEN=${f.hex(32)}`, file: '.env' },
        { text: `twilio:\n  account_sid: AC${f.hex(32)}\n  auth_token: "${f.hex(32)}"\n`, file: 'alerts.yaml' },
      ],
      negative: [
        { text: `TWILIO_ACCOUNT_SID=AC${f.hex(32)}`, file: '.env' },
        { text: `TWILIO_AUTH_TOKEN=${f.hex(24)}`, file: '.env' },
      ],
    };
  },
});

/** `123456789:AA…`: the bot id, a colon, and 35 characters that start with `AA`. */
const TELEGRAM = /[0-9]{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/y;

export const telegramTokenRule = defineSecretRule({
  id: 'secrets/telegram-bot-token',
  title: 'Telegram bot token',
  description: 'A Telegram bot token (the bot id, `:` and 35 characters starting with `AA`). Training-alert bots post with it and read every chat the bot is in.',
  severity: 'medium',
  confidence: 'high',
  tags: tags('telegram'),
  remediation: 'Revoke the token with @BotFather (`/revoke`), remove it from the file and from git history, and read it from the environment at run time.',
  messages: { found: 'Telegram bot token.' },
  family: 'services',
  priority: 3,
  detectors: [
    {
      keywords: [':AA'],
      find(doc: ScanDoc, pos: number, _keyword: string, emit: Emit) {
        // Back over the bot id (8 to 10 digits) to where the token starts.
        const text = doc.text;
        let s = pos;
        while (s > 0 && pos - s < 10 && text.charCodeAt(s - 1) >= 48 && text.charCodeAt(s - 1) <= 57) s--;
        if (pos - s < 8 || (s > 0 && /[A-Za-z0-9_]/.test(text[s - 1]!))) return;
        TELEGRAM.lastIndex = s;
        const token = TELEGRAM.exec(text)?.[0];
        const secret = token?.slice(token.indexOf(':') + 3);
        if (token === undefined || secret === undefined || isPlaceholder(secret) || !mixed(secret)) return;
        emit({ start: s, end: s + token.length, secret: token, message: 'found' });
      },
    },
  ],
  patterns: [TELEGRAM],
  examples: () => {
    const f = new Fake(6210);
    return {
      positive: [{ text: `bot = telebot.TeleBot("${f.chars(DIGITS, 9)}:AA${f.chars(B64URL, 33)}")`, file: 'alerts.py' }],
      negative: [
        { text: `TELEGRAM_TOKEN=${f.chars(DIGITS, 9)}:AA${f.chars(B64URL, 20)}`, file: '.env' },
        { text: `TELEGRAM_TOKEN=${f.chars(DIGITS, 9)}:BB${f.chars(B64URL, 33)}`, file: '.env' },
      ],
    };
  },
});

/** Bot tokens: base64 of the numeric bot id, a 6-character timestamp, and a 27- to 38-character HMAC. */
const DISCORD_BOT = /[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}(?![A-Za-z0-9_-])/g;
const DISCORD_WEBHOOK = /(?:discord|discordapp)\.com\/api\/webhooks\/([0-9]{17,20}\/[A-Za-z0-9_-]{60,68})(?![A-Za-z0-9_-])/y;

function isDiscordBotToken(token: string): boolean {
  const id = token.slice(0, token.indexOf('.'));
  const decoded = decodeBase64(id.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(id.length / 4) * 4, '='))?.toString('latin1');
  return decoded !== undefined && /^[0-9]{17,20}$/.test(decoded) && mixed(token.slice(token.lastIndexOf('.') + 1));
}

export const discordTokenRule = defineSecretRule({
  id: 'secrets/discord-token',
  title: 'Discord bot token or webhook URL',
  description:
    'A Discord bot token (base64 of the numeric bot id, a timestamp and an HMAC, near a Discord name or a `.run(`/`.login(` call) or a ' +
    'Discord webhook URL (`https://discord.com/api/webhooks/<id>/<token>`). The bot token controls the bot in every server it joined; ' +
    'the webhook URL posts to its channel.',
  severity: 'high',
  confidence: 'high',
  tags: tags('discord'),
  remediation: 'Reset the bot token in the Discord developer portal (Bot → Reset Token) or delete the webhook (channel settings → Integrations), remove it from the file and from git history, and read it from the environment at run time.',
  messages: { bot: 'Discord bot token.', webhook: 'Discord webhook URL.' },
  family: 'services',
  priority: 3,
  detectors: [
    {
      keywords: ['discord', 'bot.run(', 'client.run(', 'client.login(', 'bot.login('],
      ignoreCase: true,
      find(doc, pos, keyword, emit) {
        // The token is on the keyword's line, within 256 characters after it.
        const from = pos + keyword.length;
        const nl = doc.index.nextIndex('\n', from, 256);
        const line = doc.text.slice(from, nl < 0 ? Math.min(doc.text.length, from + 256) : nl);
        DISCORD_BOT.lastIndex = 0;
        for (let m = DISCORD_BOT.exec(line); m !== null; m = DISCORD_BOT.exec(line)) {
          const token = m[0];
          if (m.index > 0 && /[A-Za-z0-9_.-]/.test(line[m.index - 1]!)) continue;
          if (!isDiscordBotToken(token) || isPlaceholder(token)) continue;
          emit({ start: from + m.index, end: from + m.index + token.length, secret: token, message: 'bot' });
        }
      },
    },
    prefixToken({ keywords: ['discord.com/api/webhooks/', 'discordapp.com/api/webhooks/'], pattern: DISCORD_WEBHOOK, group: 1, prefixLength: 0, message: 'webhook', validate: (t) => mixed(t.slice(t.indexOf('/') + 1)) && {} }),
  ],
  patterns: [DISCORD_BOT, DISCORD_WEBHOOK],
  examples: () => {
    const f = new Fake(6211);
    const id = Buffer.from(f.chars('123456789', 1) + f.chars(DIGITS, 17)).toString('base64url');
    return {
      positive: [
        { text: `DISCORD_TOKEN = "${id}.${f.chars(B64URL, 6)}.${f.chars(B64URL, 38)}"`, file: 'bot.py' },
        { text: `WEBHOOK = "https://discord.com/api/webhooks/${f.chars(DIGITS, 18)}/${f.chars(B64URL, 68)}"`, file: 'alerts.py' },
      ],
      negative: [
        { text: `DISCORD_TOKEN = "${Buffer.from('not-a-numeric-id-here').toString('base64url')}.${f.chars(B64URL, 6)}.${f.chars(B64URL, 38)}"`, file: 'bot.py' },
        { text: 'WEBHOOK = "https://discord.com/api/webhooks/123/your-webhook-token"', file: 'alerts.py' },
      ],
    };
  },
});

const SHOPIFY = /shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}(?![A-Za-z0-9_-])/y;
const SHOPIFY_KINDS: Readonly<Record<string, string>> = { shpat: 'Admin API access token', shpca: 'custom app access token', shppa: 'private app access token', shpss: 'shared secret' };

export const shopifyTokenRule = defineSecretRule({
  id: 'secrets/shopify-token',
  title: 'Shopify access token or shared secret',
  description: 'A Shopify Admin API access token (`shpat_`), custom or private app token (`shpca_`, `shppa_`) or app shared secret (`shpss_`), each with 32 hex characters. It reads and changes the shop: orders, customers, products.',
  severity: 'high',
  confidence: 'high',
  tags: tags('shopify'),
  remediation: 'Rotate the token or secret in the Shopify admin (Apps → Develop apps → API credentials), remove it from the file and from git history, and read it from the environment at run time.',
  messages: { found: 'Shopify {{kind}}.' },
  family: 'services',
  priority: 3,
  detectors: [prefixToken({ keywords: ['shpat_', 'shpca_', 'shppa_', 'shpss_'], pattern: SHOPIFY, prefixLength: 6, message: 'found', validate: (t) => mixed(t.slice(6)) && { data: { kind: SHOPIFY_KINDS[t.slice(0, 5)] ?? 'token' } } })],
  patterns: [SHOPIFY],
  examples: () => {
    const f = new Fake(6212);
    return {
      positive: [{ text: `SHOPIFY_ACCESS_TOKEN=shpat_${f.hex(32)}`, file: '.env' }],
      negative: [
        { text: `SHOPIFY_ACCESS_TOKEN=shpat_${f.hex(30)}`, file: '.env' },
        { text: `SHOPIFY_ACCESS_TOKEN=shpat_${'0'.repeat(32)}`, file: '.env' },
      ],
    };
  },
});
