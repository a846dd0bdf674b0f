import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/workers.js';
import { CustodyError } from '../core/errors.js';
import type { HashType } from './digest.js';
import { fromFailure, hashUnits, type HashUnit } from './hash-io.js';
import type { WorkerJob, WorkerReply } from './hash-worker.js';

export interface HashPoolOptions {
  hashType: HashType;
  noFollow: boolean;
  /** Worker threads; 0 hashes in this thread. Default: the cores (at most 4), inline for small inputs. */
  jobs?: number;
  onBytes?: (bytes: number) => void;
}

/** Below this total, worker start-up costs more than it saves. */
const INLINE_BELOW_BYTES = 16 * 1024 * 1024;
/** Small units are sent to workers in batches of about this many bytes (or BATCH_UNITS units). */
const BATCH_BYTES = 4 * 1024 * 1024;
const BATCH_UNITS = 256;
const INLINE_BUFFER_BYTES = 1024 * 1024;

function defaultHashJobs(): number {
  return Math.max(1, Math.min(availableParallelism(), 4));
}

function unitBytes(unit: HashUnit): number {
  return unit.end - unit.start;
}

/**
 * Hashes every unit and returns the hex digests in the units' order. Work is spread over worker
 * threads largest first (whole files and shards alike), so a 2 GB file and a set of smaller ones
 * keep two cores busy; each worker reads into one reused buffer, so memory does not grow with
 * file size.
 */
export async function hashInParallel(units: readonly HashUnit[], options: HashPoolOptions): Promise<string[]> {
  const total = units.reduce((sum, u) => sum + unitBytes(u), 0);
  const jobs = options.jobs ?? (total < INLINE_BELOW_BYTES ? 0 : defaultHashJobs());
  if (jobs === 0 || units.length === 0) {
    return hashUnits({ units: [...units], hashType: options.hashType, noFollow: options.noFollow }, Buffer.allocUnsafe(INLINE_BUFFER_BYTES), options.onBytes);
  }

  // Largest first; small units batched so a tree of many small files costs few messages.
  const order = units.map((_, i) => i).sort((a, b) => unitBytes(units[b] as HashUnit) - unitBytes(units[a] as HashUnit));
  const tasks: number[][] = [];
  let batch: number[] = [];
  let batchBytes = 0;
  for (const i of order) {
    const size = unitBytes(units[i] as HashUnit);
    if (size >= BATCH_BYTES) {
      tasks.push([i]);
      continue;
    }
    batch.push(i);
    batchBytes += size;
    if (batchBytes >= BATCH_BYTES || batch.length >= BATCH_UNITS) {
      tasks.push(batch);
      batch = [];
      batchBytes = 0;
    }
  }
  if (batch.length > 0) tasks.push(batch);

  const digests: string[] = new Array<string>(units.length).fill('');
  let next = 0;
  let failure: CustodyError | undefined;
  const workers: Worker[] = [];

  const runLane = async (): Promise<void> => {
    const worker = startWorker(import.meta.url, 'hash-worker');
    workers.push(worker);
    let taskId = 0;
    while (failure === undefined && next < tasks.length) {
      const task = tasks[next++] as number[];
      const id = taskId++;
      const reply = await new Promise<{ digests: string[] } | { error: CustodyError }>((resolve) => {
        const onMessage = (msg: WorkerReply): void => {
          if ('progress' in msg) {
            options.onBytes?.(msg.progress);
            return;
          }
          if (msg.id !== id) return;
          cleanup();
          resolve('digests' in msg ? { digests: msg.digests } : { error: fromFailure(msg.failure) });
        };
        const onError = (error: Error): void => {
          cleanup();
          resolve({ error: new CustodyError('WORKER_FAILED', `a hashing worker failed: ${error.message}`, { cause: error }) });
        };
        const onExit = (code: number): void => {
          cleanup();
          resolve({ error: new CustodyError('WORKER_FAILED', `a hashing worker exited with code ${code}`) });
        };
        const cleanup = (): void => {
          worker.off('message', onMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
        };
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
        worker.postMessage({ id, job: { units: task.map((i) => units[i] as HashUnit), hashType: options.hashType, noFollow: options.noFollow } } satisfies WorkerJob);
      });
      if ('error' in reply) {
        failure ??= reply.error;
        break;
      }
      task.forEach((unitIndex, k) => {
        digests[unitIndex] = reply.digests[k] ?? '';
      });
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, runLane));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure) throw failure;
  return digests;
}
