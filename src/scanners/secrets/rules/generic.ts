import { decodeBase64 } from '../decode.js';
import { classifyName, type NameClass } from '../names.js';
import type { Assignment, SecretDoc } from '../types.js';
import { defineSecretRule } from '../define.js';
import { Fake } from '../fake.js';
import { judgeValue } from '../score.js';
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
    if (NOT_CLEARTEXT.test(a.value) || inSealedSecret(a, doc)) return undefined;
    const decoded = kubernetesSecretValue(a, doc);
    const value = decoded ?? a.value;
    // A decoded Secret value is not seen by the provider rules, so an owned prefix there is no decoy.
    if (decoded === undefined) for (const prefix of ownedPrefixes) if (value.startsWith(prefix)) return undefined;
    // Firebase Storage download URLs (`?alt=media&token=<uuid>`) carry a public download token, not a credential.
    if (a.name === 'token' && a.context.includes('alt=media&')) return undefined;
    const confidence = judgeValue(value, cls);
    if (confidence === undefined) return undefined;
    // In prose (comments, text in strings, Markdown) `token: something` is usually a sentence: values must look random.
    if (a.prose && confidence === 'low') return undefined;
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
