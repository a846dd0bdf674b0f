import type { Confidence } from '../../core/severity.js';
import type { NameClass } from './names.js';
import { isPlaceholder } from './placeholder.js';
import { charClasses, isHex, shannonEntropy } from './stats.js';

/**
 * Judges a value assigned to a secret-like name by its character statistics and shape. Returns the
 * confidence that it is a real secret, or undefined when it is not one (a placeholder, a reference,
 * a path, a number, an identifier).
 */

const NOT_A_SECRET = [
  /\s/, // prose, commands
  /^[0-9.+-]+$/, // numbers, versions
  /^(?:true|false|yes|no|on|off|null|none|nil|undefined|nan|required|optional|env|string|secret|str|int)$/i,
  /^(?:\/|\.\.?\/|~\/|[A-Za-z]:\\|\\\\)/, // paths
  /^[\w.-]+\.(?:json|ya?ml|txt|pem|key|crt|cer|der|p12|pfx|env|ini|cfg|conf|toml|csv|pkl|pt|bin|gpg|asc|enc|age|jks|keystore|py|sh|js|ts|md|log)$/i,
  /^[a-z][a-z0-9+.-]*:\/\//i, // URLs (credentials in URLs have their own rule)
  /^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i, // e-mail addresses
  /(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|org|net|io|ai|dev|cloud|internal|local)\b/i, // credential scopes naming an account (X-Goog-Credential)
  /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+(?:\(\))?$/, // dotted references: secrets.HF_TOKEN, cfg.api_key
  /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/, // environment variable names: OPENAI_API_KEY
  /^[a-z]+(?:[_-][a-z]+)+$/, // identifiers: my_db_password, prod-api-token
  /^(?:sha(?:1|256|384|512)|md5|blake2b?|sha3-\d+)[:-]/i, // digests
  /^(?:arn:aws|projects\/|vault:|secret:|ref\+|op:\/\/|akv:|gcp:|aws:|ssm:)/i, // secret-manager references
  /^(?:bearer|basic|token)$/i,
  /^\[[^\]]*\][*+?]?$|\\[dwsb]/, // regular-expression classes: [A-Za-z0-9_-], \d+
  /\|\||&&|=>|\bfunction\b|\breturn\b/, // code (minified scripts in notebook HTML outputs)
  /(?:^|[^A-Za-z])(?:test|tests|testing|fake|mock|mocked|dummy|stub|sample)(?:[^A-Za-z]|$)/i, // test fixtures: test-token-123, mock_key
];

export function isNonSecretValue(value: string): boolean {
  for (const re of NOT_A_SECRET) if (re.test(value)) return true;
  return false;
}

export function judgeValue(value: string, cls: NameClass): Confidence | undefined {
  if (isPlaceholder(value) || isNonSecretValue(value)) return undefined;
  const len = value.length;
  const classes = charClasses(value);
  const entropy = shannonEntropy(value);
  if (cls === 'password') {
    if (len < 6 || len > 200) return undefined;
    if (classes.count === 1 && (classes.digit || len < 8)) return undefined;
    if (len >= 8 && (classes.count >= 3 || (classes.count >= 2 && entropy >= 3))) return 'medium';
    return 'low';
  }
  if (len < 12 || len > 1024) return undefined;
  const hex = isHex(value);
  if (hex ? entropy < 2.8 : entropy < 3.0) return undefined;
  if (!classes.digit && !classes.symbol && !hex) {
    // letters only: words and identifiers (`EasyNegative`, a textual-inversion token), unless long and random
    return len >= 24 && entropy >= 3.8 ? 'low' : undefined;
  }
  if (len >= 16 && (hex ? entropy >= 3.2 : entropy >= 3.5)) return 'medium';
  return 'low';
}
