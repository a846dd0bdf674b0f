import { createHash } from 'node:crypto';
import { compareFindings, type Finding } from '../core/finding.js';
import { SEVERITIES, severityRank, type Severity } from '../core/severity.js';
import { escapeForTerminal } from '../core/terminal.js';
import type { ScanResult } from '../scanners/engine.js';
import { PAGE_SCRIPT, PAGE_STYLE } from './html-page.js';
import type { ReportOptions } from './options.js';
import { describeContext, formatBytes } from './text.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes text for HTML. Control, bidi and other format characters are first written in
 * escapeForTerminal's `\u{HEX}` notation: an HTML character reference would still reach the browser
 * as the character itself, and a bidi override reorders what the reader sees there too.
 */
export function escapeHtml(text: string): string {
  return escapeForTerminal(text).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/**
 * Bounds that keep the page renderable whatever the scan found: rows are chosen most severe first, at
 * most `maxRows` in all and `maxRowsPerFile` per file, until their HTML reaches `maxRowChars`; the rest
 * are counted in explicit "not shown" notices, and every count on the page includes them. Long texts
 * are clipped (with a note of how much) so that one finding cannot exhaust the budget alone.
 */
export interface HtmlLimits {
  maxRows: number;
  maxRowsPerFile: number;
  maxRowChars: number;
  /** Paths, members, messages, remediation (code points). */
  maxFieldChars: number;
  /** Evidence (code points). */
  maxEvidenceChars: number;
}

export const HTML_LIMITS: Readonly<HtmlLimits> = {
  maxRows: 10_000,
  maxRowsPerFile: 1_000,
  maxRowChars: 24 * 1024 * 1024,
  maxFieldChars: 4096,
  maxEvidenceChars: 2048,
} as const;

/** Clips to `max` code points (never splitting a surrogate pair) and escapes; says how much was cut. */
function clipped(text: string, max: number): string {
  if (text.length <= max) return escapeHtml(text);
  let end = 0;
  let points = 0;
  while (end < text.length && points < max) {
    end += (text.codePointAt(end) as number) > 0xffff ? 2 : 1;
    points += 1;
  }
  if (end >= text.length) return escapeHtml(text);
  return `${escapeHtml(text.slice(0, end))}<span class="more"> … (${[...text.slice(end)].length} more characters)</span>`;
}

function hashForCsp(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `severity` as a class name: only the known values (the type says so, but the page must not trust it). */
function severityClass(severity: Severity): Severity {
  return (SEVERITIES as readonly string[]).includes(severity) ? severity : 'info';
}

function locationHtml(f: Finding, max: number): string {
  const l = f.location;
  let html = `<span class="path">${clipped(l.path, max)}</span>`;
  if (l.member !== undefined && l.member !== '') html += `<span class="member">!${clipped(l.member, max)}</span>`;
  if (l.line !== undefined) html += `<span class="pos line"><span class="colon">:</span>${l.line}${l.column !== undefined ? `:${l.column}` : ''}</span>`;
  if (l.offset !== undefined && l.line === undefined) html += `<span class="pos"> @${l.offset}</span>`;
  return html;
}

function docsLink(f: Finding): string {
  const rule = escapeHtml(f.ruleId);
  return /^https:\/\/[^\s"'<>]+$/.test(f.docs) ? `<a href="${escapeHtml(f.docs)}" rel="noreferrer">${rule}</a>` : rule;
}

function renderRow(f: Finding, limits: HtmlLimits): string {
  const sev = severityClass(f.severity);
  const facts = [`confidence ${escapeHtml(f.confidence)}`, ...f.tags.slice(0, 16).map((t) => escapeHtml(t))].join(' · ');
  const context = describeContext(f, (text) => text);
  return `<tr class="finding" data-severity="${sev}" data-scanner="${escapeHtml(f.scanner)}" data-rule="${escapeHtml(f.ruleId)}">
<td><span class="sev ${sev}">${sev}</span></td>
<td>${docsLink(f)}<span class="scanner">${escapeHtml(f.scanner)}</span></td>
<td><p class="title">${clipped(f.title, limits.maxFieldChars)}</p><p class="msg">${clipped(f.message, limits.maxFieldChars)}</p>${
    f.evidence === undefined || f.evidence === '' ? '' : `<pre class="evidence">${clipped(f.evidence, limits.maxEvidenceChars)}</pre>`
  }<p class="fix">Fix: ${clipped(f.remediation, limits.maxFieldChars)}</p><p class="facts">${facts}</p></td>
<td><code class="loc${f.location.member || f.location.line !== undefined || f.location.offset !== undefined ? '' : ' whole'}">${locationHtml(f, limits.maxFieldChars)}</code>${context === undefined ? '' : `<p class="facts">${clipped(context, limits.maxFieldChars)}</p>`}</td>
</tr>`;
}

function severityBreakdown(counts: Record<Severity, number>): string {
  return SEVERITIES.filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(', ');
}

function zeroCounts(): Record<Severity, number> {
  return { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
}

interface FileGroup {
  path: string;
  rows: { severity: Severity; html: string }[];
  hidden: Record<Severity, number>;
  hiddenTotal: number;
}

/**
 * Chooses the rows the page shows (most severe first, within the limits) and groups them by file in
 * path order. Linear in the number of findings apart from two sorts.
 */
function selectRows(findings: readonly Finding[], limits: HtmlLimits): { groups: FileGroup[]; shown: number } {
  const ordered = [...findings].sort(compareFindings);
  const priority = ordered.map((_, i) => i).sort((a, b) => severityRank((ordered[b] as Finding).severity) - severityRank((ordered[a] as Finding).severity) || a - b);
  const html = new Array<string | undefined>(ordered.length);
  const perFile = new Map<string, number>();
  let rows = 0;
  let chars = 0;
  for (const i of priority) {
    if (rows >= limits.maxRows || chars >= limits.maxRowChars) break;
    const f = ordered[i] as Finding;
    const inFile = perFile.get(f.location.path) ?? 0;
    if (inFile >= limits.maxRowsPerFile) continue;
    const row = renderRow(f, limits);
    html[i] = row;
    perFile.set(f.location.path, inFile + 1);
    rows += 1;
    chars += row.length;
  }
  const groups: FileGroup[] = [];
  let current: FileGroup | undefined;
  for (let i = 0; i < ordered.length; i++) {
    const f = ordered[i] as Finding;
    if (current === undefined || current.path !== f.location.path) {
      current = { path: f.location.path, rows: [], hidden: zeroCounts(), hiddenTotal: 0 };
      groups.push(current);
    }
    const row = html[i];
    if (row === undefined) {
      current.hidden[severityClass(f.severity)] += 1;
      current.hiddenTotal += 1;
    } else current.rows.push({ severity: f.severity, html: row });
  }
  for (const g of groups) g.rows.sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  return { groups, shown: rows };
}

function countElement(kind: 'severity' | 'scanner' | 'rule', key: string, total: number): string {
  return `<span data-count="${kind}|${escapeHtml(key)}" data-total="${total}">${total}</span>`;
}

function renderFacets(findings: readonly Finding[], scanners: readonly string[]): string {
  const byScanner = new Map<string, number>(scanners.map((s) => [s, 0]));
  const byRule = new Map<string, { title: string; severity: Severity; count: number }>();
  for (const f of findings) {
    byScanner.set(f.scanner, (byScanner.get(f.scanner) ?? 0) + 1);
    const rule = byRule.get(f.ruleId);
    if (rule === undefined) byRule.set(f.ruleId, { title: f.title, severity: severityClass(f.severity), count: 1 });
    else {
      rule.count += 1;
      if (severityRank(f.severity) > severityRank(rule.severity)) rule.severity = severityClass(f.severity);
    }
  }
  const scannerItems = [...byScanner.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, n]) => `<li><span class="name">${escapeHtml(name)}</span> ${countElement('scanner', name, n)}</li>`)
    .join('');
  const ruleRows = [...byRule.entries()]
    .sort(([a, x], [b, y]) => severityRank(y.severity) - severityRank(x.severity) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, r]) => `<tr><td><span class="sev ${r.severity}">${r.severity}</span></td><td><code>${escapeHtml(id)}</code></td><td>${clipped(r.title, 200)}</td><td class="num">${countElement('rule', id, r.count)}</td></tr>`)
    .join('\n');
  return `<ul class="scanners" aria-label="Findings by scanner">${scannerItems}</ul>
<details class="facets"><summary>Findings by rule (${byRule.size})</summary>
<table><caption class="visually-hidden">Findings by rule</caption><thead><tr><th scope="col">Highest</th><th scope="col">Rule</th><th scope="col">Title</th><th scope="col" class="num">Findings</th></tr></thead><tbody>
${ruleRows}
</tbody></table></details>`;
}

