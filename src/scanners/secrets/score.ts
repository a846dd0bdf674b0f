import type { Confidence } from '../../core/severity.js';
import type { NameClass } from './names.js';
import { isPlaceholder } from './placeholder.js';
import { charClasses, isHex, isWordyText, shannonEntropy } from './stats.js';

/**
 * Judges a value assigned to a secret-like name by its character statistics and shape. Returns the
 * confidence that it is a real secret, or undefined when it is not one (a placeholder, a reference,
 * a path, a number, an identifier).
 */

const NOT_A_SECRET = [
  /\s/, // prose, commands
  /^[0-9.+-]+$/, // numbers, versions
  /^(?:true|false|yes|no|on|off|null|none|nil|undefined|nan|required|optional|env|string|secret|str|int|pass|passed|fail|failed|skip|skipped|unknown|auto|manual|hidden|masked|prompt|ask|input|interactive|random|generate|generated|unset|notset|disabled|enabled|blank|local|remote|file|bytes|object|any|text|varchar|char|password|token|bool|boolean|integer|number|float)$/i,
  /^(?:\/|\.\.?\/|~\/|[A-Za-z]:\\|\\\\)/, // paths
  /^[\w.-]+\.(?:json|ya?ml|txt|pem|key|crt|cer|der|p12|pfx|env|ini|cfg|conf|toml|csv|pkl|pt|bin|gpg|asc|enc|age|jks|keystore|py|sh|js|ts|md|log)$/i,
  /^(?:[\w-]+\/)+[\w.-]*[A-Za-z0-9]\.[a-z][a-z0-9]{0,5}$/, // relative paths to a file: keys/log.vkey, certs/server.crt
  /^[a-z][a-z0-9+.-]*:\/\//i, // URLs (credentials in URLs have their own rule)
  /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i, // e-mail addresses
  /(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|org|net|io|ai|dev|cloud|internal|local)\b/i, // credential scopes naming an account (X-Goog-Credential)
  /^[A-Za-z_][A-Za-z_]*[0-9]*(?:\.[A-Za-z_][A-Za-z_]*[0-9]*)+(?:\(\))?$/, // dotted references: secrets.HF_TOKEN, cfg.api_key, v1.key2
  /^(?:\\[xX][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\[nrt0\\])+$/, // escape sequences only: "\xff", "\n"
  /^@[./~]/, // read from a file: "@/dev/stdin", "@./secret.txt"
  /^[#@%&][a-z]{2,12}$/, // a directive or reference: #define, @user, %appdata
  /^[UAONCX][A-Z2-7]{55}$/, // NATS public NKeys (seeds start with S)
  /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/, // environment variable names: OPENAI_API_KEY
  /^(?:sha(?:1|256|384|512)|md5|blake2b?|sha3-\d+)[:-]/i, // digests
  // Password hashes, not passwords: crypt(3) and PHC strings ($2b$…, $6$…, $argon2id$…), LDAP {SSHA}, Django pbkdf2_sha256$…
  /^(?:\$(?:2[abxy]?|1|5|6|7|y|gy|apr1|md5|sha1|sha256|sha512|argon2(?:id|i|d)|pbkdf2(?:-sha(?:1|256|512))?|scrypt|bcrypt(?:-sha256)?)\$|\{(?:SSHA|SHA|SMD5|MD5|CRYPT|BCRYPT|PBKDF2|ARGON2|SSHA256|SSHA512|SHA256|SHA512)\}|(?:pbkdf2_sha(?:1|256)|bcrypt_sha256|bcrypt|argon2|scrypt)\$)/i,
  /^(?:arn:aws|projects\/|vault:|secret:|ref\+|op:\/\/|akv:|gcp:|aws:|ssm:|env:|file:|fd:)/i, // secret-manager, environment and file references
  /^(?:bearer|basic|token)$/i,
  /^\[[^\]]*\][*+?]?$|\\[dwsb]/, // regular-expression classes: [A-Za-z0-9_-], \d+
  /\|\||&&|=>|\bfunction\b|\breturn\b/, // code (minified scripts in notebook HTML outputs)
  /^(?:Get|Set|New|Read|ConvertTo|ConvertFrom|Import|Export|Invoke|Add|Remove|Select|Out|Write|Format|Test|Start|Stop)-[A-Z][A-Za-z]+$/, // PowerShell cmdlets: `$pw = Read-Host …`
  /(?:^|[^A-Za-z])(?:test|tests|testing|fake|mock|mocked|dummy|stub|sample)(?:[^A-Za-z]|$)/i, // test fixtures: test-token-123, mock_key
];

/** Lower-case words joined by `_` or `-`: an identifier (`my_db_password`, `prod-api-token`, `key_2`) when its words read as words. */
const IDENTIFIER = /^[a-z][a-z0-9]*(?:[_-](?:[a-z][a-z0-9]*|[0-9]{1,4}))+$/;

export function isNonSecretValue(value: string): boolean {
  for (const re of NOT_A_SECRET) if (re.test(value)) return true;
  if (IDENTIFIER.test(value) && isWordyText(value)) return true;
  return isNaturalLanguage(decodeUnicodeEscapes(value));
}

/** `\u00f1` and `\u{1F511}` escapes of a string literal decoded, so that an escaped word reads as the word (`Contrase\u00f1a`). */
function decodeUnicodeEscapes(value: string): string {
  if (!value.includes('\\u')) return value;
  return value.replace(/\\u(?:([0-9a-fA-F]{4})|\{([0-9a-fA-F]{1,6})\})/g, (whole, four: string | undefined, braced: string | undefined) => {
    const code = parseInt(four ?? braced ?? '', 16);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/**
 * Text in a natural language rather than a credential: a label translated into a script other than Latin
 * (`パスワード`, read here as UTF-8 bytes), or a word with accented letters (`Contraseña`, `Kennwörter`) and no digits.
 */
function isNaturalLanguage(value: string): boolean {
  let high = 0;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) >= 0x80) high++;
  if (high === 0) return false;
  if (high >= 2 && high * 2 >= value.length) return true;
  return !/[0-9]/.test(value) && isWordyText(value);
}

/**
 * How much the surroundings vouch for a value: `strong` for a literal assigned in code or config, a flag on a
 * command line, a SQL clause or a URL; `document` for prose (comments, Markdown, text files, strings of text),
 * where a value must look like a credential on its own.
 */
export type Strength = 'strong' | 'document';

/**
 * Judges a value for a name of class `cls`. With `strong` surroundings a literal is a credential unless it is a
 * placeholder or plainly something else: passwords from 4 characters (test fixtures and service defaults are
 * short), tokens and keys from 8 when they do not read as words. In `document` surroundings the value must look
 * like a credential by itself (see `judgeDocumentValue`).
 */
/** Verdicts by value, class and strength: several rules judge the same value of one assignment. */
const VERDICTS = new Map<string, Confidence | null>();
const VERDICT_LIMIT = 4096;

export function judgeValue(value: string, cls: NameClass, strength: Strength = 'strong'): Confidence | undefined {
  if (value.length > 1024) return undefined;
  const key = `${cls}\0${strength}\0${value}`;
  const known = VERDICTS.get(key);
  if (known !== undefined) return known ?? undefined;
  const verdict = strength === 'document' ? judgeDocumentValue(value, cls) : judgeStrongValue(value, cls);
  if (VERDICTS.size >= VERDICT_LIMIT) VERDICTS.clear();
  VERDICTS.set(key, verdict ?? null);
  return verdict;
}

function judgeStrongValue(value: string, cls: NameClass): Confidence | undefined {
  const len = value.length;
  if (cls === 'password' ? len < 4 || len > 200 : len < 6 || len > 1024) return undefined;
  if (isPlaceholder(value) || isNonSecretValue(value)) return undefined;
  const classes = charClasses(value);
  const entropy = shannonEntropy(value);
  if (cls === 'password') {
    if (len < 4 || len > 200) return undefined;
    if (classes.count === 1 && classes.digit) return undefined;
    if (len >= 8 && (classes.count >= 3 || (classes.count >= 2 && entropy >= 3))) return 'medium';
    return 'low';
  }
  const hex = isHex(value);
  if (hex ? entropy < (len < 16 ? 2.5 : 2.8) : entropy < (len < 12 ? 2.5 : 3.0)) return undefined;
  if (!classes.digit && !classes.symbol && !hex) {
    // Letters only: words and identifiers (`EasyNegative`, a textual-inversion token, `unbelievable`) are not
    // secrets; random letters are.
    if (isWordyText(value)) return len >= 24 && entropy >= 3.8 ? 'low' : undefined;
    return 'low';
  }
  // Below eight characters only random letters pass (above); digits and symbols that short are versions, ids, codes.
  if (len < 8) return undefined;
  if (len >= 16 && (hex ? entropy >= 3.2 : entropy >= 3.5)) return 'medium';
  return 'low';
}

/**
 * A value written in prose after `Password:`, `token=`, `Secret Key:`: it must look like a credential by itself.
 * Passwords 8 to 64 characters with letters and digits or symbols (three classes, or twelve characters of some
 * entropy); tokens and keys 12 characters or more with three classes, or 16 random-looking ones.
 */
export function judgeDocumentValue(value: string, cls: NameClass): Confidence | undefined {
  if (cls === 'password' ? value.length < 8 || value.length > 64 : value.length < 12 || value.length > 1024) return undefined;
  if (isPlaceholder(value) || isNonSecretValue(value)) return undefined;
  // Sentence ends and lists of options are prose: `required.`, `(optional)`, `a|b`.
  if (/^[([{].*[)\]}]$|[.,;:?)]$/.test(value)) return undefined;
  const len = value.length;
  // In prose a slash or a colon joins alternatives or a user and a password (`admin/secret`, `master:…`): not one credential.
  if (len < 24 && (value.includes('/') || value.includes(':'))) return undefined;
  // Lower-case words and numbers joined by separators are prose (`base64-encoded`, `utf-8`, `x86_64-linux`).
  if (/^[a-z0-9]+(?:[-_.][a-z0-9]+)+$/.test(value) && isWordyText(value)) return undefined;
  const c = charClasses(value);
  if (cls === 'password') {
    if (len < 8 || len > 64 || !(c.lower || c.upper) || !(c.digit || c.symbol)) return undefined;
    return c.count >= 3 || (len >= 12 && shannonEntropy(value) >= 3.2) ? 'medium' : undefined;
  }
  // Tokens have digits among their letters; `scope:transfer.api.example.org:all` is a name.
  if (len < 12 || len > 1024 || !c.digit || !(c.lower || c.upper)) return undefined;
  const entropy = shannonEntropy(value);
  if (c.count >= 3 && entropy >= 3.0) return 'medium';
  if (len >= 16 && (isHex(value) ? entropy >= 3.2 : entropy >= 3.5)) return 'medium';
  return undefined;
}
