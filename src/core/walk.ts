import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type BigIntStats, type Dirent, type Stats } from 'node:fs';
import { posix, sep } from 'node:path';
import { isUtf8 } from 'node:buffer';
import ignore, { type Ignore } from 'ignore';
import picomatch from 'picomatch';
import { CustodyError } from './errors.js';
import { describeFileType, readRegularFile, readSmallRegularFileSync } from './safe-fs.js';

/**
 * Walking the trees to scan. The tree is untrusted: it may hold symbolic links (in or out of it, in
 * loops), FIFOs and devices, names that are not valid UTF-8, paths longer than the system allows, and
 * ignore files written to hide what it holds. The walk never fails open on any of them: every regular
 * file it can reach inside the scanned roots is listed once, and every entry it cannot list or read is
 * reported as a `WalkIssue` (the engine turns each into a finding).
 *
 * - Paths are handled as bytes, so a name that is not valid UTF-8 is still opened; it is shown with
 *   the invalid bytes escaped as `\xNN`.
 * - A symbolic link named on the command line is followed (the user named it). Inside a tree, a link
 *   is followed when its target lies inside one of the scanned roots, or — the Hugging Face cache
 *   layout, `models--org--name/snapshots/<rev>/…` → `../../blobs/<hash>` — inside the cache repository's
 *   own `blobs/`. A link that leads anywhere else is an issue, not followed.
 * - Every file is listed once however many paths reach it (links, hard links, overlapping roots). It is
 *   shown under its own path when the walk reaches it directly, else under the first link (in walk
 *   order) that reaches it — a cache blob is shown under its snapshot name — and the other paths are
 *   kept in `alsoAt`. Every directory is walked once, so link loops end.
 * - `.gitignore` files inside the tree do not hide files: what they match is listed with `ignored`
 *   set (the engine still scans it for high-risk content). They are read only as regular files of
 *   bounded size, and matched within bounds (see IGNORE_LIMITS), because their patterns are input too.
 *
 * The file system is asked synchronously: the walk is one sequence of calls whose every answer decides
 * the next, so promises would only add their cost (about a third of the walk's CPU time on a tree of
 * many small files) and let nothing else run meanwhile that matters.
 */

export interface WalkedFile {
  /** The root as given joined with the relative path, POSIX separators; invalid UTF-8 escaped as `\xNN`. */
  displayPath: string;
  /** The path as walked (possibly through a link), as text. When `undecodable`, an escaped stand-in that cannot be opened. */
  absPath: string;
  /** What to open when it is not `absPath`: the path's bytes when not valid UTF-8, or the resolved target of a link. */
  openPath?: string | Uint8Array;
  size: number;
  /** The walked path is not valid UTF-8: `absPath` is only a label. */
  undecodable?: true;
  /** Other paths of this walk that reach the same file (links, hard links, overlapping roots). */
  alsoAt?: string[];
  /** Matched by an ignore file inside the scanned tree (and by no path that is not ignored). */
  ignored?: true;
}

export const WALK_ISSUE_KINDS = ['link-outside-root', 'special-file', 'unreadable'] as const;
export type WalkIssueKind = (typeof WALK_ISSUE_KINDS)[number];

/** An entry the walk found but could not list as a file to scan. */
export interface WalkIssue {
  kind: WalkIssueKind;
  displayPath: string;
  /** What it is or why it could not be read: `a FIFO`, `ENAMETOOLONG`, the link's target. */
  detail: string;
  /** Named on the command line rather than found in a tree. */
  named: boolean;
  /** At a path matched by an ignore file inside the tree. */
  ignored: boolean;
}

export interface WalkResult {
  files: WalkedFile[];
  issues: WalkIssue[];
}

export interface WalkOptions {
  /** Globs matched against the path relative to each root (and against the display path). Excluded paths are not walked. */
  exclude?: readonly string[];
  /** Honour .gitignore files by marking what they match `ignored` (default true). Files named directly are never ignored. */
  gitignore?: boolean;
  /** Follow links inside the roots (and into a Hugging Face cache's blobs), as described above (default true). */
  followLinks?: boolean;
}

/**
 * Bounds on what an ignore file can cost. Ignoring only lowers noise, so past a bound the walk stops
 * honouring patterns (more is scanned), never the reverse. `**` patterns backtrack badly on deep paths.
 */
