import { lstat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import picomatch from 'picomatch';
import { BufferSource, FileSource, readAll, type ByteSource } from '../../core/byte-source.js';
import type { ResolvedConfig } from '../../core/config.js';
import { CustodyError } from '../../core/errors.js';
import type { Finding } from '../../core/finding.js';
import type { Scanner } from '../../core/scanner.js';
import { joinDisplay, toPosix } from '../../core/walk.js';
import { buildFinding, scanSource, type FileScanOptions } from '../file-scan.js';
import { indexHistory, listHeadBlobs, locateRepo, readBlobs, type BlobIndex, type Introduction } from './git.js';
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
}

const MEMORY_BLOB_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_BLOB_BYTES = 4 * 1024 * 1024 * 1024;

interface Group {
  finding: Finding;
  intro: Introduction;
  /** Every blob that produced this finding (the same secret in later versions of the file). */
  blobs: Set<string>;
}

/**
 * Scans every version of every file in the history of all refs, reading each unique blob once.
 *
 * Findings keep the fingerprint a scan of the file at that path would give (rule, path, secret), so
 * one secret that lived through many versions of a file is one finding, attributed to the commit that
 * introduced it (the earliest in topological order), and a baseline written from a history scan
 * silences exactly those secrets on the next run — history scans are incremental that way.
 * `properties` carry `commit`, `author`, `date`, `historyPath` (from the top of the repository) and
 * `inHead` (some version of the file holding this finding is in HEAD's tree).
 */
export async function scanHistory(options: HistoryScanOptions): Promise<Finding[]> {
  const { config } = options;
  const absolute = resolve(options.repo);
  let isDirectory: boolean;
  try {
    isDirectory = (await lstat(absolute)).isDirectory();
  } catch (error) {
    throw new CustodyError('PATH_NOT_FOUND', `--history: cannot read ${options.repo}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  const repo = await locateRepo(isDirectory ? absolute : dirname(absolute));
  const pathspec = isDirectory ? repo.prefix : `${repo.prefix}${basename(absolute)}`;
  const display = (path: string): string => (isDirectory ? joinDisplay(options.displayRoot, path.slice(pathspec.length)) : toPosix(options.displayRoot));

  const index = await indexHistory(repo.top, pathspec);
  if (index.blobs.size === 0) return [];
  const excluded = excluder([...config.exclude, ...(options.exclude ?? [])], pathspec, display);
  const wanted = selectBlobs(index, excluded);
  const headBlobs = await listHeadBlobs(repo.top);

  const scanOptions: FileScanOptions = { scanners: options.scanners, config, knownRuleIds: options.knownRuleIds };
  const maxBlobBytes = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
  const groups = new Map<string, Group>();
  const record = (findings: readonly Finding[], intro: Introduction, sha: string, data: Buffer | undefined): void => {
    for (const finding of findings) {
      if (data !== undefined && isSuppressed(finding, data)) continue;
      const group = groups.get(finding.fingerprint);
      if (!group) groups.set(finding.fingerprint, { finding, intro, blobs: new Set([sha]) });
      else {
        group.blobs.add(sha);
        if (intro.commit < group.intro.commit) {
          group.finding = finding;
          group.intro = intro;
        }
      }
    }
  };
  const notScanned = (intro: Introduction, sha: string, message: 'tooLarge' | 'missing', size: number): void => {
    if (config.rules.get(blobNotScannedRule.id)?.enabled === false) return;
    const commit = index.commits[intro.commit]?.sha ?? '';
    const finding = buildFinding(
      blobNotScannedRule,
      { path: display(intro.path) },
      { message, data: { historyPath: intro.path, commit: commit.slice(0, 12), size, limit: maxBlobBytes }, key: `${message}\0${sha}` },
      config,
    );
    record([finding], intro, sha, undefined);
  };

  for await (const blob of readBlobs(repo.top, wanted.keys(), { memoryBytes: options.memoryBlobBytes ?? MEMORY_BLOB_BYTES, maxBytes: maxBlobBytes })) {
    const intros = wanted.get(blob.sha);
    if (intros === undefined || intros.length === 0) continue;
    const first = intros[0] as Introduction;
    if (blob.kind === 'missing') {
      notScanned(first, blob.sha, 'missing', 0);
      continue;
    }
    if (blob.kind === 'skipped') {
      notScanned(first, blob.sha, 'tooLarge', blob.size);
      continue;
    }
    const source: ByteSource = blob.kind === 'memory' ? new BufferSource(blob.data) : await FileSource.open(blob.file);
    try {
      const findings = await scanSource(display(first.path), source, scanOptions);
      // The text is needed only to honour inline suppressions of findings that have a line.
      const data = findings.some((f) => f.location.line !== undefined) ? await readAll(source, config.limits.maxTextBytes) : undefined;
      record(findings, first, blob.sha, data);
      // Each blob is scanned once, at the first path it appeared at. Only when that finds something
      // is it scanned again for its other paths (renames, copies), whose findings are their own.
      if (findings.length > 0) {
        for (const intro of intros.slice(1)) record(await scanSource(display(intro.path), source, scanOptions), intro, blob.sha, data);
      }
    } finally {
      await source.close();
    }
  }

  const findings: Finding[] = [];
  for (const group of groups.values()) {
    const commit = index.commits[group.intro.commit];
    const inHead = [...group.blobs].some((sha) => headBlobs.has(sha));
    const properties: Record<string, unknown> = { ...group.finding.properties, commit: commit?.sha ?? '', date: commit?.date ?? '', inHead, historyPath: group.intro.path };
    if (commit?.author) properties['author'] = commit.author;
    findings.push({ ...group.finding, properties });
  }
  return findings;
}

/** Blobs to read, each with the introductions that are not excluded; blobs left with none are dropped. */
function selectBlobs(index: BlobIndex, excluded: (path: string) => boolean): Map<string, Introduction[]> {
  const wanted = new Map<string, Introduction[]>();
  for (const [sha, intros] of index.blobs) {
    const kept = intros.filter((intro) => !excluded(intro.path));
    if (kept.length > 0) wanted.set(sha, kept);
  }
  return wanted;
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

const SUPPRESSION = /custody-ignore\s+([A-Za-z0-9_-]+\/[A-Za-z0-9_-]+)\s+--\s*\S/;

/**
 * Inline suppressions hold in history too: `custody-ignore <rule-id> -- <reason>` on the finding's
 * line or the line above, in the version of the file that holds the finding.
 */
function isSuppressed(finding: Finding, data: Buffer): boolean {
  const line = finding.location.line;
  if (line === undefined || finding.location.member !== undefined || !data.includes('custody-ignore')) return false;
  const lines = data.toString('utf8').split('\n');
  for (const at of [line, line - 1]) {
    const match = SUPPRESSION.exec(lines[at - 1] ?? '');
    if (match && match[1] === finding.ruleId) return true;
  }
  return false;
}
