import type { ResolvedConfig } from '../../core/config.js';
import { CustodyError } from '../../core/errors.js';
import type { Finding } from '../../core/finding.js';
import type { Scanner } from '../../core/scanner.js';

export interface HistoryScanOptions {
  /** A directory inside a git work tree (or a bare repository). */
  repo: string;
  /** Display path prefix for findings (the path as given on the command line). */
  displayRoot: string;
  scanners: readonly Scanner[];
  config: ResolvedConfig;
  knownRuleIds: ReadonlySet<string>;
}

// Placeholder: not implemented yet.
export function scanHistory(_options: HistoryScanOptions): Promise<Finding[]> {
  return Promise.reject(new CustodyError('UNSUPPORTED_FORMAT', '--history is not implemented yet'));
}
