// Worker thread for hash-pool.ts: hashes the units of each job it is sent, one job at a time,
// reading into one buffer that lives as long as the worker.
import { parentPort } from 'node:worker_threads';
import { hashUnits, READ_CHUNK_BYTES, toFailure, type HashJob } from './hash-io.js';

export interface WorkerJob {
  id: number;
  job: HashJob;
}

export type WorkerReply = { id: number; digests: string[] } | { id: number; failure: ReturnType<typeof toFailure> } | { progress: number };

/** Progress is posted in steps of this many bytes, not per read. */
const PROGRESS_STEP = 64 * 1024 * 1024;

const buffer = Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
let pending = 0;

parentPort?.on('message', (message: WorkerJob) => {
  const onBytes = (n: number): void => {
    pending += n;
    if (pending >= PROGRESS_STEP) {
      parentPort?.postMessage({ progress: pending } satisfies WorkerReply);
      pending = 0;
    }
  };
  hashUnits(message.job, buffer, onBytes).then(
    (digests) => {
      if (pending > 0) parentPort?.postMessage({ progress: pending } satisfies WorkerReply);
      pending = 0;
      parentPort?.postMessage({ id: message.id, digests } satisfies WorkerReply);
    },
    (error: unknown) => {
      pending = 0;
      parentPort?.postMessage({ id: message.id, failure: toFailure(error) } satisfies WorkerReply);
    },
  );
});
