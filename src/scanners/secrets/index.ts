import type { AnyRule } from '../../core/rule.js';
import type { Scanner } from '../../core/scanner.js';
import { SECRET_RULES } from './registry.js';
import { notebookUnparsedRule, scanIncompleteRule } from './rules/meta.js';
import { scanTargetForSecrets } from './scan.js';

export { isPlaceholder } from './placeholder.js';
export { detectSecrets } from './detect.js';
export { SECRET_RULES, FAMILY_BY_RULE } from './registry.js';
export type { SecretRule, Candidate, SecretDoc, TextKind } from './types.js';

/** Every rule of the secrets scanner, sorted by id. */
export const SECRETS_SCANNER_RULES: readonly AnyRule[] = [...SECRET_RULES, notebookUnparsedRule, scanIncompleteRule].sort((a, b) => (a.id < b.id ? -1 : 1));

export const secretsScanner: Scanner = {
  name: 'secrets',
  description: 'Credentials in code, notebooks, configs, git history and image layers.',
  rules: SECRETS_SCANNER_RULES,
  scan: (target, context) => scanTargetForSecrets(target, context),
};
