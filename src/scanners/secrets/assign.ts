import { holdsAssignmentKeyword } from './keywords.js';
import { classifyName, splitName } from './names.js';
import { hasBacktickStrings, hasEscapedBackticks, RawStringIndex } from './raw-strings.js';
import { TextIndex } from './text-index.js';
import type { Assignment, AssignmentSyntax, SecretDoc } from './types.js';

/**
 * Finds the assignment around a keyword hit. It reads
 * - assignments and fields: `NAME = "value"`, `NAME: value`, `"name": "value"`, `NAME=value` (.env, shell, logs),
 *   `name := v` / `name ::= v` (Go, make), `$name .= 'v'` (PHP), `name <- "v"` (R), `var name string = "v"` (Go),
 *   `name: str = "v"` (annotations, also default arguments), `'name' => 'v'`, multi-word fields in documents and
 *   YAML (`Secret Key: v`, `"Access Token": "v"`), `ENV NAME value` (Dockerfile), `#define NAME "v"`, `%define`,
 *   `SET NAME "v"`, `.netrc` `password value`;
 * - command lines: `--name value`, `--name=value`, `-Name:value`, `-passin pass:value` (openssl);
 * - calls: `setPassword("v")`, `.password("v")`, `getenv("NAME", "default")`, `define('NAME', 'v')`,
 *   `System.setProperty("a.password", "v")`, `curl_easy_setopt(c, CURLOPT_PASSWORD, "v")`, and the fallback
 *   literal of a lookup (`os.environ.get("X") or "v"`);
 * - comparisons in code (`password == "v"`), SQL (`IDENTIFIED BY 'v'`, `… WITH LOGIN PASSWORD 'v'`),
 *   XML elements (`<password attr="…">v</password>`, `<add key="Password" value="v"/>`), URL query parameters
 *   (`?token=v&`), headers in strings (`"Authorization: Bearer v"`), HTML-escaped quotes (`&quot;v&quot;`) and
 *   JSON-escaped forms of all of these.
 * Every scan is bounded: names to 128 characters, values to 512, the line before the name to 512, context to 2048.
 */

const MAX_NAME = 128;
const MAX_VALUE = 512;
const MAX_CONTEXT = 2048;
const MAX_PREFIX = 512;

function isNameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 46;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
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

function skipBlanks(text: string, pos: number): number {
  let p = pos;
  while (p < text.length) {
    const c = text.charCodeAt(p);
    if (c !== SPACE && c !== TAB) break;
    p++;
  }
  return p;
}

/** Language keywords and CLI verbs that may precede a name on a line in shell-like files. */
const SHELL_LINE = /^\s*(?:export\s+|ENV\s+|ARG\s+|set\s+|setx\s+|%env\s+|%set_env\s+|!export\s+|!|\$env:|declare\s+(?:-x\s+)?|readonly\s+|local\s+)/i;

