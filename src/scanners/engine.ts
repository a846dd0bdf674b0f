import { availableParallelism, loadavg } from 'node:os';
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
import { historyRules } from './history/rules.js';
import { SCANNERS } from './index.js';
import { loadRegistry, PROGRESS_BYTES, PROGRESS_STARTED_AT, type FileOutcome, type WorkerInit, type WorkerRequest, type WorkerResponse } from './registry-load.js';

export { loadRegistry } from './registry-load.js';

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
  /** Worker threads; 0 scans in this thread. Default: chosen from the work size, the cores and the load (defaultJobs). */
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

/** Loaders for the default registry's scanners one by one (src/scanners/scanner-modules.ts), for workers. */
const DEFAULT_LOADERS: string = new URL(`./scanner-modules.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href;

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
    ...(options.jobs === undefined ? defaultJobs(files.length, bytesTotal) : { jobs: options.jobs }),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  // History reads blobs from git while the working tree is scanned (in workers when there are many files).
  // Its modules load only when asked for.
  const scanHistory = options.history ? (await import('./history/index.js')).scanHistory : undefined;
  const histories = scanHistory ? options.paths.map((path) => scanHistory({ repo: path, displayRoot: path, scanners, config, knownRuleIds, exclude: options.exclude })) : [];
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
 * Below both of these, a default scan stays in this thread. A helper costs 0.2-0.4 s of CPU (start-up,
 * its own JIT warm-up, messages) and pays off only on more work than that: 600 small files (4 MiB)
 * took 1.3x the CPU with a helper and no less wall time; 6,300 files (25 MiB) or 150 MiB in 100 files
 * gain (bench/secrets.bench.ts, tree shapes).
 */
const AUTO_MIN_BYTES = 32 * 1024 * 1024;
const AUTO_MIN_FILES = 2_000;

/**
 * The default job count: this thread scans, and it is joined by one helper worker per idle core (at most 7)
 * once the work is large enough to outlast a worker's start-up. A helper only turns an idle core's time
 * into speed; on a machine whose cores are all busy (the 1-minute load average, `load`, leaves less than
 * half a core beside this thread) it adds its start-up and hand-off (about a tenth more CPU on
 * bench/scan-repo's tree) and no CPU share — Linux shares a busy CPU between sessions, not threads
 * (sched_autogroup) — so the scan stays in this thread. The helpers take the largest files and this thread
 * the smallest, so neither waits for the other, and a helper still starting when the work is done is
 * simply stopped. It is never slower than one thread (`jobs: 0`) by more than the cost of starting a
 * thread, unless the machine becomes busy during the scan.
 */
export function defaultJobs(fileCount: number, bytes: number, cores = availableParallelism(), load = loadavg()[0] ?? 0): { jobs: number; shareWithThisThread: boolean } {
  const usable = Math.min(cores, 8);
  const idle = Math.floor(cores - load + 0.5);
  const helpers = Math.min(usable - 1, idle);
  if (helpers < 1 || fileCount < 2 || (bytes < AUTO_MIN_BYTES && fileCount < AUTO_MIN_FILES)) return { jobs: 0, shareWithThisThread: true };
  return { jobs: helpers, shareWithThisThread: true };
}

/**
 * Files in flight at once in one thread (`jobs: 0`). Small files are read whole with one call each;
 * larger ones are read by range without blocking, so several in flight hide the waiting.
 */
const FILES_IN_FLIGHT = 8;

/** A batch sent to a worker holds files up to this many bytes or this many files (always at least one file). */
const BATCH_BYTES = 1024 * 1024;
const BATCH_FILES = 256;

/** A file in this many batches whose worker stopped (scanning another file) is then scanned alone. */
const MAX_BATCH_FAILURES = 2;

/**
 * Batches in flight per worker: one scanning, two waiting, so a worker does not idle between this
 * thread's turns at its messages (at least every YIELD_EVERY_MS), even on batches of tiny files.
 */
const BATCHES_IN_FLIGHT = 3;

/** A batch holds at most the files left over this many shares per batch slot of every thread (FileQueue.takeBatch). */
const GUIDE_SHARES = 2;

/** This thread, scanning beside workers, lets their messages in at least this often (ms). */
const YIELD_EVERY_MS = 3;

/** How long a worker may take to load its scanners before the scan fails with WORKER_FAILED. */
const WORKER_START_TIMEOUT_MS = 120_000;

/** How long to wait for a terminated worker to stop before leaving it behind (unreferenced). */
const TERMINATE_GRACE_MS = 2_000;

/**
 * The hard limit for one file in a worker thread, counted from when the worker starts scanning it: twice
 * the cooperative per-file budget plus one second. Past it the worker is terminated.
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
  /**
   * Scan in this thread too, beside the workers (the default job count). The hard per-file limit then
   * applies to the files the workers scan; with an explicit job count every file is scanned in a worker.
   */
  shareWithThisThread?: boolean;
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

export type { WorkerInit, WorkerRequest, WorkerResponse } from './registry-load.js';

/** What became of a batch: every file's outcome, or the worker stopped (`current`: the file it was scanning). */
type BatchOutcome = { results: FileOutcome[] } | { stopped: string; timedOut: boolean; current: number | undefined };

/**
 * One worker thread and the batches in flight in it. The worker scans one file at a time and says in
 * shared memory which one and since when; a file running longer than the hard timeout terminates the
 * worker. The worker is never awaited past TERMINATE_GRACE_MS: one stuck in a system call is left
 * behind, unreferenced.
 */
class WorkerSession {
  dead = false;
  private started = false;
  private nextId = 0;
  private readonly pending = new Map<number, (outcome: BatchOutcome) => void>();
  private readonly progress: Int32Array;
  private readonly startedAt: Float64Array;
  private watchdog: NodeJS.Timeout | undefined;

  private constructor(
    private readonly worker: Worker,
    shared: SharedArrayBuffer,
    private readonly hardTimeout: number,
  ) {
    this.progress = new Int32Array(shared, 0, 3);
    this.startedAt = new Float64Array(shared, PROGRESS_STARTED_AT, 1);
  }

  /**
   * Starts a worker; `ready` resolves once it has loaded its scanners (start-up never counts against a
   * file) and rejects with WORKER_FAILED when it cannot start.
   */
  static start(init: Omit<WorkerInit, 'progress'>, hardTimeout: number): { session: WorkerSession; ready: Promise<WorkerSession> } {
    const shared = new SharedArrayBuffer(PROGRESS_BYTES);
    const worker = startWorker(import.meta.url, 'worker', { workerData: { ...init, progress: shared } satisfies WorkerInit });
    const session = new WorkerSession(worker, shared, hardTimeout);
    const ready = new Promise<WorkerSession>((resolve, reject) => {
      const fail = (reason: string): void => {
        clearTimeout(timer);
        session.kill(reason);
        if (session.abandoned) return resolve(session);
        reject(new CustodyError('WORKER_FAILED', `a scan worker did not start: ${reason}`));
      };
      const timer = setTimeout(() => fail(`no answer within ${WORKER_START_TIMEOUT_MS} ms`), WORKER_START_TIMEOUT_MS);
      timer.unref();
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
    return { session, ready };
  }

  get inFlight(): number {
    return this.pending.size;
  }

  send(files: WalkedFile[]): Promise<BatchOutcome> {
    if (this.dead) return Promise.resolve({ stopped: 'worker stopped', timedOut: false, current: undefined });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.worker.postMessage({ id, files } satisfies WorkerRequest);
      this.watch();
    });
  }

  /** While batches are in flight, checks a few times per hard timeout whether the current file has run past it. */
  private watch(): void {
    if (this.watchdog !== undefined) return;
    const every = Math.max(20, Math.min(1_000, Math.floor(this.hardTimeout / 8)));
    this.watchdog = setInterval(() => {
      if (this.pending.size === 0 || Atomics.load(this.progress, 2) !== 1) return;
      if (Date.now() - (this.startedAt[0] ?? 0) < this.hardTimeout) return;
      this.kill(`terminated: a file took longer than ${this.hardTimeout} ms`, true);
    }, every);
    this.watchdog.unref();
  }

  private onMessage(msg: WorkerResponse): void {
    if (msg.type !== 'batch') return;
    const resolve = this.pending.get(msg.id);
    if (!resolve) return;
    this.pending.delete(msg.id);
    resolve({ results: msg.results });
  }

  /**
   * Stops the worker. Batches still in flight are answered `stopped`; the one it was scanning says which
   * file (`current`), and `timedOut` whether that file ran past the hard timeout.
   */
  kill(reason: string, timedOut = false): void {
    if (this.dead) return;
    this.dead = true;
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    const busy = Atomics.load(this.progress, 2) === 1;
    const batch = Atomics.load(this.progress, 0);
    const index = Atomics.load(this.progress, 1);
    for (const [id, resolve] of this.pending) resolve({ stopped: reason, timedOut, current: busy && id === batch ? index : undefined });
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

  abandoned = false;

  /** Stops a worker that is no longer needed (one still starting when the work ran out), without waiting for it. */
  abandon(): void {
    this.abandoned = true;
    this.worker.unref();
    this.kill('not needed');
  }
}

/** Files sorted largest first; workers take batches from the front, this thread single files from the back. */
class FileQueue {
  private front = 0;
  private back: number;
  private readonly files: WalkedFile[];

  constructor(files: readonly WalkedFile[]) {
    this.files = [...files].sort((a, b) => b.size - a.size);
    this.back = this.files.length;
  }

  get empty(): boolean {
    return this.front >= this.back;
  }

  /**
   * The next batch for a worker, `threads` being every thread scanning (workers and this one). Batches
   * shrink as the queue drains (guided scheduling): never more than the files left over
   * GUIDE_SHARES × threads × BATCHES_IN_FLIGHT, so when the queue runs dry the batches still in flight are
   * small and no thread waits long for files queued to another. With fixed batches of 256 files, this
   * thread sat idle at the end of a 20,000-file scan while its helper worked through up to 768 queued files.
   */
  takeBatch(threads: number): WalkedFile[] {
    const batch: WalkedFile[] = [];
    const guided = Math.ceil((this.back - this.front) / (GUIDE_SHARES * Math.max(1, threads) * BATCHES_IN_FLIGHT));
    const most = Math.max(1, Math.min(BATCH_FILES, guided));
    let bytes = 0;
    while (this.front < this.back && batch.length < most && (batch.length === 0 || bytes + (this.files[this.front] as WalkedFile).size <= BATCH_BYTES)) {
      const file = this.files[this.front++] as WalkedFile;
      bytes += file.size;
      batch.push(file);
    }
    return batch;
  }

  takeSmallest(): WalkedFile | undefined {
    return this.front < this.back ? this.files[--this.back] : undefined;
  }
}

/**
 * Spreads files over worker threads (and, with `shareWithThisThread`, this thread too). Workers get
 * batches of the largest files, a few batches in flight each; this thread takes the smallest files one
 * at a time. A file running in a worker past the hard timeout (hardTimeoutMs) terminates the worker and
 * is reported as not scanned (`core/scan-error`); the worker's other files go back to be scanned by a
 * fresh worker. A worker that crashes names the file it was scanning: that file is scanned again alone
 * in a fresh worker, where a second crash (or timeout) is conclusive. One hostile file can never hang
 * the scan or take innocent files down with it.
 */
async function scanInWorkers(files: readonly WalkedFile[], options: ScanFilesOptions, onDone: (f: WalkedFile) => void): Promise<Finding[]> {
  const { config } = options;
  const init: Omit<WorkerInit, 'progress'> = {
    registry: options.registry,
    ...(options.registry === DEFAULT_REGISTRY ? { loaders: DEFAULT_LOADERS } : {}),
    scanners: options.scanners.map((s) => s.name),
    knownRuleIds: [...options.knownRuleIds],
    config: { ...config, rules: [...config.rules.entries()] },
  };
  const queue = new FileQueue(files);
  const threads = Math.max(1, options.jobs) + (options.shareWithThisThread === true ? 1 : 0);
  const findings: Finding[] = [];
  const hardTimeout = hardTimeoutMs(config.limits);
  const notScanned = (file: WalkedFile, reason: string): Finding =>
    buildFinding(scanErrorRule, { path: file.displayPath, ...(file.alsoAt === undefined ? {} : { properties: { alsoAt: file.alsoAt } }) }, { message: 'failed', data: { scanner: 'worker', reason } }, config);
  const settle = (file: WalkedFile, outcome: FileOutcome): void => {
    if ('findings' in outcome) findings.push(...outcome.findings);
    else findings.push(notScanned(file, outcome.error));
    onDone(file);
  };
  const timeoutReason = `no answer within ${hardTimeout} ms (twice limits.fileTimeoutMs plus 1 s); the worker was terminated`;

  // This thread's share: the smallest files, letting worker messages in between files.
  let shared: Promise<void> = Promise.resolve();
  let drained: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (drained = resolve));
  if (options.shareWithThisThread === true) {
    shared = (async () => {
      let yielded = Date.now();
      for (let file = queue.takeSmallest(); file !== undefined; file = queue.takeSmallest()) {
        findings.push(...(await scanFile(file, options)));
        onDone(file);
        if (Date.now() - yielded >= YIELD_EVERY_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          yielded = Date.now();
        }
      }
      drained();
    })();
  }

  /** Batches a file was in when its worker stopped without naming it; past MAX_BATCH_FAILURES it is retried alone. */
  const failures = new Map<WalkedFile, number>();
  const slot = async (): Promise<void> => {
    const suspects: WalkedFile[] = [];
    const again: WalkedFile[] = [];
    let session: WorkerSession | undefined;
    /**
     * A started worker. Beside this thread (`optional`), undefined when this thread ran out of work before
     * one was ready; the worker is then stopped at once.
     */
    const live = async (optional: boolean): Promise<WorkerSession | undefined> => {
      if (session !== undefined && !session.dead) return session;
      const started = WorkerSession.start(init, hardTimeout);
      if (!optional) return (session = await started.ready);
      // A helper that cannot start leaves the work to this thread, which scans whatever is left.
      const first = await Promise.race([started.ready.catch(() => undefined), done.then(() => undefined)]);
      if (first === undefined) {
        started.session.abandon();
        return undefined;
      }
      return (session = first);
    };
    /** Files of a stopped worker: the one it was scanning is reported (timed out) or retried alone (crashed); the others go again. */
    const recover = (batch: WalkedFile[], outcome: Extract<BatchOutcome, { stopped: string }>): void => {
      for (const [index, file] of batch.entries()) {
        if (index === outcome.current) {
          if (outcome.timedOut) settle(file, { error: timeoutReason });
          else suspects.push(file);
          continue;
        }
        // Not what the worker was scanning; but a file in batch after batch of dying workers is retried alone.
        const count = (failures.get(file) ?? 0) + 1;
        failures.set(file, count);
        if (count > MAX_BATCH_FAILURES) suspects.push(file);
        else again.push(file);
      }
    };
    try {
      for (;;) {
        const suspect = suspects.shift();
        if (suspect !== undefined) {
          // Alone in a fresh worker (never in this thread): whatever happens now is this file's doing.
          session?.kill('retrying a file alone');
          session = undefined;
          const current = (await live(false)) as WorkerSession;
          const outcome = await current.send([suspect]);
          if ('results' in outcome) settle(suspect, outcome.results[0] ?? { error: 'no result' });
          else settle(suspect, { error: outcome.timedOut ? timeoutReason : outcome.stopped });
          continue;
        }
        if (queue.empty && again.length === 0) break;
        const current = await live(options.shareWithThisThread === true && again.length === 0);
        if (current === undefined) break;
        const lane = async (): Promise<void> => {
          while (!current.dead) {
            const batch = again.length > 0 ? again.splice(0, 1) : queue.takeBatch(threads);
            if (batch.length === 0) return;
            const outcome = await current.send(batch);
            if ('results' in outcome) batch.forEach((file, index) => settle(file, outcome.results[index] ?? { error: 'no result' }));
            else recover(batch, outcome);
          }
        };
        await Promise.all(Array.from({ length: BATCHES_IN_FLIGHT }, lane));
      }
    } finally {
      session?.kill('scan finished');
    }
  };
  await Promise.all([shared, ...Array.from({ length: Math.max(1, options.jobs) }, slot)]);
  return findings;
}
