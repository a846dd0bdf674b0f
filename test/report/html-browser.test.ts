// The HTML report in a real browser: Debian's Chromium, driven by playwright-core, loads the report from
// file:// and is checked as a person would use it: it renders with the right counts, each filter narrows
// the rows and the counts, the keyboard reaches every control, nothing is logged (no script error, no CSP
// violation), hostile values stay inert, it works without JavaScript, a report of 100,000 findings
// renders, and a screenshot (kept in test/.tmp/artifacts/) is not blank.
// Without Chromium at /usr/bin/chromium (or CUSTODY_CHROMIUM) the suite fails: `.ci/run` installs it.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { renderHtml } from '../../src/report/html.js';
import { decodePng, measurePicture } from './html-png.js';
import { SAMPLE_COUNTS, manyFindings, resultOf, sampleFindings } from './html-sample.js';

const CHROMIUM = process.env['CUSTODY_CHROMIUM'] ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = resolve('test/.tmp/artifacts');
const WORK = resolve('test/.tmp/html-browser');
const options = { color: false, rules: [], toolVersion: '0.1.0-test' } as const;

/** Records, before any page script runs, every CSP violation the document reports. */
const WATCH_CSP = "window.__csp = []; document.addEventListener('securitypolicyviolation', function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); }, true);";

interface Opened {
  page: Page;
  /** Console errors and warnings, page errors, requests that left file://. */
  problems: string[];
  dialogs: string[];
}

let context: BrowserContext;
let userDataDir: string;

function write(name: string, html: string): string {
  const path = join(WORK, name);
  writeFileSync(path, html);
  return path;
}

async function open(file: string, javaScript = true): Promise<Opened> {
  const page = await context.newPage();
  const problems: string[] = [];
  const dialogs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) problems.push(`request: ${r.url()}`);
  });
  if (!javaScript) await (await context.newCDPSession(page)).send('Emulation.setScriptExecutionDisabled', { value: true });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, problems, dialogs };
}

/** Lets queued events (CSP reports are dispatched as tasks) run, then returns the violations seen. */
async function violations(page: Page): Promise<string[]> {
  await page.evaluate('new Promise(function (r) { setTimeout(r, 0); })');
  return page.evaluate<string[]>('window.__csp');
}

async function assertClean(o: Opened): Promise<void> {
  assert.deepEqual(await violations(o.page), [], 'no CSP violation');
  assert.deepEqual(o.problems, [], 'no console error, page error or outside request');
  assert.deepEqual(o.dialogs, [], 'no dialog');
}

const visibleRows = (page: Page): Promise<number> => page.locator('tr.finding:visible').count();
const countText = (page: Page, key: string): Promise<string | null> => page.locator(`[data-count="${key}"]`).textContent();
const status = (page: Page): Promise<string | null> => page.locator('#status').textContent();

const MISSING = `Chromium is not installed at ${CHROMIUM}; the HTML report's browser tests need it. Install Debian's package (apt-get install -y chromium, as .ci/run does) or point CUSTODY_CHROMIUM at a Chromium binary.`;

// A failed test of its own (not only cancelled ones), so a run without Chromium reads as a failure.
it('Chromium is installed for the browser tests', () => {
  assert.ok(existsSync(CHROMIUM), MISSING);
});

