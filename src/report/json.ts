import { escapeJsonForTerminal } from '../core/terminal.js';
import type { ScanResult } from '../scanners/engine.js';
import type { ReportOptions } from './options.js';

/**
 * `{"findings":[…],"summary":{…}}`, one finding per object, stable key order. Values are faithful;
 * characters that could act on a terminal are written as JSON escapes (escapeJsonForTerminal).
 */
export function renderJson(result: ScanResult, options: ReportOptions): string {
  return `${escapeJsonForTerminal(JSON.stringify({ tool: { name: 'custody', version: options.toolVersion }, findings: result.findings, summary: result.summary }, null, 2))}\n`;
}
