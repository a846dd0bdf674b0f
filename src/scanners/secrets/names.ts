/**
 * Names that hold secrets. A name is split into lowercase words (`WANDB_API_KEY` → wandb, api, key;
 * `clientSecret` → client, secret) and judged by its words, so that `api_key` is secret-like while
 * `api_key_path`, `pad_token` and `tokenizer` are not.
 */

export type NameClass = 'password' | 'token' | 'key' | 'secret' | 'auth' | 'credential';

/**
 * Splits an identifier into lowercase words on separators and camelCase boundaries: a word starts at a capital after
 * a lowercase letter or digit (`clientSecret`), at the last capital of a run followed by a lowercase letter (`APIKey`
 * → API, Key), and at trailing digits after a letter (`password1` → password, 1). One pass, no regular expressions:
 * it runs on every name a keyword hits, random-looking ones included.
 */
export function splitName(name: string): string[] {
  const words: string[] = [];
  const n = name.length;
  let i = 0;
  while (i < n) {
    while (i < n && charKind(name.charCodeAt(i)) === OTHER) i++;
    if (i >= n) break;
    let end = i;
    while (end < n && charKind(name.charCodeAt(end)) !== OTHER) end++;
    // Trailing digits of the part after a letter.
    let digits = end;
    while (digits > i && charKind(name.charCodeAt(digits - 1)) === DIGIT) digits--;
    const digitWord = digits > i && digits < end ? digits : -1;
    let wordStart = i;
    for (let k = i + 1; k < end; k++) {
      const prev = charKind(name.charCodeAt(k - 1));
      const cur = charKind(name.charCodeAt(k));
      const boundary =
        (cur === UPPER && (prev === LOWER || prev === DIGIT)) ||
        (cur === UPPER && prev === UPPER && k + 1 < end && charKind(name.charCodeAt(k + 1)) === LOWER) ||
        k === digitWord;
      if (boundary) {
        words.push(name.slice(wordStart, k).toLowerCase());
        wordStart = k;
      }
    }
    words.push(name.slice(wordStart, end).toLowerCase());
    i = end;
  }
  return words;
}

const OTHER = 0;
const LOWER = 1;
const UPPER = 2;
const DIGIT = 3;

function charKind(c: number): number {
  if (c >= 97 && c <= 122) return LOWER;
  if (c >= 65 && c <= 90) return UPPER;
  if (c >= 48 && c <= 57) return DIGIT;
  return OTHER;
}

/** Single words that name a secret on their own. */
const SECRET_WORDS: Readonly<Record<string, NameClass>> = {
  password: 'password',
  passwd: 'password',
  pwd: 'password',
  passphrase: 'password',
  passwort: 'password',
  // Abbreviations and misspellings seen in shell and legacy configs (`X3_PSWD`, `PASWD`, `PSSWRD`).
  pswd: 'password',
  psswd: 'password',
  pswrd: 'password',
  psswrd: 'password',
  paswd: 'password',
  paswrd: 'password',
  pasword: 'password',
  psword: 'password',
  pssword: 'password',
  passwrd: 'password',
  secret: 'secret',
  clientsecret: 'secret',
  token: 'token',
  apitoken: 'token',
  accesstoken: 'token',
  authtoken: 'token',
  refreshtoken: 'token',
  bearer: 'token',
  apikey: 'key',
  accesskey: 'key',
  secretkey: 'key',
  privatekey: 'key',
  credential: 'credential',
  credentials: 'credential',
  creds: 'credential',
  authorization: 'auth',
  auth: 'auth',
  // curl's CURLOPT_USERPWD / CURLOPT_PROXYUSERPWD and their command-line kin hold `user:password`.
  userpwd: 'password',
  // OAuth 1 `oauth_verifier` and PKCE `code_verifier` are secrets of the exchange they belong to.
  verifier: 'token',
  // NATS NKeys (`nkey`, `nkey_seed`): the seed is the private key.
  nkey: 'key',
};

