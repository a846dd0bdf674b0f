import type { Worker } from 'node:worker_threads';
import { BufferSource } from '../../core/byte-source.js';
import type { ResolvedConfig } from '../../core/config.js';
import type { Finding } from '../../core/finding.js';
import type { Severity } from '../../core/severity.js';
import { startWorker } from '../../core/workers.js';
import { scanErrorRule } from '../core/rules.js';
import { buildFinding, scanBlob, type FileScanOptions } from '../file-scan.js';

export interface HistoryWorkerInit {
  scanners: string[];
  config: Omit<ResolvedConfig, 'rules'> & { rules: [string, { enabled: boolean; severity?: Severity }][] };
}
export type HistoryWorkerRequest = { id: number; path: string; bytes: Uint8Array };
export type HistoryWorkerResponse = { id: number; findings: Finding[] } | { id: number; error: string };

/** Scans blobs held in memory, in this thread or spread over worker threads. */
export interface BlobScanner {
  /** Resolves when the blob is scanned; never rejects (failures become core/scan-error findings). */
  scan(path: string, data: Buffer): Promise<Finding[]>;
  /** How many scans may be in flight before the caller should wait for one. */
  readonly capacity: number;
  close(): Promise<void>;
}

export function inThreadScanner(options: FileScanOptions): BlobScanner {
  return {
    capacity: 1,
    scan: (path, data) => scanBlob(path, new BufferSource(data), options),
    close: () => Promise.resolve(),
  };
}

interface Pending {
  resolve: (findings: Finding[]) => void;
  path: string;
  data: Buffer;
  timer: NodeJS.Timeout;
}

interface Lane {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Reports every blob in flight as not scanned and replaces the worker. */
  fail(reason: string): void;
}

/** Worker failures tolerated before the rest of the scan runs in this thread. */
const MAX_RESTARTS = 8;

/**
 * Spreads blob scans over worker threads, a few in flight per worker. A worker that crashes, or does
 * not answer within twice the per-file time limit, is terminated: its blobs are reported as not
 * scanned (core/scan-error) and a fresh worker takes its place, so one hostile blob never hangs or
 * silently shortens a history scan. Workers that cannot start at all (no worker ever answered), or
 * that keep failing, are given up: their blobs and the rest are scanned in this thread.
 */
export function workerScanner(options: FileScanOptions, jobs: number): BlobScanner {
  const init: HistoryWorkerInit = { scanners: options.scanners.map((s) => s.name), config: { ...options.config, rules: [...options.config.rules.entries()] } };
  const hardTimeout = options.config.limits.fileTimeoutMs * 2 + 5_000;
  const lanes: Lane[] = [];
  let nextId = 0;
  let turn = 0;
  let closing = false;
  let answered = false;
  let restarts = 0;
  let broken = false;
  const local = inThreadScanner(options);

  const failed = (path: string, reason: string): Finding[] => [buildFinding(scanErrorRule, { path }, { message: 'failed', data: { scanner: 'history worker', reason } }, options.config)];

  const startLane = (index: number): void => {
    const worker = startWorker(import.meta.url, 'worker', { workerData: init });
    const lane: Lane = {
      worker,
      pending: new Map(),
      fail(reason) {
        if (lanes[index] !== lane) return;
        const giveUp = !answered || ++restarts > MAX_RESTARTS;
        if (giveUp) broken = true;
        for (const job of lane.pending.values()) {
          clearTimeout(job.timer);
          // Workers that never started say nothing about the blob: scan it here instead.
          if (!answered) void local.scan(job.path, job.data).then(job.resolve);
          else job.resolve(failed(job.path, reason));
        }
        lane.pending.clear();
        void worker.terminate();
        if (!closing && !broken) startLane(index);
      },
    };
    worker.on('message', (message: HistoryWorkerResponse) => {
      const job = lane.pending.get(message.id);
      if (!job) return;
      answered = true;
      lane.pending.delete(message.id);
      clearTimeout(job.timer);
      job.resolve('findings' in message ? message.findings : failed(job.path, message.error));
    });
    worker.on('error', (error) => lane.fail(error.message));
    worker.on('exit', (code) => lane.fail(`worker exited with code ${code}`));
    lanes[index] = lane;
  };
  for (let i = 0; i < jobs; i++) startLane(i);

  return {
    capacity: jobs * 4,
    scan(path, data) {
      if (broken) return local.scan(path, data);
      const lane = lanes[turn++ % lanes.length] as Lane;
      const id = nextId++;
      return new Promise<Finding[]>((resolve) => {
        const timer = setTimeout(() => lane.fail(`no answer within ${hardTimeout} ms`), hardTimeout);
        lane.pending.set(id, { resolve, path, data, timer });
        const copy = new Uint8Array(data); // blobs share git's read buffers: send a copy, moved not cloned
        lane.worker.postMessage({ id, path, bytes: copy } satisfies HistoryWorkerRequest, [copy.buffer]);
      });
    },
    async close() {
      closing = true;
      await Promise.all(lanes.map((lane) => lane.worker.terminate()));
    },
  };
}
