/**
 * Text from scanned input (file names, member paths, pickle global names, evidence, notebook cell ids,
 * parser messages) must never act on the terminal that shows it: an ESC sequence can clear the
 * screen or redraw it, a carriage return or line feed can overwrite a line or forge a new one ("No
 * findings."), bidirectional controls can reorder what is read (Trojan Source), and zero-width or
 * tag characters can hide text.
 *
 * Notation (docs/security.md): every such character is written `\u{HEX}` — a backslash, `u`, and the
 * code point in lowercase hexadecimal between braces (ESC is `\u{1b}`, LF `\u{a}`, RIGHT-TO-LEFT
 * OVERRIDE `\u{202e}`). A backslash that is itself followed by `u{` is written `\u{5c}`, so the
 * notation is unambiguous: `\u{…}` in escaped text always stands for an escaped character, and every
 * other character stands for itself. Nothing else changes (other backslashes, non-ASCII letters,
 * emoji without joiners).
 *
 * Escaped: all control characters (C0 including TAB, LF and CR; DEL; C1), all format characters
 * (Unicode category Cf: bidi embeddings, overrides, isolates and marks, zero-width characters, the
 * byte-order mark, soft hyphen, tag characters), the line and paragraph separators, and lone
 * surrogates.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]|\\(?=u\{)/u;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'gu');

/** Escapes one piece of untrusted text for a human-readable output (see the notation above). */
export function escapeForTerminal(text: string): string {
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE_ALL, (ch) => `\\u{${(ch.codePointAt(0) as number).toString(16)}}`);
}

/** True when `text` holds a character that `escapeForTerminal` would rewrite. */
export function needsTerminalEscape(text: string): boolean {
  return UNSAFE.test(text);
}

/**
 * Serialised JSON (from JSON.stringify) made safe to print: JSON.stringify escapes C0 controls and
 * lone surrogates but leaves DEL, C1 controls, format characters (bidi, zero-width) and the line and
 * paragraph separators raw. They can only occur inside strings, so writing them as JSON `\uXXXX`
 * escapes keeps the document valid and every value identical when parsed.
 */
const JSON_UNSAFE = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu;

export function escapeJsonForTerminal(json: string): string {
  return json.replace(JSON_UNSAFE, jsonEscape);
}

function jsonEscape(ch: string): string {
  let out = '';
  for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/**
 * The last line of defence for a whole output stream (the CLI's stdout and stderr): every control,
 * format or separator character is written as a JSON-style `\uXXXX` escape — valid inside JSON
 * strings, visible in text — except line feeds and the few terminal sequences Custody itself writes
 * (its colours and the progress line's carriage return + erase-line). Field-level escaping with
 * `escapeForTerminal` is what every text output does; this catches a path that forgot to.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const STREAM_UNSAFE = /\x1b\[(?:0|1|2|31|33|36|1;35)m|\r\x1b\[2K|\x1b\[2K|[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

export function guardTerminalStream(text: string): string {
  return text.replace(STREAM_UNSAFE, (match) => (match === '\n' || match.startsWith('\x1b[') || match.startsWith('\r\x1b[') ? match : jsonEscape(match)));
}
