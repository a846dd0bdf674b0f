import { CustodyError } from '../core/errors.js';
import { isCanonicalName } from '../integrity/names.js';

/**
 * Names the registry accepts. Project, artifact and account names appear in URLs, in audit entries
 * and (on clients) in directory names, so they are short, lower-case and free of separators. File
 * names inside a version are the manifest's relative POSIX paths; the server never uses them as
 * paths (blobs are stored by digest), but clients write them to disk on pull, so anything that could
 * leave the output directory or be read differently by another system is refused.
 */

/** 1–64 characters: lower-case letters, digits, `.`, `_`, `-`; starts and ends with a letter or digit; no `..`. */
const SIMPLE_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

export const NAME_RULE = '1–64 characters of a-z, 0-9, ".", "_" and "-", starting and ending with a letter or digit, without ".."';

export function isSimpleName(value: unknown): value is string {
  return typeof value === 'string' && SIMPLE_NAME.test(value) && !value.includes('..');
}

export function requireSimpleName(value: unknown, what: string): string {
  if (!isSimpleName(value)) {
    throw new CustodyError('NAME_INVALID', `${what} name ${JSON.stringify(String(value).slice(0, 80))} is not allowed: use ${NAME_RULE}`, { details: { field: what } });
  }
  return value;
}

/** Longest file name in a version, in UTF-8 bytes, and longest path component (common file-system limits). */
export const MAX_FILE_NAME_BYTES = 1024;
export const MAX_COMPONENT_BYTES = 255;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a file name of a version is refused, or undefined when it is acceptable. */
export function describeBadFileName(name: string): string | undefined {
  if (!isCanonicalName(name)) return 'must be a relative POSIX path without empty, "." or ".." components';
  if (Buffer.byteLength(name, 'utf8') > MAX_FILE_NAME_BYTES) return `is longer than ${MAX_FILE_NAME_BYTES} bytes`;
  if (name.includes('\\')) return 'holds a backslash, which Windows reads as a separator';
  if (CONTROL.test(name)) return 'holds a control character';
  if (name.includes('\uFFFD') || LONE_SURROGATE.test(name)) return 'is not valid Unicode';
  for (const part of name.split('/')) {
    if (Buffer.byteLength(part, 'utf8') > MAX_COMPONENT_BYTES) return `has a component longer than ${MAX_COMPONENT_BYTES} bytes`;
    if (/^[a-zA-Z]:/.test(part)) return 'has a component that looks like a Windows drive';
  }
  return undefined;
}

export function requireFileName(name: unknown): string {
  const reason = typeof name === 'string' ? describeBadFileName(name) : 'must be a string';
  if (reason !== undefined) {
    throw new CustodyError('NAME_INVALID', `file name ${JSON.stringify(String(name).slice(0, 120))} ${reason}`, { details: { field: 'file' } });
  }
  return name as string;
}

/**
 * Refuses a set of file names that cannot all exist on disk at once: a name that is also a directory
 * of another (`a` and `a/b`). Exact duplicates are refused by the caller.
 */
export function findPrefixConflict(names: readonly string[]): [string, string] | undefined {
  const files = new Set(names);
  for (const name of names) {
    let at = name.indexOf('/');
    while (at !== -1) {
      const dir = name.slice(0, at);
      if (files.has(dir)) return [dir, name];
      at = name.indexOf('/', at + 1);
    }
  }
  return undefined;
}

export const ARTIFACT_KINDS = ['model', 'dataset'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

/** The URL segment of each kind (`/models/…`, `/datasets/…`). */
export const KIND_SEGMENTS: Readonly<Record<ArtifactKind, string>> = { model: 'models', dataset: 'datasets' };
