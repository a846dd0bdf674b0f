import { indexWithin } from '../assign.js';
import { decodeBase64 } from '../decode.js';
import { classifyName, type NameClass } from '../names.js';
import type { Assignment, ScanDoc } from '../types.js';
import { defineSecretRule } from '../define.js';
import { B64, Fake } from '../fake.js';
import { isPlaceholder } from '../placeholder.js';
import { isNonSecretValue, judgeDocumentValue, judgeValue } from '../score.js';
import { charClasses, shannonEntropy } from '../stats.js';
import { COMMAND_DETECTORS, COMMAND_PATTERNS } from './command-line.js';
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
function kubernetesSecretValue(a: Assignment, doc: ScanDoc): string | undefined {
  if (doc.kind !== 'yaml' || !/^[A-Za-z0-9+/]{4,}={0,2}$/.test(a.value) || a.value.length % 4 !== 0) return undefined;
  const floor = Math.max(0, a.valueStart - 4096);
  const kind = doc.index.prevIndex('kind: Secret', a.valueStart, floor);
  if (kind < 0 || doc.index.prevIndex('\n---', a.valueStart, kind) >= 0) return undefined;
  if (!blockKeyBetween(doc, '\ndata:', kind, a.valueStart) || blockKeyBetween(doc, '\nstringData:', kind, a.valueStart)) return undefined;
  const decoded = decodeBase64(a.value)?.toString('latin1');
  return decoded !== undefined && /^[\x20-\x7e]+$/.test(decoded) ? decoded : undefined;
}

/** True when a YAML block key (`\ndata:` followed by a line break) starts in [from, before). */
function blockKeyBetween(doc: ScanDoc, key: string, from: number, before: number): boolean {
  const at = doc.index.prevIndex(key, before, from);
  return at >= 0 && /^[ \t]*\r?\n/.test(doc.text.slice(at + key.length, at + key.length + 16));
}

/** Values that are ciphertext or numbers, not secrets in clear: SOPS `ENC[AES256_GCM,…]`, Jasypt `ENC(…)`, `0x…` hex literals. */
const NOT_CLEARTEXT = /^(?:ENC\[[A-Z0-9_]{3,20},data:|ENC\(.{8,}\)$|\$ANSIBLE_VAULT;|0x[0-9A-Fa-f]{8,}$)/;

/** Lower-case words joined by `-`, `_`, `/` or `.`: a name or path in prose, not a credential. */
const PROSE_IDENTIFIER = /^[a-z]+(?:[-_/.][a-z]+)+$/;

/** True when the value sits under `encryptedData:` of a Bitnami SealedSecret (ciphertext only the cluster can open). */
function inSealedSecret(a: Assignment, doc: ScanDoc): boolean {
  if (doc.kind !== 'yaml') return false;
  const kind = doc.index.prevIndex('kind: SealedSecret', a.valueStart, Math.max(0, a.valueStart - 8192));
  return kind >= 0 && doc.index.prevIndex('\n---', a.valueStart, kind) < 0 && doc.index.prevIndex('encryptedData:', a.valueStart, kind) >= 0;
}

/** A bare `key` holds a secret only when the value is random: mixed case and digits, 20 characters or more, high entropy. */
function judgeBareKey(value: string): 'medium' | undefined {
  if (value.length < 20 || value.length > 512 || !/^[A-Za-z0-9+/=_-]+$/.test(value) || isPlaceholder(value) || isNonSecretValue(value)) return undefined;
  const c = charClasses(value);
  return c.lower && c.upper && c.digit && shannonEntropy(value) >= 3.8 ? 'medium' : undefined;
}

/** A user-name field on the same line (`user: bob, password: bob`): a password equal to it is a stand-in. */
const USER_FIELD = /(?:^|[^A-Za-z])(?:user(?:_?name)?|login|uid|account)["']?[ \t]*[:=][ \t]*["']?([^\s"',;}\]]{1,64})/gi;

function sameAsUser(a: Assignment, doc: ScanDoc): boolean {
  if (a.value.length > 64) return false;
  const start = doc.index.lineStart(a.valueStart, 256);
  const nl = indexWithin(doc.text, '\n', a.valueEnd, 256);
  const line = doc.text.slice(start, nl < 0 ? Math.min(doc.text.length, a.valueEnd + 256) : nl);
  USER_FIELD.lastIndex = 0;
  for (let m = USER_FIELD.exec(line); m !== null; m = USER_FIELD.exec(line)) if (m[1] === a.value) return true;
  return false;
}

