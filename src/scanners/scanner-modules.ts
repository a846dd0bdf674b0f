import type { Scanner } from '../core/scanner.js';

/**
 * Where each scanner of Custody's own registry (./index.ts) lives, loaded on demand: a worker thread
 * loads only the scanners a scan selected (`--only secrets` does not compile the model parsers in every
 * worker). Every name in SCANNERS has an entry here (test/core/scan-workers.test.ts checks).
 */
export const SCANNER_LOADERS: Readonly<Record<string, () => Promise<Scanner>>> = {
  code: async () => (await import('./code/index.js')).codeScanner,
  config: async () => (await import('./config/index.js')).configScanner,
  containers: async () => (await import('./containers/index.js')).containersScanner,
  deps: async () => (await import('./deps/index.js')).depsScanner,
  models: async () => (await import('./models/index.js')).modelsScanner,
  secrets: async () => (await import('./secrets/index.js')).secretsScanner,
};
