import { CustodyError } from '../core/errors.js';

/**
 * Code point order of whole strings (the order of their UTF-8 bytes). Custody uses it to list
 * files, paths and rule ids deterministically; resources in a manifest use `compareResourceNames`.
 */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 units compare like code points except that surrogates (U+10000 and up) must sort after
  // U+E000–U+FFFF: move them above. No encoding per comparison (a sort makes millions of them).
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

function compareComponents(a: string, b: string): number {
  const ca = a.split('/');
  const cb = b.split('/');
  const n = Math.min(ca.length, cb.length);
  for (let i = 0; i < n; i += 1) {
    const c = compareNames(ca[i] ?? '', cb[i] ?? '');
    if (c !== 0) return c;
  }
  return ca.length - cb.length;
}

/**
 * The order in which Custody lists resources: the order model_signing (the OMS reference
 * implementation) writes, so that both compute the same root digest for the same files. Names
 * compare as lists of path components, each component by code point, a path before the paths
 * under it (`a/b` before `a.txt`, since the component `a` is a prefix of `a.txt`); shards compare
 * by path that way, then by start and end offsets as numbers (`w:4096:8192` before
 * `w:12288:16384`). The OMS v1.0 text asks for code point order of the whole name instead
 * (`compareNames`); the two differ only for such names, and docs/integrity.md says why Custody
 * follows the reference. Verification accepts any order.
 */
export function compareResourceNames(a: string, b: string, method: 'files' | 'shards'): number {
  if (method === 'files') return compareComponents(a, b);
  const pa = splitShardName(a);
  const pb = splitShardName(b);
  if (!pa || !pb) return compareNames(a, b);
  return compareComponents(pa.path, pb.path) || pa.start - pb.start || pa.end - pb.end;
}

export interface ShardName {
  path: string;
  start: number;
  end: number;
}

export function formatShardName(path: string, start: number, end: number): string {
  return `${path}:${start}:${end}`;
}

/** Splits `path:start:end` at the LAST two colons, since file names may hold colons (OMS §6.3.2). */
export function splitShardName(name: string): ShardName | undefined {
  const m = /^(.+):(0|[1-9][0-9]*):(0|[1-9][0-9]*)$/.exec(name);
  if (!m) return undefined;
  const start = Number(m[2]);
  const end = Number(m[3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) return undefined;
  return { path: m[1] ?? '', start, end };
}

/** True when a manifest name is a canonical relative POSIX path (OMS §6.1.2). */
export function isCanonicalName(name: string): boolean {
  if (name === '' || name.startsWith('/') || name.endsWith('/') || name.includes('\0')) return false;
  return name.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/** Characters OMS forbids in `ignore_paths` entries (§6.2.1). */
const OMS_GLOB_CHARS = /[*?[]/;
/** What makes a command-line `--ignore` value a pattern rather than a path. */
const PATTERN_CHARS = /[*?[{]/;

export function isIgnorePattern(value: string): boolean {
  return PATTERN_CHARS.test(value);
}

/**
 * Normalises an ignore path to the OMS form: relative to the model root, `/`-separated, no `.`
 * segments, no trailing `/`. Returns undefined for paths that escape the root or hold glob
 * characters, which OMS forbids in `ignore_paths` (§6.2.1).
 */
export function normalizeIgnorePath(value: string): string | undefined {
  const parts = value.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  if (value.startsWith('/') || parts.length === 0 || parts.includes('..') || OMS_GLOB_CHARS.test(value)) return undefined;
  return parts.join('/');
}

export function requireIgnorePath(value: string, code: 'USAGE' | 'BUNDLE_INVALID'): string {
  const normalized = normalizeIgnorePath(value);
  if (normalized === undefined) {
    throw new CustodyError(code, `ignore path "${value}" must be relative to the model root, without "..", a leading "/" or glob characters`);
  }
  return normalized;
}

/** True when `rel` is `ignored` itself or lies under it. */
export function isUnder(rel: string, ignored: string): boolean {
  return rel === ignored || rel.startsWith(`${ignored}/`);
}