export const IGNORE_LIMITS = {
  /** A .gitignore larger than this is not read. */
  maxFileBytes: 64 * 1024,
  /** Patterns with more `**` than this are dropped. */
  maxGlobstars: 2,
  /** Patterns longer than this are dropped. */
  maxPatternLength: 1024,
  /** Paths deeper than this many components are not matched against ignore files. */
  maxDepth: 64,
  /** Patterns in effect at once, over all nested .gitignore files; deeper files past it are not read. */
  maxPatterns: 10_000,
} as const;

/** Files listed by one walk; past it the walk stops with INPUT_LIMIT rather than exhaust memory. */
export const MAX_WALK_FILES = 2_000_000;

const ALWAYS_SKIPPED_DIRS = new Set(['.git', '.hg', '.svn']);
const HF_REPO_DIR = /^(models|datasets|spaces)--/;
const SLASH = Buffer.from('/');
const GITIGNORE = Buffer.from('.gitignore');

export function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

export function joinDisplay(root: string, rel: string): string {
  const r = toPosix(root).replace(/\/+$/, '');
  if (r === '' || r === '.') return rel;
  return `${r}/${rel}`;
}

/**
 * A name's bytes as text: valid UTF-8 as is, each byte of an invalid sequence as `\xNN`.
 * `exact` is false when something was escaped (the text then cannot be used to open the file).
 */
export function decodeName(bytes: Uint8Array): { text: string; exact: boolean } {
  // isUtf8 + toString rather than a fatal TextDecoder: faster, and a leading U+FEFF is kept, not dropped as a BOM.
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buffer)) return { text: buffer.toString('utf8'), exact: true };
  let text = '';
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] as number;
    const length = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length > 0 && i + length <= bytes.length) {
      const sequence = buffer.subarray(i, i + length);
      if (isUtf8(sequence)) {
        text += sequence.toString('utf8');
        i += length;
        continue;
      }
      // an invalid sequence: escape its first byte and resynchronise
    }
    text += `\\x${lead.toString(16).padStart(2, '0')}`;
    i += 1;
  }
  return { text, exact: false };
}

function isInside(path: Buffer, dir: Buffer): boolean {
  if (path.equals(dir)) return true;
  const prefix = dir.length > 0 && dir[dir.length - 1] === 0x2f ? dir : Buffer.concat([dir, SLASH]);
  return path.length > prefix.length && path.subarray(0, prefix.length).equals(prefix);
}

function joinBytes(dir: Buffer, name: Buffer): Buffer {
  return dir.length > 0 && dir[dir.length - 1] === 0x2f ? Buffer.concat([dir, name]) : Buffer.concat([dir, SLASH, name]);
}

function dirnameBytes(path: Buffer): Buffer {
  const slash = path.lastIndexOf(0x2f);
  if (slash < 0) return Buffer.from('.');
  if (slash === 0) return Buffer.from('/');
  return path.subarray(0, slash);
}