/** Words before `key` that make it a secret key (`api_key`, `access_key`, `signing_key`). */
const KEY_QUALIFIERS = new Set([
  'api',
  'access',
  'secret',
  'private',
  'auth',
  'signing',
  'encryption',
  'master',
  'client',
  'app',
  'application',
  'account',
  'license',
  'licence',
  'service',
  'subscription',
  'storage',
  'admin',
  'shared',
  'webhook',
  'consumer',
  'personal',
  'hmac',
  'jwt',
  'session',
  'deploy',
  'x',
  'authentication',
  'encrypt',
  'decryption',
  'decrypt',
  'crypto',
  'cipher',
  'aes',
  'root',
  'rsa',
  'ssh',
  'gpg',
  'pgp',
  'tls',
  'ssl',
  'server',
  'sign',
  'signature',
  'token',
  'oauth',
  'bot',
  'project',
  'org',
  'organization',
  'user',
  'developer',
  'ingest',
  'write',
  'unlock',
  'recovery',
  'wallet',
  'partner',
  'merchant',
  'tenant',
]);

/**
 * Words glued before `pass`/`pw`/`pwd` that make one word a password (`DBPASS`, `SMTPPWD`), unlike `bypass`,
 * `renderpass` or `compass`.
 */
const PASS_QUALIFIERS = new Set([
  'db', 'database', 'user', 'admin', 'root', 'smtp', 'mail', 'email', 'ftp', 'sftp', 'ssh', 'redis', 'mysql', 'postgres', 'pg', 'ldap',
  'proxy', 'basic', 'login', 'account', 'service', 'app', 'api', 'vpn', 'wifi', 'key', 'keystore', 'truststore', 'master', 'sudo',
  'rabbit', 'rabbitmq', 'mongo', 'amqp', 'broker', 'http', 'auth', 'client', 'registry', 'docker', 'my', 'sf', 'snowflake', 'mlflow',
]);

/**
 * Words before a separate `pass`/`pw` that make it something else than a password: passes of an algorithm
 * (`forward_pass`, `second_pass`, `render_pass`), build and test steps (`lint_pass`), counts (`num_pass`).
 */
const NOT_PASSWORD_QUALIFIERS = new Set([
  'forward', 'backward', 'fwd', 'bwd', 'first', 'second', 'third', 'final', 'last', 'next', 'prev', 'previous', 'single', 'multi',
  'one', 'two', 'three', 'render', 'shadow', 'light', 'lighting', 'blur', 'post', 'pre', 'compile', 'build', 'lint', 'check',
  'test', 'tests', 'unit', 'e2e', 'ci', 'train', 'eval', 'val', 'valid', 'inference', 'epoch', 'data', 'loop', 'num', 'n',
  'total', 'max', 'min', 'count', 'high', 'low', 'band', 'all', 'by', 'no', 'skip', 'full', 'partial', 'extra', 'hall', 'boarding',
  'bus', 'day', 'season', 'mountain', 'free', 'fail', 'must', 'can', 'should', 'will', 'did', 'does', 'to', 'or', 'and',
]);

