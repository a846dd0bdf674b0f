import type { ByteSource } from './byte-source.js';
import type { Limits, ResolvedConfig } from './config.js';
import type { AnyRule, Report, Rule } from './rule.js';

/** One thing to scan: a file on disk, or a member of a container. */
export interface ScanTarget {
  /** Display path of the file on disk (the outermost container for members). */
  readonly path: string;
  /** `!`-joined path inside containers, when this target is a member. */
  readonly member?: string;
  readonly source: ByteSource;
  /** The first bytes (up to HEAD_BYTES) for content sniffing. */
  readonly head: Buffer;
  /** Container nesting depth: 0 for files on disk. */
  readonly depth: number;
  /** Absolute path on disk, for top-level files only (lets a scanner look at sibling files). */
  readonly absPath?: string;
  /** Facts every finding in this target (and its members) carries, e.g. the image layer it came from. */
  readonly properties?: Readonly<Record<string, unknown>>;
}

export const HEAD_BYTES = 64 * 1024;

export interface ScanContext {
  readonly config: ResolvedConfig;
  readonly limits: Limits;
  /** Epoch milliseconds after which parsers must stop and report a timeout finding. */
  readonly deadline: number;
  isEnabled(ruleId: string): boolean;
  /** A report function bound to a rule and a target; a no-op when the rule is disabled. */
  reporter<M extends string>(rule: Rule<M, never> | AnyRule, target: ScanTarget): Report<M>;
  /**
   * Runs every selected scanner on a member of a container (depth-bounded by the engine). `properties`
   * are added to every finding in the member, on top of the parent's.
   */
  scanMember(parent: ScanTarget, member: string, source: ByteSource, properties?: Readonly<Record<string, unknown>>): Promise<void>;
}

export interface Scanner {
  /** Short name used by `--only`: `models`, `secrets`, … */
  readonly name: string;
  readonly description: string;
  readonly rules: readonly AnyRule[];
  /** Runs whatever `--only` says (container expanders that feed the other scanners). */
  readonly alwaysOn?: boolean;
  /** Scans one target; decides by content whether it has anything to say. Never throws for bad input. */
  scan(target: ScanTarget, context: ScanContext): Promise<void>;
}
