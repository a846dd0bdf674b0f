import type { Confidence, Severity } from '../../../core/severity.js';
import { mentions } from '../names.js';
import { isPlaceholder } from '../placeholder.js';
import { safeName } from '../uri.js';
import type { Assignment, AssignmentClassifier, AssignmentMode } from '../types.js';

/** Hard-coded credentials (CWE-798); leaked ML platform tokens open the model supply chain (OWASP ML06). */
const SECRET_TAGS = ['cwe:798', 'owasp-ml:ML06'] as const;

export function tags(provider: string): (`${string}:${string}`)[] {
  return [...SECRET_TAGS, `provider:${provider}`];
}

export interface ProviderAssignmentOptions {
  /** Name words that identify the provider (`wandb`, `kaggle`, `co`). */
  names: readonly string[];
  /** Substrings of the lowercase context that identify it (`wandb.login(`, `machine api.wandb.ai`, `kaggle.json`). */
  hints: readonly string[];
  /** Full-match format of the value. */
  value: RegExp;
  message: string;
  severity?: Severity;
  confidence?: Confidence;
  /** Extra validation of the value. */
  validate?: (value: string) => boolean;
}

/** True when the assignment's name or context points at the provider in `mode`. */
export function pointsAt(a: Assignment, names: readonly string[], hints: readonly string[], mode: AssignmentMode): boolean {
  if (mode === 'name') return mentions(a.words, names);
  return hints.some((h) => a.context.includes(h));
}

/** A classifier for providers whose keys have no prefix: the name or context must name the provider and the value must have its format. */
export function providerAssignment(options: ProviderAssignmentOptions): AssignmentClassifier {
  return (a, _doc, mode) => {
    // The value's format first: it is cheap, and the context (read only in `context` mode) is not.
    if (!options.value.test(a.value)) return undefined;
    if (!pointsAt(a, options.names, options.hints, mode) || isPlaceholder(a.value)) return undefined;
    if (options.validate && !options.validate(a.value)) return undefined;
    return {
      message: options.message,
      evidence: `${safeName(a.name)}=${a.value}`,
      ...(options.severity === undefined ? {} : { severity: options.severity }),
      ...(options.confidence === undefined ? {} : { confidence: mode === 'name' ? options.confidence : 'medium' }),
    };
  };
}
