import { parentPort, workerData } from 'node:worker_threads';
import type { ResolvedConfig } from '../core/config.js';
import type { WorkerInit, WorkerRequest, WorkerResponse } from './engine.js';
import { scanFile } from './file-scan.js';
import { SCANNERS, allRules } from './index.js';

const init = workerData as WorkerInit;
const config: ResolvedConfig = { ...init.config, rules: new Map(init.config.rules) };
const scanners = SCANNERS.filter((s) => init.scanners.includes(s.name));
const knownRuleIds = new Set(allRules().map((r) => r.id));

parentPort?.on('message', (request: WorkerRequest) => {
  scanFile(request.file, { scanners, config, knownRuleIds }).then(
    (findings) => parentPort?.postMessage({ id: request.id, findings } satisfies WorkerResponse),
    (error: unknown) => parentPort?.postMessage({ id: request.id, error: error instanceof Error ? error.message : 'unknown error' } satisfies WorkerResponse),
  );
});
