import { decodeBase64 } from '../decode.js';
import { classifyName, type NameClass } from '../names.js';
import type { Assignment, SecretDoc } from '../types.js';
import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { isPlaceholder } from '../placeholder.js';
import { isNonSecretValue, judgeValue } from '../score.js';
import { charClasses, shannonEntropy } from '../stats.js';
import { safeName } from '../uri.js';
import { tags } from './kit.js';

const WHAT: Readonly<Record<NameClass, string>> = {
  password: 'password',
  token: 'token',
  key: 'key',
  secret: 'secret',
  auth: 'credential',
  credential: 'credential',
};

/**
 * Set by the registry: prefixes that a provider rule owns (`ghp_`, `sk-`, `AKIA`…). A value with one
 * of them that its provider rule did not accept (bad checksum, wrong length) is a decoy, not a generic secret.
 */
export const ownedPrefixes: string[] = [];

/**
 * Kubernetes Secrets keep values base64-encoded under `data:`; they are judged decoded (so that
 * `password: cGFzc3dvcmQ=`, base64 for `password`, is the placeholder it is). Undefined when the value is
 * not such an entry.
 */
function kubernetesSecretValue(a: Assignment, doc: SecretDoc): string | undefined {
  if (doc.kind !== 'yaml' || !/^[A-Za-z0-9+/]{4,}={0,2}$/.test(a.value) || a.value.length % 4 !== 0) return undefined;
  const head = doc.text.slice(Math.max(0, a.valueStart - 4096), a.valueStart);
  const kind = head.lastIndexOf('kind: Secret');
  if (kind < 0 || head.indexOf('\n---', kind) >= 0 || !/\ndata:\s*\n/.test(head.slice(kind)) || /\nstringData:\s*\n/.test(head.slice(kind))) return undefined;
  const decoded = decodeBase64(a.value)?.toString('latin1');
  return decoded !== undefined && /^[\x20-\x7e]+$/.test(decoded) ? decoded : undefined;
}

