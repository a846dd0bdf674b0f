import { classifyName, splitName } from './names.js';
import type { Assignment, SecretDoc } from './types.js';

/**
 * Finds the assignment around a keyword hit: `NAME = "value"`, `NAME: value`, `"name": "value"`,
 * `NAME=value` (.env, shell), `ENV NAME value` (Dockerfile), `--name value` (flags), `password value`
 * (.netrc), `environ["NAME"] = "value"`, `getenv("NAME", "default")`, `name="value"` (keyword
 * arguments) and `"Authorization: Bearer value"` (headers in strings). Every scan is bounded: names to
 * 128 characters, values to 1024, look-behind for context to 2048.
 */

const MAX_NAME = 128;
const MAX_VALUE = 512;
const MAX_CONTEXT = 2048;

function isNameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 46;
}

function isQuote(c: number): boolean {
  return c === 34 || c === 39 || c === 96;
}

const SPACE = 32;
const TAB = 9;
const NL = 10;
const CR = 13;
const BACKSLASH = 92;

/** Last index of `needle` that starts in [floor, before); -1 if none. Bounded: never scans below `floor`. */
export function lastIndexWithin(text: string, needle: string, before: number, floor: number): number {
  const from = Math.max(0, floor);
  const at = text.slice(from, Math.max(from, before)).lastIndexOf(needle);
  return at < 0 ? -1 : from + at;
}

/** First index of `needle` that starts in [from, from + span); -1 if none. Bounded: never scans past the span. */
export function indexWithin(text: string, needle: string, from: number, span: number): number {
  const at = text.slice(from, from + span + needle.length - 1).indexOf(needle);
  return at < 0 ? -1 : from + at;
}

function lineStartOf(text: string, pos: number, limit: number): number {
  const floor = Math.max(0, pos - limit);
  const nl = lastIndexWithin(text, '\n', pos, floor);
  return nl < 0 ? floor : nl + 1;
}

function skipBlanks(text: string, pos: number): number {
  let p = pos;
  while (p < text.length) {
    const c = text.charCodeAt(p);
    if (c !== SPACE && c !== TAB) break;
    p++;
  }
  return p;
}

/** True when the line prefix has an odd number of unescaped `quote` characters (we are inside a string). */
function insideString(prefix: string, quote: number): boolean {
  let odd = false;
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === quote) odd = !odd;
  }
  return odd;
}

/** Language keywords and CLI verbs that may precede a name on a line in shell-like files. */
const SHELL_LINE = /^\s*(?:export\s+|ENV\s+|ARG\s+|set\s+|setx\s+|%env\s+|%set_env\s+|!export\s+|!|\$env:|declare\s+(?:-x\s+)?|readonly\s+|local\s+)/i;

