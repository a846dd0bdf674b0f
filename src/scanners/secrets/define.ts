import { defineRule } from '../../core/rule.js';
import type { SecretCheck, SecretRule, SecretRuleDefinition } from './types.js';

/**
 * Declares a secrets rule: metadata plus its detectors, its assignment classifier and its own
 * examples. `check` turns one resolved candidate into a report; the raw value travels only in
 * `secret`, which the engine redacts into the evidence and hashes into the fingerprint.
 */
export function defineSecretRule<const M extends string>(definition: SecretRuleDefinition<M>): SecretRule {
  const { family, priority, detectors, assignment, patterns, examples, ...meta } = definition;
  const rule = defineRule<M, SecretCheck>({
    ...meta,
    check({ candidate, line, column, offset, properties }, report) {
      report({
        message: candidate.message as M,
        ...(candidate.data === undefined ? {} : { data: candidate.data }),
        ...(line === undefined ? {} : { line }),
        ...(column === undefined ? {} : { column }),
        ...(offset === undefined ? {} : { offset }),
        secret: candidate.secret,
        ...(candidate.evidence === undefined ? {} : { evidence: candidate.evidence }),
        ...(candidate.severity === undefined ? {} : { severity: candidate.severity }),
        ...(candidate.confidence === undefined ? {} : { confidence: candidate.confidence }),
        key: '',
        ...(properties === undefined ? {} : { properties }),
      });
    },
  });
  const extras = { family, priority, patterns, examples, ...(detectors === undefined ? {} : { detectors }), ...(assignment === undefined ? {} : { assignment }) };
  return Object.assign(rule, extras) as unknown as SecretRule;
}