describe('html report in Chromium', () => {
  let sample: string;

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(MISSING);
    mkdirSync(ARTIFACTS, { recursive: true });
    rmSync(WORK, { recursive: true, force: true });
    mkdirSync(WORK, { recursive: true });
    userDataDir = mkdtempSync(join(tmpdir(), 'custody-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    context.setDefaultTimeout(120_000);
    await context.addInitScript({ content: WATCH_CSP });
    sample = write('report.html', renderHtml(resultOf(sampleFindings()), options));
  });

  after(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('renders from file:// with the right counts, and logs nothing', async () => {
    const o = await open(sample);
    const { page } = o;
    assert.equal(await page.locator('h1').textContent(), 'Custody scan report');
    assert.equal(await visibleRows(page), SAMPLE_COUNTS.total);
    assert.equal(await status(page), `Showing all ${SAMPLE_COUNTS.total} findings.`);
    for (const [sev, n] of Object.entries(SAMPLE_COUNTS.severity)) assert.equal(await countText(page, `severity|${sev}`), String(n), sev);
    for (const [scanner, n] of Object.entries(SAMPLE_COUNTS.scanner)) assert.equal(await countText(page, `scanner|${scanner}`), String(n), scanner);
    assert.equal(await page.locator('section.group:visible').count(), SAMPLE_COUNTS.files);
    assert.ok(await page.locator('#filters').isVisible(), 'the script ran and showed the filters');
    assert.ok(!(await page.locator('#none-match').isVisible()));
    await assertClean(o);
    await page.close();
  });

  it('each filter narrows the rows and the counts; clearing restores them', async () => {
    const o = await open(sample);
    const { page } = o;
    // Severity: only high.
    for (const sev of ['critical', 'medium', 'low', 'info']) await page.uncheck(`input[name=severity][value=${sev}]`);
    assert.equal(await visibleRows(page), SAMPLE_COUNTS.severity.high);
    assert.equal(await status(page), `Showing ${SAMPLE_COUNTS.severity.high} of ${SAMPLE_COUNTS.total} findings.`);
    assert.equal(await countText(page, 'severity|high'), String(SAMPLE_COUNTS.severity.high));
    assert.equal(await countText(page, 'severity|medium'), `0 of ${SAMPLE_COUNTS.severity.medium}`);
    assert.equal(await countText(page, 'scanner|deps'), `1 of ${SAMPLE_COUNTS.scanner.deps}`);
    await page.click('#filter-reset');
    assert.equal(await visibleRows(page), SAMPLE_COUNTS.total);

    // Scanner.
    await page.selectOption('#filter-scanner', 'deps');
    assert.equal(await visibleRows(page), SAMPLE_COUNTS.scanner.deps);
    assert.equal(await countText(page, 'scanner|secrets'), `0 of ${SAMPLE_COUNTS.scanner.secrets}`);
    assert.equal(await countText(page, 'severity|low'), `1 of ${SAMPLE_COUNTS.severity.low}`);
    assert.equal(await page.locator('section.group:visible').count(), 1, 'files without a shown row are hidden');
    // Rule, within the scanner.
    await page.selectOption('#filter-rule', 'deps/typosquat');
    assert.equal(await visibleRows(page), 1);
    assert.equal(await countText(page, 'rule|deps/typosquat'), '1');
    assert.equal(await countText(page, 'rule|deps/no-hashes'), '0 of 1');
    assert.match((await page.locator('section.group:visible .n').textContent()) ?? '', /^1 of 3 findings shown$/);
    await page.click('#filter-reset');

    // Path, then free text (whitespace-separated terms must all match).
    await page.fill('#filter-path', 'requirements');
    assert.equal(await visibleRows(page), 3);
    await page.fill('#filter-text', 'popular requests');
    assert.equal(await visibleRows(page), 1);
    assert.equal(await status(page), `Showing 1 of ${SAMPLE_COUNTS.total} findings.`);
    await page.fill('#filter-path', '');
    await page.fill('#filter-text', 'cell 3');
    assert.equal(await visibleRows(page), 1, 'notebook context is searchable');
    await page.fill('#filter-text', 'no such text anywhere');
    assert.equal(await visibleRows(page), 0);
    assert.ok(await page.locator('#none-match').isVisible());
    await page.click('#filter-reset');
    assert.equal(await visibleRows(page), SAMPLE_COUNTS.total);
    assert.equal(await status(page), `Showing all ${SAMPLE_COUNTS.total} findings.`);
    await assertClean(o);
    await page.close();
  });

  it('groups by rule, scanner and severity and back by file, filters still applying', async () => {
    const o = await open(sample);
    const { page } = o;
    await page.selectOption('#group-by', 'scanner');
    assert.deepEqual(await page.locator('section.group:visible .key').allTextContents(), Object.keys(SAMPLE_COUNTS.scanner).sort());
    assert.equal(await visibleRows(page), SAMPLE_COUNTS.total);
    assert.ok(await page.locator('section.group:visible .loc .path').first().isVisible(), 'paths show when not grouped by file');
    await page.selectOption('#group-by', 'severity');
    assert.deepEqual(await page.locator('section.group:visible .key').allTextContents(), ['critical', 'high', 'medium', 'low', 'info']);
    await page.selectOption('#filter-scanner', 'secrets');
    assert.deepEqual(await page.locator('section.group:visible .key').allTextContents(), ['critical', 'high', 'medium']);
    await page.selectOption('#group-by', 'rule');
    assert.equal(await page.locator('section.group:visible').count(), 4);
    assert.equal(await visibleRows(page), SAMPLE_COUNTS.scanner.secrets);
    await page.selectOption('#group-by', 'file');
    await page.click('#filter-reset');
    assert.equal(await page.locator('section.group:visible').count(), SAMPLE_COUNTS.files);
    assert.equal(await visibleRows(page), SAMPLE_COUNTS.total);
    await assertClean(o);
    await page.close();
  });

  it('is usable from the keyboard: Tab reaches every control, keys change them', async () => {
    const o = await open(sample);
    const { page } = o;
    const reached: string[] = [];
    for (let i = 0; i < 40 && !reached.includes('filter-reset'); i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate<string>("(document.activeElement && (document.activeElement.id || document.activeElement.getAttribute('value') || document.activeElement.tagName)) || ''"));
    }
    for (const id of ['critical', 'high', 'medium', 'low', 'info', 'filter-scanner', 'filter-rule', 'filter-path', 'filter-text', 'group-by', 'filter-reset']) assert.ok(reached.includes(id), `Tab reaches ${id}: ${reached.join(' ')}`);
    await page.focus('#filter-text');
    await page.keyboard.type('typosquat');
    assert.equal(await visibleRows(page), 1);
    await page.focus('#filter-reset');
    await page.keyboard.press('Enter');
    assert.equal(await visibleRows(page), SAMPLE_COUNTS.total);
    await page.focus('input[name=severity][value=medium]');
    await page.keyboard.press('Space');
    assert.equal(await visibleRows(page), SAMPLE_COUNTS.total - SAMPLE_COUNTS.severity.medium);
    await page.keyboard.press('Space');
    await page.focus('#filter-scanner');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.locator('#filter-scanner').inputValue(), 'code');
    assert.equal(await visibleRows(page), SAMPLE_COUNTS.scanner.code);
    await assertClean(o);
    await page.close();
  });

  it('hostile values are inert: no dialog, no injected element, handler or style, the text shown as text', async () => {
    const o = await open(sample);
    const { page } = o;
    await page.locator('tr.finding', { hasText: 'rotate x"' }).hover();
    await page.locator('tr.finding', { hasText: 'svg onload' }).first().hover();
    assert.equal(await page.evaluate<string>('typeof window.__xss'), 'undefined');
    assert.equal(await page.evaluate<number>('document.querySelectorAll("img, svg, iframe, object, embed, body style, [onerror], [onload], [onmouseover]").length'), 0);
    assert.equal(await page.evaluate<number>('document.scripts.length'), 1);
    assert.equal(await page.evaluate<number>('document.styleSheets.length'), 1);
    assert.ok(await page.getByText('<img src=x onerror="window.__xss=1;alert(1)">\\u{202e}gpj.exe').first().isVisible(), 'the hostile name, escaped, as text');
    assert.equal(await page.locator('a[href^="javascript:"]').count(), 0);
    await assertClean(o);
    await page.close();
  });

  it('without JavaScript every finding is visible and the filters stay hidden', async () => {
    const o = await open(sample, false);
    const { page } = o;
    assert.equal(await visibleRows(page), SAMPLE_COUNTS.total);
    assert.ok(!(await page.locator('#filters').isVisible()));
    assert.equal(await countText(page, 'severity|high'), String(SAMPLE_COUNTS.severity.high));
    assert.deepEqual(o.problems, []);
    await page.close();
  });

  it('the policy holds: a tampered script and an injected handler are refused and reported (so the watch above can fail)', async () => {
    const html = readFileSync(sample, 'utf8');
    const tampered = write('tampered.html', html.replace("'use strict';", "'use strict'; window.__xss = 6;"));
    const t = await open(tampered);
    assert.ok((await violations(t.page)).some((v) => v.startsWith('script-src')), 'the script whose hash changed is refused');
    assert.ok(t.problems.some((p) => p.startsWith('console.error')), 'Chromium logs the refusal');
    assert.equal(await t.page.evaluate<string>('typeof window.__xss'), 'undefined');
    assert.equal(await visibleRows(t.page), SAMPLE_COUNTS.total, 'all findings still visible');
    assert.ok(!(await t.page.locator('#filters').isVisible()));
    await t.page.close();

    const injected = write('injected.html', html.replace('<main>', '<main><img src="x" onerror="window.__xss=7"><style>body{display:none}</style>'));
    const i = await open(injected);
    const seen = await violations(i.page);
    assert.ok(seen.some((v) => v.startsWith('img-src') || v.startsWith('script-src-attr')), seen.join());
    assert.ok(seen.some((v) => v.startsWith('style-src')), seen.join());
    assert.equal(await i.page.evaluate<string>('typeof window.__xss'), 'undefined');
    assert.ok(await i.page.locator('h1').isVisible(), 'the injected style did not apply');
    await i.page.close();
  });

  it('a screenshot is taken, kept as an artifact, and is not blank', async () => {
    const o = await open(sample);
    const shot = join(ARTIFACTS, 'html-report.png');
    const picture = measurePicture(decodePng(await o.page.screenshot({ path: shot })));
    await o.page.fill('#filter-text', 'torch');
    await o.page.screenshot({ path: join(ARTIFACTS, 'html-report-filtered.png') });
    await assertClean(o);
    await o.page.close();

    const blankPage = await context.newPage();
    await blankPage.goto('about:blank');
    const blank = measurePicture(decodePng(await blankPage.screenshot()));
    await blankPage.close();
    assert.ok(blank.variance < 1 && blank.colours <= 2, `the measure sees a blank page as blank: ${JSON.stringify(blank)}`);
    assert.ok(picture.variance > 100, `variance ${picture.variance}`);
    assert.ok(picture.colours > 32, `colours ${picture.colours}`);
    assert.ok(existsSync(shot));
  });

  it('the empty report says "No findings." and runs no script', async () => {
    const o = await open(write('empty.html', renderHtml(resultOf([]), options)));
    assert.equal(await o.page.locator('#status').textContent(), 'No findings.');
    assert.equal(await o.page.evaluate<number>('document.scripts.length'), 0);
    assert.equal(await o.page.locator('tr.finding').count(), 0);
    await assertClean(o);
    await o.page.close();
  });

  it('a report of 100,000 findings renders, with full counts, a notice, and working filters', async () => {
    const findings = manyFindings(100_000, 50);
    const o = await open(write('big.html', renderHtml(resultOf(findings), options)));
    const { page } = o;
    const rows = await page.locator('tr.finding').count();
    assert.equal(rows, 10_000);
    assert.equal(await status(page), 'Showing all 10000 findings on this page (100000 in all).');
    // The most severe first: every row on the page is critical; the counts say how many of all are shown.
    const critical = findings.filter((f) => f.severity === 'critical').length;
    assert.equal(await countText(page, 'severity|critical'), `10000 of ${critical}`);
    assert.equal(await countText(page, 'severity|info'), `0 of ${findings.filter((f) => f.severity === 'info').length}`);
    assert.ok(await page.locator('p.capped').isVisible());
    const inFirstFile = await page.evaluate<number>("Array.prototype.filter.call(document.querySelectorAll('section.group'), function (s) { return s.querySelector('.key').textContent === 'repo/pkg-0/module-0.py'; })[0].querySelectorAll('tr.finding').length");
    assert.ok(inFirstFile > 0);
    await page.fill('#filter-path', '/module-0.py');
    assert.equal(await visibleRows(page), inFirstFile);
    assert.equal(await status(page), `Showing ${inFirstFile} of 10000 findings on this page (100000 in all).`);
    await assertClean(o);
    await page.close();
  });
});
