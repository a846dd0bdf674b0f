import { checkPrivateKey } from '../decode.js';
import type { ScanDoc } from '../types.js';
import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { prefixToken } from '../tokens.js';
import { safeName } from '../uri.js';
import { isPlaceholder } from '../placeholder.js';
import { tags } from './kit.js';

const API_KEY = /AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/y;
/** OAuth client secrets issued since 2021: `GOCSPX-` and 28 base64url characters. */
const OAUTH_SECRET = /GOCSPX-[0-9A-Za-z_-]{28}(?![0-9A-Za-z_-])/y;
/** Older client secrets have no prefix: 24 base64url characters, recognised next to a Google client id. */
const LEGACY_OAUTH_SECRET = /^[0-9A-Za-z_-]{24}$/;
const CLIENT_ID = '.apps.googleusercontent.com';
const BEGIN = '-----BEGIN PRIVATE KEY-----';
const END = '-----END PRIVATE KEY-----';
const REACH = 8192;
/** Per document: the key block the last `service_account` marker led to. */
const lastBlock = new WeakMap<ScanDoc, number>();

export const gcpServiceAccountKeyRule = defineSecretRule({
  id: 'secrets/gcp-service-account-key',
  title: 'Google Cloud service account key',
  description:
    'A Google Cloud service-account key file (JSON with `"type": "service_account"`, a `client_email` in `gserviceaccount.com` and ' +
    'a PKCS#8 `private_key`), also when pasted into code, notebooks or environment files with escaped newlines. The private key is ' +
    'decoded and checked before it is reported. It acts as the service account on Vertex AI, GCS buckets and BigQuery.',
  severity: 'critical',
  confidence: 'high',
  tags: tags('gcp'),
  remediation:
    'Delete the key in IAM (Service accounts → Keys), check audit logs for its use, remove the file from the repository and git ' +
    'history, and use workload identity or `gcloud auth application-default login` instead of key files.',
  messages: { found: 'Google Cloud service account private key.' },
  family: 'gcp',
  priority: 4,
  detectors: [
    {
      keywords: ['service_account'],
      find(doc, pos, _keyword, emit) {
        const text = doc.text;
        const floor = Math.max(0, pos - REACH);
        // The nearest key block before or after the type marker.
        let begin = doc.index.prevIndex(BEGIN, pos, floor);
        if (begin < 0) begin = doc.index.nextIndex(BEGIN, pos, REACH);
        // Each key block is judged once, however many `service_account` markers surround it.
        if (begin < 0 || lastBlock.get(doc) === begin) return;
        lastBlock.set(doc, begin);
        const end = doc.index.nextIndex(END, begin, REACH);
        if (end < 0) return;
        const window = text.slice(Math.max(0, Math.min(pos, begin) - REACH), Math.min(text.length, Math.max(pos, end) + REACH));
        if (!window.includes('private_key') || !window.includes('gserviceaccount.com')) return;
        const body = text.slice(begin + BEGIN.length, end);
        if (!checkPrivateKey('PRIVATE KEY', body).valid) return;
        const emailAt = window.indexOf('client_email');
        const email = emailAt < 0 ? undefined : /[A-Za-z0-9._-]{1,64}@[A-Za-z0-9.-]{1,128}\.gserviceaccount\.com/.exec(window.slice(emailAt, emailAt + 300))?.[0];
        emit({
          start: begin,
          end: end + END.length,
          secret: body,
          message: 'found',
          evidence: `"private_key": "${BEGIN}${body}${END}"`,
          ...(email === undefined ? {} : { properties: { serviceAccount: email } }),
        });
      },
    },
  ],
  patterns: [],
  examples: () => {
    const f = new Fake(2222);
    const sa = (escapedPem: string): string =>
      JSON.stringify(
        {
          type: 'service_account',
          project_id: 'ml-prod-123',
          private_key_id: f.hex(40),
          private_key: escapedPem,
          client_email: 'trainer@ml-prod-123.iam.gserviceaccount.com',
          client_id: f.chars('0123456789', 21),
        },
        null,
        2,
      );
    return {
      positive: [{ text: sa(`${f.pem('PRIVATE KEY', f.pkcs8Key())}\n`), file: 'sa.json' }],
      negative: [
        { text: sa('-----BEGIN PRIVATE KEY-----\nMIIEv...\n-----END PRIVATE KEY-----\n'), file: 'sa.json' },
        { text: '{"type": "service_account", "private_key": "<your key>"}', file: 'sa.json' },
      ],
    };
  },
});

