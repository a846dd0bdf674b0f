import type { ScanResult } from '../scanners/engine.js';
import type { ReportOptions } from './options.js';

// Placeholder: a full HTML report is being written.
export function renderHtml(result: ScanResult, _options: ReportOptions): string {
  return `<!doctype html><meta charset="utf-8"><title>Custody scan</title><pre>${result.findings.length} findings</pre>\n`;
}
