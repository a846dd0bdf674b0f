import type { AnyRule } from '../../core/rule.js';
import type { ScanContext, ScanTarget } from '../../core/scanner.js';

/**
 * One model-file format the models scanner understands. Formats are recognised by content (magic
 * bytes, structure), never by extension alone. Every format whose `detect` is true scans the target,
 * so a polyglot (say, a pickle that is also a zip) is read as both.
 */
export interface ModelFormat {
  readonly name: string;
  /** Rules this format reports (listed in the scanner's registry, docs and SARIF). */
  readonly rules: readonly AnyRule[];
  /** Cheap content sniff on `target.head` (first 64 KiB) and `target.source.size`. */
  detect(target: ScanTarget): boolean;
  /** Reports through `context.reporter(rule, target)`; never throws for bad input (report it instead). */
  scan(target: ScanTarget, context: ScanContext): Promise<void>;
}
