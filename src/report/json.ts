import type { ScanResult } from '../scanners/engine.js';
import type { ReportOptions } from './options.js';

/** `{"findings":[…],"summary":{…}}`, one finding per object, stable key order. */
export function renderJson(result: ScanResult, options: ReportOptions): string {
  return `${JSON.stringify({ tool: { name: 'custody', version: options.toolVersion }, findings: result.findings, summary: result.summary }, null, 2)}\n`;
}
