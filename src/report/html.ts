import type { Finding } from '../core/finding.js';
import { SEVERITIES } from '../core/severity.js';
import { escapeForTerminal } from '../core/terminal.js';
import type { ScanResult } from '../scanners/engine.js';
import type { ReportOptions } from './options.js';
import { formatBytes } from './text.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes text for HTML. Control, bidi and other format characters are first written in
 * escapeForTerminal's `\u{HEX}` notation: an HTML character reference would still reach the browser
 * as the character itself, and a bidi override reorders what the reader sees there too.
 */
export function escapeHtml(text: string): string {
  return escapeForTerminal(text).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function locationText(f: Finding): string {
  let text = f.location.path;
  if (f.location.member) text += `!${f.location.member}`;
  if (f.location.line !== undefined) text += `:${f.location.line}`;
  if (f.location.offset !== undefined) text += ` @${f.location.offset}`;
  return text;
}

function row(f: Finding): string {
  const evidence = f.evidence === undefined ? '' : `<pre>${escapeHtml(f.evidence)}</pre>`;
  return `<tr class="${f.severity}">
<td><span class="sev ${f.severity}">${f.severity}</span></td>
<td><a href="${escapeHtml(f.docs)}">${escapeHtml(f.ruleId)}</a></td>
<td>${escapeHtml(f.message)}${evidence}<p class="fix">${escapeHtml(f.remediation)}</p></td>
<td><code>${escapeHtml(locationText(f))}</code></td>
</tr>`;
}

/** A self-contained HTML page (no scripts, no external resources): summary and a table per file. */
export function renderHtml(result: ScanResult, options: ReportOptions): string {
  const s = result.summary;
  const byPath = new Map<string, Finding[]>();
  for (const f of result.findings) byPath.set(f.location.path, [...(byPath.get(f.location.path) ?? []), f]);
  const counts = SEVERITIES.map((sev) => `<li><span class="sev ${sev}">${sev}</span> ${s.bySeverity[sev]}</li>`).join('');
  const sections = [...byPath.entries()]
    .map(([path, findings]) => {
      const ordered = [...findings].sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity));
      return `<section><h2>${escapeHtml(path)}</h2>
<table><thead><tr><th>Severity</th><th>Rule</th><th>Finding</th><th>Location</th></tr></thead><tbody>
${ordered.map(row).join('\n')}
</tbody></table></section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Custody scan report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d1d1f}
h1{font-size:1.4rem}h2{font-size:1rem;font-family:ui-monospace,monospace;margin-top:2rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
pre{white-space:pre-wrap;word-break:break-all;background:#f5f5f7;padding:.3rem;margin:.3rem 0}
.fix{color:#555;margin:.2rem 0}ul.counts{list-style:none;padding:0;display:flex;gap:1rem}
.sev{display:inline-block;border-radius:3px;padding:0 .4rem;color:#fff;font-weight:600;text-transform:uppercase;font-size:.75rem}
.critical{background:#7b1fa2}.high{background:#c62828}.medium{background:#ef6c00}.low{background:#0277bd}.info{background:#757575}
tr.critical,tr.high,tr.medium,tr.low,tr.info{background:none}
</style></head><body>
<h1>Custody scan report</h1>
<p>${s.findings} finding${s.findings === 1 ? '' : 's'} in ${s.files} file${s.files === 1 ? '' : 's'} (${escapeHtml(formatBytes(s.bytes))}), scanners: ${escapeHtml(s.scanners.join(', '))}; custody ${escapeHtml(options.toolVersion)}.${s.baselined > 0 ? ` ${s.baselined} known finding(s) hidden by the baseline.` : ''}</p>
<ul class="counts">${counts}</ul>
${sections || '<p>No findings.</p>'}
</body></html>
`;
}
