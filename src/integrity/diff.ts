import { CustodyError } from '../core/errors.js';
import { digestEquals, sha256Hex } from './digest.js';
import type { Resource } from './manifest.js';
import { compareNames, splitShardName } from './names.js';

export interface ModifiedFile {
  name: string;
  /** The signed digest (for shards: SHA-256 over the file's shard digests and ranges). */
  expected: string;
  actual: string;
}

export interface RenamedFile {
  from: string;
  to: string;
}

/** What differs between a signed manifest and the files on disk, file by file. */
export interface ManifestDiff {
  modified: ModifiedFile[];
  added: string[];
  removed: string[];
  /** A removed and an added file with the same content. */
  renamed: RenamedFile[];
}

function isDiffEmpty(diff: ManifestDiff): boolean {
  return diff.modified.length === 0 && diff.added.length === 0 && diff.removed.length === 0 && diff.renamed.length === 0;
}

/**
 * Content per file: the digest for `files`; for `shards`, a composite of the file's ranges and
 * shard digests (so truncating or appending to a sharded file is one modification, not a
 * shuffle of shard names).
 */
function contentByFile(resources: readonly Resource[], sharded: boolean): Map<string, string> {
  if (!sharded) return new Map(resources.map((r) => [r.name, r.digest]));
  const parts = new Map<string, { start: number; end: number; digest: string }[]>();
  for (const r of resources) {
    const shard = splitShardName(r.name);
    if (!shard) throw new CustodyError('BUNDLE_INVALID', `resource "${r.name.slice(0, 200)}" is not a shard name (path:start:end)`);
    const list = parts.get(shard.path) ?? [];
    list.push({ start: shard.start, end: shard.end, digest: r.digest });
    parts.set(shard.path, list);
  }
  const out = new Map<string, string>();
  for (const [path, list] of parts) {
    list.sort((a, b) => a.start - b.start);
    out.set(path, sha256Hex(list.map((p) => `${p.start}:${p.end}:${p.digest}`).join('\n')));
  }
  return out;
}

/** Compares two manifests' resources (digests compared in constant time). */
export function diffResources(expected: readonly Resource[], actual: readonly Resource[], sharded: boolean): ManifestDiff {
  const want = contentByFile(expected, sharded);
  const have = contentByFile(actual, sharded);
  const modified: ModifiedFile[] = [];
  const removed: string[] = [];
  const added: string[] = [];
  for (const [name, digest] of want) {
    const got = have.get(name);
    if (got === undefined) removed.push(name);
    else if (!digestEquals(digest, got)) modified.push({ name, expected: digest, actual: got });
  }
  for (const name of have.keys()) if (!want.has(name)) added.push(name);

  // A rename: a removed file whose content is that of an added one. (Pass or fail is already
  // decided here, so a plain map lookup on digests is fine.)
  const renamed: RenamedFile[] = [];
  const addedByContent = new Map<string, string[]>();
  for (const name of added.sort(compareNames)) {
    const digest = have.get(name) ?? '';
    const list = addedByContent.get(digest);
    if (list) list.push(name);
    else addedByContent.set(digest, [name]);
  }
  const stillRemoved: string[] = [];
  for (const from of removed.sort(compareNames)) {
    const to = addedByContent.get(want.get(from) ?? '')?.shift();
    if (to === undefined) stillRemoved.push(from);
    else renamed.push({ from, to });
  }
  const renamedTo = new Set(renamed.map((r) => r.to));
  return {
    modified: modified.sort((a, b) => compareNames(a.name, b.name)),
    added: added.filter((n) => !renamedTo.has(n)),
    removed: stillRemoved,
    renamed,
  };
}

/** One line per difference, for people. */
export function describeDiff(diff: ManifestDiff): string[] {
  return [
    ...diff.modified.map((m) => `modified: ${m.name} (expected ${m.expected.slice(0, 16)}…, found ${m.actual.slice(0, 16)}…)`),
    ...diff.added.map((n) => `added:    ${n} (not in the signed manifest)`),
    ...diff.removed.map((n) => `removed:  ${n} (signed, missing on disk)`),
    ...diff.renamed.map((r) => `renamed:  ${r.from} -> ${r.to}`),
  ];
}

/** Throws the coded error for a non-empty diff: content changes only → DIGEST_MISMATCH, else MANIFEST_MISMATCH. */
export function assertNoDiff(diff: ManifestDiff, what: string): void {
  if (isDiffEmpty(diff)) return;
  const lines = describeDiff(diff);
  const code = diff.added.length + diff.removed.length + diff.renamed.length === 0 ? 'DIGEST_MISMATCH' : 'MANIFEST_MISMATCH';
  const shown = lines.slice(0, 20).map((l) => `  ${l}`);
  if (lines.length > 20) shown.push(`  … and ${lines.length - 20} more`);
  throw new CustodyError(code, `${what} does not match its signature:\n${shown.join('\n')}`, { details: { ...diff } });
}
