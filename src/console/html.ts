import { escapeForTerminal } from '../core/terminal.js';

/**
 * The console's one escaping helper. Every page is built with the `html` tagged template: each
 * interpolated value is escaped unless it is itself the result of `html` (a SafeHtml), so markup can
 * only come from the literal parts of our own templates. There is no other way to make a SafeHtml
 * (its constructor is private to this module in practice: only `html` and `joinHtml` build one).
 *
 * Escaping: control, bidi and other format characters are first written as `\u{HEX}` text (a
 * character reference would still reach the reader as the character itself, and a bidi override
 * reorders what the reader sees), then `& < > " '` become entities, so a value is inert in element
 * content and in a quoted attribute alike. Templates always quote attributes.
 */
export class SafeHtml {
  readonly #value: string;
  private constructor(value: string) {
    this.#value = value;
  }
  toString(): string {
    return this.#value;
  }
  /** @internal only for html() and joinHtml() below. */
  static fromTrusted(value: string): SafeHtml {
    return new SafeHtml(value);
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeText(text: string): string {
  return escapeForTerminal(text).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** What a template accepts in a hole: text (escaped), numbers, our own HTML, lists of those, or nothing. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  return escapeText(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return SafeHtml.fromTrusted(out);
}

export function joinHtml(parts: readonly SafeHtml[], separator = ''): SafeHtml {
  return SafeHtml.fromTrusted(parts.map((p) => p.toString()).join(escapeText(separator)));
}

/** A URL path under the console from segments, each percent-encoded (names are restricted, but never trusted). */
export function consolePath(...segments: readonly string[]): string {
  return `/console/${segments.map((s) => encodeURIComponent(s)).join('/')}`;
}

/** A query string from defined values. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, String(v));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/** Clips text to `max` code points (never splitting a pair), with an ellipsis; still escaped by html(). */
export function clip(text: string, max: number): string {
  const points = [...text];
  return points.length <= max ? text : `${points.slice(0, max).join('')}…`;
}

export function shortDigest(digest: string): string {
  return digest.slice(0, 12);
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
