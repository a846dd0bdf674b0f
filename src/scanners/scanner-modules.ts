import type { Scanner } from '../core/scanner.js';

/**
 * Where each scanner of Custody's own registry (./index.ts) lives, loaded on demand: a worker thread
 * loads only the scanners a scan selected (`--only secrets` does not compile the model parsers in every
 * worker). Every name in SCANNERS has an entry here (test/core/scan-workers.test.ts checks).
 */
export const SCANNER_LOADERS: Readonly<Record<string, () => Promise<Scanner>>> = {
  containers: async () => (await import('./containers/index.js')).containersScanner,
  models: async () => (await import('./models/index.js')).modelsScanner,
  secrets: async () => (await import('./secrets/index.js')).secretsScanner,
};
