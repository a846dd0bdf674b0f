import type { Finding } from '../core/finding.js';
import { escapeForTerminal as e } from '../core/terminal.js';
import { SEVERITIES, type Severity } from '../core/severity.js';
import type { ScanResult } from '../scanners/engine.js';
import type { ReportOptions } from './options.js';

const COLORS: Record<Severity, string> = { critical: '\x1b[1;35m', high: '\x1b[31m', medium: '\x1b[33m', low: '\x1b[36m', info: '\x1b[2m' };
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
const BOLD = '\x1b[1m';

function where(f: Finding): string {
  const parts: string[] = [];
  if (f.location.member) parts.push(`!${e(f.location.member)}`);
  if (f.location.line !== undefined) parts.push(`:${f.location.line}${f.location.column !== undefined ? `:${f.location.column}` : ''}`);
  if (f.location.offset !== undefined && f.location.line === undefined) parts.push(` @${f.location.offset}`);
  return parts.join('');
}

/**
 * Context a person needs to find the thing: notebook cell, commit, image layer. Values from the input
 * pass through `escape` (terminal escaping for text; the HTML report escapes the whole line itself).
 */
export function describeContext(f: Finding, escape: (text: string) => string = e): string | undefined {
  const p = f.properties ?? {};
  const parts: string[] = [];
  if (typeof p['cell'] === 'number') parts.push(`cell ${p['cell']}${typeof p['cellLine'] === 'number' ? ` line ${p['cellLine']}` : ''}${typeof p['field'] === 'string' && p['field'] !== 'source' ? ` (${escape(p['field'])})` : ''}`);
  if (typeof p['commit'] === 'string' && p['commit'] !== '') parts.push(`introduced in ${escape(p['commit'].slice(0, 12))}${p['inHead'] === false ? ', no longer in HEAD' : ''}`);
  if (typeof p['layer'] === 'string') parts.push(`image layer ${escape(p['layer'])}${p['deletedInLayer'] !== undefined ? `, deleted in layer ${escape(String(p['deletedInLayer']))} but still in the image` : ''}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/**
 * Findings grouped by file, most severe first within a file; a summary line at the end. Every piece
 * of text that comes from the input (paths, members, messages, evidence, properties) is escaped with
 * escapeForTerminal, so the report cannot act on the terminal or forge a line.
 */
export function renderText(result: ScanResult, options: ReportOptions): string {
  const paint = (code: string, text: string): string => (options.color ? `${code}${text}${RESET}` : text);
  const out: string[] = [];
  const byPath = new Map<string, Finding[]>();
  for (const f of result.findings) {
    const list = byPath.get(f.location.path) ?? [];
    list.push(f);
    byPath.set(f.location.path, list);
  }
  for (const [path, findings] of byPath) {
    out.push(paint(BOLD, e(path)));
    const ordered = [...findings].sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity));
    for (const f of ordered) {
      out.push(`  ${paint(COLORS[f.severity], f.severity.toUpperCase().padEnd(8))} ${e(f.message)} ${paint(DIM, `[${e(f.ruleId)}]`)}`);
      const loc = where(f);
      const ctx = describeContext(f);
      if (loc || ctx) out.push(`           ${paint(DIM, `at ${e(path)}${loc}${ctx ? ` (${ctx})` : ''}`)}`);
      if (f.evidence) out.push(`           ${paint(DIM, `evidence: ${e(f.evidence)}`)}`);
    }
    out.push('');
  }
  const s = result.summary;
  const counts = SEVERITIES.filter((sev) => s.bySeverity[sev] > 0).map((sev) => paint(COLORS[sev], `${s.bySeverity[sev]} ${sev}`));
  const scanned = `${s.files} file${s.files === 1 ? '' : 's'}, ${formatBytes(s.bytes)} in ${(s.durationMs / 1000).toFixed(2)} s`;
  const baselined = s.baselined > 0 ? `; ${s.baselined} known finding(s) hidden by the baseline` : '';
  out.push(s.findings === 0 ? `No findings (${scanned})${baselined}.` : `${s.findings} finding${s.findings === 1 ? '' : 's'}: ${counts.join(', ')} (${scanned})${baselined}.`);
  return `${out.join('\n')}\n`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
