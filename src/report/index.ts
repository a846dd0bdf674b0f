import { CustodyError } from '../core/errors.js';
import type { ScanResult } from '../scanners/engine.js';
import { renderHtml } from './html.js';
import { renderJson } from './json.js';
import type { ReportOptions } from './options.js';
import { renderSarif } from './sarif.js';
import { renderText } from './text.js';

export type { ReportOptions } from './options.js';

const RENDERERS = { html: renderHtml, json: renderJson, sarif: renderSarif, text: renderText } as const;
export type ReportFormat = keyof typeof RENDERERS;
export const REPORT_FORMATS = Object.keys(RENDERERS) as ReportFormat[];

export function isReportFormat(value: string): value is ReportFormat {
  return Object.hasOwn(RENDERERS, value);
}

export function renderReport(format: string, result: ScanResult, options: ReportOptions): string {
  if (!isReportFormat(format)) throw new CustodyError('USAGE', `unknown format "${format}"; expected one of ${REPORT_FORMATS.join(', ')}`);
  return RENDERERS[format](result, options);
}