export const gcpApiKeyRule = defineSecretRule({
  id: 'secrets/gcp-api-key',
  title: 'Google API key',
  description:
    'A Google API key (`AIza` followed by 35 characters): Gemini and Vertex AI, Maps, Firebase and other Google APIs. Unrestricted ' +
    'keys bill to the project and can read whatever the enabled APIs expose.',
  severity: 'high',
  confidence: 'high',
  tags: tags('gcp'),
  remediation: 'Delete or rotate the key in the Google Cloud console (APIs & Services → Credentials), restrict replacement keys by API and referrer, remove it from the file and from git history.',
  messages: { found: 'Google API key.' },
  family: 'gcp',
  priority: 3,
  detectors: [prefixToken({ keywords: ['AIza'], pattern: API_KEY, prefixLength: 4, message: 'found' })],
  patterns: [API_KEY],
  examples: () => {
    const f = new Fake(2323);
    return {
      positive: [{ text: `GOOGLE_API_KEY=AIza${f.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-', 35)}`, file: '.env' }],
      negative: [
        { text: `GOOGLE_API_KEY=AIza${f.alnum(34)}`, file: '.env' },
        { text: 'GOOGLE_API_KEY=AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX', file: '.env' },
      ],
    };
  },
});

export const googleOauthClientSecretRule = defineSecretRule({
  id: 'secrets/google-oauth-client-secret',
  title: 'Google OAuth client secret',
  description:
    'A Google OAuth 2.0 client secret: `GOCSPX-` followed by 28 characters, anywhere, or an older 24-character secret in a ' +
    '`client_secret` field next to a client id ending in `.apps.googleusercontent.com` (the `client_secret.json` that ' +
    '`google-auth-oauthlib`, Colab and Drive/Sheets data loaders read). With the client id it lets anyone run the consent flow ' +
    'as your application and exchange authorization codes or refresh tokens for access tokens.',
  severity: 'high',
  confidence: 'high',
  tags: tags('gcp'),
  remediation:
    'Reset the secret in the Google Cloud console (APIs & Services → Credentials → the OAuth client → Reset secret), remove ' +
    '`client_secret.json` from the repository and from git history, and load it at run time from a secret store.',
  messages: { found: 'Google OAuth client secret.', legacy: 'Google OAuth client secret (without prefix, next to a client id).' },
  family: 'gcp',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['GOCSPX-'],
      pattern: OAUTH_SECRET,
      prefixLength: 7,
      message: 'found',
      validate: (token) => (/[0-9]/.test(token.slice(7)) || /[A-Z]/.test(token.slice(7)) ? {} : false),
    }),
  ],
  assignment: (a, doc, mode) => {
    if (mode !== 'name' || !a.words.includes('secret') || !a.words.includes('client')) return undefined;
    if (!LEGACY_OAUTH_SECRET.test(a.value) || isPlaceholder(a.value) || !/[0-9]/.test(a.value) || !/[A-Z]/.test(a.value) || !/[a-z]/.test(a.value)) return undefined;
    const around = doc.text.slice(Math.max(0, a.valueStart - 2048), Math.min(doc.text.length, a.valueEnd + 2048));
    if (!around.includes(CLIENT_ID)) return undefined;
    return { message: 'legacy', evidence: `${safeName(a.name)}=${a.value}`, confidence: 'medium' };
  },
  patterns: [OAUTH_SECRET, LEGACY_OAUTH_SECRET],
  examples: () => {
    const f = new Fake(2424);
    const b64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
    const installed = (secret: string): string =>
      JSON.stringify({
        installed: {
          client_id: `${f.chars('0123456789', 12)}-${f.chars('abcdefghijklmnopqrstuvwxyz0123456789', 32)}${CLIENT_ID}`,
          project_id: 'ml-data-loader',
          auth_uri: 'https://accounts.google.com/o/oauth2/auth',
          token_uri: 'https://oauth2.googleapis.com/token',
          client_secret: secret,
          redirect_uris: ['http://localhost'],
        },
      });
    return {
      positive: [
        { text: installed(`GOCSPX-${f.chars(b64url, 28)}`), file: 'client_secret.json' },
        { text: `flow = Flow.from_client_config({"web": {"client_id": CLIENT_ID, "client_secret": "GOCSPX-${f.chars(b64url, 28)}"}}, scopes)`, file: 'auth.py' },
        { text: `GOOGLE_CLIENT_SECRET=GOCSPX-${f.chars(b64url, 28)}`, file: '.env' },
        { text: installed(`${f.alnum(10)}_${f.alnum(13)}`), file: 'client_secret.json' },
      ],
      negative: [
        { text: `GOOGLE_CLIENT_SECRET=GOCSPX-${f.chars(b64url, 27)}`, file: '.env' },
        { text: 'GOOGLE_CLIENT_SECRET=GOCSPX-xxxxxxxxxxxxxxxxxxxxxxxxxxxx', file: '.env' },
        { text: installed('GOCSPX-<your-client-secret>'), file: 'client_secret.json' },
        { text: `GOOGLE_CLIENT_SECRET=GOCSPX-${f.chars(b64url, 29)}`, file: '.env' },
      ],
    };
  },
});