/** Last words that make the name describe a secret rather than hold it (`token_path`, `password_file`). */
const META_SUFFIXES = new Set([
  'name', 'names', 'id', 'ids', 'path', 'paths', 'file', 'files', 'filename', 'dir', 'directory', 'url', 'uri', 'urls',
  'endpoint', 'host', 'hostname', 'port', 'type', 'types', 'kind', 'len', 'length', 'size', 'count', 'format', 'env', 'envvar',
  'var', 'variable', 'field', 'fields', 'header', 'prefix', 'suffix', 'regex', 'pattern', 'template', 'policy', 'version',
  'mode', 'enabled', 'enable', 'disabled', 'required', 'expiry', 'expires', 'expiration', 'expire', 'ttl', 'timeout', 'limit',
  'max', 'min', 'num', 'number', 'hash', 'hashed', 'digest', 'ref', 'reference', 'arn', 'label', 'description', 'desc', 'hint',
  'placeholder', 'example', 'location', 'provider', 'source', 'store', 'manager', 'class', 'module', 'scope', 'scopes',
  'usage', 'index', 'idx', 'position', 'pos', 'ids', 'list', 'map', 'mapping', 'dict', 'schema', 'key', 'keys', 'config',
  'cfg', 'settings', 'option', 'options', 'flag', 'param', 'parameter', 'method', 'strategy', 'kwargs', 'args', 'policy',
  'rotation', 'exists', 'set', 'present', 'valid', 'validator', 'validation', 'input', 'prompt', 'field', 'widget', 'form',
  'lifetime', 'age', 'length', 'ids', 'fingerprint', 'algorithm', 'alg', 'salt', 'rounds', 'cost', 'strength', 'mask',
  'embedding', 'embeddings', 'dim', 'dims', 'dimension', 'vocab', 'budget', 'usage', 'counter', 'hook', 'callback', 'handler',
  'fn', 'func', 'function', 'cls', 'service', 'store', 'backend', 'secrets', 'tokens', 'passwords',
]);

/** First words that make the name a function, flag or count rather than a value (`get_token`, `max_tokens`, `is_secret`). */
const META_PREFIXES = new Set([
  'get', 'set', 'is', 'has', 'use', 'should', 'validate', 'check', 'verify', 'generate', 'create', 'load', 'read', 'fetch',
  'parse', 'require', 'requires', 'max', 'min', 'num', 'n', 'total', 'show', 'hide', 'print', 'mask', 'masked', 'hash', 'hashed',
  'encrypt', 'decrypt', 'encode', 'decode', 'rotate', 'revoke', 'forgot', 'reset', 'confirm', 'enable', 'disable',
  // User-interface text and messages about a secret (`LABEL_PASSWORD`, `MSG_INVALID_TOKEN`, `error_password`): translations, not values.
  'label', 'lbl', 'msg', 'message', 'messages', 'text', 'txt', 'title', 'caption', 'tooltip', 'hint', 'error', 'err', 'errors',
  'warning', 'warn', 'btn', 'button', 'menu', 'heading', 'i18n', 'l10n', 'translation', 'help', 'info', 'notice', 'alert', 'invalid',
  'wrong', 'incorrect', 'missing', 'empty', 'blank', 'placeholder', 'tip', 'desc', 'description', 'aria', 'tab', 'page', 'dialog',
  // References to a secret kept elsewhere: Helm's `existingSecret`, `externalSecret`.
  'existing', 'external',
]);

/** Words before `token` in tokenizer and chat-template vocabulary (`pad_token`, `eos_token`, `image_token`). */
const VOCAB_TOKEN_QUALIFIERS = new Set([
  'pad', 'eos', 'bos', 'unk', 'sep', 'cls', 'mask', 'special', 'start', 'end', 'stop', 'image', 'img', 'audio', 'video',
  'vision', 'tool', 'think', 'placeholder', 'added', 'additional', 'extra', 'sentinel', 'begin', 'eot', 'im', 'boundary',
  'fim', 'eom', 'prefix', 'suffix', 'middle', 'newline', 'space', 'blank', 'dummy', 'label', 'target', 'patch', 'frame',
  'latent', 'register', 'reasoning', 'pause', 'sos', 'mlm', 'masked', 'predicted', 'generated', 'vocab', 'num', 'max', 'min',
]);

/** Endings of unseparated names that hold a secret (`PGPASSWORD`, `DBSECRET`, `MYAPIKEY`). */
const SECRET_ENDINGS: readonly [string, NameClass][] = [
  ['password', 'password'],
  ['passwd', 'password'],
  ['secret', 'secret'],
  ['apikey', 'key'],
  ['apitoken', 'token'],
  ['accesstoken', 'token'],
  ['authtoken', 'token'],
  ['secretkey', 'key'],
  ['privatekey', 'key'],
  ['accesskey', 'key'],
];

