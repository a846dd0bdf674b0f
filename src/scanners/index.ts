import type { AnyRule } from '../core/rule.js';
import type { Scanner } from '../core/scanner.js';
import { configScanner } from './config/index.js';
import { containersScanner } from './containers/index.js';
import { codeScanner } from './code/index.js';
import { coreRules } from './core/rules.js';
import { dataRules } from '../data/rules.js';
import { depsScanner } from './deps/index.js';
import { historyRules } from './history/rules.js';
import { modelsScanner } from './models/index.js';
import { secretsScanner } from './secrets/index.js';

/** Every scanner, sorted by name. `--only` selects among them by name; `alwaysOn` ones always run. */
export const SCANNERS: readonly Scanner[] = [codeScanner, configScanner, containersScanner, depsScanner, modelsScanner, secretsScanner];

export const SCANNER_NAMES: readonly string[] = SCANNERS.map((s) => s.name);

/** Names `--only` accepts. */
export const SELECTABLE_SCANNERS: readonly string[] = SCANNERS.filter((s) => s.alwaysOn !== true).map((s) => s.name);

/** Every rule of every scanner plus the engine's own, sorted by id. */
export function allRules(): AnyRule[] {
  const rules: AnyRule[] = [...coreRules, ...dataRules, ...historyRules, ...SCANNERS.flatMap((s) => s.rules)];
  return rules.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
