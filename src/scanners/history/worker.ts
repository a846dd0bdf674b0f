import { parentPort, workerData } from 'node:worker_threads';
import { BufferSource } from '../../core/byte-source.js';
import type { ResolvedConfig } from '../../core/config.js';
import { SCANNERS, allRules } from '../index.js';
import { scanBlob } from '../file-scan.js';
import type { HistoryWorkerInit, HistoryWorkerRequest, HistoryWorkerResponse } from './pool.js';

/** A history worker: scans blobs sent by the main thread (which reads them from git). */
const init = workerData as HistoryWorkerInit;
const config: ResolvedConfig = { ...init.config, rules: new Map(init.config.rules) };
const scanners = SCANNERS.filter((s) => init.scanners.includes(s.name));
const knownRuleIds = new Set(allRules().map((r) => r.id));

parentPort?.on('message', (request: HistoryWorkerRequest) => {
  const bytes = Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength);
  scanBlob(request.path, new BufferSource(bytes), { scanners, config, knownRuleIds }).then(
    (findings) => parentPort?.postMessage({ id: request.id, findings } satisfies HistoryWorkerResponse),
    (error: unknown) => parentPort?.postMessage({ id: request.id, error: error instanceof Error ? error.message : 'unknown error' } satisfies HistoryWorkerResponse),
  );
});
