import { lstat, rm } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import picomatch from 'picomatch';
import { FileSource } from '../../core/byte-source.js';
import type { ResolvedConfig } from '../../core/config.js';
import { CustodyError } from '../../core/errors.js';
import type { Finding } from '../../core/finding.js';
import type { Scanner } from '../../core/scanner.js';
import { joinDisplay, toPosix } from '../../core/walk.js';
import { buildFinding, scanBlob, type FileScanOptions } from '../file-scan.js';
import { AsyncQueue, listHeadBlobs, locateRepo, openGitSession, readBlobs, sanitizeShallow, walkHistory, type BlobContent, type Commit, type GitLimits, type GitSession, type RepoInfo } from './git.js';
import { inThreadScanner, workerScanner, type BlobScanner } from './pool.js';
import { findingsCappedRule } from '../core/rules.js';
import { blobNotScannedRule } from './rules.js';

export { historyRules } from './rules.js';

export interface HistoryScanOptions {
  /** A directory inside a git work tree (or a bare repository), or a file: only its history is scanned. */
  repo: string;
  /** Display path prefix for findings (the path as given on the command line). */
  displayRoot: string;
  scanners: readonly Scanner[];
  config: ResolvedConfig;
  knownRuleIds: ReadonlySet<string>;
  /** Extra exclude globs (the config's `exclude` always applies), matched like the file walker's. */
  exclude?: readonly string[] | undefined;
  /** Blobs larger than this are reported by `history/blob-not-scanned` instead of scanned (default 4 GiB). */
  maxBlobBytes?: number;
  /** Blobs up to this size are scanned from memory, larger ones from a temporary file (default 64 MiB). */
  memoryBlobBytes?: number;
  /**
   * Worker threads for scanning blobs (default 0: in this thread). Reading blobs from git, not scanning
   * them, bounds a history scan of ordinary source repositories, and the bench measured workers slower
   * there (starting them and copying each blob cost more than they save); they pay off for histories
   * heavy in large blobs on many cores.
   */
  jobs?: number;
  /**
   * Bounds on the git processes (defaults in DEFAULT_GIT_LIMITS: 120 s without output while waited on,
   * 20 s for short commands, 512 MiB of memory per git process). Past one, the scan ends with INPUT_LIMIT.
   */
  gitLimits?: Partial<GitLimits>;
  /**
   * Most commits plus distinct (file version, path) pairs a history scan keeps track of (default
   * 1,000,000, about 250 MB); past it the scan ends with INPUT_LIMIT instead of growing without bound.
   */
  maxEntries?: number;
}

const MEMORY_BLOB_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_ENTRIES = 1_000_000;
const DEFAULT_MAX_BLOB_BYTES = 4 * 1024 * 1024 * 1024;

/** Findings of one blob scanned at one path. */
interface Scanned {
  sha: string;
  path: string;
  findings: Finding[];
}

/**
 * Where one blob was introduced: its first path and the commit that introduced it there, further paths
 * only when there are any (most blobs have one), and the path it is scanned at in the first pass.
 */
interface BlobPaths {
  path: string;
  commit: number;
  more?: Map<string, number>;
  scanPath?: string;
}

function pathsOf(paths: BlobPaths | undefined): string[] {
  return paths === undefined ? [] : [paths.path, ...(paths.more?.keys() ?? [])];
}

/** Index of the commit that introduced the blob at `path`, or -1. */
function commitOf(paths: BlobPaths | undefined, path: string): number {
  if (paths === undefined) return -1;
  return paths.path === path ? paths.commit : (paths.more?.get(path) ?? -1);
}

interface NotScanned {
  sha: string;
  path: string;
  why: 'tooLarge' | 'missing';
  size: number;
}

/**
 * Scans every version of every file in the history of all refs, reading each unique blob once.
 *
 * `git log --raw` (newest first) lists the blobs each commit shows; they stream into one
 * `git cat-file --batch` while the walk goes on, and each blob is scanned once, at the first path it
 * was seen at. Only a blob with findings is read again for its other paths (renames, copies).
 *
 * Findings keep the fingerprint a scan of the file at that path would give (rule, path, secret), so
 * one secret that lived through many versions of a file is one finding, attributed to the commit that
 * introduced it (the earliest in topological order), and a baseline written from a history scan
 * silences exactly those secrets on the next run — history scans are incremental that way.
 * `properties` carry `commit`, `author`, `date`, `historyPath` (from the top of the repository) and
 * `inHead` (some version of the file holding this finding is in HEAD's tree).
 */
