// The HTML report's generator on 1,000 to 300,000 findings (the shape of test/report/html-sample.ts
// `manyFindings`: 50 findings a file, five rules of five scanners, every severity), against the JSON report
// of the same findings as the baseline, measured in the same run; then the 100,000-finding page loaded in
// Debian's Chromium (time to DOM interactive, as the browser reports it).
// Targets: time linear in findings (per-finding cost not rising with n), 100,000 findings rendered in
// under 2 s, the page under 16 MB whatever n.
// Best of REPEAT runs: the machine is shared.
// Usage: node --import tsx bench/run.ts report-html
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { renderHtml } from '../src/report/html.js';
import { renderJson } from '../src/report/json.js';
import { manyFindings, resultOf } from '../test/report/html-sample.js';

const SIZES = [1_000, 10_000, 100_000, 300_000];
const REPEAT = 3;
const WORK = resolve('bench', '.work', 'report-html');
const CHROMIUM = process.env['CUSTODY_CHROMIUM'] ?? '/usr/bin/chromium';
const options = { color: false, rules: [], toolVersion: 'bench' } as const;

function best(fn: () => string): { ms: number; chars: number } {
  let ms = Infinity;
  let chars = 0;
  for (let i = 0; i < REPEAT; i++) {
    const start = performance.now();
    chars = fn().length;
    ms = Math.min(ms, performance.now() - start);
  }
  return { ms, chars };
}

const lines: string[] = [];
const mb = (chars: number): string => (chars / 1e6).toFixed(1);
let page100k = '';
for (const n of SIZES) {
  const result = resultOf(manyFindings(n, 50));
  const html = best(() => renderHtml(result, options));
  const json = best(() => renderJson(result, options));
  if (n === 100_000) page100k = renderHtml(result, options);
  lines.push(`| ${n.toLocaleString('en')} | ${html.ms.toFixed(0)} ms | ${((html.ms * 1000) / n).toFixed(1)} µs | ${mb(html.chars)} MB | ${json.ms.toFixed(0)} ms | ${mb(json.chars)} MB | ${(html.ms / json.ms).toFixed(2)} |`);
}

let browser = 'not measured: Chromium is not installed';
if (existsSync(CHROMIUM)) {
  mkdirSync(WORK, { recursive: true });
  const file = join(WORK, 'report-100k.html');
  writeFileSync(file, page100k);
  const profile = mkdtempSync(join(tmpdir(), 'custody-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  context.setDefaultTimeout(300_000);
  let interactive = Infinity;
  for (let i = 0; i < REPEAT; i++) {
    const page = await context.newPage();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    interactive = Math.min(interactive, await page.evaluate<number>('performance.getEntriesByType("navigation")[0].domInteractive'));
    await page.close();
  }
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  browser = `${(interactive / 1000).toFixed(2)} s to DOM interactive (best of ${REPEAT})`;
}

process.stdout.write(`## HTML report (bench/report-html.bench.ts)

Target: render time linear in findings (µs per finding flat), 100,000 findings under 2 s, the page under
16 MB at any size (rows capped at 10,000, most severe first). Baseline: the JSON report of the same findings.
Best of ${REPEAT}.

| findings | html | per finding | page | json | json size | html / json |
|---:|---:|---:|---:|---:|---:|---:|
${lines.join('\n')}

The 100,000-finding page in Debian's Chromium (headless, from file://): ${browser}.
`);
