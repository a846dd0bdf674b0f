import type { MetricThreshold } from '../../registry/policy.js';
import { clip, formatTime, html, type SafeHtml } from '../html.js';

/**
 * Small pictures drawn on the server as inline SVG (no style attributes: the page's CSP allows style
 * sheets from 'self' only; geometry is SVG attributes, colours come from classes in console.css).
 * Every picture has a text equivalent next to it (a table or list) for screen readers.
 */

export function stageBadge(stage: string, forced: boolean): SafeHtml {
  return html`<span class="stage stage-${/^[a-z]+$/.test(stage) ? stage : 'other'}">${stage}</span>${forced ? html` <span class="forced" title="reached its stage through break-glass, not through its policy">forced</span>` : ''}`;
}

export function verdict(passed: boolean): SafeHtml {
  return passed ? html`<span class="ok" aria-label="passed">✔ passed</span>` : html`<span class="bad" aria-label="failed">✘ missing</span>`;
}

export interface TimelineEvent {
  at: string;
  label: string;
  detail: string;
  forced?: boolean;
}

/** Stage history as a horizontal timeline: one marker per event, spaced evenly (time is in the labels). */
export function timelineSvg(events: readonly TimelineEvent[]): SafeHtml {
  if (events.length === 0) return html``;
  const step = 170;
  const width = Math.max(360, 40 + step * events.length);
  const marks = events.map((e, i) => {
    const x = 30 + i * step;
    return html`<g class="tl-event${e.forced ? ' forced' : ''}"><circle cx="${x}" cy="30" r="8"></circle><text x="${x}" y="58" class="tl-label">${clip(e.label, 22)}</text><text x="${x}" y="76" class="tl-time">${formatTime(e.at).slice(0, 16)}</text><title>${e.label}: ${e.detail}</title></g>`;
  });
  return html`<div class="scroll-x"><svg class="timeline" role="img" aria-labelledby="tl-title" width="${width}" height="90" viewBox="0 0 ${width} 90"><title id="tl-title">Stage history: ${events.map((e) => e.label).join(', then ')}</title><line x1="30" y1="30" x2="${30 + (events.length - 1) * step}" y2="30" class="tl-line"></line>${marks}</svg></div>`;
}

export interface MetricBar {
  threshold: MetricThreshold;
  value: number | undefined;
  passed: boolean;
}

/**
 * Metric thresholds as bars: each metric's value as a bar on a scale that holds both the value and
 * the policy's line (0–1 for the usual rates, else up to 1.25× the larger), the line drawn across.
 */
export function metricBarsSvg(bars: readonly MetricBar[]): SafeHtml {
  if (bars.length === 0) return html``;
  const rowH = 34;
  const labelW = 170;
  const barW = 360;
  const height = bars.length * rowH + 10;
  const rows = bars.map((b, i) => {
    const y = 8 + i * rowH;
    const t = b.threshold.value;
    const v = b.value;
    const max = Math.max(Math.abs(t), Math.abs(v ?? 0)) <= 1 && t >= 0 && (v ?? 0) >= 0 ? 1 : Math.max(Math.abs(t), Math.abs(v ?? 0)) * 1.25 || 1;
    const scale = (n: number): number => Math.max(0, Math.min(barW, (Math.max(0, n) / max) * barW));
    const lineX = labelW + scale(t);
    const text = `${b.threshold.metric} ${b.threshold.op} ${b.threshold.value}: ${v === undefined ? 'no value' : String(v)} — ${b.passed ? 'meets the policy' : 'does not meet the policy'}`;
    return html`<g class="metric ${b.passed ? 'pass' : 'fail'}"><title>${text}</title>
<text x="0" y="${y + 17}" class="m-name">${clip(b.threshold.metric, 22)}</text>
<rect x="${labelW}" y="${y + 4}" width="${barW}" height="18" class="m-track"></rect>
${v === undefined ? '' : html`<rect x="${labelW}" y="${y + 4}" width="${scale(v).toFixed(1)}" height="18" class="m-bar"></rect>`}
<line x1="${lineX.toFixed(1)}" y1="${y}" x2="${lineX.toFixed(1)}" y2="${y + 26}" class="m-line"></line>
<text x="${labelW + barW + 10}" y="${y + 17}" class="m-value">${v === undefined ? 'none' : v.toString()} ${b.threshold.op} ${b.threshold.value}</text></g>`;
  });
  return html`<svg class="metrics" role="img" aria-label="Metrics against the policy's thresholds (the table below has the same figures)" width="${labelW + barW + 150}" height="${height}" viewBox="0 0 ${labelW + barW + 150} ${height}">${rows}</svg>`;
}