/** Values that are ciphertext or numbers, not secrets in clear: SOPS `ENC[AES256_GCM,…]`, Jasypt `ENC(…)`, `0x…` hex literals. */
const NOT_CLEARTEXT = /^(?:ENC\[[A-Z0-9_]{3,20},data:|ENC\(.{8,}\)$|\$ANSIBLE_VAULT;|0x[0-9A-Fa-f]{8,}$)/;

/** Lower-case words joined by `-`, `_`, `/` or `.`: a name or path in prose, not a credential. */
const PROSE_IDENTIFIER = /^[a-z]+(?:[-_/.][a-z]+)+$/;

/** True when the value sits under `encryptedData:` of a Bitnami SealedSecret (ciphertext only the cluster can open). */
function inSealedSecret(a: Assignment, doc: SecretDoc): boolean {
  if (doc.kind !== 'yaml') return false;
  const head = doc.text.slice(Math.max(0, a.valueStart - 8192), a.valueStart);
  const kind = head.lastIndexOf('kind: SealedSecret');
  return kind >= 0 && head.indexOf('\n---', kind) < 0 && head.indexOf('encryptedData:', kind) >= 0;
}

export const genericSecretRule = defineSecretRule({
  id: 'secrets/generic-secret',
  title: 'Hard-coded password or secret',
  description:
    'A literal value assigned to a secret-like name (`password`, `db_pass`, `api_key`, `client_secret`, `auth_token`, `SECRET_KEY`) ' +
    'in code, notebooks, `.env`, YAML, JSON, INI/TOML, shell, Dockerfiles and CI files, when no provider rule claims it. Names are ' +
    'judged by their words (`api_key_path`, `pad_token` and `max_tokens` are not secrets) and values by context (a string literal, ' +
    'not an environment lookup, function call or reference such as `${{ secrets.X }}` or `${oc.env:X}`) and by character ' +
    'statistics (length, entropy, character classes; placeholders are dropped). Random-looking values are medium severity; short or ' +
    'word-like passwords are low severity, low confidence.',
  severity: 'medium',
  confidence: 'medium',
  tags: [...tags('generic'), 'cwe:259'],
  remediation: 'Move the value to a secret store or environment variable and read it at run time; if the value was real, rotate it and remove it from git history.',
  messages: { found: 'Hard-coded {{what}} assigned to {{name}}.' },
  family: 'generic',
  priority: 1,
  assignment: (a, doc, mode) => {
    if (mode !== 'name') return undefined;
    const cls = classifyName(a.words);
    if (cls === undefined) return undefined;
    // Unquoted passwords in plain text and Markdown are document-style credentials: secrets/document-password judges them.
    if (cls === 'password' && doc.kind === 'text' && !a.quoted) return undefined;
    if (NOT_CLEARTEXT.test(a.value) || inSealedSecret(a, doc)) return undefined;
    const decoded = kubernetesSecretValue(a, doc);
    const value = decoded ?? a.value;
    // A decoded Secret value is not seen by the provider rules, so an owned prefix there is no decoy.
    if (decoded === undefined) for (const prefix of ownedPrefixes) if (value.startsWith(prefix)) return undefined;
    // Firebase Storage download URLs (`?alt=media&token=<uuid>`) carry a public download token, not a credential.
    if (a.name === 'token' && a.context.includes('alt=media&')) return undefined;
    const confidence = judgeValue(value, cls);
    if (confidence === undefined) return undefined;
    // In prose (comments, text in strings, Markdown) `token: something` is usually a sentence: values must look random,
    // and lower-case words joined by separators (`secrets/document-password`, `see-the-docs`) in prose or Markdown are
    // names, not secrets.
    if (a.prose && confidence === 'low') return undefined;
    if ((a.prose || doc.kind === 'text') && PROSE_IDENTIFIER.test(value)) return undefined;
    return {
      message: 'found',
      data: { what: WHAT[cls], name: safeName(a.name) },
      evidence: `${safeName(a.name)}=${a.value}`,
      ...(confidence === 'low' ? { confidence: 'low' as const, severity: 'low' as const } : {}),
    };
  },
  patterns: [],
  examples: () => {
    const f = new Fake(3131);
    return {
      positive: [
        { text: `DB_PASSWORD=${f.alnum(10)}#${f.alnum(4)}`, file: '.env' },
        { text: `db:\n  host: db.internal\n  password: "${f.alnum(12)}!"\n`, file: 'config.yaml' },
        { text: `{"client_secret": "${f.alnum(32)}"}`, file: 'oauth.json' },
        { text: `self.api_key = "${f.alnum(28)}"`, file: 'client.py' },
        { text: `[database]\npassword = ${f.alnum(9)}$${f.alnum(3)}\n`, file: 'settings.ini' },
        { text: `ENV SERVICE_TOKEN=${f.alnum(30)}`, file: 'Dockerfile' },
        { text: `curl -H "Authorization: Bearer ${f.alnum(40)}" https://api.internal/v1`, file: 'call.sh' },
        { text: `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: ${Buffer.from(`${f.alnum(12)}!`).toString('base64')}\n`, file: 'secret.yaml' },
      ],
      negative: [
        { text: 'DB_PASSWORD=${DB_PASSWORD}', file: '.env' },
        { text: 'env:\n  HF_TOKEN: ${{ secrets.HF_TOKEN }}\n', file: 'ci.yml' },
        { text: 'wandb:\n  api_key: ${oc.env:WANDB_API_KEY}\n', file: 'conf.yaml' },
        { text: 'api_key = os.environ["SERVICE_API_KEY"]', file: 'client.py' },
        // custody-ignore secrets/generic-secret -- this line is the rule's own negative example, seen here as TypeScript
        { text: 'Document-style credentials: `secrets/document-password` reports them.\n', file: 'secrets.md' },
        { text: 'password = getpass.getpass()', file: 'client.py' },
        { text: 'tokenizer.pad_token = "<pad>"\nmax_new_tokens = 512', file: 'gen.py' },
        { text: `api_key_path = "/etc/${f.alnum(20)}.json"`, file: 'client.py' },
        { text: 'password: changeme', file: 'config.yaml' },
        { text: `GITHUB_TOKEN=${f.badChecksum('ghp_')}`, file: '.env' },
        { text: `checksum_sha256 = "${f.hex(64)}"`, file: 'manifest.py' },
        { text: `db:\n  password: ENC[AES256_GCM,data:${f.alnum(16)},iv:${f.alnum(43)}=,type:str]\n`, file: 'secrets.enc.yaml' },
        { text: `datasource.password=ENC(${f.alnum(32)})`, file: 'application.properties' },
        { text: `kind: SealedSecret\nspec:\n  encryptedData:\n    PASSWORD: AgB${f.alnum(120)}==\n`, file: 'sealed.yaml' },
        { text: `password = "0x${f.hex(16)}"`, file: 'chain.py' },
        { text: `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: ${Buffer.from('changeme').toString('base64')}\n`, file: 'secret.yaml' },
      ],
    };
  },
});

/** Password words that start a document-style credential line (`Password: …`, `PW: …`, `Kennwort: …`). */
const DOC_WORDS = ['password', 'passwd', 'passwort', 'kennwort', 'passphrase', 'pwd', 'pw'];

/**
 * What may precede the password word on its line: list and quote markers, bold, up to two qualifier words
 * (`DB password`, `Admin PW`, `WIFI_`), or an earlier field of the same line (`Login: admin / Password: …`).
 */
const DOC_LEAD = /^(?:[ \t]{0,12}(?:(?:[-*+>|]|\d{1,2}[.)])[ \t]{1,4}){0,3}(?:\*\*|__)?(?:[A-Za-z]{2,16}[ _-]){0,2}|[^\n]{1,80}(?:[ \t][/|,;]|[/|,;])[ \t]{1,4}(?:\*\*|__)?(?:[A-Za-z]{2,16}[ _-]){0,1})$/;

