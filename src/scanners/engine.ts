import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Baseline } from '../core/baseline.js';
import { defaultConfig, type Limits, type ResolvedConfig } from '../core/config.js';
import { CustodyError } from '../core/errors.js';
import { compareFindings, type Finding } from '../core/finding.js';
import { SEVERITIES, type Severity } from '../core/severity.js';
import type { Scanner } from '../core/scanner.js';
import { walkTree, type WalkedFile, type WalkIssue } from '../core/walk.js';
import { startWorker } from '../core/workers.js';
import { coreRules, linkOutsideRootRule, scanErrorRule, specialFileRule } from './core/rules.js';
import { buildFinding, scanFile, type FileScanOptions } from './file-scan.js';
import { scanHistory } from './history/index.js';
import { historyRules } from './history/rules.js';
import { SCANNERS } from './index.js';

export interface ScanProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface ScanOptions {
  paths: readonly string[];
  /** Scanner names; all when absent. */
  only?: readonly string[];
  config?: ResolvedConfig;
  /** Extra exclude globs (added to the config's). */
  exclude?: readonly string[];
  baseline?: Baseline;
  /** Worker threads; 0 scans in this thread. Default: chosen from the work size and cores. */
  jobs?: number;
  gitignore?: boolean;
  /** Also scan every commit of each path's git history (each unique blob once). */
  history?: boolean;
  onProgress?: (progress: ScanProgress) => void;
  /**
   * URL of the ES module that exports the scanner list (`SCANNERS`); default DEFAULT_REGISTRY, Custody's
   * own. The main thread and every worker load it, so a caller can run its own list of scanners.
   */
  registry?: string;
}

export interface ScanSummary {
  files: number;
  bytes: number;
  findings: number;
  bySeverity: Record<Severity, number>;
  baselined: number;
  durationMs: number;
  scanners: string[];
  /** Files matched by an ignore file inside the scanned tree: scanned for high-risk content only. */
  ignored?: number;
  /** Entries found but not scanned (links leaving the tree, special files, unreadable paths): each is a finding. */
  notScanned?: number;
}

/** A file the scan read: `full` with every selected scanner, `high-risk` only (an ignore file matched it). */
export interface ScannedFile {
  path: string;
  /** Other paths that reach the same file (links, hard links, overlapping roots). */
  alsoAt?: string[];
  coverage: 'full' | 'high-risk';
}

export interface ScanResult {
  findings: Finding[];
  summary: ScanSummary;
  /** Every file the scan read, in walk order. */
  files?: ScannedFile[];
}

export function selectScanners(only: readonly string[] | undefined, available: readonly Scanner[] = SCANNERS): Scanner[] {
  if (!only || only.length === 0) return [...available];
  const names = available.map((s) => s.name);
  const unknown = only.filter((name) => !names.includes(name) || available.find((s) => s.name === name)?.alwaysOn === true);
  if (unknown.length > 0) {
    const selectable = available.filter((s) => s.alwaysOn !== true).map((s) => s.name);
    throw new CustodyError('USAGE', `unknown scanner ${unknown.join(', ')}; expected one of ${selectable.join(', ')}`);
  }
  return available.filter((s) => s.alwaysOn === true || only.includes(s.name));
}

/** Custody's own scanner registry (src/scanners/index.ts): what every scan loads unless told otherwise. */
export const DEFAULT_REGISTRY: string = new URL('./index.js', import.meta.url).href;

/**
 * Loads a scanner registry: an ES module exporting `SCANNERS`, the sorted list of scanners. The main
 * thread and every worker load the same module by URL, so the list a scan runs is injected in one place.
 */