/** A `(user, password)` pair of string literals, bare or passed to requests' `HTTPBasicAuth`/`HTTPDigestAuth`. */
const BASIC_AUTH_PAIR = /^(?:(?:requests\.auth\.)?HTTP(?:Basic|Digest)Auth)?\([ \t]*(["'])[^"'\n\\]{0,128}\1[ \t]*,[ \t]*(["'])([^"'\n\\]{1,256})\2/;

/** Notebook magics and shell escapes in code cells. */
const MAGIC_LINE = /^\s*(?:!|%env\s|%set_env\s)/;
/** A line (before the name) that is a comment. */
const COMMENT_LINE = /^\s*(?:\/\/|#(?!!)|\*|\/\*|<!--|--\s|;|rem\s)|\s(?:\/\/|#)\s/i;

export function findAssignment(doc: SecretDoc, hit: number): Assignment | undefined {
  const { text } = doc;
  // 1. The name around the hit.
  let left = hit;
  while (left > 0 && isNameChar(text.charCodeAt(left - 1))) {
    left--;
    if (hit - left > MAX_NAME) return undefined;
  }
  let right = hit;
  while (right < text.length && isNameChar(text.charCodeAt(right))) {
    right++;
    if (right - hit > MAX_NAME) return undefined;
  }
  // Names do not end with a dot (`password.` ends a sentence).
  while (right > left && text.charCodeAt(right - 1) === 46) right--;
  let before = left > 0 ? text.charCodeAt(left - 1) : -1;
  // In JSON-escaped text a name may follow an escape (`\npassword = …`): the escape letter is not part of it.
  if (before === BACKSLASH && (text.charCodeAt(left) === 110 || text.charCodeAt(left) === 116 || text.charCodeAt(left) === 114)) {
    left++;
    before = -1;
  }
  if (right <= left) return undefined;
  if (before === 36 /* $ */ || before === 123 /* { as in ${NAME} */) return undefined;
  const rawName = text.slice(left, right);
  const flag = rawName.startsWith('-');
  const info = nameInfo(rawName);
  // A bare `key` is kept for providers that call their secret just that (W&B `login(key=…)`, kaggle.json).
  if (!info.candidate && !info.bareKey) return undefined;
  const { name, words } = info;

  const lineStart = lineStartOf(text, left, 512);
  const linePrefix = text.slice(lineStart, left);
  // In code, only notebook magics and shell escapes (`%env`, `!export`) read like shell; elsewhere `export` starts a line of shell.
  const shellLine = doc.kind === 'shell' || doc.kind === 'dockerfile' || doc.kind === 'env' || (doc.kind === 'code' ? MAGIC_LINE.test(linePrefix) : SHELL_LINE.test(linePrefix));
  const comment = COMMENT_LINE.test(linePrefix);
  let inString = false;

  // 2. A quoted name closes with the same quote (`"api_key": …`, `environ['TOKEN'] = …`).
  let p = right;
  let quotedName = false;
  let escapedName = false;
  if (isQuote(before) && text.charCodeAt(right) === before) {
    quotedName = true;
    escapedName = left >= 2 && text.charCodeAt(left - 2) === BACKSLASH;
    p = right + 1;
  } else if (before === BACKSLASH) {
    return undefined;
  } else if (before === 60 /* < */ && text.charCodeAt(right) === 62 /* > */) {
    // XML element `<password>value</password>`.
    const close = indexWithin(text, '<', right + 1, MAX_VALUE);
    if (close < 0 || text.slice(right + 1, close).includes('\n')) return undefined;
    const xmlValue = text.slice(right + 1, close).trim();
    if (xmlValue === '') return undefined;
    const xmlStart = text.indexOf(xmlValue, right + 1);
    return { name, words, value: xmlValue, valueStart: xmlStart, valueEnd: xmlStart + xmlValue.length, quoted: true, prose: comment, context: contextOf(doc, left, lineStart, linePrefix) };
  } else if (before === 34 && text.charCodeAt(right) === BACKSLASH && text.charCodeAt(right + 1) === 34) {
    quotedName = true;
    escapedName = true;
    p = right + 2;
  }
  if (escapedName && text.charCodeAt(p - 1) !== 34) return undefined;
  if (quotedName && text.charCodeAt(p) === 93 /* ] */) p++;

  // 3. The operator.
  const afterName = p;
  p = skipBlanks(text, p);
  const c = text.charCodeAt(p);
  const c2 = text.charCodeAt(p + 1);
  let valueAt: number;
  // In code, comparing a secret name with a literal (`if password == "…"`) hard-codes the secret too.
  let comparison = false;
  if (doc.kind === 'code' && (c === 61 || c === 33) && c2 === 61) {
    comparison = true;
    valueAt = text.charCodeAt(p + 2) === 61 ? p + 3 : p + 2;
  } else if (c === 61 /* = */) {
    if (c2 === 61 || c2 === 126 /* =~ */) return undefined;
    valueAt = c2 === 62 /* => */ ? p + 2 : p + 1;
  } else if (c === 58 /* : */) {
    if (c2 === 58) return undefined;
    valueAt = c2 === 61 ? p + 2 : p + 1;
    if (doc.kind === 'code' && !quotedName) {
      // Python annotation `name: str = "value"`.
      const ann = /^[ \t]*[A-Za-z_][\w.[\], |]{0,40}?[ \t]*=(?!=)/.exec(text.slice(valueAt, valueAt + 64));
      if (ann) valueAt += ann[0].length;
    }
  } else if ((c === 63 || c === 43) && c2 === 61 /* ?= += */) {
    valueAt = p + 2;
  } else if (c === 44 /* , */ && quotedName) {
    // getenv("NAME", "default"), setdefault("NAME", "value"), putenv("NAME", "value")
    const head = text.slice(Math.max(lineStart, left - 24), left).toLowerCase();
    if (!/(?:getenv|get|setdefault|putenv|setenv|env)\(\s*["'`]?$/.test(head)) return undefined;
    valueAt = p + 1;
  } else if (p > afterName && p < text.length && c !== NL && c !== CR) {
    // Whitespace separator: flags, Dockerfile ENV, .netrc, `%env NAME value`.
    if (c === 45 /* - */) return undefined;
    const ok = flag || doc.kind === 'netrc' || /^\s*(?:ENV|%env|%set_env)\s+$/i.test(linePrefix) || /\bmachine\s/.test(linePrefix);
    if (!ok) return undefined;
    valueAt = p;
  } else return undefined;

  // 4. The value.
  p = skipBlanks(text, valueAt);
  if (p >= text.length) return undefined;
  let q = text.charCodeAt(p);
  // String prefixes: r"…", b'…', f"…" (f-strings are templates when they interpolate).
  let fString = false;
  if ((q === 114 || q === 82 || q === 98 || q === 66 || q === 117 || q === 85 || q === 102 || q === 70) && isQuote(text.charCodeAt(p + 1))) {
    fString = q === 102 || q === 70;
    p++;
    q = text.charCodeAt(p);
  }
  // `"access_token=" + x`: the quote after the operator closes the string the name opened; nothing is assigned.
  if (isQuote(before) && !quotedName && q === before && p === valueAt) return undefined;
  if (comparison && !isQuote(q)) return undefined;
  // `auth=("user", "password")`, `auth = HTTPBasicAuth("user", "password")`: the second string is the password.
  if (doc.kind === 'code' && words[words.length - 1] === 'auth' && (q === 40 || q === 72 || q === 114)) {
    const pair = BASIC_AUTH_PAIR.exec(text.slice(p, p + 400));
    if (pair) {
      const pairValue = pair[3]!;
      const pairStart = p + pair[0].length - pairValue.length - 1;
      return { name, words, value: pairValue, valueStart: pairStart, valueEnd: pairStart + pairValue.length, quoted: true, prose: comment, context: contextOf(doc, left, lineStart, linePrefix) };
    }
  }
  let value: string;
  let valueStart: number;
  let valueEnd: number;
  let quoted = false;
  if (isQuote(q)) {
    if (text.charCodeAt(p + 1) === q && text.charCodeAt(p + 2) === q) return undefined; // triple-quoted block
    valueStart = p + 1;
    let e = valueStart;
    const limit = Math.min(text.length, valueStart + MAX_VALUE);
    while (e < limit) {
      const ch = text.charCodeAt(e);
      if (ch === BACKSLASH) {
        // In JSON-escaped text (\"value\") the closing quote is escaped too.
        if (escapedName && text.charCodeAt(e + 1) === q) break;
        e += 2;
        continue;
      }
      if (ch === q || ch === NL) break;
      e++;
    }
    if (e >= limit || text.charCodeAt(e) === NL) return undefined;
    valueEnd = e;
    quoted = true;
  } else if (q === BACKSLASH && isQuote(text.charCodeAt(p + 1))) {
    // JSON-escaped string inside a string: \"value\"
    const quote = text.charCodeAt(p + 1);
    valueStart = p + 2;
    const close = indexWithin(text, `\\${String.fromCharCode(quote)}`, valueStart, MAX_VALUE);
    if (close < 0) return undefined;
    valueEnd = close;
    quoted = true;
  } else {
    // Unquoted: a literal in config formats and shell; an expression in code, unless the name sits inside a string.
    if (doc.kind === 'code' && !shellLine) {
      inString = insideString(linePrefix, 34) || insideString(linePrefix, 39);
      if (!inString && !comment) return undefined;
    }
    // YAML tags, anchors, aliases and block scalars; `{…}` templates (IPython `{var}`, Jinja) and inline objects.
    if (q === 33 /* ! */ || q === 38 /* & */ || q === 42 /* * */ || q === 124 /* | */ || q === 62 /* > */ || q === 123 /* { */) return undefined;
    valueStart = p;
    let e = p;
    const limit = Math.min(text.length, p + MAX_VALUE);
    while (e < limit && !endsUnquoted(text.charCodeAt(e))) e++;
    valueEnd = e;
    // `Authorization: Bearer value`
    const word = text.slice(valueStart, valueEnd).toLowerCase();
    if ((word === 'bearer' || word === 'basic' || word === 'token') && text.charCodeAt(valueEnd) === SPACE) {
      valueStart = skipBlanks(text, valueEnd);
      e = valueStart;
      const limit2 = Math.min(text.length, valueStart + MAX_VALUE);
      while (e < limit2 && !endsUnquoted(text.charCodeAt(e))) e++;
      valueEnd = e;
    }
  }
  value = text.slice(valueStart, valueEnd);
  if (value.length === 0) return undefined;
  if (fString && value.includes('{')) return undefined;
  // An unquoted value with a call or subscript is an expression (`getpass()`, `os.environ["X"]`).
  if (!quoted && (value.includes('(') || /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\[/.test(value))) return undefined;
  // Quoted `Bearer value`.
  const scheme = /^(?:bearer|basic|token)\s+/i.exec(value);
  if (scheme) {
    valueStart += scheme[0].length;
    value = value.slice(scheme[0].length);
  }
  // The rest of the line can name the provider too (`… > ~/.kaggle/kaggle.json`).
  const nl = indexWithin(text, '\n', valueEnd, 160);
  const lineRest = text.slice(valueEnd, nl < 0 ? Math.min(text.length, valueEnd + 160) : nl);
  const prose = comment || inString || (doc.kind === 'text' && !quoted);
  return { name, words, value, valueStart, valueEnd, quoted, prose, context: `${contextOf(doc, left, lineStart, linePrefix)} ${lineRest.toLowerCase()}` };
}

interface NameInfo {
  readonly name: string;
  readonly words: readonly string[];
  /** Secret-like (`api_key`, `password`) or a provider key name (`WANDB_KEY`). */
  readonly candidate: boolean;
  readonly bareKey: boolean;
}

/** Names repeat across a file and a scan (`api_key`, `tokenizer`, `PRNGKey`): their verdicts are cached. */
const NAME_CACHE = new Map<string, NameInfo>();
const NAME_CACHE_LIMIT = 20_000;

function nameInfo(rawName: string): NameInfo {
  let info = NAME_CACHE.get(rawName);
  if (info === undefined) {
    const name = rawName.replace(/^[-.]+/, '');
    const words = splitName(name);
    info = { name, words, candidate: classifyName(words) !== undefined || providerKeyName(words), bareKey: words.length === 1 && words[0] === 'key' };
    if (NAME_CACHE.size >= NAME_CACHE_LIMIT) NAME_CACHE.clear();
    NAME_CACHE.set(rawName, info);
  }
  return info;
}

function endsUnquoted(c: number): boolean {
  return c === SPACE || c === TAB || c === NL || c === CR || c === 44 || c === 59 || c === 41 || c === 93 || c === 125 || c === 34 || c === 39 || c === 96 || c === 38 || c === 60 || c === 62 || c === BACKSLASH;
}

/** Provider words that make `<provider>_key` a secret name even without `api` (`WANDB_KEY`, `KAGGLE_KEY`). */
const PROVIDER_WORDS = new Set([
  'wandb', 'kaggle', 'comet', 'mistral', 'cohere', 'co', 'pinecone', 'openai', 'anthropic', 'groq', 'replicate', 'hf',
  'huggingface', 'langsmith', 'langchain', 'neptune', 'mlflow', 'databricks', 'snowflake', 'stripe', 'slack', 'github',
  'gitlab', 'npm', 'aws', 'azure', 'gcp', 'google', 'gemini',
]);

function providerKeyName(words: readonly string[]): boolean {
  const n = words.length;
  return n >= 2 && n <= 4 && words[n - 1] === 'key' && PROVIDER_WORDS.has(words[n - 2]!);
}

/**
 * Lowercase text naming the provider a value belongs to: the line before the name, the callee or key
 * that opens the enclosing `(` or `{`, YAML parent keys, the INI section, the .netrc machine, the file name.
 */
function contextOf(doc: SecretDoc, nameStart: number, lineStart: number, linePrefix: string): string {
  const parts = [doc.baseName, linePrefix];
  const text = doc.text;
  const floor = Math.max(0, nameStart - MAX_CONTEXT);
  // Enclosing ( or {: walk back counting brackets.
  let depth = 0;
  for (let i = lineStart - 1; i >= floor; i--) {
    const c = text.charCodeAt(i);
    if (c === 41 || c === 125) depth++;
    else if (c === 40 || c === 123) {
      if (depth === 0) {
        parts.push(text.slice(Math.max(floor, i - 64), i + 1));
        break;
      }
      depth--;
    }
  }
  if (doc.kind === 'yaml') parts.push(yamlParents(text, lineStart, floor));
  if (doc.kind === 'ini' || doc.kind === 'toml') {
    const section = lastIndexWithin(text, '\n[', lineStart, floor);
    if (section >= 0) parts.push(text.slice(section + 1, section + 80).split('\n')[0]!);
    else if (text.startsWith('[')) parts.push(text.slice(0, 80));
  }
  const machine = lastIndexWithin(text, 'machine', nameStart, floor);
  if (machine >= 0 && (doc.kind === 'netrc' || machine >= lineStart)) parts.push(text.slice(machine, Math.min(machine + 80, nameStart)));
  return parts.join(' ').toLowerCase();
}

/** Keys of YAML mappings that enclose the line at `lineStart` (less-indented lines above it). */
function yamlParents(text: string, lineStart: number, floor: number): string {
  let indent = 0;
  while (text.charCodeAt(lineStart + indent) === SPACE) indent++;
  const keys: string[] = [];
  let end = lineStart - 1;
  while (end > floor && indent > 0) {
    const start = lineStartOf(text, end, 512);
    const line = text.slice(start, end);
    end = start - 1;
    const m = /^( *)(?:- )?([A-Za-z0-9_.-]{1,64}):/.exec(line);
    if (!m) continue;
    const ind = m[1]!.length;
    if (ind < indent) {
      keys.push(m[2]!);
      indent = ind;
    }
  }
  return keys.join(' ');
}