/** The value of `read`, or undefined when it throws (an entry gone or unreadable since it was listed). */
function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function identity(info: Stats | BigIntStats): string {
  return `${info.dev}:${info.ino}`;
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

/** Why an entry could not be read, for its finding. */
function describeError(error: unknown): string {
  const code = errorCode(error);
  if (code === 'ENAMETOOLONG') return 'the path is longer than the system can open (ENAMETOOLONG); nothing at or under it was scanned';
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code}); nothing at or under it was scanned`;
  return `${code}; nothing at or under it was scanned`;
}

interface IgnoreLayer {
  /** Relative path (escaped text) of the directory holding the .gitignore, '' at the root. */
  dir: string;
  matcher: Ignore;
  patterns: number;
}

/** Where a walk is: the root it started from (for display) and its ignore layers. */
interface Place {
  rootDisplay: string;
  /** Path relative to the root as text, '' at the root. */
  rel: string;
  layers: readonly IgnoreLayer[];
  ignored: boolean;
}

interface Candidate {
  display: string;
  walked: Buffer;
  open: Buffer;
  size: number;
  id: string;
  /** 0 reached directly, 1 through a link, 2 a Hugging Face cache blob reached directly. */
  rank: 0 | 1 | 2;
  order: number;
  ignored: boolean;
}

interface PendingLink {
  walked: Buffer;
  id: string;
  place: Place;
}

/** Reads, bounds and compiles one .gitignore; undefined when there is none or it is not honoured. */
async function readIgnoreLayer(dir: Buffer, rel: string, inEffect: number): Promise<IgnoreLayer | undefined> {
  // Missing, a link, a FIFO, too large: not honoured. Ignoring only lowers noise, so this fails closed.
  const path = joinBytes(dir, GITIGNORE);
  const data = isUtf8(path)
    ? readSmallRegularFileSync(path.toString('utf8'), IGNORE_LIMITS.maxFileBytes)
    : await readRegularFile(path, { maxBytes: IGNORE_LIMITS.maxFileBytes, noFollow: true }).catch(() => undefined);
  if (data === undefined) return undefined;
  const patterns = data
    .toString('utf8')
    .split(/\r?\n/)
    .filter((line) => line.length <= IGNORE_LIMITS.maxPatternLength && (line.match(/\*\*/g)?.length ?? 0) <= IGNORE_LIMITS.maxGlobstars);
  const count = patterns.filter((line) => line.trim() !== '' && !line.startsWith('#')).length;
  if (count === 0 || inEffect + count > IGNORE_LIMITS.maxPatterns) return undefined;
  try {
    return { dir: rel, matcher: ignore().add(patterns), patterns: count };
  } catch {
    return undefined;
  }
}

function matchesIgnore(layers: readonly IgnoreLayer[], rel: string, isDir: boolean): boolean {
  for (const layer of layers) {
    const sub = layer.dir === '' ? rel : rel.startsWith(`${layer.dir}/`) ? rel.slice(layer.dir.length + 1) : undefined;
    if (sub === undefined || sub === '') continue;
    if (sub.split('/').length > IGNORE_LIMITS.maxDepth) continue;
    try {
      if (layer.matcher.ignores(isDir ? `${sub}/` : sub)) return true;
    } catch {
      // a path the matcher rejects is not ignored
    }
  }
  return false;
}

/** Walks the roots and returns every file to scan (each once) and every entry that cannot be scanned. */
export async function walkTree(roots: readonly string[], options: WalkOptions = {}): Promise<WalkResult> {
  const excludes = (options.exclude ?? []).map((g) => picomatch(g, { dot: true }));
  const excluded = (rel: string, display: string): boolean => excludes.some((m) => m(rel) || m(display));
  const useGitignore = options.gitignore !== false;
  const followLinks = options.followLinks !== false;

  const candidates: Candidate[] = [];
  const issues: WalkIssue[] = [];
  const visitedDirs = new Set<string>();
  const pendingLinks: PendingLink[] = [];
  const realRoots: Buffer[] = [];
  const realDirCache = new Map<string, Buffer | undefined>();

  const addCandidate = (candidate: Omit<Candidate, 'order'>): void => {
    if (candidates.length >= MAX_WALK_FILES) throw new CustodyError('INPUT_LIMIT', `the paths to scan hold more than ${MAX_WALK_FILES} files; scan smaller parts`);
    (candidate as Candidate).order = candidates.length;
    candidates.push(candidate as Candidate);
  };
  const issue = (kind: WalkIssueKind, displayPath: string, detail: string, place: { ignored: boolean }, named = false): void => {
    issues.push({ kind, displayPath, detail, named, ignored: place.ignored });
  };

  // Real paths of directory roots first: a link in one root may lead into another.
  for (const root of roots) {
    const info = attempt(() => statSync(root));
    if (info?.isDirectory()) {
      const real = attempt(() => realpathSync.native(root, { encoding: 'buffer' }));
      if (real) realRoots.push(real);
    }
  }

  /** The real directory holding `path` (cached): where a link lives, to spot the Hugging Face cache layout. */
  const realDirOf = async (path: Buffer): Promise<Buffer | undefined> => {
    const dir = dirnameBytes(path);
    const key = dir.toString('latin1');
    if (!realDirCache.has(key)) realDirCache.set(key, attempt(() => realpathSync.native(dir, { encoding: 'buffer' })));
    return realDirCache.get(key);
  };

  /** A link at `linkPath` into `target` is a cache snapshot entry pointing at its own repository's blob. */
  const isCacheBlobLink = async (linkPath: Buffer, target: Buffer): Promise<boolean> => {
    const dir = await realDirOf(linkPath);
    if (!dir) return false;
    const parts = dir.toString('latin1').split('/');
    for (let i = parts.length - 2; i >= 1; i--) {
      if (parts[i] !== 'snapshots' || !HF_REPO_DIR.test(parts[i - 1] ?? '')) continue;
      const blobs = Buffer.from([...parts.slice(0, i), 'blobs'].join('/'), 'latin1');
      return dirnameBytes(target).equals(blobs);
    }
    return false;
  };

  const isCacheBlobPath = (rel: string): boolean => {
    if (!rel.includes('/blobs/')) return false;
    const parts = rel.split('/');
    return parts.length >= 3 && parts[parts.length - 2] === 'blobs' && HF_REPO_DIR.test(parts[parts.length - 3] ?? '');
  };

  const followLink = async (linkPath: Buffer, display: string, place: Place): Promise<void> => {
    let target: Buffer;
    try {
      target = realpathSync.native(linkPath, { encoding: 'buffer' });
    } catch (error) {
      if (errorCode(error) === 'ENAMETOOLONG') return issue('unreadable', display, describeError(error), place);
      // Dangling or a loop: there is nothing to read, unless it names a place outside the tree.
      const text = attempt(() => readlinkSync(linkPath, { encoding: 'buffer' }));
      if (text && leavesRoots(await lexicalTarget(linkPath, text))) issue('link-outside-root', display, decodeName(text).text, place);
      return;
    }
    if (!realRoots.some((root) => isInside(target, root)) && !(await isCacheBlobLink(linkPath, target))) {
      const text = attempt(() => readlinkSync(linkPath, { encoding: 'buffer' })) ?? target;
      return issue('link-outside-root', display, decodeName(text).text, place);
    }
    let info: Stats;
    try {
      info = lstatSync(target);
    } catch (error) {
      return issue('unreadable', display, describeError(error), place);
    }
    if (info.isFile()) addCandidate({ display, walked: linkPath, open: target, size: info.size, id: identity(info), rank: 1, ignored: place.ignored });
    else if (info.isDirectory()) pendingLinks.push({ walked: linkPath, id: identity(info), place });
    else issue('special-file', display, describeFileType(info), place);
  };

  const lexicalTarget = async (linkPath: Buffer, text: Buffer): Promise<Buffer> => {
    if (text[0] === 0x2f) return Buffer.from(posix.normalize(text.toString('latin1')), 'latin1');
    const dir = (await realDirOf(linkPath)) ?? dirnameBytes(linkPath);
    return Buffer.from(posix.normalize(`${dir.toString('latin1')}/${text.toString('latin1')}`), 'latin1');
  };
  const leavesRoots = (target: Buffer): boolean => !realRoots.some((root) => isInside(target, root));

  const walkDir = async (dir: Buffer, dirId: string, place: Place): Promise<void> => {
    if (visitedDirs.has(dirId)) return;
    visitedDirs.add(dirId);
    let entries: Dirent<Buffer>[];
    try {
      entries = readdirSync(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      return issue('unreadable', place.rel === '' ? toPosix(place.rootDisplay) : joinDisplay(place.rootDisplay, place.rel), `the directory cannot be listed: ${describeError(error)}`, place);
    }
    let layers = place.layers;
    // Only a directory that lists a .gitignore is asked for one (a failed open per directory costs an exception).
    if (useGitignore && !place.ignored && entries.some((entry) => entry.name.equals(GITIGNORE))) {
      const inEffect = layers.reduce((sum, l) => sum + l.patterns, 0);
      const layer = await readIgnoreLayer(dir, place.rel, inEffect);
      if (layer) layers = [...layers, layer];
    }
    entries.sort((a, b) => Buffer.compare(a.name, b.name));
    for (const entry of entries) {
      const name = decodeName(entry.name);
      const abs = joinBytes(dir, entry.name);
      const rel = place.rel === '' ? name.text : `${place.rel}/${name.text}`;
      const display = joinDisplay(place.rootDisplay, rel);
      const isDir = entry.isDirectory();
      if (isDir && ALWAYS_SKIPPED_DIRS.has(name.text)) continue;
      if (excluded(rel, display) || (isDir && excluded(`${rel}/`, `${display}/`))) continue;
      const ignored = place.ignored || (useGitignore && matchesIgnore(layers, rel, isDir));
      const here: Place = { rootDisplay: place.rootDisplay, rel, layers, ignored };
      if (entry.isSymbolicLink()) {
        if (followLinks) await followLink(abs, display, here);
        continue;
      }
      let info: Stats;
      try {
        info = lstatSync(abs);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') issue('unreadable', display, describeError(error), here); // ENOENT: gone since the listing
        continue;
      }
      if (info.isDirectory()) await walkDir(abs, identity(info), here);
      else if (info.isFile()) addCandidate({ display, walked: abs, open: abs, size: info.size, id: identity(info), rank: isCacheBlobPath(rel) ? 2 : 0, ignored });
      else if (info.isSymbolicLink()) {
        if (followLinks) await followLink(abs, display, here);
      } else issue('special-file', display, describeFileType(info), here);
    }
  };

  for (const root of roots) {
    let info: Stats;
    try {
      info = lstatSync(root);
    } catch (error) {
      throw new CustodyError('PATH_NOT_FOUND', `cannot scan ${root}: ${errorCode(error)}`, { cause: error });
    }
    const display = toPosix(root);
    const top: Place = { rootDisplay: root, rel: '', layers: [], ignored: false };
    const walked = Buffer.from(root);
    if (info.isSymbolicLink()) {
      // Named on the command line: followed wherever it leads.
      let target: Buffer;
      try {
        target = realpathSync.native(root, { encoding: 'buffer' });
        info = lstatSync(target);
      } catch (error) {
        throw new CustodyError('PATH_NOT_FOUND', `cannot scan ${root}: it is a symbolic link whose target cannot be read (${errorCode(error)})`, { cause: error });
      }
      if (info.isFile()) addCandidate({ display, walked, open: target, size: info.size, id: identity(info), rank: 1, ignored: false });
      else if (info.isDirectory()) await walkDir(walked, identity(info), top);
      else issue('special-file', display, describeFileType(info), top, true);
    } else if (info.isFile()) addCandidate({ display, walked, open: walked, size: info.size, id: identity(info), rank: 0, ignored: false });
    else if (info.isDirectory()) await walkDir(walked, identity(info), top);
    else issue('special-file', display, describeFileType(info), top, true);
  }

  // Directories reached only through links, in walk order; each real directory is walked once.
  for (let i = 0; i < pendingLinks.length; i++) {
    const link = pendingLinks[i] as PendingLink;
    await walkDir(link.walked, link.id, link.place);
  }

  return { files: collapse(candidates), issues };
}

/** One file per identity: shown under its best path, the others kept in `alsoAt`. */
function collapse(candidates: readonly Candidate[]): WalkedFile[] {
  // Nearly every file is reached by one path: those need no group, and keep walk order without sorting.
  const first = new Map<string, Candidate>();
  const aliases = new Map<string, Candidate[]>();
  for (const candidate of candidates) {
    const seen = first.get(candidate.id);
    if (seen === undefined) first.set(candidate.id, candidate);
    else {
      const group = aliases.get(candidate.id);
      if (group) group.push(candidate);
      else aliases.set(candidate.id, [seen, candidate]);
    }
  }
  if (aliases.size === 0) return candidates.map((only) => walkedFile(only, [], only.ignored));
  const files: { order: number; file: WalkedFile }[] = [];
  for (const [id, only] of first) {
    const group = aliases.get(id);
    if (group === undefined) {
      files.push({ order: only.order, file: walkedFile(only, [], only.ignored) });
      continue;
    }
    const best = group.reduce((a, b) => (b.rank < a.rank || (b.rank === a.rank && b.order < a.order) ? b : a));
    const others = [...new Set(group.filter((c) => c !== best).map((c) => c.display))].filter((d) => d !== best.display);
    files.push({ order: best.order, file: walkedFile(best, others, group.every((c) => c.ignored)) });
  }
  return files.sort((a, b) => a.order - b.order).map((f) => f.file);
}

/** The file as scanned from its chosen path; `others` are the other paths that reach it. */
function walkedFile(best: Candidate, others: string[], ignored: boolean): WalkedFile {
  const walked = decodeName(best.walked);
  const open = best.open === best.walked ? walked : decodeName(best.open);
  const file: WalkedFile = { displayPath: best.display, absPath: walked.text, size: best.size };
  if (!(walked.exact && best.open === best.walked)) file.openPath = open.exact ? open.text : best.open;
  if (!walked.exact) file.undecodable = true;
  if (others.length > 0) file.alsoAt = others;
  if (ignored) file.ignored = true;
  return file;
}

/**
 * The files of a walk, for callers that only want files to read: ignored files and issues are left
 * out, and links are not followed unless asked.
 */
export async function* walkFiles(roots: readonly string[], options: WalkOptions = {}): AsyncGenerator<WalkedFile> {
  const { files } = await walkTree(roots, { followLinks: false, ...options });
  for (const file of files) if (file.ignored !== true) yield file;
}
