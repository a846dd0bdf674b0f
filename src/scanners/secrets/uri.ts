import { randomness } from './stats.js';
import type { SecretDoc } from './types.js';

/** A URI with a password in its userinfo: `scheme://user:password@host…`. */
export interface UriCredential {
  /** Lowercase scheme, driver suffix kept: `postgresql+psycopg2`. */
  readonly scheme: string;
  readonly user: string;
  readonly password: string;
  readonly host: string;
  readonly passwordStart: number;
  readonly passwordEnd: number;
  /** Offset of the scheme. */
  readonly start: number;
}

const MAX_SCHEME = 32;
const MAX_AUTHORITY = 512;

function isSchemeChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 43 || c === 46 || c === 45;
}

function endsAuthority(c: number): boolean {
  // whitespace, quotes, path and query, brackets that close an enclosing construct. `#` does not end it:
  // people write unencoded `#` in passwords, and a scanner should read what they meant.
  return c <= 32 || c === 34 || c === 39 || c === 96 || c === 47 || c === 63 || c === 60 || c === 62 || c === 92 || c === 41 || c === 125 || c === 59;
}

const HOST = /^[A-Za-z0-9._~%\-[\]:,]+$/;
const EMAIL_USER = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,128}\.[A-Za-z]{2,24}$/;

/** Parses the URI whose `://` is at `pos`; undefined when it carries no password. Bounded: 32 + 512 characters. */
export function parseUriCredential(doc: SecretDoc, pos: number): UriCredential | undefined {
  const { text } = doc;
  let s = pos;
  while (s > 0 && pos - s < MAX_SCHEME && isSchemeChar(text.charCodeAt(s - 1))) s--;
  if (s === pos) return undefined;
  const first = text.charCodeAt(s);
  if (!((first >= 97 && first <= 122) || (first >= 65 && first <= 90))) return undefined;
  const scheme = text.slice(s, pos).toLowerCase();
  const a = pos + 3;
  let e = a;
  const limit = Math.min(text.length, a + MAX_AUTHORITY);
  while (e < limit && !endsAuthority(text.charCodeAt(e))) e++;
  const authority = text.slice(a, e);
  const at = authority.lastIndexOf('@');
  if (at <= 0) return undefined;
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return undefined;
  const user = userinfo.slice(0, colon);
  const password = userinfo.slice(colon + 1);
  const host = authority.slice(at + 1);
  // A user may be an e-mail address (`smtps://me@example.com:…@smtp.example.com`); any other `@` is not userinfo.
  if (password.length === 0 || host.length === 0 || !HOST.test(host) || (user.includes('@') && !EMAIL_USER.test(user))) return undefined;
  return { scheme, user, password, host, passwordStart: a + colon + 1, passwordEnd: a + at, start: s };
}

/** Lowercase text just before the URI on its line (`mlflow_tracking_uri=`), at most 80 characters. */
export function uriLead(doc: SecretDoc, uri: UriCredential): string {
  const from = Math.max(0, uri.start - 80);
  const lead = doc.text.slice(from, uri.start);
  const nl = lead.lastIndexOf('\n');
  return (nl >= 0 ? lead.slice(nl + 1) : lead).toLowerCase();
}


/** The user part of a URI for evidence: shown when it reads like a user name, masked when it could be a key itself. */
export function safeUser(user: string): string {
  return user.length <= 24 && !(user.length >= 16 && randomness(user) > 0.8) ? user : '…';
}

/** A name for messages: clipped, and masked when it is long and random (a token mistaken for a name). */
export function safeName(name: string): string {
  // Identifiers have separators or readable words; a long mixed-case alphanumeric run without them may be a token.
  if (name.length >= 24 && !/[_.-]/.test(name) && /[0-9]/.test(name) && /[a-z]/.test(name) && /[A-Z]/.test(name) && randomness(name) > 0.85) {
    return '(a random-looking name)';
  }
  return name.length > 60 ? `${name.slice(0, 59)}…` : name;
}