function renderFilters(findings: readonly Finding[]): string {
  const scanners = new Map<string, number>();
  const rules = new Map<string, number>();
  for (const f of findings) {
    scanners.set(f.scanner, (scanners.get(f.scanner) ?? 0) + 1);
    rules.set(f.ruleId, (rules.get(f.ruleId) ?? 0) + 1);
  }
  const options = (map: Map<string, number>): string =>
    [...map.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([value, n]) => `<option value="${escapeHtml(value)}">${escapeHtml(value)} (${n})</option>`)
      .join('');
  const boxes = SEVERITIES.map((s) => `<label class="check"><input type="checkbox" name="severity" value="${s}" checked> ${s}</label>`).join('');
  return `<div id="filters" role="search" aria-label="Filter findings" hidden>
<fieldset><legend>Severity</legend><div class="checks">${boxes}</div></fieldset>
<label class="field" for="filter-scanner">Scanner<select id="filter-scanner"><option value="">All scanners</option>${options(scanners)}</select></label>
<label class="field" for="filter-rule">Rule<select id="filter-rule"><option value="">All rules</option>${options(rules)}</select></label>
<label class="field" for="filter-path">Path contains<input id="filter-path" type="search" autocomplete="off" spellcheck="false"></label>
<label class="field" for="filter-text">Search<input id="filter-text" type="search" autocomplete="off" spellcheck="false"></label>
<label class="field" for="group-by">Group by<select id="group-by"><option value="file">File</option><option value="rule">Rule</option><option value="scanner">Scanner</option><option value="severity">Severity</option></select></label>
<button type="button" id="filter-reset">Clear filters</button>
</div>`;
}

