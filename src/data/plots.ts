import type { Finding } from '../core/finding.js';

/**
 * The data part of an HTML check report: for each finding, its example row ids (at most 100) and,
 * for numeric drift, the baseline and candidate shares per baseline bin as an inline SVG bar chart.
 * Self-contained (no scripts, no external resources); every text is escaped.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

function isNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isFinite(v));
}

function binChart(edges: number[], baseline: number[], candidate: number[]): string {
  const sb = baseline.reduce((s, v) => s + v, 0) || 1;
  const sc = candidate.reduce((s, v) => s + v, 0) || 1;
  const pb = baseline.map((v) => v / sb);
  const pc = candidate.map((v) => v / sc);
  const max = Math.max(...pb, ...pc, 1e-9);
  const width = 28;
  const height = 120;
  const bars: string[] = [];
  pb.forEach((p, i) => {
    const q = pc[i] ?? 0;
    const x = 30 + i * (width + 8);
    const hb = (p / max) * height;
    const hc = (q / max) * height;
    bars.push(`<rect x="${x}" y="${10 + height - hb}" width="${width / 2}" height="${hb}" fill="#90a4ae"><title>baseline ${(p * 100).toFixed(2)} %</title></rect>`);
    bars.push(`<rect x="${x + width / 2}" y="${10 + height - hc}" width="${width / 2}" height="${hc}" fill="#ef6c00"><title>candidate ${(q * 100).toFixed(2)} %</title></rect>`);
    const lo = i === 0 ? '−∞' : String(Number((edges[i - 1] ?? 0).toPrecision(3)));
    bars.push(`<text x="${x}" y="${height + 24}" font-size="9">${escape(lo)}</text>`);
  });
  const w = 40 + pb.length * (width + 8);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${height + 34}" role="img" aria-label="baseline (grey) and candidate (orange) share per baseline bin">${bars.join('')}</svg>`;
}

/** An HTML fragment (a section) with plots and example rows for the findings that carry them. */
export function renderDataDetails(findings: readonly Finding[]): string {
  const parts: string[] = [];
  for (const f of findings) {
    const p = f.properties ?? {};
    const items: string[] = [];
    if (isNumberArray(p['edges']) && isNumberArray(p['baselineBins']) && isNumberArray(p['candidateBins'])) {
      items.push(binChart(p['edges'], p['baselineBins'], p['candidateBins']));
    }
    for (const field of ['examples', 'keys', 'addedExamples', 'removedExamples', 'modifiedExamples']) {
      const list = p[field];
      if (Array.isArray(list) && list.length > 0) {
        const shown = list.slice(0, 100).map((v) => escape(typeof v === 'string' ? v : JSON.stringify(v)));
        items.push(`<p><strong>${escape(field)}</strong> (${list.length}${list.length > 100 ? ', first 100' : ''}): <code>${shown.join(', ')}</code></p>`);
      }
    }
    if (items.length > 0) parts.push(`<section><h3>${escape(f.ruleId)}</h3><p>${escape(f.message)}</p>${items.join('\n')}</section>`);
  }
  return parts.length === 0 ? '' : `<section><h2>Details</h2>\n${parts.join('\n')}\n</section>`;
}
