import { CustodyError } from '../core/errors.js';
import { isRecord } from '../core/json.js';
import { buildStatement, type Statement } from '../integrity/statement.js';

/**
 * The evaluation attestation Custody reads metrics from: an in-toto statement whose subject is the
 * evaluated version (its root digest) and whose predicate records the metrics as numbers. Documented
 * in docs/governance.md; built with buildEvaluationStatement and signed like any attestation.
 */
export const EVALUATION_PREDICATE_TYPE = 'https://github.com/custody-dev/custody/blob/main/docs/governance.md#evaluation-v1';

export interface EvaluationPredicate {
  /** Metric name → value. */
  metrics: Record<string, number>;
  /** The evaluation data, by name and digest, when known. */
  dataset?: { name: string; digest: { sha256: string } };
  evaluatedOn?: string;
}

const METRIC_NAME = /^[A-Za-z0-9_.\-/]{1,64}$/;
const MAX_METRICS = 1000;

export function buildEvaluationStatement(subject: { name: string; digest: { sha256: string } }, predicate: EvaluationPredicate): Statement<EvaluationPredicate> {
  readEvaluationMetrics(predicate);
  return buildStatement([subject], EVALUATION_PREDICATE_TYPE, predicate);
}

/** The metrics of an evaluation predicate; BUNDLE_INVALID when they are not a map of finite numbers. */
export function readEvaluationMetrics(predicate: unknown): Record<string, number> {
  const metrics = isRecord(predicate) ? predicate['metrics'] : undefined;
  if (!isRecord(metrics) || Object.keys(metrics).length === 0 || Object.keys(metrics).length > MAX_METRICS) {
    throw new CustodyError('BUNDLE_INVALID', `an evaluation predicate holds metrics: a map of 1 to ${MAX_METRICS} names to numbers`);
  }
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(metrics)) {
    if (!METRIC_NAME.test(name) || typeof value !== 'number' || !Number.isFinite(value)) throw new CustodyError('BUNDLE_INVALID', `metric ${JSON.stringify(name.slice(0, 64))} must be named with A-Z a-z 0-9 _ . - / and be a finite number`);
    out[name] = value;
  }
  return out;
}