function renderGroup(g: FileGroup, index: number, limits: HtmlLimits): string {
  const more = g.hiddenTotal === 0 ? '' : `\n<p class="more">${plural(g.hiddenTotal, 'more finding')} in this file ${g.hiddenTotal === 1 ? 'is' : 'are'} not shown (${severityBreakdown(g.hidden)}).</p>`;
  return `<section class="group file"><h2 class="group-title" id="group-${index}"><code class="key">${clipped(g.path, limits.maxFieldChars)}</code> <span class="n">${plural(g.rows.length, 'finding')}</span></h2>
<table class="findings" aria-labelledby="group-${index}"><colgroup><col class="c-sev"><col class="c-rule"><col><col class="c-loc"></colgroup>
<thead><tr><th scope="col">Severity</th><th scope="col">Rule</th><th scope="col">Finding</th><th scope="col">Location</th></tr></thead><tbody>
${g.rows.map((r) => r.html).join('\n')}
</tbody></table>${more}</section>`;
}

/**
 * A self-contained HTML page: no external resource, works from `file://`. A strict Content-Security-Policy
 * (`default-src 'none'`) allows only the page's own style sheet and script, by hash; every value from the
 * input is escaped (terminal notation for controls and bidi, then HTML). Without JavaScript every
 * rendered finding is visible; with it, filters by severity, scanner, rule, path and free text, grouping
 * by file, rule, scanner or severity, and counts that follow the filters.
 */
