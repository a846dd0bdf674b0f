import type { AnyRule } from '../core/rule.js';

export interface ReportOptions {
  /** ANSI colour (text only; on when stdout is a terminal). */
  color: boolean;
  /** Metadata of every rule that can appear (for SARIF `tool.driver.rules`). */
  rules: readonly AnyRule[];
  toolVersion: string;
}