export async function scanHistory(options: HistoryScanOptions): Promise<Finding[]> {
  const absolute = resolve(options.repo);
  let isDirectory: boolean;
  try {
    isDirectory = (await lstat(absolute)).isDirectory();
  } catch (error) {
    throw new CustodyError('PATH_NOT_FOUND', `--history: cannot read ${options.repo}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  const session = await openGitSession(options.gitLimits);
  const repo = await locateRepo(session, isDirectory ? absolute : dirname(absolute));
  // A planted `shallow` entry must not hide commits the repository holds.
  const shallow = await sanitizeShallow(session, repo);
  const git = shallow === undefined ? session : { ...session, env: { ...session.env, GIT_SHALLOW_FILE: shallow.file } };
  try {
    return await scanRepository(git, repo, isDirectory, absolute, options);
  } finally {
    if (shallow !== undefined) await rm(shallow.dir, { recursive: true, force: true });
  }
}

/** The scan proper, once the repository is located, checked and its shallow list corrected. */
async function scanRepository(git: GitSession, repo: RepoInfo, isDirectory: boolean, absolute: string, options: HistoryScanOptions): Promise<Finding[]> {
  const { config } = options;
  const pathspec = isDirectory ? repo.prefix : `${repo.prefix}${basename(absolute)}`;
  const display = (path: string): string => (isDirectory ? joinDisplay(options.displayRoot, path.slice(pathspec.length)) : toPosix(options.displayRoot));
  const excluded = excluder([...config.exclude, ...(options.exclude ?? [])], pathspec, display);

  const commits: Commit[] = [];
  /** blob → the paths it was introduced at, each with the commit that introduced it there (the last, oldest, to show it). */
  const introduced = new Map<string, BlobPaths>();
  const queue = new AsyncQueue<string>();
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  let entries = 0;
  const count = (): void => {
    if (++entries > maxEntries) {
      throw new CustodyError('INPUT_LIMIT', `--history: the history holds more than ${maxEntries} commits and file versions, the most a history scan tracks; scan a subdirectory's history instead`, {
        details: { limit: 'entries', max: maxEntries },
      });
    }
  };
  const walking = walkHistory(git, repo.top, pathspec, {
    onCommit: (commit) => {
      count();
      commits.push(commit);
    },
    onBlob: (sha, path) => {
      const commit = commits.length - 1;
      let paths = introduced.get(sha);
      if (paths === undefined) {
        count();
        introduced.set(sha, (paths = { path, commit }));
      } else if (paths.path === path) paths.commit = commit;
      else {
        if (paths.more?.has(path) !== true) count();
        (paths.more ??= new Map()).set(path, commit);
      }
      if (paths.scanPath === undefined && !excluded(path)) {
        paths.scanPath = path;
        queue.push(sha);
      }
    },
  }).then(
    () => queue.end(),
    (error: unknown) => {
      queue.end(error);
      throw error;
    },
  );
  walking.catch(() => undefined);
  const head = listHeadBlobs(git, repo.top);
  head.catch(() => undefined);

  const scanOptions: FileScanOptions = { scanners: options.scanners, config, knownRuleIds: options.knownRuleIds };
  const jobs = options.jobs ?? 0;
  const scanner: BlobScanner = jobs > 0 ? workerScanner(scanOptions, jobs) : inThreadScanner(scanOptions);
  const readOptions = { memoryBytes: options.memoryBlobBytes ?? MEMORY_BLOB_BYTES, maxBytes: options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES };
  /** Blobs with findings only: most versions of most files have none. */
  const scanned: Scanned[] = [];
  const keep = (sha: string, path: string, findings: Finding[]): void => {
    if (findings.length > 0) scanned.push({ sha, path, findings });
  };
  const notScanned: NotScanned[] = [];
  const inFlight = new Set<Promise<void>>();

  /** Scans a blob at each path; in memory through the scanner (maybe a worker), from a spool file here. */
  const handle = async (blob: BlobContent, paths: readonly string[]): Promise<void> => {
    const [path] = paths;
    if (path === undefined) return;
    if (blob.kind === 'missing' || blob.kind === 'skipped') {
      notScanned.push({ sha: blob.sha, path, why: blob.kind === 'missing' ? 'missing' : 'tooLarge', size: blob.kind === 'skipped' ? blob.size : 0 });
      return;
    }
    if (blob.kind === 'file') {
      // The spool file is removed when the reader moves on: scan it now, in this thread.
      const source = await FileSource.open(blob.file);
      try {
        for (const p of paths) keep(blob.sha, p, await scanBlob(display(p), source, scanOptions));
      } finally {
        await source.close();
      }
      return;
    }
    const data = blob.data;
    const work = Promise.all(paths.map(async (p) => keep(blob.sha, p, await scanner.scan(display(p), data)))).then(() => undefined);
    inFlight.add(work);
    void work.then(() => inFlight.delete(work));
    if (inFlight.size >= scanner.capacity) await Promise.race(inFlight);
  };

  try {
    // First pass: every blob once, at the first path it was seen at, while the walk goes on.
    for await (const blob of readBlobs(git, repo.top, queue, readOptions)) await handle(blob, [introduced.get(blob.sha)?.scanPath ?? '']);
    await walking;
    await Promise.all(inFlight);

    // Second pass: blobs with findings, at the other paths they were introduced at.
    const withFindings = new Set(scanned.map((s) => s.sha));
    const morePaths = new Map<string, string[]>();
    for (const sha of withFindings) {
      const paths = introduced.get(sha);
      const rest = pathsOf(paths).filter((p) => p !== paths?.scanPath && !excluded(p));
      if (rest.length > 0) morePaths.set(sha, rest);
    }
    if (morePaths.size > 0) {
      for await (const blob of readBlobs(git, repo.top, AsyncQueue.from(morePaths.keys()), readOptions)) await handle(blob, morePaths.get(blob.sha) ?? []);
      await Promise.all(inFlight);
    }
  } finally {
    await scanner.close();
  }

  // Versions that could not be read are listed up to limits.maxFindingsPerRule (a partial clone can
  // miss every blob in its history); the rest are counted in one core/findings-capped finding.
  const cap = config.limits.maxFindingsPerRule;
  notScanned.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.sha < b.sha ? -1 : a.sha > b.sha ? 1 : 0));
  const findings = attribute(scanned, notScanned.slice(0, cap), {
    commits,
    introduced,
    headBlobs: await head,
    display,
    report: (item) => notScannedFinding(item, commits[commitOf(introduced.get(item.sha), item.path)], display, config, readOptions.maxBytes),
  });
  if (notScanned.length > cap && config.rules.get(blobNotScannedRule.id)?.enabled !== false) {
    const rule = blobNotScannedRule.id;
    const severity = config.rules.get(rule)?.severity ?? blobNotScannedRule.severity;
    findings.push(buildFinding(findingsCappedRule, { path: toPosix(options.displayRoot) }, { message: 'capped', severity, key: rule, data: { count: notScanned.length - cap, rule, limit: cap } }, config));
  }
  return findings;
}

