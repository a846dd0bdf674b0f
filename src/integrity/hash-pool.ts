import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/workers.js';
import { CustodyError } from '../core/errors.js';
import type { HashType } from './digest.js';
import { fromFailure, hashUnits, READ_CHUNK_BYTES, type HashUnit } from './hash-io.js';
import type { WorkerJob, WorkerReply } from './hash-worker.js';

export interface HashPoolOptions {
  hashType: HashType;
  noFollow: boolean;
  /**
   * Threads hashing at once, the calling thread included (it starts `jobs - 1` workers); 0 or 1:
   * the calling thread alone. Default: the cores (at most 4); the calling thread alone for inputs
   * under 16 MiB or of a single file or shard.
   */
  jobs?: number;
  onBytes?: (bytes: number) => void;
}

/** Below this total, starting a worker costs more than it saves. */
const INLINE_BELOW_BYTES = 16 * 1024 * 1024;
/** Small units are sent to a worker in batches of about this many bytes (or BATCH_UNITS units). */
const BATCH_BYTES = 4 * 1024 * 1024;
const BATCH_UNITS = 256;
/** While it hashes its own share, the calling thread lets worker messages through this often. */
const YIELD_EVERY_BYTES = 8 * 1024 * 1024;

function defaultHashJobs(): number {
  return Math.max(1, Math.min(availableParallelism(), 4));
}

function unitBytes(unit: HashUnit): number {
  return unit.end - unit.start;
}

/** Shares unit indices among `lanes`: largest first, each to the lane with the fewest bytes so far. */
function shareUnits(units: readonly HashUnit[], lanes: number): number[][] {
  const shares: number[][] = Array.from({ length: lanes }, () => []);
  const bytes = new Array<number>(lanes).fill(0);
  const order = units.map((_, i) => i).sort((a, b) => unitBytes(units[b] as HashUnit) - unitBytes(units[a] as HashUnit));
  for (const i of order) {
    let lane = 0;
    for (let k = 1; k < lanes; k += 1) if ((bytes[k] ?? 0) < (bytes[lane] ?? 0)) lane = k;
    shares[lane]?.push(i);
    bytes[lane] = (bytes[lane] ?? 0) + unitBytes(units[i] as HashUnit);
  }
  return shares.filter((share) => share.length > 0);
}

/** Groups a worker's share into messages: big units alone, small ones together. */
function batchShare(units: readonly HashUnit[], share: readonly number[]): number[][] {
  const batches: number[][] = [];
  let batch: number[] = [];
  let batchBytes = 0;
  for (const i of share) {
    const size = unitBytes(units[i] as HashUnit);
    if (size >= BATCH_BYTES) {
      batches.push([i]);
      continue;
    }
    batch.push(i);
    batchBytes += size;
    if (batchBytes >= BATCH_BYTES || batch.length >= BATCH_UNITS) {
      batches.push(batch);
      batch = [];
      batchBytes = 0;
    }
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * Hashes every unit and returns the hex digests in the units' order. The units are shared out
 * before hashing starts (largest first, to the least loaded thread), and the calling thread hashes
 * a share itself instead of waiting: on two cores that is one worker to start instead of two,
 * whose start-up (a V8 isolate and its modules) costs about as much CPU as hashing 100 MB. Each
 * thread reads into one reused buffer, so memory does not grow with file size; nothing but file
 * ranges and digests crosses threads.
 */
export async function hashInParallel(units: readonly HashUnit[], options: HashPoolOptions): Promise<string[]> {
  const total = units.reduce((sum, u) => sum + unitBytes(u), 0);
  const jobs = options.jobs ?? (total < INLINE_BELOW_BYTES ? 1 : defaultHashJobs());
  const job = { hashType: options.hashType, noFollow: options.noFollow };
  if (jobs <= 1 || units.length <= 1) {
    return hashUnits({ units: [...units], ...job }, Buffer.allocUnsafeSlow(READ_CHUNK_BYTES), options.onBytes);
  }

  const [own = [], ...others] = shareUnits(units, jobs);
  const digests: string[] = new Array<string>(units.length).fill('');
  let failure: unknown;
  const workers: Worker[] = [];

  const runWorker = async (share: readonly number[]): Promise<void> => {
    const worker = startWorker(import.meta.url, 'hash-worker');
    workers.push(worker);
    let id = 0;
    for (const batch of batchShare(units, share)) {
      if (failure !== undefined) return;
      const taskId = id++;
      const reply = await new Promise<{ digests: string[] } | { error: CustodyError }>((resolve) => {
        const onMessage = (msg: WorkerReply): void => {
          if ('progress' in msg) {
            options.onBytes?.(msg.progress);
            return;
          }
          if (msg.id !== taskId) return;
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
        worker.postMessage({ id: taskId, job: { units: batch.map((i) => units[i] as HashUnit), ...job } } satisfies WorkerJob);
      });
      if ('error' in reply) {
        failure ??= reply.error;
        return;
      }
      batch.forEach((unitIndex, k) => {
        digests[unitIndex] = reply.digests[k] ?? '';
      });
    }
  };

  const runOwn = async (share: readonly number[]): Promise<void> => {
    const buffer = Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
    let sincePause = 0;
    const onBytes = (n: number): Promise<void> | undefined => {
      options.onBytes?.(n);
      sincePause += n;
      if (sincePause < YIELD_EVERY_BYTES) return undefined;
      sincePause = 0;
      return new Promise((resolve) => setImmediate(resolve));
    };
    for (const i of share) {
      if (failure !== undefined) return;
      try {
        digests[i] = (await hashUnits({ units: [units[i] as HashUnit], ...job }, buffer, onBytes))[0] ?? '';
      } catch (error) {
        failure ??= error;
        return;
      }
    }
  };

  try {
    // The workers start (and get their first batch) before this thread starts on its own share.
    const running = others.map(runWorker);
    await runOwn(own);
    await Promise.all(running);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure !== undefined) throw failure;
  return digests;
}
