import type { Confidence, Severity } from './severity.js';

/** Tags use a prefix: `cwe:502`, `owasp-ml:ML06`, `format:pickle`. */
export type RuleTag = `${string}:${string}`;

export interface RuleMeta<M extends string> {
  /** `<scanner>/<kebab-name>`, never renamed once released. */
  readonly id: `${string}/${string}`;
  readonly title: string;
  /** One paragraph: what the rule detects and why it matters. */
  readonly description: string;
  readonly severity: Severity;
  readonly confidence: Confidence;
  readonly tags: readonly RuleTag[];
  readonly remediation: string;
  /** Message templates keyed by id; `{{name}}` is replaced from the report's data. */
  readonly messages: Readonly<Record<M, string>>;
}

/**
 * A rule: metadata plus a `check` that turns a scanner-specific analysis (`C`) into reports.
 * The message ids are a type parameter, so reporting an unknown id fails to compile.
 */
export interface Rule<M extends string = string, C = never> extends RuleMeta<M> {
  readonly scanner: string;
  readonly docs: string;
  check(context: C, report: Report<M>): void | Promise<void>;
}

/** What a rule check hands to `report`. The engine builds the Finding (redaction, fingerprint). */
export interface ReportInput<M extends string> {
  message: M;
  data?: Readonly<Record<string, string | number>>;
  line?: number;
  column?: number;
  endLine?: number;
  offset?: number;
  /** Appended to the target's member path (`!`-joined). */
  member?: string;
  /** Evidence shown to the user. Must already be safe; use `secret` for raw secret values. */
  evidence?: string;
  /** A raw secret: it is redacted into the evidence and hashed into the fingerprint, never kept. */
  secret?: string;
  severity?: Severity;
  confidence?: Confidence;
  /** What makes this finding the same finding across runs (defaults to evidence or message). */
  key?: string;
  properties?: Record<string, unknown>;
}

export type Report<M extends string> = (input: ReportInput<M>) => void;

export const DOCS_BASE = 'https://github.com/custody-dev/custody/blob/main/docs/rules';

export function defineRule<const M extends string, C>(
  definition: RuleMeta<M> & { check(context: C, report: Report<M>): void | Promise<void> },
): Rule<M, C> {
  const slash = definition.id.indexOf('/');
  const scanner = definition.id.slice(0, slash);
  const name = definition.id.slice(slash + 1);
  return { ...definition, scanner, docs: `${DOCS_BASE}/${scanner}/${name}.md` };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry holds rules of any context
export type AnyRule = Rule<string, any>;

export function formatMessage(template: string, data: Readonly<Record<string, string | number>> = {}): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (whole, key: string) => {
    const value = data[key];
    return value === undefined ? whole : String(value);
  });
}