export function renderHtml(result: ScanResult, options: ReportOptions, limits: HtmlLimits = HTML_LIMITS): string {
  const s = result.summary;
  const findings = result.findings;
  const total = findings.length;
  const bySeverity = zeroCounts();
  for (const f of findings) bySeverity[severityClass(f.severity)] += 1;
  const scanners = [...new Set(s.scanners)];
  const { groups, shown } = selectRows(findings, limits);

  const facts = [
    `${plural(total, 'finding')} in ${plural(s.files, 'file')} scanned (${escapeHtml(formatBytes(s.bytes))}) in ${(s.durationMs / 1000).toFixed(2)} s`,
    `scanners: ${escapeHtml(scanners.join(', ') || 'none')}`,
    `custody ${escapeHtml(options.toolVersion)}`,
  ];
  if (s.baselined > 0) facts.push(`${plural(s.baselined, 'known finding')} hidden by the baseline`);
  if (s.ignored !== undefined && s.ignored > 0) facts.push(`${plural(s.ignored, 'file')} matched by an ignore file (high-risk scanners only)`);
  if (s.notScanned !== undefined && s.notScanned > 0) facts.push(`${s.notScanned} ${s.notScanned === 1 ? 'entry' : 'entries'} not scanned (each is a finding)`);

  const counts = SEVERITIES.map((sev) => `<li><span class="sev ${sev}">${sev}</span> ${countElement('severity', sev, bySeverity[sev])}</li>`).join('');
  const status = `Showing all ${plural(shown, 'finding')}${total > shown ? ` on this page (${total} in all)` : ''}.`;
  const hiddenFiles = groups.filter((g) => g.rows.length === 0);
  const hiddenInOtherFiles = hiddenFiles.reduce((n, g) => n + g.hiddenTotal, 0);
  const capped =
    total > shown
      ? `<p class="capped">This page shows ${shown} of ${total} findings: the most severe first, at most ${limits.maxRowsPerFile} per file and ${limits.maxRows} in all. The counts above include every finding; <code>--format json</code> or <code>--format sarif</code> lists them all.</p>`
      : '';
  const otherFiles =
    hiddenFiles.length > 0 ? `<p class="more">${plural(hiddenInOtherFiles, 'more finding')} in ${plural(hiddenFiles.length, 'more file')} ${hiddenInOtherFiles === 1 ? 'is' : 'are'} not shown.</p>` : '';

  const body =
    total === 0
      ? `<p class="empty" id="status">No findings.</p>`
      : `<ul class="counts" aria-label="Findings by severity">${counts}</ul>
${renderFacets(findings, scanners)}
${renderFilters(findings)}
<p id="status" role="status" data-all="${total}">${status}</p>
${capped}
<div id="findings">
${groups
  .filter((g) => g.rows.length > 0)
  .map((g, i) => renderGroup(g, i, limits))
  .join('\n')}
</div>
<p id="none-match" hidden>No finding matches the filters.</p>
${otherFiles}`;

  const csp = [`default-src 'none'`, `style-src ${hashForCsp(PAGE_STYLE)}`, total === 0 ? `script-src 'none'` : `script-src ${hashForCsp(PAGE_SCRIPT)}`, `base-uri 'none'`, `form-action 'none'`].join('; ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<title>Custody scan report</title>
<style>${PAGE_STYLE}</style></head><body>
${total === 0 ? '' : '<a class="skip" href="#findings">Skip to the findings</a>\n'}<header><h1>Custody scan report</h1>
<p class="meta">${facts.join(' · ')}</p></header>
<main>
${body}
</main>${total === 0 ? '' : `\n<script>${PAGE_SCRIPT}</script>`}
</body></html>
`;
}
