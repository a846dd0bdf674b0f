import type { ResolvedConfig } from '../core/config.js';
import { CustodyError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { Scanner } from '../core/scanner.js';
import type { Severity } from '../core/severity.js';
import type { WalkedFile } from '../core/walk.js';

/**
 * Loading a scanner registry, and what the engine and its worker threads say to each other. Kept apart
 * from engine.ts so that a worker loads only this, file-scan and its scanners — not the walk, git
 * history or the reporters.
 */

/**
 * Loads a scanner registry: an ES module exporting `SCANNERS`, the sorted list of scanners. The main
 * thread and every worker load the same module by URL, so the list a scan runs is injected in one place.
 */
export async function loadRegistry(registry: string): Promise<readonly Scanner[]> {
  let loaded: unknown;
  try {
    loaded = ((await import(registry)) as { SCANNERS?: unknown }).SCANNERS;
  } catch (error) {
    throw new CustodyError('WORKER_FAILED', `cannot load the scanner registry ${registry}: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(loaded) || !loaded.every(isScanner)) {
    throw new CustodyError('WORKER_FAILED', `the scanner registry ${registry} does not export SCANNERS, a list of scanners`);
  }
  return loaded as Scanner[];
}

function isScanner(value: unknown): value is Scanner {
  return typeof (value as Scanner | undefined)?.name === 'string' && typeof (value as Scanner).scan === 'function';
}

/**
 * Loads the named scanners only, through `loaders` (a module exporting SCANNER_LOADERS, name → loader),
 * so a worker of `--only secrets` never compiles the model parsers. Falls back to the whole registry
 * when a name has no loader.
 */
export async function loadSelectedScanners(registry: string, loaders: string | undefined, names: readonly string[]): Promise<readonly Scanner[]> {
  if (loaders !== undefined) {
    const table = ((await import(loaders)) as { SCANNER_LOADERS?: Readonly<Record<string, () => Promise<Scanner>>> }).SCANNER_LOADERS ?? {};
    if (names.every((name) => Object.hasOwn(table, name))) {
      const scanners = await Promise.all(names.map((name) => (table[name] as () => Promise<Scanner>)()));
      if (scanners.every(isScanner)) return scanners;
    }
  }
  return (await loadRegistry(registry)).filter((s) => names.includes(s.name));
}

/** What crosses the thread boundary: config with its Map as entries. */
export interface WorkerInit {
  registry: string;
  /** URL of a module exporting SCANNER_LOADERS for this registry, when it has one. */
  loaders?: string;
  /** Names of the selected scanners, in registry order. */
  scanners: string[];
  /** Every rule id of the registry (suppressions may name a rule of a scanner not selected). */
  knownRuleIds: string[];
  config: Omit<ResolvedConfig, 'rules'> & { rules: [string, { enabled: boolean; severity?: Severity }][] };
  /**
   * PROGRESS_BYTES shared with the engine: the worker writes which file it is scanning and since when, so
   * a file that never ends is named without a message per file.
   */
  progress: SharedArrayBuffer;
}

/** Layout of WorkerInit.progress: Int32 [batch id, index in the batch, busy (0|1)], then Float64 start time (ms). */
export const PROGRESS_BYTES = 24;
export const PROGRESS_STARTED_AT = 16;

export type FileOutcome = { findings: Finding[] } | { error: string };
export type WorkerRequest = { id: number; files: WalkedFile[] };
export type WorkerResponse = { type: 'ready' } | { type: 'fatal'; error: string } | { type: 'batch'; id: number; results: FileOutcome[] };
