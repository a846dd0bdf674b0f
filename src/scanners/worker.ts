import { parentPort, workerData } from 'node:worker_threads';
import type { ResolvedConfig } from '../core/config.js';
import { loadRegistry, ruleIdsOf, type WorkerInit, type WorkerRequest, type WorkerResponse } from './engine.js';
import { scanFile } from './file-scan.js';

const init = workerData as WorkerInit;
const config: ResolvedConfig = { ...init.config, rules: new Map(init.config.rules) };

try {
  // The same registry module as the main thread: the scanner list is injected by URL, never rebuilt here.
  const available = await loadRegistry(init.registry);
  const scanners = available.filter((s) => init.scanners.includes(s.name));
  const knownRuleIds = ruleIdsOf(available);
  parentPort?.on('message', (request: WorkerRequest) => {
    scanFile(request.file, { scanners, config, knownRuleIds }).then(
      (findings) => parentPort?.postMessage({ type: 'result', id: request.id, findings } satisfies WorkerResponse),
      (error: unknown) => parentPort?.postMessage({ type: 'result', id: request.id, error: error instanceof Error ? error.message : 'unknown error' } satisfies WorkerResponse),
    );
  });
  parentPort?.postMessage({ type: 'ready' } satisfies WorkerResponse);
} catch (error) {
  parentPort?.postMessage({ type: 'fatal', error: error instanceof Error ? error.message : 'unknown error' } satisfies WorkerResponse);
}
