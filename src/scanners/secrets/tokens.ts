import { isPlaceholderToken } from './placeholder.js';
import type { Emit, KeywordDetector, RawCandidate, SecretDoc } from './types.js';

/** `[A-Za-z0-9]`. */
function isAlnum(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/**
 * True when a token may start at `pos`: the previous character is not alphanumeric, or is the letter
 * of an escape sequence (`\n`, `\t`) as in JSON-escaped text.
 */
function startsToken(text: string, pos: number): boolean {
  if (pos === 0) return true;
  const prev = text.charCodeAt(pos - 1);
  if (!isAlnum(prev)) return true;
  return pos >= 2 && text.charCodeAt(pos - 2) === 92 && (prev === 110 || prev === 116 || prev === 114);
}

/**
 * Runs a sticky regular expression at `pos` (where the keyword starts) after checking the token
 * boundary. The expression itself must forbid continuing characters after the token with a
 * lookahead, and be linear: bounded quantifiers, no nested quantifiers over overlapping classes.
 */
function matchAt(doc: SecretDoc, pos: number, sticky: RegExp): RegExpExecArray | null {
  if (!startsToken(doc.text, pos)) return null;
  sticky.lastIndex = pos;
  return sticky.exec(doc.text);
}

export interface PrefixTokenOptions {
  keywords: readonly string[];
  /** Sticky (`y`) expression anchored at the keyword; group 0 is the secret unless `group` says otherwise. */
  pattern: RegExp;
  group?: number;
  /** Length of the fixed prefix, for the placeholder check of the random part. */
  prefixLength: number;
  message: string;
  /** Extra validation (checksum, decoding); return false to drop, or fields to merge into the candidate. */
  validate?: (token: string, match: RegExpExecArray) => false | Partial<Omit<RawCandidate, 'start' | 'end' | 'secret'>>;
}

/** A detector for tokens with a distinctive prefix (`ghp_`, `hf_`, `AKIA`…). */
export function prefixToken(options: PrefixTokenOptions): KeywordDetector {
  if (!options.pattern.sticky) throw new Error(`pattern ${options.pattern} must be sticky`);
  return {
    keywords: options.keywords,
    find(doc: SecretDoc, pos: number, _keyword: string, emit: Emit): void {
      const match = matchAt(doc, pos, options.pattern);
      if (!match) return;
      const group = options.group ?? 0;
      const token = match[group];
      if (token === undefined) return;
      const start = group === 0 ? match.index : match.index + match[0].indexOf(token);
      if (isPlaceholderToken(token, options.prefixLength)) return;
      const extra = options.validate ? options.validate(token, match) : {};
      if (extra === false) return;
      emit({ start, end: start + token.length, secret: token, message: options.message, ...extra });
    },
  };
}