/** A `(user, password)` pair of string literals, bare or passed to requests' `HTTPBasicAuth`/`HTTPDigestAuth`. */
const BASIC_AUTH_PAIR = /^(?:(?:requests\.auth\.)?HTTP(?:Basic|Digest)Auth)?\([ \t]*(["'])[^"'\n\\]{0,128}\1[ \t]*,[ \t]*(["'])([^"'\n\\]{1,256})\2/;

/** Notebook magics and shell escapes in code cells. */
const MAGIC_LINE = /^\s*(?:!|%env\s|%set_env\s)/;
/**
 * A line that starts as a comment. Preprocessor lines (`#define`, `#if`) are not comments. (A comment after code,
 * ` // ` or ` # `, is found by TextIndex.lineFacts.)
 */
const COMMENT_START = /^\s*(?:\/\/|#(?!!|define\b|include\b|if|else|endif\b|undef\b|pragma\b)|\*|\/\*|<!--|--\s|;|rem\s)/i;
/** Declarations whose value follows the name after whitespace: `#define NAME "v"`, `%define NAME v`, `SET NAME "v"`. */
const DEFINE_LINE = /(?:^|\s)(?:#[ \t]*define|%define|%global|SET|set)[ \t]+$/;
/** SQL that sets a password: `CREATE USER x WITH PASSWORD '…'`, `CREATE ROLE x LOGIN PASSWORD '…'`, `ALTER USER … PASSWORD '…'`. */
const SQL_PASSWORD_LINE = /\b(?:user|role|login|with)\b/i;
/** The statement that sets a password: `CREATE USER`, `ALTER ROLE`, `CREATE LOGIN`, `GRANT … TO`. */
const SQL_STATEMENT = /\b(?:(?:create|alter)\s+(?:user|role|login)|grant)\b/i;
/** After `IDENTIFIED`: `BY '…'`, `WITH plugin BY '…'`. */
const IDENTIFIED_BY = /[ \t]+(?:WITH[ \t]+['"`]?[\w-]{1,64}['"`]?[ \t]+)?BY[ \t]+/iy;
/** Go's `var name type = value` (the type after the name). */
const GO_VAR_LINE = /\b(?:var|const)[ \t]+$/;
const GO_TYPE = /^[A-Za-z_][\w.*[\]]{0,40}[ \t]*=(?!=)/;
/** Python annotation `name: str = "value"`, `name: Optional[str] = …`, `name: str | None = …`, also in a default argument. */
const ANNOTATION = /^[ \t]*[A-Za-z_][\w.]{0,30}(?:\[[\w., |]{0,40}\])?(?:[ \t]*\|[ \t]*[A-Za-z_][\w.]{0,30}(?:\[[\w., |]{0,40}\])?){0,3}[ \t]*=(?!=)/;
/** Calls whose first two arguments are a name and its value. */
const PAIR_CALLEE = /(?:getenv|get|setdefault|putenv|setenv|env|define|setProperty|setItem|setValue|setAttribute|put|putString|set|add|setSecret|setPassword|SetEnvironmentVariable|Setenv|setenv)\(\s*$/;
/** First words of setter and builder calls: `setPassword("…")`, `withApiKey("…")`, `put_token("…")`. */
const SETTER_PREFIXES = new Set(['set', 'with', 'put', 'update', 'use']);
/** The fallback literal of an environment or config lookup, read after an unquoted value in code. */
const LOOKUP_DEFAULT = /^[\w.$[\]]{0,80}?(?:getenv|get|getProperty|getOrDefault|env|setdefault|Getenv|GetEnvironmentVariable)\(\s*(["'])[^"'\n]{1,128}\1\s*,\s*(?:default\s*=\s*)?[rbu]?(["'])([^"'\\\n]{1,256})\2\s*\)/;
const OR_DEFAULT = /^[\w.$[\]()"' ,]{0,160}?(?:[ \t]or[ \t]|\|\||\?\?)[ \t]*[rbu]?(["'])([^"'\\\n]{1,256})\1/;
/** Flags with a password after `pass:` (openssl `-passin pass:…`, `-passout pass:…`, `-pass pass:…`). */
const OPENSSL_PASS_FLAG = /^-{1,2}pass(?:in|out)?$/i;
/** Abbreviated password names that are flags in too many tools to trust when the value follows after a space. */
const ABBREVIATED = new Set(['pass', 'pw', 'pwd', 'passwd', 'psw', 'pswd']);

/** HTML/XML-escaped quotes that delimit a value in markup (`value="&quot;…&quot;"`). */
const ENTITY_QUOTES = ['&quot;', '&#34;', '&#39;', '&apos;'] as const;

export function findAssignment(doc: SecretDoc, hit: number, index?: TextIndex): Assignment | undefined {
  const { text } = doc;
  const idx = index ?? new TextIndex(text);
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
  if (before === 123 /* { as in ${NAME} */) return undefined;
  // A parameter of a percent-encoded query (`…%26token%3Dvalue%26…`, a URL inside a URL): read on its own.
  if (before === 37 /* % */ && right - left > 2) return encodedParameter(doc, idx, left, right);
  // `$NAME` is a reference, except where it is assigned (PHP, PowerShell, Perl: `$password = "…"`).
  if (before === 36 /* $ */ && !assignsAt(text, right)) return undefined;
  // Words before the name make a phrase in documents and config keys (`Secret Key:`, `"Access Token": …`).
  let nameStart = left;
  let phrase = false;
  let rawName = text.slice(left, right);
  let info = nameInfo(rawName);
  const quoteAfter = isQuote(text.charCodeAt(right)) ? text.charCodeAt(right) : -1;
  // Only a qualifier can make a phrase of a name that is not secret on its own (`key`, `key2`): the other words of a
  // phrase come before the name's words and leave their verdict as it was.
  if (before === SPACE && (doc.kind !== 'code' || quoteAfter >= 0) && ((info.candidate && quoteAfter >= 0) || info.bareKey || numberedKey(info.words))) {
    const longer = phraseBefore(text, left, quoteAfter);
    if (longer !== undefined) {
      const phraseInfo = nameInfo(text.slice(longer.start, right));
      if (phraseInfo.candidate && !phraseInfo.bareKey) {
        nameStart = longer.start;
        before = longer.before;
        rawName = text.slice(nameStart, right);
        info = phraseInfo;
        phrase = true;
      }
    }
  }
  // Most hits are names that hold no secret (`tokens`, `keyboard`, `author`): leave before reading the line, unless
  // the name may still become one (a call `setPassword(`, openssl's `-passin`).
  if (!info.candidate && !info.bareKey && text.charCodeAt(right) !== 40 /* ( */ && !(rawName.charCodeAt(0) === 45 && OPENSSL_PASS_FLAG.test(rawName))) return undefined;
  // The line before the name: its true start for anchored checks and quote/comment state (read incrementally along
  // the line), at most 512 characters of it for everything else.
  const trueLineStart = idx.lineStart(left, Number.MAX_SAFE_INTEGER);
  const lineStart = Math.max(trueLineStart, left - MAX_PREFIX);
  const linePrefix = text.slice(lineStart, left);
  const facts = idx.lineFacts(trueLineStart, left);
  const comment = COMMENT_START.test(text.slice(trueLineStart, Math.min(left, trueLineStart + 80))) || facts.inlineComment;
  const flag = rawName.startsWith('-');
  const opensslPass = flag && OPENSSL_PASS_FLAG.test(rawName);
  const codeLike = doc.kind === 'code' || doc.kind === 'text';
  let { name, words } = info;
  // A call named after the secret: a setter (`cfg.setPassword("…")`, `withApiKey("…")`) or a builder method
  // (`builder.password("…")`). Its only argument is the value.
  let call = false;
  if (!opensslPass && !phrase && text.charCodeAt(right) === 40 /* ( */ && codeLike) {
    const callee = rawName.slice(rawName.lastIndexOf('.') + 1);
    const calleeWords = splitName(callee);
    // `SetKey("…")` names a bare key: the value must then be random (judged as a bare key by the generic rule).
    const subject = calleeWords.slice(1);
    if (calleeWords.length >= 2 && SETTER_PREFIXES.has(calleeWords[0]!) && (classifyName(subject) !== undefined || (subject.length === 1 && subject[0] === 'key'))) {
      words = calleeWords.slice(1);
      call = true;
    } else if (callee !== rawName && classifyName(calleeWords) !== undefined) {
      words = calleeWords;
      call = true;
    } else return undefined;
  } else if (!info.candidate && !info.bareKey && !opensslPass) return undefined;
  if (opensslPass) words = ['password'];

  // In code, only notebook magics and shell escapes (`%env`, `!export`) read like shell; elsewhere `export` starts a line of shell.
  const lineText = text.slice(trueLineStart, left);
  const shellLine = doc.kind === 'shell' || doc.kind === 'dockerfile' || doc.kind === 'env' || (doc.kind === 'code' ? MAGIC_LINE.test(lineText) : SHELL_LINE.test(lineText));
  let inString = false;
  let rawConfig = false;
  let syntax: AssignmentSyntax = 'assign';

  // 2. A quoted name closes with the same quote (`"api_key": …`, `environ['TOKEN'] = …`).
  let p = right;
  let quotedName = false;
  let escapedName = false;
  if (isQuote(before) && text.charCodeAt(right) === before) {
    quotedName = true;
    escapedName = nameStart >= 2 && text.charCodeAt(nameStart - 2) === BACKSLASH;
    p = right + 1;
  } else if (before === BACKSLASH) {
    return undefined;
  } else if (before === 60 /* < */) {
    return elementAssignment(doc, idx, { name, words, nameStart, right, lineStart, linePrefix, comment });
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
  let sqlValue = false;
  if (words.length === 1 && words[0] === 'identified') {
    // SQL `IDENTIFIED [WITH plugin] BY 'value'`.
    IDENTIFIED_BY.lastIndex = right;
    const by = IDENTIFIED_BY.exec(text);
    if (!by || !SQL_STATEMENT.test(text.slice(trueLineStart, Math.min(left, trueLineStart + 256)))) return undefined;
    valueAt = right + by[0].length;
    name = 'IDENTIFIED BY';
    words = ['password'];
    syntax = 'sql';
    sqlValue = true;
  } else if (call) {
    // `setPassword("…")`, `.password("…")`: the only argument, a literal.
    valueAt = p + 1;
    syntax = 'call';
  } else if (codeLike && (c === 61 || c === 33) && c2 === 61) {
    // In code, comparing a secret name with a literal (`if password == "…"`) hard-codes the secret too.
    syntax = 'compare';
    valueAt = text.charCodeAt(p + 2) === 61 ? p + 3 : p + 2;
  } else if (c === 61 /* = */) {
    if (c2 === 61 || c2 === 126 /* =~ */) return undefined;
    valueAt = c2 === 62 /* => */ ? p + 2 : p + 1;
  } else if (c === 58 /* : */) {
    if (c2 === 58) {
      // make's `NAME ::= value` and `NAME :::= value`.
      const eq = text.charCodeAt(p + 2) === 61 ? p + 2 : text.charCodeAt(p + 2) === 58 && text.charCodeAt(p + 3) === 61 ? p + 3 : -1;
      if (eq < 0) return undefined;
      valueAt = eq + 1;
    } else {
      valueAt = c2 === 61 ? p + 2 : p + 1;
      if (codeLike && !quotedName && c2 !== 61) {
        // Python annotation `name: str = "value"`.
        const ann = ANNOTATION.exec(text.slice(valueAt, valueAt + 64));
        if (ann) valueAt += ann[0].length;
      }
    }
  } else if ((c === 63 || c === 43 || c === 46) && c2 === 61 /* ?= += .= */) {
    valueAt = p + 2;
  } else if (c === 60 && c2 === 45 && codeLike /* R's <- */) {
    valueAt = p + 2;
  } else if (c === 44 /* , */ && quotedName) {
    // getenv("NAME", "default"), define('NAME', 'value'), setProperty("a.password", "value")
    const head = text.slice(Math.max(lineStart, nameStart - 40), nameStart - 1);
    if (!PAIR_CALLEE.test(head)) return undefined;
    valueAt = p + 1;
    syntax = 'call';
  } else if (quotedName && c === 118 /* v */ && /\bkey\s*=\s*$/.test(text.slice(Math.max(lineStart, nameStart - 16), nameStart - 1))) {
    // .NET appSettings `<add key="DbPassword" value="…" />`.
    const m = /^value\s*=\s*/.exec(text.slice(p, p + 16));
    if (!m) return undefined;
    valueAt = p + m[0].length;
  } else if (c === 44 && codeLike && /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/.test(rawName) && linePrefix.includes('(')) {
    // curl_easy_setopt(curl, CURLOPT_PASSWORD, "…"): a constant naming the option, then its value.
    valueAt = p + 1;
    syntax = 'call';
  } else if (p > afterName && p < text.length && c !== NL && c !== CR) {
    // Whitespace separator: flags, Dockerfile ENV, .netrc, `%env NAME value`, `#define NAME "value"`, SQL, Go.
    if (c === 45 /* - */ && !opensslPass) return undefined;
    if (flag) {
      // `--password value`; abbreviations (`--pass`, `-pw`) count only with `=` or `:`.
      if (!opensslPass && words.length === 1 && ABBREVIATED.has(words[0]!)) return undefined;
      syntax = 'flag';
    } else if (doc.kind === 'netrc' || /^\s*(?:ENV|%env|%set_env)\s+$/i.test(linePrefix) || /\bmachine\s/.test(linePrefix)) {
      // .netrc and environment declarations
    } else if (DEFINE_LINE.test(linePrefix.slice(-24))) {
      syntax = 'define';
    } else if (words.length === 1 && words[0] === 'password' && SQL_PASSWORD_LINE.test(linePrefix.slice(-64)) && SQL_STATEMENT.test(text.slice(trueLineStart, Math.min(left, trueLineStart + 256)))) {
      syntax = 'sql';
      sqlValue = true;
    } else if (doc.kind === 'code' && GO_VAR_LINE.test(linePrefix.slice(-16))) {
      const typed = GO_TYPE.exec(text.slice(p, p + 64));
      if (!typed) return undefined;
      p += typed[0].length;
    } else return undefined;
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
  const entity = q === 38 /* & */ ? ENTITY_QUOTES.find((e) => text.startsWith(e, p)) : undefined;
  if ((syntax === 'compare' || syntax === 'call') && !isQuote(q) && entity === undefined) return undefined;
  const context = lazyContext(doc, idx, nameStart, lineStart, linePrefix);
  // `auth=("user", "password")`, `auth = HTTPBasicAuth("user", "password")`: the second string is the password.
  if (doc.kind === 'code' && words[words.length - 1] === 'auth' && (q === 40 || q === 72 || q === 114)) {
    const pair = BASIC_AUTH_PAIR.exec(text.slice(p, p + 400));
    if (pair) {
      const pairValue = pair[3]!;
      const pairStart = p + pair[0].length - pairValue.length - 1;
      return makeAssignment({ name, words, value: pairValue, valueStart: pairStart, valueEnd: pairStart + pairValue.length, quoted: true, prose: comment, syntax: 'call' }, context);
    }
  }
  let valueStart: number;
  let valueEnd: number;
  let quoted = false;
  if (entity !== undefined) {
    valueStart = p + entity.length;
    const close = idx.nextIndex(entity, valueStart, MAX_VALUE);
    if (close < 0 || text.slice(valueStart, close).includes('\n')) return undefined;
    valueEnd = close;
    quoted = true;
  } else if (isQuote(q)) {
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
    if (syntax === 'call') {
      // A setter's or builder's only argument ends the call; a pair call's value is followed by `)` or `,`.
      const next = text.charCodeAt(skipBlanks(text, e + 1));
      if (next !== 41 /* ) */ && (call || next !== 44 /* , */)) return undefined;
    }
  } else if (q === BACKSLASH && isQuote(text.charCodeAt(p + 1))) {
    // JSON-escaped string inside a string: \"value\"
    const quote = text.charCodeAt(p + 1);
    valueStart = p + 2;
    const close = indexWithin(text, `\\${String.fromCharCode(quote)}`, valueStart, MAX_VALUE);
    if (close < 0) return undefined;
    valueEnd = close;
    quoted = true;
  } else {
    // Unquoted: a literal in config formats, shell and SQL; an expression in code, unless the name sits inside a
    // string or a comment — or the expression is a lookup with a literal fallback.
    if (doc.kind === 'code' && !shellLine && !sqlValue) {
      inString = facts.doubleQuoted || facts.singleQuoted;
      // A configuration file kept in a multi-line raw string (Go, JavaScript): `{user: svc, password: s3cret}`.
      if (!inString && !comment && (c === 58 || c === 61) && c2 !== 61 && inRawStringBlock(doc, idx, left, trueLineStart)) rawConfig = true;
      else if (!inString && !comment) return codeValue(doc, p, { name, words, atLineStart: nameStart === left ? facts.atLineStart : idx.lineFacts(trueLineStart, nameStart).atLineStart, colon: c === 58 && c2 !== 61 }, context);
    } else if (doc.kind === 'text' && !comment && /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\(/.test(text.slice(p, p + 64))) {
      // Extension-less code (`PASSWORD = os.environ.get("P") or "…"`): the fallback literal of a lookup.
      return lookupDefault(doc, p, { name, words, prose: false }, context);
    }
    // YAML tags, anchors, aliases and block scalars; `{…}` templates (IPython `{var}`, Jinja) and inline objects.
    if (q === 33 /* ! */ || q === 38 /* & */ || q === 42 /* * */ || q === 124 /* | */ || q === 62 /* > */ || q === 123 /* { */) return undefined;
    valueStart = p;
    let e = p;
    const limit = Math.min(text.length, p + MAX_VALUE);
    // A value ends before another assignment of a secret-like name inside it (`password=password=…`): that one is
    // read at its own keyword, and no long run of them is read over and over.
    let run = p;
    while (e < limit) {
      const ch = text.charCodeAt(e);
      if (endsUnquoted(ch)) break;
      if ((ch === 61 || (ch === 58 && !opensslPass)) && e > run && isNameChar(text.charCodeAt(e + 1)) && holdsAssignmentKeyword(text, run, e)) {
        e = run;
        break;
      }
      if (!isNameChar(ch)) run = e + 1;
      e++;
    }
    valueEnd = e;
    // `Authorization: Bearer value` (and the other HTTP schemes that carry a credential).
    const word = text.slice(valueStart, valueEnd).toLowerCase();
    if (AUTH_SCHEMES.has(word) && text.charCodeAt(valueEnd) === SPACE) {
      valueStart = skipBlanks(text, valueEnd);
      e = valueStart;
      const limit2 = Math.min(text.length, valueStart + MAX_VALUE);
      while (e < limit2 && !endsUnquoted(text.charCodeAt(e))) e++;
      valueEnd = e;
      syntax = 'header';
    }
  }
  let value = text.slice(valueStart, valueEnd);
  if (value.length === 0) return undefined;
  if (fString && value.includes('{')) return undefined;
  // An unquoted value with a call or subscript is an expression (`getpass()`, `os.environ["X"]`).
  if (!quoted && (value.includes('(') || /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\[/.test(value))) return undefined;
  // Quoted `Bearer value`.
  const scheme = /^(?:bearer|basic|token|ntlm|negotiate|digest)\s+/i.exec(value);
  if (scheme) {
    valueStart += scheme[0].length;
    value = value.slice(scheme[0].length);
    syntax = 'header';
  }
  // openssl `-passin pass:value` (other sources, `env:VAR`, `file:path`, `fd:N`, `stdin`, are not values).
  if (opensslPass) {
    if (!value.startsWith('pass:')) return undefined;
    valueStart += 5;
    value = value.slice(5);
  }
  // `user:password` pairs (curl's CURLOPT_USERPWD, `-u user:password`): the password is after the colon.
  if (words.includes('userpwd')) {
    const colon = value.indexOf(':');
    if (colon > 0) {
      valueStart += colon + 1;
      value = value.slice(colon + 1);
    }
  }
  if (value.length === 0 || embedsAssignment(value)) return undefined;
  // SQL keywords after PASSWORD (`PASSWORD EXPIRE INTERVAL 90 DAY`, `PASSWORD HISTORY 1`) are clauses, not values.
  if (sqlValue && !quoted && /^[A-Z_]+$/.test(value)) return undefined;
  if (!quoted && syntax === 'assign' && (before === 63 /* ? */ || before === 38 /* & */ || before === 35 /* # */)) syntax = 'query';
  if (flag && syntax === 'assign') syntax = 'flag';
  // A field of an embedded configuration ends its line or its item (`password: s3cret}`, `…, token: x,`); words after
  // it make a sentence of help text in the string (`password: it uses tokens`), judged as prose.
  if (rawConfig && !/^[ \t]*(?:[\r\n,;}\]]|$)/.test(text.slice(valueEnd, valueEnd + 64))) {
    rawConfig = false;
    inString = true;
  }
  const prose = !rawConfig && isProse(doc, { comment, inString, quoted, syntax, rawName, phrase, value });
  // A field of a document starts at a word boundary (`(pw:…`, `, PW:…`), not glued to other symbols (`M[@%]PW:…`).
  if (prose && !quoted && syntax !== 'query' && !isFieldBoundary(before)) return undefined;
  return makeAssignment({ name, words, value, valueStart, valueEnd, quoted, prose, syntax }, context);
}

/**
 * True when a value holds an assignment of a secret-like name (`\npassword=`, `token=abc&key=`): it is a stretch
 * of text between two quotes, not one value.
 */
function embedsAssignment(value: string): boolean {
  let run = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c !== 61 /* = */ || i === run || !holdsAssignmentKeyword(value, run, i)) {
      if (!isNameChar(c)) run = i + 1;
      continue;
    }
    // `…password=x` inside, or a value that ends in a bare name and `=` (`\npassword=`); not base64 padding.
    if (isNameChar(value.charCodeAt(i + 1)) || (i === value.length - 1 && /^[A-Za-z_]+$/.test(value.slice(run, i)))) return true;
    if (!isNameChar(c)) run = i + 1;
  }
  return false;
}

/** Characters after which a document field may start: the line start, blanks, brackets, separators, quotes, markup. */
function isFieldBoundary(c: number): boolean {
  return c === -1 || c === SPACE || c === TAB || c === 40 || c === 44 || c === 47 || c === 45 || c === 124 || c === 62 || c === 91 || c === 123 || c === 34 || c === 39 || c === 96 || c === 59 || c === 10 || c === 13 || c === 42 || c === 95;
}

/** HTTP authentication schemes whose credential follows the scheme name. */
const AUTH_SCHEMES = new Set(['bearer', 'basic', 'token', 'ntlm', 'negotiate', 'digest']);

/** True when the text at `pos` (after a `$NAME`) assigns: `=` (not `==`), `.=`, `+=`. */
function assignsAt(text: string, pos: number): boolean {
  const p = skipBlanks(text, pos);
  const c = text.charCodeAt(p);
  const c2 = text.charCodeAt(p + 1);
  return (c === 61 && c2 !== 61) || ((c === 46 || c === 43) && c2 === 61);
}

/** `key2`, `KEY_1`: a bare key with a number, which a qualifier before it makes secret (`API key2`). */
function numberedKey(words: readonly string[]): boolean {
  return words.length === 2 && words[0] === 'key' && /^\d+$/.test(words[1]!);
}

/**
 * Up to two words before a name that make a phrase with it (`Secret Key`, `User password`, `API Secret`, or a
 * quoted key `"Bitbucket Repository Access Token"`). Returns where the phrase starts and the character before it.
 */
function phraseBefore(text: string, left: number, quote: number): { start: number; before: number } | undefined {
  const floor = Math.max(0, left - 160);
  let start = left;
  let found: { start: number; before: number } | undefined;
  for (let words = 0; words < (quote >= 0 ? 6 : 2); words++) {
    if (text.charCodeAt(start - 1) !== SPACE) break;
    let s = start - 1;
    while (s > floor && start - s < 24 && isLetter(text.charCodeAt(s - 1))) s--;
    if (s === start - 1 || !isLetter(text.charCodeAt(s))) break;
    const b = s > 0 ? text.charCodeAt(s - 1) : -1;
    start = s;
    if (quote >= 0) {
      if (b === quote) return { start, before: b };
      continue;
    }
    // The phrase starts a field: at the line start, after a space, a bracket or a separator.
    if (b === -1 || b === NL || b === CR || b === SPACE || b === TAB || b === 40 || b === 44 || b === 47 || b === 59 || b === 124 || b === 62 || b === 42 || b === 45) found = { start, before: b };
  }
  return quote >= 0 ? undefined : found;
}

interface ElementParts {
  name: string;
  words: readonly string[];
  nameStart: number;
  right: number;
  lineStart: number;
  linePrefix: string;
  comment: boolean;
}

/** XML elements `<password>value</password>` and `<password name="x">value</password>` (value on the same line). */
function elementAssignment(doc: SecretDoc, idx: TextIndex, el: ElementParts): Assignment | undefined {
  const text = doc.text;
  let open = el.right;
  if (text.charCodeAt(open) !== 62 /* > */) {
    if (text.charCodeAt(open) !== SPACE) return undefined;
    const gt = indexWithin(text, '>', open, 256);
    if (gt < 0 || text.charCodeAt(gt - 1) === 47 /* self-closing */ || text.slice(open, gt).includes('\n')) return undefined;
    open = gt;
  }
  const close = indexWithin(text, '<', open + 1, MAX_VALUE);
  if (close < 0 || text.slice(open + 1, close).includes('\n')) return undefined;
  const xmlValue = text.slice(open + 1, close).trim();
  if (xmlValue === '') return undefined;
  const xmlStart = text.indexOf(xmlValue, open + 1);
  const context = lazyContext(doc, idx, el.nameStart, el.lineStart, el.linePrefix);
  return makeAssignment({ name: el.name, words: el.words, value: xmlValue, valueStart: xmlStart, valueEnd: xmlStart + xmlValue.length, quoted: true, prose: el.comment, syntax: 'element' }, context);
}

/** `%26name%3Dvalue` (also after `%3F` or `%23`): the separator's hex digits start the name the scan found. */
const ENCODED_SEPARATOR = /^(?:26|3[fF]|23)$/;
const ENCODED_VALUE = /^[A-Za-z0-9._~-]{1,256}(?:%2[BbFf][A-Za-z0-9._~-]{1,256}){0,8}/;

function encodedParameter(doc: SecretDoc, idx: TextIndex, left: number, right: number): Assignment | undefined {
  const text = doc.text;
  if (!ENCODED_SEPARATOR.test(text.slice(left, left + 2))) return undefined;
  const info = nameInfo(text.slice(left + 2, right));
  if (!info.candidate || text.charCodeAt(right) !== 37 || text.slice(right + 1, right + 3).toUpperCase() !== '3D') return undefined;
  const valueStart = right + 3;
  const m = ENCODED_VALUE.exec(text.slice(valueStart, valueStart + 1024));
  if (m === null) return undefined;
  // The value ends at the next encoded separator or a character a URL does not hold.
  const after = text.charCodeAt(valueStart + m[0].length);
  if (!(Number.isNaN(after) || after === 37 || endsUnquoted(after))) return undefined;
  const trueLineStart = idx.lineStart(left, Number.MAX_SAFE_INTEGER);
  const lineStart = Math.max(trueLineStart, left - MAX_PREFIX);
  const context = lazyContext(doc, idx, left + 2, lineStart, text.slice(lineStart, left));
  return makeAssignment({ name: info.name, words: info.words, value: m[0], valueStart, valueEnd: valueStart + m[0].length, quoted: false, prose: false, syntax: 'query' }, context);
}

/** Per document: where its multi-line raw strings are (read only for languages that have them). */
const RAW_STRINGS = new WeakMap<TextIndex, RawStringIndex>();

function inRawStringBlock(doc: SecretDoc, idx: TextIndex, pos: number, lineStart: number): boolean {
  if (!hasBacktickStrings(doc.baseName)) return false;
  let raw = RAW_STRINGS.get(idx);
  if (raw === undefined) {
    raw = new RawStringIndex(doc.text, hasEscapedBackticks(doc.baseName));
    RAW_STRINGS.set(idx, raw);
  }
  return raw.inMultilineBacktick(pos, lineStart);
}

/**
 * An unquoted value in code is an expression. Three kinds still hold a literal secret: the fallback of a lookup
 * (`os.getenv("X", "…")`, `… or "…"`), an HTTP header written out (`Authorization: Bearer …` in a quasi-quote or
 * heredoc), and a YAML-style line of an embedded document (`password: …` alone on its line inside a multi-line
 * string), which is judged as prose.
 */
function codeValue(doc: SecretDoc, p: number, a: { name: string; words: readonly string[]; atLineStart: boolean; colon: boolean }, context: (valueEnd: number) => string): Assignment | undefined {
  const text = doc.text;
  const fallback = lookupDefault(doc, p, { name: a.name, words: a.words, prose: false }, context);
  if (fallback !== undefined) return fallback;
  // Only `name: value` read like a literal in code, and a YAML-style one only at the start of its line.
  if (!a.colon || (!a.atLineStart && a.words[a.words.length - 1] !== 'authorization')) return undefined;
  const m = CODE_LITERAL_LINE.exec(text.slice(p, p + MAX_VALUE));
  if (m === null) return undefined;
  let value = m[1]!;
  let valueStart = p;
  let syntax: AssignmentSyntax = 'assign';
  const scheme = /^(bearer|basic|token|ntlm|negotiate|digest) +(\S+)$/i.exec(value);
  if (scheme !== null && a.words[a.words.length - 1] === 'authorization') {
    valueStart = p + value.length - scheme[2]!.length;
    value = scheme[2]!;
    syntax = 'header';
  } else {
    // `name: value` must start its line (an embedded YAML document), not follow code.
    if (value.includes(' ') || !a.atLineStart) return undefined;
  }
  return makeAssignment({ name: a.name, words: a.words, value, valueStart, valueEnd: valueStart + value.length, quoted: false, prose: syntax !== 'header', syntax }, context);
}

/** A value alone on the rest of its line: one token, or an authentication scheme and its token. */
const CODE_LITERAL_LINE = /^((?:[A-Za-z]{4,9} +)?[^\s"'`,;(){}[\]]{1,256})[ \t]*(?=\r?\n|$)/;

/** `x = os.getenv("NAME", "fallback")`, `x = os.environ.get("X") or "fallback"`: the literal a lookup falls back to. */
function lookupDefault(doc: SecretDoc, p: number, a: { name: string; words: readonly string[]; prose: boolean }, context: (valueEnd: number) => string): Assignment | undefined {
  const text = doc.text;
  const rest = text.slice(p, Math.min(text.length, p + 400));
  const nl = rest.indexOf('\n');
  const line = nl < 0 ? rest : rest.slice(0, nl);
  // Cheap tests before the expressions: a lookup has a call with a quoted argument; a fallback an `or`, `||` or `??`.
  const call = line.indexOf('(');
  const orAt = Math.max(line.indexOf(' or '), line.indexOf('||'), line.indexOf('??'));
  if ((call < 0 || call > 80 || !/["']/.test(line)) && (orAt < 0 || orAt > 160)) return undefined;
  const lookup = call >= 0 && call <= 80 ? LOOKUP_DEFAULT.exec(line) : null;
  let value: string | undefined;
  let at = 0;
  if (lookup) {
    value = lookup[3]!;
    // The value ends at the last quote of the match (only blanks and `)` follow it).
    at = lookup[0].lastIndexOf(lookup[2]!) - value.length;
  } else if (orAt >= 0 && orAt <= 160) {
    const or = OR_DEFAULT.exec(line);
    if (or) {
      value = or[2]!;
      at = or[0].length - 1 - value.length;
    }
  }
  if (value === undefined || value.length === 0) return undefined;
  return makeAssignment({ name: a.name, words: a.words, value, valueStart: p + at, valueEnd: p + at + value.length, quoted: true, prose: a.prose, syntax: 'default' }, context);
}

interface ProseFacts {
  comment: boolean;
  inString: boolean;
  quoted: boolean;
  syntax: AssignmentSyntax;
  rawName: string;
  phrase: boolean;
  value: string;
}

/** Translation catalogues: their values are user-interface text about passwords, never passwords. */
const TRANSLATION_PATH = /(?:^|[/!])(?:locales?|i18n|l10n|lang|langs|languages|translations?|messages)\/|\.(?:po|pot|xlf|xliff|resx|strings|arb)$|(?:^|[/!])(?:messages|strings|lang)(?:_[a-z]{2}(?:[-_][a-z]{2})?)?\.(?:properties|json|ya?ml|xml)$/;

/** True when a name is written like a variable (`DB_PASSWORD`, `spring.datasource.password`, `PSWD`), not a word in a sentence. */
function isIdentifierName(rawName: string): boolean {
  const name = rawName.replace(/^-+/, '');
  return /[_.]/.test(name) || /^[A-Z][A-Z0-9]{3,}$/.test(name) || /[a-z][A-Z]/.test(name);
}

function isProse(doc: SecretDoc, f: ProseFacts): boolean {
  if (f.comment) return true;
  if (doc.path !== undefined && TRANSLATION_PATH.test(doc.path)) return true;
  // In a string of code: a command line, a URL, a header or an embedded config line (`'USER=x\nPASS=…'`) is not prose.
  if (f.inString) return !(f.syntax === 'flag' || f.syntax === 'query' || f.syntax === 'header' || (f.syntax === 'assign' && isIdentifierName(f.rawName) && /^[A-Z0-9_]+$/.test(f.rawName)));
  if (doc.kind !== 'text' || f.quoted || f.syntax === 'flag' || f.syntax === 'sql' || f.syntax === 'define' || f.syntax === 'header') return false;
  // Unquoted in a plain-text file: a config line (`DB_PASSWORD=…`, `PSWD:=…`) when the name is an identifier;
  // otherwise a field in a document (`Password: …`, `id:admin pw:…`).
  return f.phrase || !isIdentifierName(f.rawName);
}

interface AssignmentFields {
  name: string;
  words: readonly string[];
  value: string;
  valueStart: number;
  valueEnd: number;
  quoted: boolean;
  prose: boolean;
  syntax: AssignmentSyntax;
}

function makeAssignment(fields: AssignmentFields, context: (valueEnd: number) => string): Assignment {
  let cached: string | undefined;
  return {
    ...fields,
    get context(): string {
      cached ??= context(fields.valueEnd);
      return cached;
    },
  };
}

function lazyContext(doc: SecretDoc, idx: TextIndex, nameStart: number, lineStart: number, linePrefix: string): (valueEnd: number) => string {
  return (valueEnd) => {
    const text = doc.text;
    // The rest of the line can name the provider too (`… > ~/.kaggle/kaggle.json`).
    const nl = idx.nextIndex('\n', valueEnd, 160);
    const lineRest = text.slice(valueEnd, nl < 0 ? Math.min(text.length, valueEnd + 160) : nl);
    return `${contextOf(doc, idx, nameStart, lineStart, linePrefix)} ${lineRest.toLowerCase()}`;
  };
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
    const bareKey = words.length === 1 && words[0] === 'key';
    info = { name, words, candidate: classifyName(words) !== undefined || providerKeyName(words) || (words.length === 1 && words[0] === 'identified'), bareKey };
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
  'gitlab', 'npm', 'aws', 'azure', 'gcp', 'google', 'gemini', 'deepseek', 'together', 'perplexity', 'pplx', 'xai', 'grok',
  'openrouter', 'fireworks', 'nvidia', 'ngc', 'bedrock', 'tavily', 'llama', 'cloudflare', 'cf', 'docker', 'dockerhub',
  'atlassian', 'jira', 'confluence', 'bitbucket', 'sentry', 'grafana', 'datadog', 'dd', 'newrelic', 'sendgrid', 'twilio',
  'telegram', 'discord', 'vault', 'terraform', 'tfc', 'shopify',
]);

function providerKeyName(words: readonly string[]): boolean {
  const n = words.length;
  return n >= 2 && n <= 4 && words[n - 1] === 'key' && PROVIDER_WORDS.has(words[n - 2]!);
}

/**
 * Lowercase text naming the provider a value belongs to: the line before the name, the callee or key
 * that opens the enclosing `(` or `{`, YAML parent keys, the INI section, the .netrc machine, the file name.
 */
function contextOf(doc: SecretDoc, idx: TextIndex, nameStart: number, lineStart: number, linePrefix: string): string {
  // The last 160 characters before the name say what it belongs to (`wandb.login(`, `machine api.wandb.ai`).
  const parts = [doc.baseName, linePrefix.slice(-160)];
  const text = doc.text;
  const floor = Math.max(0, lineStart - MAX_CONTEXT);
  // The enclosing ( or {, before the part of the line read as the prefix.
  const open = idx.enclosingOpen(trueLineStartOf(idx, lineStart), lineStart, MAX_CONTEXT);
  if (open >= 0) parts.push(text.slice(Math.max(floor, open - 64), open + 1));
  if (doc.kind === 'yaml') parts.push(idx.perLineValue('yaml', lineStart, () => yamlParents(text, lineStart, floor)));
  if (doc.kind === 'ini' || doc.kind === 'toml') {
    const section = idx.prevIndex('\n[', lineStart, floor);
    if (section >= 0) parts.push(text.slice(section + 1, section + 80).split('\n')[0]!);
    else if (text.startsWith('[')) parts.push(text.slice(0, 80));
  }
  const machine = idx.prevIndex('machine', nameStart, floor);
  if (machine >= 0 && (doc.kind === 'netrc' || machine >= lineStart)) parts.push(text.slice(machine, Math.min(machine + 80, nameStart)));
  return parts.join(' ').toLowerCase();
}

/** The true start of the line holding `pos` (the cursor of the index is there already: no search). */
function trueLineStartOf(idx: TextIndex, pos: number): number {
  return idx.lineStart(pos, Number.MAX_SAFE_INTEGER);
}

/** Keys of YAML mappings that enclose the line at `lineStart` (less-indented lines above it). */
function yamlParents(text: string, lineStart: number, floor: number): string {
  let indent = 0;
  while (text.charCodeAt(lineStart + indent) === SPACE) indent++;
  const keys: string[] = [];
  let end = lineStart - 1;
  while (end > floor && indent > 0) {
    const nl = lastIndexWithin(text, '\n', end, Math.max(floor, end - 512));
    const start = nl < 0 ? Math.max(floor, end - 512) : nl + 1;
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

/** The regular expressions this module runs, for the linear-time test. */
export const ASSIGN_PATTERNS = [CODE_LITERAL_LINE, SQL_STATEMENT, SHELL_LINE, BASIC_AUTH_PAIR, MAGIC_LINE, COMMENT_START, DEFINE_LINE, SQL_PASSWORD_LINE, IDENTIFIED_BY, GO_VAR_LINE, GO_TYPE, ANNOTATION, PAIR_CALLEE, LOOKUP_DEFAULT, OR_DEFAULT, TRANSLATION_PATH];