/**
 * After the word: closing bold, `:` or `=`, an optional opening backtick, the value, its closing mark, the end of the line.
 * Quoted values (`password = "…"`) are code in a fence, left to the generic rule.
 */
const DOC_VALUE = /(?:\*\*|__)?[ \t]{0,3}[:=][ \t]{0,4}(?:\*\*|__)?[ \t]{0,2}(`)?([^\s`"']{1,100})\1?(?:\*\*|__)?[ \t]*(?=\r?\n|$)/y;

/** True when a value written after `Password:` in prose reads like a real password: 8 to 64 characters, mixed classes, not a placeholder. */
function looksLikeDocumentPassword(value: string): boolean {
  if (value.length < 8 || value.length > 64) return false;
  if (isPlaceholder(value) || isNonSecretValue(value)) return false;
  // Sentence ends and lists of options are prose: `required.`, `(optional)`, `a|b`.
  if (/^[([{].*[)\]}]$|[.,;:?)]$/.test(value)) return false;
  const c = charClasses(value);
  if (!(c.lower || c.upper) || !(c.digit || c.symbol)) return false;
  return c.count >= 3 || (value.length >= 12 && shannonEntropy(value) >= 3.2);
}

export const documentPasswordRule = defineSecretRule({
  id: 'secrets/document-password',
  title: 'Password written in a document',
  description:
    'A password written out in plain text, Markdown or a notebook\'s Markdown cell as a field of its own line: `Password: …`, ' +
    '`PW = …`, `- **DB password:** `…``, `Login: admin / Password: …`. Reported only when the value reads like a real password ' +
    '(8 to 64 characters, letters with digits or symbols, several character classes, not a placeholder such as `<your-password>`, ' +
    '`********` or `changeme`, and alone on the rest of the line, so sentences such as "Password: use your SSO password." stay quiet). ' +
    'READMEs and runbooks also describe passwords, so this rule is low severity and low confidence.',
  severity: 'low',
  confidence: 'low',
  tags: [...tags('generic'), 'cwe:259'],
  remediation:
    'If the password is real, change it, remove it from the document and from git history, and point readers to the secret store or ' +
    'password manager that holds it. If it is a documented default, say so and make the software require changing it.',
  messages: { found: 'Password written in a document ({{name}}).' },
  family: 'generic',
  priority: 2,
  detectors: [
    {
      keywords: DOC_WORDS,
      ignoreCase: true,
      find(doc, pos, keyword, emit) {
        if (doc.kind !== 'text') return;
        const { text } = doc;
        const after = pos + keyword.length;
        if (/[A-Za-z0-9]/.test(text[after] ?? '')) return;
        const nl = text.lastIndexOf('\n', pos - 1);
        const lineStart = nl + 1;
        if (pos - lineStart > 120 || !DOC_LEAD.test(text.slice(lineStart, pos))) return;
        DOC_VALUE.lastIndex = after;
        const m = DOC_VALUE.exec(text);
        if (!m) return;
        const value = m[2]!;
        if (!looksLikeDocumentPassword(value)) return;
        const start = m.index + m[0].indexOf(value, m[0].search(/[:=]/) + 1);
        const name = text.slice(pos, after);
        emit({ start, end: start + value.length, secret: value, message: 'found', data: { name: safeName(name) }, evidence: `${name}: ${value}` });
      },
    },
  ],
  patterns: [DOC_LEAD, DOC_VALUE],
  examples: () => {
    const f = new Fake(3232);
    return {
      positive: [
        { text: `# Staging box\n\nUser: mlops\nPassword: ${f.alnum(9)}#${f.alnum(2)}\n`, file: 'README.md' },
        { text: `wifi\nPW: ${f.alnum(10)}!4\n`, file: 'notes.txt' },
        { text: `- **DB password:** \`${f.alnum(8)}$3\`\n`, file: 'RUNBOOK.md' },
        { text: `Login: admin / Password: ${f.alnum(11)}9!\n`, file: 'handover.txt' },
      ],
      negative: [
        { text: 'Password: use your SSO password. Token: see the wiki.\n', file: 'README.md' },
        { text: 'The password: must be at least 8 characters long.\n', file: 'README.md' },
        { text: 'Password: <your-password>\nPW: ********\n', file: 'README.md' },
        { text: 'Password: changeme\n', file: 'README.md' },
        { text: 'Password: (required)\n', file: 'README.md' },
        { text: 'Password: hunter22\n', file: 'README.md' },
        { text: 'Password: see-the-vault\n', file: 'README.md' },
        { text: 'Reset your password: https://accounts.example.com/reset\n', file: 'README.md' },
        { text: `Password: ${f.alnum(9)}#${f.alnum(2)}\n`, file: 'config.yaml' },
      ],
    };
  },
});
