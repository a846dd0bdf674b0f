import { indexWithin } from '../assign.js';
import { defineSecretRule } from '../define.js';
import { B64, Fake, UPPER_B32 } from '../fake.js';
import { isPlaceholder } from '../placeholder.js';
import { charClasses, shannonEntropy } from '../stats.js';
import { prefixToken } from '../tokens.js';
import { safeName } from '../uri.js';
import { pointsAt, tags } from './kit.js';

/**
 * Access key IDs: a 4-letter type prefix and 16 characters. AWS issues base32 (`A-Z2-7`), but fixtures,
 * documentation and other tools' test sets use `A-Z0-9`, so any upper-case alphanumeric is accepted.
 */
const KEY_ID = /(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/y;
const SECRET = /^[A-Za-z0-9/+]{40}$/;
/** A 40-character base64 run on its own, after a key ID on the same line (CSV exports, config pairs). */
const PAIRED_SECRET = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/;

function looksLikeAwsSecret(value: string): boolean {
  if (!SECRET.test(value) || isPlaceholder(value)) return false;
  const classes = charClasses(value);
  return classes.lower && classes.upper && classes.digit && shannonEntropy(value) >= 4;
}

export const awsAccessKeyIdRule = defineSecretRule({
  id: 'secrets/aws-access-key-id',
  title: 'AWS access key ID',
  description:
    'An AWS access key ID (`AKIA…` long-term, `ASIA…` temporary; 16 base32 characters after the prefix). The ID alone does not ' +
    'authenticate, but it is almost always stored next to its secret key, and it names the account and user to attack.',
  severity: 'high',
  confidence: 'high',
  tags: tags('aws'),
  remediation:
    'Deactivate and delete the access key in IAM (Users → Security credentials), check CloudTrail for its use, remove it from the ' +
    'file and from git history, and use roles, SSO or instance profiles instead of long-term keys.',
  messages: { found: 'AWS {{kind}} access key ID.' },
  family: 'aws',
  priority: 3,
  detectors: [
    prefixToken({
      keywords: ['AKIA', 'ASIA', 'ABIA', 'ACCA'],
      pattern: KEY_ID,
      prefixLength: 4,
      message: 'found',
      validate: (token) => ({ data: { kind: token.startsWith('ASIA') ? 'temporary' : 'long-term' } }),
    }),
  ],
  patterns: [KEY_ID],
  examples: () => {
    const f = new Fake(2020);
    return {
      positive: [
        { text: `aws_access_key_id = AKIA${f.chars(UPPER_B32, 16)}`, file: 'credentials' },
        { text: `"AccessKeyId": "ASIA${f.chars(UPPER_B32, 16)}"`, file: 'session.json' },
        { text: `access_key_id = AKIA0189${f.chars(UPPER_B32, 12)}`, file: 'aws.cfg' },
      ],
      negative: [
        { text: 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE', file: 'credentials' },
        { text: `aws_access_key_id = AKIA${f.chars(UPPER_B32, 15)}`, file: 'credentials' },
        { text: `id = "XAKIA${f.chars(UPPER_B32, 16)}"`, file: 'x.py' },
        { text: `role = "AROA${f.chars(UPPER_B32, 16)}"`, file: 'x.py' },
      ],
    };
  },
});

export const awsSecretAccessKeyRule = defineSecretRule({
  id: 'secrets/aws-secret-access-key',
  title: 'AWS secret access key',
  description:
    'An AWS secret access key: 40 base64 characters assigned to an AWS secret name (`aws_secret_access_key`, `AWS_SECRET_ACCESS_KEY`, ' +
    '`SecretAccessKey`, `secret_key` inside a boto3 call) or following an access key ID on the same line. With its key ID it signs ' +
    'any request the IAM user may make.',
  severity: 'critical',
  confidence: 'high',
  tags: tags('aws'),
  remediation:
    'Deactivate and delete the key pair in IAM, review CloudTrail for its use, remove it from the file and from git history, and ' +
    'use roles, SSO or instance profiles instead of long-term keys.',
  messages: { found: 'AWS secret access key.', pair: 'AWS secret access key next to its access key ID.' },
  family: 'aws',
  priority: 4,
  detectors: [
    {
      keywords: ['AKIA', 'ASIA'],
      find(doc, pos, _keyword, emit) {
        const text = doc.text;
        // Only after a well-formed key id (not `AKIAAKIA…`): the pair search reads up to 200 characters.
        KEY_ID.lastIndex = pos;
        const id = KEY_ID.exec(text)?.[0];
        if (id === undefined || isPlaceholder(id)) return;
        const from = pos + 20;
        const nl = indexWithin(text, '\n', from, 200);
        const to = nl < 0 ? Math.min(text.length, from + 200) : nl;
        const m = PAIRED_SECRET.exec(text.slice(from, to));
        if (!m || !looksLikeAwsSecret(m[0])) return;
        const start = from + m.index;
        emit({ start, end: start + 40, secret: m[0], message: 'pair' });
      },
    },
  ],
  assignment: (a, _doc, mode) => {
    const w = a.words;
    const joined = w.join('');
    const named =
      joined.includes('secretaccesskey') || joined.includes('awssecret') || (w.includes('aws') && (w.includes('secret') || w.includes('secretkey')));
    if (!looksLikeAwsSecret(a.value)) return undefined;
    const contextual = mode === 'context' && (joined === 'secretkey' || joined === 'secret' || joined === 'awssecretkey') && pointsAt(a, [], ['aws', 'boto', 's3'], 'context');
    if (!(mode === 'name' ? named : contextual)) return undefined;
    return { message: 'found', evidence: `${safeName(a.name)}=${a.value}` };
  },
  patterns: [KEY_ID, SECRET, PAIRED_SECRET],
  examples: () => {
    const f = new Fake(2121);
    const secret = (): string => `${f.chars(B64, 18)}aZ9${f.chars(B64, 19)}`;
    return {
      positive: [
        { text: `[default]\naws_access_key_id = AKIA${f.chars(UPPER_B32, 16)}\naws_secret_access_key = ${secret()}\n`, file: 'credentials' },
        { text: `s3 = boto3.client("s3", aws_access_key_id="AKIA${f.chars(UPPER_B32, 16)}", aws_secret_access_key="${secret()}")`, file: 'upload.py' },
        { text: `admin,AKIA${f.chars(UPPER_B32, 16)},${secret()}`, file: 'credentials.csv' },
      ],
      negative: [
        { text: 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', file: 'credentials' },
        { text: `aws_secret_access_key = ${f.chars(B64, 39)}`, file: 'credentials' },
        { text: `model_sha = "${f.hex(40)}"`, file: 'x.py' },
      ],
    };
  },
});
