import type { AnyRule } from '../core/rule.js';
import type { Scanner } from '../core/scanner.js';
import { coreRules } from './core/rules.js';
import { modelsScanner } from './models/index.js';

/** Every scanner, sorted by name. `--only` selects among them by name. */
export const SCANNERS: readonly Scanner[] = [modelsScanner];

export const SCANNER_NAMES: readonly string[] = SCANNERS.map((s) => s.name);

/** Every rule of every scanner plus the engine's own, sorted by id. */
export function allRules(): AnyRule[] {
  const rules: AnyRule[] = [...coreRules, ...SCANNERS.flatMap((s) => s.rules)];
  return rules.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
