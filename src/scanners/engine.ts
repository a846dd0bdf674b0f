import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Baseline } from '../core/baseline.js';
import { defaultConfig, type ResolvedConfig } from '../core/config.js';
import { CustodyError } from '../core/errors.js';
import { compareFindings, type Finding } from '../core/finding.js';
import { SEVERITIES, type Severity } from '../core/severity.js';
import type { Scanner } from '../core/scanner.js';
import { walkFiles, type WalkedFile } from '../core/walk.js';
import { startWorker } from '../core/workers.js';
import { scanErrorRule } from './core/rules.js';
import { buildFinding, scanFile, type FileScanOptions } from './file-scan.js';
import { scanHistory } from './history/index.js';
import { SCANNERS, SCANNER_NAMES, SELECTABLE_SCANNERS, allRules } from './index.js';

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
}

export interface ScanSummary {
  files: number;
  bytes: number;
  findings: number;
  bySeverity: Record<Severity, number>;
  baselined: number;
  durationMs: number;
  scanners: string[];
}

export interface ScanResult {
  findings: Finding[];
  summary: ScanSummary;
}

export function selectScanners(only: readonly string[] | undefined): Scanner[] {
  if (!only || only.length === 0) return [...SCANNERS];
  const unknown = only.filter((name) => !SCANNER_NAMES.includes(name) || SCANNERS.find((s) => s.name === name)?.alwaysOn === true);
  if (unknown.length > 0) {
    throw new CustodyError('USAGE', `unknown scanner ${unknown.join(', ')}; expected one of ${SELECTABLE_SCANNERS.join(', ')}`);
  }
  return SCANNERS.filter((s) => s.alwaysOn === true || only.includes(s.name));
}

/** Walks the paths and scans every file with the selected scanners. */
export async function runScan(options: ScanOptions): Promise<ScanResult> {
  const started = Date.now();
  const config = options.config ?? defaultConfig();
  const scanners = selectScanners(options.only);
  const files: WalkedFile[] = [];
  const walkOptions = { exclude: [...config.exclude, ...(options.exclude ?? [])], ...(options.gitignore === undefined ? {} : { gitignore: options.gitignore }) };
  for await (const file of walkFiles(options.paths, walkOptions)) files.push(file);

  const bytesTotal = files.reduce((sum, f) => sum + f.size, 0);
  const jobs = options.jobs ?? defaultJobs(files.length, bytesTotal);
  const progress: ScanProgress = { filesDone: 0, filesTotal: files.length, bytesDone: 0, bytesTotal };
  const onDone = (file: WalkedFile): void => {
    progress.filesDone += 1;
    progress.bytesDone += file.size;
    options.onProgress?.(progress);
  };

  const names = scanners.map((s) => s.name);
  const knownRuleIds = new Set(allRules().map((r) => r.id));
  const scanning = jobs > 0 ? scanInWorkers(files, names, config, jobs, onDone) : scanInThread(files, { scanners, config, knownRuleIds }, onDone);
  // History reads blobs from git while the working tree is scanned (in workers when there are many files).
  const histories = options.history ? options.paths.map((path) => scanHistory({ repo: path, displayRoot: path, scanners, config, knownRuleIds, exclude: options.exclude })) : [];
  const [current, ...past] = await Promise.all([scanning, ...histories]);
  let findings = mergeHistory(current ?? [], past.flat());

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
  return {
    findings,
    summary: { files: files.length, bytes: bytesTotal, findings: findings.length, bySeverity, baselined, durationMs: Date.now() - started, scanners: names },
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

/** Runs `work` on every item with at most `width` at a time. */
async function forEachConcurrently<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) await work(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

async function scanInThread(files: readonly WalkedFile[], options: FileScanOptions, onDone: (f: WalkedFile) => void): Promise<Finding[]> {
  const findings: Finding[] = [];
  await forEachConcurrently(files, FILES_IN_FLIGHT, async (file) => {
    findings.push(...(await scanFile(file, options)));
    onDone(file);
  });
  return findings;
}

/** What crosses the thread boundary: config with its Map as entries. */
export interface WorkerInit {
  scanners: string[];
  config: Omit<ResolvedConfig, 'rules'> & { rules: [string, { enabled: boolean; severity?: Severity }][] };
}

export type WorkerRequest = { id: number; file: WalkedFile };
export type WorkerResponse = { id: number; findings: Finding[] } | { id: number; error: string };

/**
 * Spreads files over worker threads, largest first, with a few files in flight per worker. A worker
 * that does not answer for a file within twice the per-file timeout is terminated: that file is
 * reported as not scanned, the other files it had in flight go back in the queue, and a fresh worker
 * takes over — one hostile file can never hang the scan.
 */
async function scanInWorkers(files: readonly WalkedFile[], scanners: string[], config: ResolvedConfig, jobs: number, onDone: (f: WalkedFile) => void): Promise<Finding[]> {
  const init: WorkerInit = { scanners, config: { ...config, rules: [...config.rules.entries()] } };
  const queue = [...files].sort((a, b) => b.size - a.size);
  const findings: Finding[] = [];
  let nextId = 0;
  const hardTimeout = config.limits.fileTimeoutMs * 2 + 5_000;
  const notScanned = (file: WalkedFile, reason: string): Finding => buildFinding(scanErrorRule, { path: file.displayPath }, { message: 'failed', data: { scanner: 'worker', reason } }, config);

  type Outcome = { findings: Finding[] } | { error: string } | { crashed: string; guilty: boolean };
  const send = (worker: Worker, file: WalkedFile): Promise<Outcome> =>
    new Promise((resolve) => {
      const id = nextId++;
      const cleanup = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve({ crashed: `no answer within ${hardTimeout} ms`, guilty: true });
      }, hardTimeout);
      const onMessage = (msg: WorkerResponse): void => {
        if (msg.id !== id) return;
        cleanup();
        resolve('findings' in msg ? { findings: msg.findings } : { error: msg.error });
      };
      const onError = (error: Error): void => {
        cleanup();
        resolve({ crashed: error.message, guilty: true });
      };
      const onExit = (code: number): void => {
        cleanup();
        resolve({ crashed: `worker exited with code ${code}`, guilty: false });
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ id, file } satisfies WorkerRequest);
    });

  const runWorker = async (): Promise<void> => {
    let worker: Worker | undefined;
    const lane = async (): Promise<void> => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        worker ??= startWorker(import.meta.url, 'worker', { workerData: init });
        const current = worker;
        const outcome = await send(current, file);
        if ('findings' in outcome) findings.push(...outcome.findings);
        else if ('error' in outcome) findings.push(notScanned(file, outcome.error));
        else if (!outcome.guilty && worker !== current) {
          // Another file of this worker made it stop; this one was innocent: scan it again.
          queue.push(file);
          continue;
        } else {
          findings.push(notScanned(file, outcome.crashed));
          if (worker === current) worker = undefined;
          await current.terminate();
        }
        onDone(file);
      }
    };
    try {
      await Promise.all(Array.from({ length: FILES_IN_FLIGHT }, lane));
    } finally {
      await worker?.terminate();
    }
  };
  await Promise.all(Array.from({ length: jobs }, runWorker));
  return findings;
}