interface Attribution {
  commits: readonly Commit[];
  introduced: ReadonlyMap<string, BlobPaths>;
  headBlobs: ReadonlySet<string>;
  display: (path: string) => string;
  report: (item: NotScanned) => Finding | undefined;
}

/**
 * Groups findings by fingerprint (one secret in many versions of a file is one finding), attributes
 * each group to the oldest commit that introduced one of its blobs at that path, and adds the
 * history properties.
 */
function attribute(scanned: readonly Scanned[], notScanned: readonly NotScanned[], context: Attribution): Finding[] {
  const groups = new Map<string, { finding: Finding; commit: number; path: string; blobs: Set<string> }>();
  const add = (finding: Finding, sha: string, path: string): void => {
    const commit = commitOf(context.introduced.get(sha), path);
    const group = groups.get(finding.fingerprint);
    if (!group) groups.set(finding.fingerprint, { finding, commit, path, blobs: new Set([sha]) });
    else {
      group.blobs.add(sha);
      // Commits are numbered newest first: the larger number is the older commit.
      if (commit > group.commit || (commit === group.commit && path < group.path)) Object.assign(group, { finding, commit, path });
    }
  };
  for (const { sha, path, findings } of scanned) for (const finding of findings) add(finding, sha, path);
  for (const item of notScanned) {
    const finding = context.report(item);
    if (finding) add(finding, item.sha, item.path);
  }
  const out: Finding[] = [];
  for (const group of groups.values()) {
    const commit = context.commits[group.commit];
    const inHead = [...group.blobs].some((sha) => context.headBlobs.has(sha));
    const properties: Record<string, unknown> = { ...group.finding.properties, commit: commit?.sha ?? '', date: commit?.date ?? '', inHead, historyPath: group.path };
    if (commit?.author) properties['author'] = commit.author;
    out.push({ ...group.finding, properties });
  }
  return out;
}

function notScannedFinding(item: NotScanned, commit: Commit | undefined, display: (path: string) => string, config: ResolvedConfig, limit: number): Finding | undefined {
  if (config.rules.get(blobNotScannedRule.id)?.enabled === false) return undefined;
  return buildFinding(
    blobNotScannedRule,
    { path: display(item.path) },
    { message: item.why, data: { historyPath: item.path, commit: (commit?.sha ?? '').slice(0, 12), size: item.size, limit }, key: `${item.why}\0${item.sha}` },
    config,
  );
}

function excluder(globs: readonly string[], pathspec: string, display: (path: string) => string): (path: string) => boolean {
  if (globs.length === 0) return () => false;
  const matchers = globs.map((glob) => picomatch(glob, { dot: true }));
  return (path) => {
    const relative = path.slice(pathspec.length);
    const shown = display(path);
    return matchers.some((match) => match(relative) || match(shown) || match(path));
  };
}