/**
 * Classifies a name by its words; undefined when the name does not hold a secret. `pass` counts only as
 * the last of several words (`db_pass`), `key` only after a qualifier (`api_key`, not `sort_key`).
 */
export function classifyName(allWords: readonly string[]): NameClass | undefined {
  // Numbered names hold the same thing: `password1`, `password2`, `api_key_2`.
  let end = allWords.length;
  while (end > 1 && /^\d+$/.test(allWords[end - 1]!)) end--;
  const words = end === allWords.length ? allWords : allWords.slice(0, end);
  const n = words.length;
  if (n === 0 || n > 10) return undefined;
  const last = words[n - 1]!;
  const first = words[0]!;
  if (META_SUFFIXES.has(last) && last !== 'key') return undefined;
  if (n > 1 && META_PREFIXES.has(first)) return undefined;
  // Public material is not secret: .NET `PublicKeyToken`, `public_key`, Plaid-style `public_token`.
  if (words.includes('public')) return undefined;
  // A bare `pass` or `pw` (`pass: …`, `PW=…`) is a password field; `pass` alone as a statement never reaches here.
  if (n === 1 && (first === 'pass' || first === 'pw')) return 'password';
  let found: NameClass | undefined;
  for (let i = 0; i < n; i++) {
    const w = words[i]!;
    const direct = SECRET_WORDS[w] ?? endingClass(w) ?? misspeltPassword(w);
    if (direct !== undefined) {
      if (direct === 'auth' && i !== n - 1) {
        // `auth_token`, `auth_key` are classified by the following word; `auth_url` is not a secret.
        continue;
      }
      if (direct === 'token' && i > 0 && VOCAB_TOKEN_QUALIFIERS.has(words[i - 1]!)) return undefined;
      found = direct === 'credential' && found !== undefined ? found : direct;
      continue;
    }
    if (w === 'key' && i > 0 && KEY_QUALIFIERS.has(words[i - 1]!)) found = 'key';
    else if ((w === 'pass' || w === 'pw') && i === n - 1 && n > 1 && !NOT_PASSWORD_QUALIFIERS.has(words[i - 1]!) && !/^\d+$/.test(words[i - 1]!)) found = 'password';
  }
  if (found === undefined) return undefined;
  // A secret word must be the last word or be followed only by secret words (`secret_key`, `token_value`).
  if (SECRET_WORDS[last] === undefined && endingClass(last) === undefined && misspeltPassword(last) === undefined && last !== 'key' && last !== 'pass' && last !== 'pw' && last !== 'value' && last !== 'string' && last !== 'str' && last !== 'seed') {
    return undefined;
  }
  return found;
}

/**
 * Misspellings and abbreviations of `password` seen in real configs (`passwrd`, `pasword`, `passworsd`, `pswd`, `psswrd`):
 * a word that starts like `passw`/`pasw`/`pssw`/`psw` and stops within five more letters. `passwords` (a collection)
 * and `passwordless` are not.
 */
function misspeltPassword(word: string): NameClass | undefined {
  return /^(?:passw|pasw|pssw|psw)[a-z]{0,5}$/.test(word) && word !== 'passwords' ? 'password' : undefined;
}

function endingClass(word: string): NameClass | undefined {
  if (word.length > 24) return undefined;
  for (const [ending, cls] of SECRET_ENDINGS) if (word.length > ending.length && word.endsWith(ending)) return cls;
  // `MYSQLPASS`, `DBPASS`, `SMTPPWD`: a password qualifier glued to `pass`/`pw`/`pwd` (never `bypass`, `renderpass`).
  const glued = /^([a-z]{2,12}?)(?:pass|pwd|pw)$/.exec(word);
  if (glued && PASS_QUALIFIERS.has(glued[1]!)) return 'password';
  return undefined;
}

/** True when any of `words` (or their concatenation) mentions one of `providers`. */
export function mentions(words: readonly string[], providers: readonly string[]): boolean {
  for (const w of words) if (providers.includes(w)) return true;
  return false;
}
