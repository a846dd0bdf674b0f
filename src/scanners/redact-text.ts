import type { Finding } from '../core/finding.js';
import { maskExcerpt, redactIn } from '../core/redact.js';
import { escapeForTerminal } from '../core/terminal.js';
import { detectSecrets, type SecretDoc } from './secrets/index.js';
import { baseNameOf, textKindOf } from './secrets/kind.js';

/**
 * Redaction of text built from scanned content — finding messages, evidence and properties, and the
 * CLI's error messages — not only of the values a secrets rule reports. A message can quote input
 * (a parser error that shows where it stopped, a file or member name, a pickle argument); whatever
 * the secrets scanner would report in that text is masked before the text leaves the engine.
 *
 * Three passes:
 * 1. every value the secret detectors find in the text is replaced by its redacted form
 *    (redactSecret: a short prefix and asterisks), everywhere it occurs;
 * 2. the excerpt of input that V8's JSON.parse quotes in its errors (`Unexpected token 'x',
 *    ..."{"token": hf_abc"... is not valid JSON`) is masked with maskExcerpt;
 * 3. a run of token characters cut by a clip mark (`…` or `...`) is masked with maskExcerpt.
 * Passes 2 and 3 exist because a secret cut short is no longer recognisable by the detectors, yet a
 * cut secret still leaks most of itself.
 */

/** Longest text checked (and kept): findings and error messages are short; anything longer is cut. */
const MAX_TEXT = 256 * 1024;
/** Time allowed to check one text; past it, the unchecked rest is withheld. */
const CHECK_MS = 2_000;

/** What V8's JSON.parse quotes after `Unexpected token 'x', ` (an excerpt of at most ~25 characters). */
const JSON_EXCERPT = /(Unexpected token '[^]{1,2}', )([^]{0,64})/g;
/** A token run touching a clip mark: `abcdefgh…`, `abcdefgh...`, `...abcdefgh`. */
const CUT_RUN = /[A-Za-z0-9_+/=-]{8,}(?=…|\.\.\.)|(?<=\.\.\.|…)[A-Za-z0-9_+/=-]{8,}/g;

/**
 * Redacts `text`. `origin` is the path of the file the text was built from, when known: the
 * detectors then also read the text as that file's kind (a `kaggle.json` key is recognised by the
 * file it sits in).
 */
export function redactSecretsInText(text: string, origin?: string): string {
  if (text === '') return text;
  let out = text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
  const docs: SecretDoc[] = [{ text: out, kind: 'text', baseName: '' }];
  if (origin !== undefined) {
    const baseName = baseNameOf(origin);
    if (baseName !== '') docs.push({ text: out, kind: textKindOf(baseName), baseName });
  }
  const values = new Set<string>();
  let stoppedAt: number | undefined;
  for (const doc of docs) {
    const outcome = detectSecrets(doc, Date.now() + CHECK_MS);
    for (const c of outcome.candidates) if (c.secret.length > 0 && (outcome.stoppedAt === undefined || c.start < outcome.stoppedAt)) values.add(c.secret);
    if (outcome.stoppedAt !== undefined) stoppedAt = Math.min(stoppedAt ?? outcome.stoppedAt, outcome.stoppedAt);
  }
  if (stoppedAt !== undefined) out = `${out.slice(0, stoppedAt)}… [rest withheld: not checked for secrets in time]`;
  // Longest first, so that a value containing another is masked whole.
  for (const value of [...values].sort((a, b) => b.length - a.length)) out = redactIn(out, value);
  if (out.includes('Unexpected token')) out = out.replace(JSON_EXCERPT, (_whole, prefix: string, excerpt: string) => `${prefix}${maskExcerpt(excerpt)}`);
  if (out.includes('…') || out.includes('...')) out = out.replace(CUT_RUN, (run) => maskExcerpt(run));
  return out;
}

const MAX_PROPERTY_DEPTH = 4;

function redactValue(value: unknown, depth: number, origin: string): unknown {
  if (typeof value === 'string') return redactSecretsInText(value, origin);
  if (depth >= MAX_PROPERTY_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1, origin));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = redactValue(item, depth + 1, origin);
  return out;
}

/**
 * Redacts a Finding's free text in place: message, evidence and string properties (location stays
 * faithful: it is how a user finds the file). Called once for every Finding the engine builds.
 */
export function redactFindingText(finding: Finding): void {
  const origin = finding.location.member === undefined ? finding.location.path : `${finding.location.path}!${finding.location.member}`;
  finding.message = redactSecretsInText(finding.message, origin);
  if (finding.evidence !== undefined) finding.evidence = redactSecretsInText(finding.evidence, origin);
  if (finding.properties !== undefined) finding.properties = redactValue(finding.properties, 0, origin) as Record<string, unknown>;
}

/**
 * An error message for a terminal: the secrets it quotes redacted, then control and bidi characters
 * escaped line by line. Line breaks are kept (validation errors list one problem per line), but every
 * line after the first is indented, so text from the input can never start a line of its own.
 */
export function describeErrorMessage(message: string): string {
  return redactSecretsInText(message)
    .split('\n')
    .map((line, i) => (i === 0 || /^[ \t]/.test(line) ? escapeForTerminal(line) : `  ${escapeForTerminal(line)}`))
    .join('\n');
}
