import type { AnyRule, ReportInput } from '../../core/rule.js';
import type { YamlDocument } from './yaml.js';

/** Which kind of configuration a file is; decided by name first, then by a look at the content. */
export type ConfigKind =
  | 'dockerfile'
  | 'compose'
  | 'kubernetes'
  | 'helm-values'
  | 'github-actions'
  | 'gitlab-ci'
  | 'terraform'
  | 'cloudformation'
  | 'iam-policy'
  | 'jupyter-config'
  | 'torchserve-properties'
  | 'streamlit-config'
  | 'mlflow-auth'
  | 'shell';

export interface ConfigFile {
  readonly kind: ConfigKind;
  /** Display path (the file, or `file!member` inside a container). */
  readonly path: string;
  readonly text: string;
  /** Every YAML document, for YAML kinds (parsed once). */
  readonly yaml?: readonly YamlDocument[];
  /**
   * Reads a file next to this one (`.dockerignore` beside a Dockerfile, `Chart.yaml` beside values):
   * bounded, regular files only, undefined when absent or when the file is a container member.
   */
  sibling(name: string): string | undefined;
  /** Names of the regular files in the same directory (at most a few hundred), empty for container members. */
  siblingNames(): string[];
  /** The text of a 1-based line, trimmed, for evidence. */
  lineText(line: number): string;
}

/** A function to report a finding of one of the domain's rules. */
export type ConfigReport = <M extends string>(rule: AnyRule, input: ReportInput<M>) => void;

/**
 * One family of configuration (Dockerfiles, Kubernetes, CI, ML services, …): the kinds it reads, its rules,
 * and a check that reports through `report`. The scanner registry lists domains sorted by name.
 */
export interface ConfigDomain {
  readonly name: string;
  readonly kinds: readonly ConfigKind[];
  readonly rules: readonly AnyRule[];
  check(file: ConfigFile, report: ConfigReport): void;
}