export async function loadRegistry(registry: string): Promise<readonly Scanner[]> {
  let loaded: unknown;
  try {
    loaded = ((await import(registry)) as { SCANNERS?: unknown }).SCANNERS;
  } catch (error) {
    throw new CustodyError('WORKER_FAILED', `cannot load the scanner registry ${registry}: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(loaded) || !loaded.every((s) => typeof (s as Scanner | undefined)?.name === 'string' && typeof (s as Scanner).scan === 'function')) {
    throw new CustodyError('WORKER_FAILED', `the scanner registry ${registry} does not export SCANNERS, a list of scanners`);
  }
  return loaded as Scanner[];
}

/** Rule ids a scan with these scanners knows (for suppressions): the engine's, history's and theirs. */
export function ruleIdsOf(scanners: readonly Scanner[]): Set<string> {
  return new Set([...coreRules, ...historyRules, ...scanners.flatMap((s) => s.rules)].map((r) => r.id));
}

/** A walk entry that could not be scanned, as a finding. At a path an ignore file matches, a link or special file is low. */
function issueFinding(issue: WalkIssue, config: ResolvedConfig): Finding {
  const target = { path: issue.displayPath };
  const lowered = issue.ignored ? { severity: 'low' as const } : {};
  switch (issue.kind) {
    case 'link-outside-root':
      return buildFinding(linkOutsideRootRule, target, { message: 'outside', data: { target: issue.detail }, ...lowered }, config);
    case 'special-file':
      return buildFinding(specialFileRule, target, { message: 'special', data: { type: issue.detail }, ...lowered }, config);
    case 'unreadable':
      return buildFinding(scanErrorRule, target, { message: 'failed', data: { scanner: 'walk', reason: issue.detail } }, config);
  }
}

/** Walks the paths and scans every file with the selected scanners. */
export async function runScan(options: ScanOptions): Promise<ScanResult> {
  const started = Date.now();
  const config = options.config ?? defaultConfig();
  const registry = options.registry ?? DEFAULT_REGISTRY;
  const available = await loadRegistry(registry);
  const scanners = selectScanners(options.only, available);
  const walkOptions = { exclude: [...config.exclude, ...(options.exclude ?? [])], ...(options.gitignore === undefined ? {} : { gitignore: options.gitignore }) };
  const walk = await walkTree(options.paths, walkOptions);
  const files = walk.files;
  const walkFindings = walk.issues.map((issue) => issueFinding(issue, config)).filter((f) => config.rules.get(f.ruleId)?.enabled !== false);

  const bytesTotal = files.reduce((sum, f) => sum + f.size, 0);
  const knownRuleIds = ruleIdsOf(available);
  const scanning = scanWalkedFiles(files, {
    scanners,
    config,
    knownRuleIds,
    registry,
    jobs: options.jobs ?? defaultJobs(files.length, bytesTotal),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  // History reads blobs from git while the working tree is scanned (in workers when there are many files).
  const histories = options.history ? options.paths.map((path) => scanHistory({ repo: path, displayRoot: path, scanners, config, knownRuleIds, exclude: options.exclude })) : [];
  const [current, ...past] = await Promise.all([scanning, ...histories]);
  let findings = mergeHistory([...walkFindings, ...(current ?? [])], past.flat());

  let baselined = 0;
  if (options.baseline) {
    const known = options.baseline.fingerprints;
    const before = findings.length;
    findings = findings.filter((f) => !known.has(f.fingerprint));
    baselined = before - findings.length;
  }
  findings.sort(compareFindings);
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) bySeverity[f.severity] += 1;
  const ignored = files.filter((f) => f.ignored === true).length;
  return {
    findings,
    summary: {
      files: files.length,
      bytes: bytesTotal,
      findings: findings.length,
      bySeverity,
      baselined,
      durationMs: Date.now() - started,
      scanners: scanners.map((s) => s.name),
      ignored,
      notScanned: walk.issues.length,
    },
    files: files.map((f) => ({ path: f.displayPath, ...(f.alsoAt === undefined ? {} : { alsoAt: f.alsoAt }), coverage: f.ignored === true ? 'high-risk' : 'full' })),
  };
}

/**
 * A finding still in the working tree and also found in history is one finding: the working-tree copy
 * (its line is today's) with the history facts (introducing commit, author, date) added.
 */
function mergeHistory(current: Finding[], past: Finding[]): Finding[] {
  if (past.length === 0) return current;
  const byFingerprint = new Map(past.map((f) => [f.fingerprint, f]));
  const merged = current.map((f) => {
    const old = byFingerprint.get(f.fingerprint);
    if (old === undefined) return f;
    byFingerprint.delete(f.fingerprint);
    return { ...f, properties: { ...old.properties, ...f.properties } };
  });
  return merged.concat([...byFingerprint.values()]);
}

/**
 * Worker threads pay off when there are bytes to scan; many small files are bound by waiting on the
 * file system, which one thread with several files in flight already hides.
 */
function defaultJobs(fileCount: number, bytes: number): number {
  const cores = Math.min(availableParallelism(), 8);
  if (cores < 2 || fileCount < 2 || bytes < 48 * 1024 * 1024) return 0;
  return Math.min(cores, fileCount);
}

/**
 * Files in flight at once in one thread. Small files cost more in waiting on the file system than in
 * scanning, so several are open at a time; memory stays bounded by this count.
 */
const FILES_IN_FLIGHT = 8;

/** How long a worker may take to load its scanners before the scan fails with WORKER_FAILED. */
const WORKER_START_TIMEOUT_MS = 120_000;

/** How long to wait for a terminated worker to stop before leaving it behind (unreferenced). */
const TERMINATE_GRACE_MS = 2_000;

/**
 * The hard limit for one file in a worker thread, counted from when it is handed to a started worker:
 * twice the cooperative per-file budget plus one second. Past it the worker is terminated.
 */
export function hardTimeoutMs(limits: Pick<Limits, 'fileTimeoutMs'>): number {
  return limits.fileTimeoutMs * 2 + 1_000;
}

/** Runs `work` on every item with at most `width` at a time. */
async function forEachConcurrently<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) await work(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

export interface ScanFilesOptions extends FileScanOptions {
  /** The registry the scanners come from (loaded again by each worker). */
  registry: string;
  /** Worker threads; 0 scans in this thread. */
  jobs: number;
  onProgress?: (progress: ScanProgress) => void;
}

/**
 * Scans walked files, in this thread or spread over worker threads. Never throws for a file: each one
 * ends in its findings or in a `core/scan-error` finding.
 */
export async function scanWalkedFiles(files: readonly WalkedFile[], options: ScanFilesOptions): Promise<Finding[]> {
  const progress: ScanProgress = { filesDone: 0, filesTotal: files.length, bytesDone: 0, bytesTotal: files.reduce((sum, f) => sum + f.size, 0) };
  const onDone = (file: WalkedFile): void => {
    progress.filesDone += 1;
    progress.bytesDone += file.size;
    options.onProgress?.(progress);
  };
  if (options.jobs > 0) return scanInWorkers(files, options, onDone);
  const findings: Finding[] = [];
  await forEachConcurrently(files, FILES_IN_FLIGHT, async (file) => {
    findings.push(...(await scanFile(file, options)));
    onDone(file);
  });
  return findings;
}

/** What crosses the thread boundary: config with its Map as entries. */
export interface WorkerInit {
  registry: string;
  scanners: string[];
  config: Omit<ResolvedConfig, 'rules'> & { rules: [string, { enabled: boolean; severity?: Severity }][] };
}

export type WorkerRequest = { id: number; file: WalkedFile };
export type WorkerResponse = { type: 'ready' } | { type: 'fatal'; error: string } | { type: 'result'; id: number; findings: Finding[] } | { type: 'result'; id: number; error: string };

type Outcome = { findings: Finding[] } | { error: string } | { timedOut: true; alone: boolean } | { killed: string };

/**
 * One worker thread and the files in flight in it. A file without an answer within the hard timeout
 * terminates the worker; every other file in flight is answered `killed` (it may be innocent). The
 * worker is never awaited past TERMINATE_GRACE_MS: one stuck in a system call is left behind, unreferenced.
 */
class WorkerSession {
  dead = false;
  private started = false;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (outcome: Outcome) => void; timer: NodeJS.Timeout }>();

  private constructor(
    private readonly worker: Worker,
    private readonly hardTimeout: number,
  ) {}

  /** Starts a worker and waits until it has loaded its scanners (start-up never counts against a file). */
  static start(init: WorkerInit, hardTimeout: number): Promise<WorkerSession> {
    const worker = startWorker(import.meta.url, 'worker', { workerData: init });
    const session = new WorkerSession(worker, hardTimeout);
    return new Promise((resolve, reject) => {
      const fail = (reason: string): void => {
        clearTimeout(timer);
        session.kill(reason);
        reject(new CustodyError('WORKER_FAILED', `a scan worker did not start: ${reason}`));
      };
      const timer = setTimeout(() => fail(`no answer within ${WORKER_START_TIMEOUT_MS} ms`), WORKER_START_TIMEOUT_MS);
      worker.on('message', (msg: WorkerResponse) => {
        if (session.started) session.onMessage(msg);
        else if (msg.type === 'fatal') fail(msg.error);
        else if (msg.type === 'ready') {
          clearTimeout(timer);
          session.started = true;
          resolve(session);
        }
      });
      worker.on('error', (error: Error) => (session.started ? session.kill(`the worker failed: ${error.message}`) : fail(error.message)));
      worker.on('exit', (code: number) => (session.started ? session.kill(`the worker exited with code ${code}`) : fail(`the worker exited with code ${code}`)));
    });
  }

  send(file: WalkedFile): Promise<Outcome> {
    if (this.dead) return Promise.resolve({ killed: 'worker stopped' });
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const alone = this.pending.size === 1;
        this.pending.delete(id);
        resolve({ timedOut: true, alone });
        this.kill(`terminated: another file in flight took longer than ${this.hardTimeout} ms`);
      }, this.hardTimeout);
      this.pending.set(id, { resolve, timer });
      this.worker.postMessage({ id, file } satisfies WorkerRequest);
    });
  }

  private onMessage(msg: WorkerResponse): void {
    if (msg.type !== 'result') return;
    const entry = this.pending.get(msg.id);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(msg.id);
    entry.resolve('findings' in msg ? { findings: msg.findings } : { error: msg.error });
  }

  /** Stops the worker; files still in flight are answered `killed`. */
  kill(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    for (const { resolve, timer } of this.pending.values()) {
      clearTimeout(timer);
      resolve({ killed: reason });
    }
    this.pending.clear();
    const worker = this.worker;
    // A worker blocked in a system call cannot stop; it is left behind so it keeps nothing waiting.
    const grace = setTimeout(() => worker.unref(), TERMINATE_GRACE_MS);
    grace.unref();
    worker.terminate().then(
      () => clearTimeout(grace),
      () => clearTimeout(grace),
    );
  }
}

/**
 * Spreads files over worker threads, largest first, with a few files in flight per worker. A file
 * without an answer within the hard timeout (hardTimeoutMs) terminates its worker. A file that was
 * alone in its worker is then reported as not scanned (`core/scan-error`); when several were in flight,
 * none can be blamed yet, so each is scanned again alone in a fresh worker, where a second timeout (or
 * crash) is conclusive. One hostile file can never hang the scan or take innocent files down with it.
 */
async function scanInWorkers(files: readonly WalkedFile[], options: ScanFilesOptions, onDone: (f: WalkedFile) => void): Promise<Finding[]> {
  const { config } = options;
  const init: WorkerInit = { registry: options.registry, scanners: options.scanners.map((s) => s.name), config: { ...config, rules: [...config.rules.entries()] } };
  const queue = [...files].sort((a, b) => b.size - a.size);
  const findings: Finding[] = [];
  const hardTimeout = hardTimeoutMs(config.limits);
  const notScanned = (file: WalkedFile, reason: string): Finding =>
    buildFinding(scanErrorRule, { path: file.displayPath, ...(file.alsoAt === undefined ? {} : { properties: { alsoAt: file.alsoAt } }) }, { message: 'failed', data: { scanner: 'worker', reason } }, config);
  const settle = (file: WalkedFile, outcome: Outcome): void => {
    if ('findings' in outcome) findings.push(...outcome.findings);
    else if ('error' in outcome) findings.push(notScanned(file, outcome.error));
    else if ('timedOut' in outcome) findings.push(notScanned(file, `no answer within ${hardTimeout} ms (twice limits.fileTimeoutMs plus 1 s); the worker was terminated`));
    else findings.push(notScanned(file, outcome.killed));
    onDone(file);
  };

  const slot = async (): Promise<void> => {
    const suspects: WalkedFile[] = [];
    let session: WorkerSession | undefined;
    const live = async (): Promise<WorkerSession> => {
      if (session === undefined || session.dead) session = await WorkerSession.start(init, hardTimeout);
      return session;
    };
    try {
      for (;;) {
        const suspect = suspects.shift();
        if (suspect !== undefined) {
          // Alone in its worker: whatever happens now is this file's doing.
          settle(suspect, await (await live()).send(suspect));
          continue;
        }
        if (queue.length === 0) break;
        const current = await live();
        const lane = async (): Promise<void> => {
          while (!current.dead) {
            const file = queue.shift();
            if (file === undefined) return;
            const outcome = await current.send(file);
            if ('killed' in outcome || ('timedOut' in outcome && !outcome.alone)) suspects.push(file);
            else settle(file, outcome);
          }
        };
        await Promise.all(Array.from({ length: FILES_IN_FLIGHT }, lane));
      }
    } finally {
      session?.kill('scan finished');
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, slot));
  return findings;
}
