import { parentPort, workerData } from 'node:worker_threads';
import type { ResolvedConfig } from '../core/config.js';
import { scanFile, type FileScanOptions } from './file-scan.js';
import { loadSelectedScanners, PROGRESS_STARTED_AT, type FileOutcome, type WorkerInit, type WorkerRequest, type WorkerResponse } from './registry-load.js';

const init = workerData as WorkerInit;
const config: ResolvedConfig = { ...init.config, rules: new Map(init.config.rules) };
// [batch id, index in the batch, busy]; then the time the current file started.
const progress = new Int32Array(init.progress, 0, 3);
const startedAt = new Float64Array(init.progress, PROGRESS_STARTED_AT, 1);

/**
 * Batches are scanned one file at a time, in the order they came: the file named in `progress` is the
 * one running, so a file that never ends is known exactly. Results go back once per batch.
 */
async function scanBatches(options: FileScanOptions, batches: WorkerRequest[]): Promise<void> {
  for (let batch = batches.shift(); batch !== undefined; batch = batches.shift()) {
    const results: FileOutcome[] = [];
    for (const [index, file] of batch.files.entries()) {
      Atomics.store(progress, 0, batch.id);
      Atomics.store(progress, 1, index);
      startedAt[0] = Date.now();
      Atomics.store(progress, 2, 1);
      try {
        results.push({ findings: await scanFile(file, options) });
      } catch (error) {
        results.push({ error: error instanceof Error ? error.message : 'unknown error' });
      }
      Atomics.store(progress, 2, 0);
    }
    parentPort?.postMessage({ type: 'batch', id: batch.id, results } satisfies WorkerResponse);
  }
}

try {
  // The same registry as the main thread (injected by URL, never rebuilt here), but only the selected scanners.
  const scanners = await loadSelectedScanners(init.registry, init.loaders, init.scanners);
  const options: FileScanOptions = { scanners, config, knownRuleIds: new Set(init.knownRuleIds) };
  const waiting: WorkerRequest[] = [];
  let running = false;
  parentPort?.on('message', (request: WorkerRequest) => {
    waiting.push(request);
    if (running) return;
    running = true;
    void scanBatches(options, waiting).finally(() => {
      running = false;
    });
  });
  parentPort?.postMessage({ type: 'ready' } satisfies WorkerResponse);
} catch (error) {
  parentPort?.postMessage({ type: 'fatal', error: error instanceof Error ? error.message : 'unknown error' } satisfies WorkerResponse);
}
