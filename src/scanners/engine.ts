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
import { buildFinding, scanFile } from './file-scan.js';
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
  const scanning = jobs > 0 ? scanInWorkers(files, names, config, jobs, onDone) : scanInThread(files, scanners, config, onDone);
  // History reads blobs from git while the working tree is scanned (in workers when there are many files).
  const knownRuleIds = new Set(allRules().map((r) => r.id));
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

function defaultJobs(fileCount: number, bytes: number): number {
  const cores = Math.min(availableParallelism(), 8);
  if (cores < 2) return 0;
  if (fileCount >= 64 || (fileCount >= 2 && bytes >= 64 * 1024 * 1024)) return Math.min(cores, fileCount);
  return 0;
}

async function scanInThread(files: readonly WalkedFile[], scanners: readonly Scanner[], config: ResolvedConfig, onDone: (f: WalkedFile) => void): Promise<Finding[]> {
  const knownRuleIds = new Set(allRules().map((r) => r.id));
  const findings: Finding[] = [];
  for (const file of files) {
    findings.push(...(await scanFile(file, { scanners, config, knownRuleIds })));
    onDone(file);
  }
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
 * Spreads files over worker threads, one file at a time per worker (largest first). A worker that
 * does not answer within twice the per-file timeout is terminated: its file is reported as not
 * scanned and a fresh worker takes over, so one hostile file can never hang the scan.
 */
async function scanInWorkers(files: readonly WalkedFile[], scanners: string[], config: ResolvedConfig, jobs: number, onDone: (f: WalkedFile) => void): Promise<Finding[]> {
  const init: WorkerInit = { scanners, config: { ...config, rules: [...config.rules.entries()] } };
  const queue = [...files].sort((a, b) => b.size - a.size);
  const findings: Finding[] = [];
  let nextId = 0;
  const hardTimeout = config.limits.fileTimeoutMs * 2 + 5_000;

  const runLane = async (): Promise<void> => {
    let worker: Worker | undefined;
    const start = (): Worker => startWorker(import.meta.url, 'worker', { workerData: init });
    try {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        worker ??= start();
        const current = worker;
        const id = nextId++;
        const result = await new Promise<WorkerResponse | { id: number; crashed: string }>((resolve) => {
          const timer = setTimeout(() => resolve({ id, crashed: `no answer within ${hardTimeout} ms` }), hardTimeout);
          const cleanup = (): void => {
            clearTimeout(timer);
            current.off('message', onMessage);
            current.off('error', onError);
            current.off('exit', onExit);
          };
          const onMessage = (msg: WorkerResponse): void => {
            if (msg.id !== id) return;
            cleanup();
            resolve(msg);
          };
          const onError = (error: Error): void => {
            cleanup();
            resolve({ id, crashed: error.message });
          };
          const onExit = (code: number): void => {
            cleanup();
            resolve({ id, crashed: `worker exited with code ${code}` });
          };
          current.on('message', onMessage);
          current.on('error', onError);
          current.on('exit', onExit);
          current.postMessage({ id, file } satisfies WorkerRequest);
        });
        if ('findings' in result) findings.push(...result.findings);
        else {
          const reason = 'crashed' in result ? result.crashed : result.error;
          findings.push(buildFinding(scanErrorRule, { path: file.displayPath }, { message: 'failed', data: { scanner: 'worker', reason } }, config));
          if ('crashed' in result) {
            await current.terminate();
            worker = undefined;
          }
        }
        onDone(file);
      }
    } finally {
      await worker?.terminate();
    }
  };
  await Promise.all(Array.from({ length: jobs }, runLane));
  return findings;
}
