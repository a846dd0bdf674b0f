import { createHash } from 'node:crypto';

/**
 * Redaction happens when a Finding is built: raw secret values never reach output, logs or errors.
 * We keep a short prefix (enough to tell `ghp_` from `AKIA`) and mask the rest.
 */
export function redactSecret(value: string): string {
  const visible = value.length >= 16 ? 4 : value.length >= 8 ? 2 : 0;
  const masked = Math.min(Math.max(value.length - visible, 3), 12);
  return `${value.slice(0, visible)}${'*'.repeat(masked)}`;
}

/** Replaces every occurrence of `secret` in `text` by its redacted form. */
export function redactIn(text: string, secret: string): string {
  if (secret.length === 0) return text;
  return text.split(secret).join(redactSecret(secret));
}

/** A one-way tag for a secret, used in fingerprints so that baselines survive without storing it. */
export function secretTag(value: string, salt: string): string {
  return createHash('sha256').update(salt).update('\0').update(value).digest('hex').slice(0, 24);
}

/** Shortens evidence to at most `max` characters, marking the cut. */
export function clip(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Runs of characters that tokens and keys are made of, long enough to be (part of) one. */
const TOKEN_RUN = /[A-Za-z0-9_+/=-]{8,}/g;

/**
 * Masks what could be part of a secret in a short excerpt of input: every run of 8 or more token
 * characters (letters, digits, `_ + / = -`) is redacted like a secret (a short prefix, then `*`).
 * A cut secret is no longer recognisable by the detectors, so an excerpt is masked by shape.
 */
export function maskExcerpt(text: string): string {
  return text.replace(TOKEN_RUN, (run) => redactSecret(run));
}

/**
 * A bounded, masked excerpt of raw input for a message: at most `max` characters, masked by
 * maskExcerpt, quoted as a JSON string. Messages that must show input use this and nothing else.
 */
export function quoteExcerpt(text: string, max = 40): string {
  return JSON.stringify(maskExcerpt(clip(text, max)));
}