export const genericSecretRule = defineSecretRule({
  id: 'secrets/generic-secret',
  title: 'Hard-coded password or secret',
  description:
    'A literal value assigned to a secret-like name (`password`, `db_pass`, `api_key`, `client_secret`, `auth_token`, `SECRET_KEY`) ' +
    'in code, notebooks, `.env`, YAML, JSON, INI/TOML, XML, shell, Dockerfiles, CI files and logs, when no provider rule claims it: ' +
    'assignments and fields, command-line flags (`--password …`, `gpg --passphrase …`, `openssl -passin pass:…`, `curl -u user:…`, ' +
    '`ConvertTo-SecureString …`, `mysql -p…`), setter and option calls (`setPassword("…")`, `curl_easy_setopt(c, CURLOPT_PASSWORD, "…")`), ' +
    'lookup fallbacks (`getenv("X", "…")`), comparisons, SQL (`IDENTIFIED BY \'…\'`, `WITH PASSWORD \'…\'`), `#define`, XML elements ' +
    'and HTTP basic credentials built in code. Names are judged by their words (`api_key_path`, `pad_token` and `max_tokens` are not ' +
    'secrets) and values by context (a literal, not an environment lookup, function call or reference such as `${{ secrets.X }}` or ' +
    '`${oc.env:X}`) and by character statistics (placeholders, hashes and words are dropped). Random-looking values are medium ' +
    'severity; short or word-like ones are low severity, low confidence.',
  severity: 'medium',
  confidence: 'medium',
  tags: [...tags('generic'), 'cwe:259'],
  remediation: 'Move the value to a secret store or environment variable and read it at run time; if the value was real, rotate it and remove it from git history.',
  messages: { found: 'Hard-coded {{what}} assigned to {{name}}.', command: 'Hard-coded {{what}} on a command line ({{name}}).' },
  family: 'generic',
  priority: 1,
  detectors: COMMAND_DETECTORS,
  assignment: (a, doc, mode) => {
    if (mode !== 'name') return undefined;
    const bareKey = a.words.length === 1 && a.words[0] === 'key';
    const cls = bareKey ? 'key' : classifyName(a.words);
    if (cls === undefined) return undefined;
    if (NOT_CLEARTEXT.test(a.value) || inSealedSecret(a, doc)) return undefined;
    const decoded = kubernetesSecretValue(a, doc);
    const value = decoded ?? a.value;
    // A decoded Secret value is not seen by the provider rules, so an owned prefix there is no decoy.
    if (decoded === undefined) for (const prefix of ownedPrefixes) if (value.startsWith(prefix)) return undefined;
    // Firebase Storage download URLs (`?alt=media&token=<uuid>`) carry a public download token, not a credential.
    if (a.name === 'token' && a.context.includes('alt=media&')) return undefined;
    const confidence = bareKey ? (a.prose ? undefined : judgeBareKey(value)) : judgeValue(value, cls, a.prose ? 'document' : 'strong');
    if (confidence === undefined) return undefined;
    // Lower-case words joined by separators in prose or Markdown (`secrets/document-password`, `see-the-docs`) are names.
    if ((a.prose || doc.kind === 'text') && PROSE_IDENTIFIER.test(value)) return undefined;
    if (cls === 'password' && sameAsUser(a, doc)) return undefined;
    return {
      message: 'found',
      data: { what: WHAT[cls], name: safeName(a.name) },
      evidence: `${safeName(a.name)}=${a.value}`,
      ...(confidence === 'low' ? { confidence: 'low' as const, severity: 'low' as const } : {}),
    };
  },
  patterns: COMMAND_PATTERNS,
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
        { text: `docker run -e POSTGRES_PASSWORD=${f.alnum(12)}7 postgres:16`, file: 'notes.txt' },
        { text: `gpg --batch --passphrase ${f.alnum(11)}4 --decrypt weights.tar.gpg`, file: 'restore.sh' },
        { text: `curl -u admin:${f.alnum(10)}3 https://registry.internal/v2/`, file: 'notes.md' },
        { text: `CREATE USER etl WITH PASSWORD '${f.alnum(12)}';`, file: 'init.sql' },
        { text: `ALTER USER 'app'@'%' IDENTIFIED BY '${f.alnum(12)}';`, file: 'grants.sql' },
        { text: `cfg.setPassword("${f.alnum(12)}9");`, file: 'Config.java' },
        { text: `curl_easy_setopt(curl, CURLOPT_PASSWORD, "${f.alnum(14)}");`, file: 'fetch.c' },
        { text: `System.setProperty("javax.net.ssl.keyStorePassword", "${f.alnum(12)}");`, file: 'Main.java' },
        { text: `PASSWORD = os.environ.get("PASSWORD") or "${f.alnum(10)}!1"`, file: 'settings.py' },
        { text: `#define DB_PASSWORD "${f.alnum(12)}"`, file: 'config.h' },
        { text: `$pass = ConvertTo-SecureString "${f.alnum(12)}~4" -AsPlainText -Force`, file: 'deploy.ps1' },
        { text: `openssl genrsa -aes256 -passout pass:${f.alnum(10)} -out ca-key.pem 4096`, file: 'Dockerfile' },
        { text: `<add key="DbPassword" value="${f.alnum(12)}" />`, file: 'web.config' },
        { text: `if password == "${f.alnum(10)}":`, file: 'auth.py' },
        { text: `"refresh_token": "${f.alnum(40)}",`, file: 'fixture.json' },
        { text: `var dbPassword string = "${f.alnum(12)}"`, file: 'main.go' },
        { text: `$password .= '${f.alnum(12)}';`, file: 'db.php' },
        { text: `DB_PASSWORD ::= ${f.alnum(12)}`, file: 'Makefile' },
        { text: `headers = {"Authorization": "Basic " + base64.b64encode(b"svc:${f.alnum(12)}").decode()}`, file: 'client.py' },
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
        // Hashes of passwords, translated labels, .NET assembly tokens and Windows-style templates are not secrets.
        { text: `password: $2b$12$${f.chars(B64, 53).replace(/[+]/g, '.')}`, file: 'users.yaml' },
        { text: '"LABEL_PASSWORD": "\u30d1\u30b9\u30ef\u30fc\u30c9",\n"MSG_TOKEN_EXPIRED": "Das Token ist abgelaufen"', file: 'ja.json' },
        { text: '"password": "Contrase\u00f1a"', file: 'src/locales/es.json' },
        { text: '<add assembly="System.Web, Version=4.0.0.0, Culture=neutral, PublicKeyToken=b03f5f7f11d50a3a" />', file: 'web.config' },
        { text: 'set DB_PASSWORD=%DB_PASSWORD%\nset API_TOKEN=%VAULT_PREFIX%_token', file: 'run.bat' },
        { text: '--user master --pass ' + `${f.alnum(9)}!`, file: 'notes.txt' },
        { text: '{user: alice, password: alice}', file: 'accounts.conf' },
        { text: 'openssl req -new -passin env:CA_PASS -key ca-key.pem', file: 'Dockerfile' },
        { text: 'Password: must be at least 8 characters', file: 'README.md' },
        { text: `cache.set(key="${f.hex(40)}")`, file: 'x.py' },
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
  return judgeDocumentValue(value, 'password') !== undefined;
}

export const documentPasswordRule = defineSecretRule({
  id: 'secrets/document-password',
  title: 'Password written in a document',
  description:
    'A password written out in plain text, Markdown or a notebook\'s Markdown cell as a field of its own line: `Password: …`, ' +
    '`PW = …`, `- **DB password:** `…``, `Login: admin / Password: …`, and fields inside a line (`ID:admin PW:…`, ' +
    '`user=svc,password=…`, `(pw:…)`). Reported only when the value reads like a real password ' +
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
        const lineStart = doc.index.lineStart(pos, 121);
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
  // Fields of a line in a document (`id:admin pw:…`, `user=admin,password=…`, `(pw:…)`, `-Password:…`), read by the assignment parser.
  assignment: (a, doc, mode) => {
    if (mode !== 'name' || doc.kind !== 'text' || !a.prose || a.quoted || classifyName(a.words) !== 'password') return undefined;
    if (!looksLikeDocumentPassword(a.value) || sameAsUser(a, doc)) return undefined;
    return { message: 'found', data: { name: safeName(a.name) }, evidence: `${safeName(a.name)}: ${a.value}` };
  },
  patterns: [DOC_LEAD, DOC_VALUE],
  examples: () => {
    const f = new Fake(3232);
    return {
      positive: [
        { text: `# Staging box\n\nUser: mlops\nPassword: ${f.alnum(9)}#${f.alnum(2)}\n`, file: 'README.md' },
        { text: `wifi\nPW: ${f.alnum(10)}!4\n`, file: 'notes.txt' },
        { text: `- **DB password:** \`${f.alnum(8)}$3\`\n`, file: 'RUNBOOK.md' },
        { text: `Login: admin / Password: ${f.alnum(11)}9!\n`, file: 'handover.txt' },
        { text: `staging: ID:mlops PW:${f.alnum(10)}#4\n`, file: 'access.txt' },
        { text: `ssh ml@10.0.0.4 (pw:${f.alnum(9)}!2)\n`, file: 'notes' },
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
        { text: `Password:admin/${f.alnum(9)}#2\n`, file: 'notes.txt' },
        { text: `user:${'Zq9'.repeat(3)}!x password:${'Zq9'.repeat(3)}!x\n`, file: 'notes.txt' },
        { text: `M[@%]PW:${f.alnum(9)}#2\n`, file: 'blob.txt' },
      ],
    };
  },
});
