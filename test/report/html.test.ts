// The HTML report as text: policy, escaping, self-containment, the empty state and the bounds. What a
// browser does with it is in html-browser.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { guardTerminalStream } from '../../src/core/terminal.js';
import { HTML_LIMITS, renderHtml, type HtmlLimits } from '../../src/report/html.js';
import { PAGE_SCRIPT, PAGE_STYLE } from '../../src/report/html-page.js';
import { renderReport } from '../../src/report/index.js';
import { LONG_PATH, RLO, manyFindings, resultOf, sampleFindings } from './html-sample.js';

const options = { color: false, rules: [], toolVersion: '0.1.0-test' } as const;
const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

function inline(html: string, tag: 'script' | 'style'): string[] {
  return [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1] as string);
}

function csp(html: string): Map<string, string> {
  const content = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
  assert.ok(content !== undefined, 'a CSP meta tag');
  return new Map(content.split(';').map((d) => d.trim().split(/\s+(.*)/s).slice(0, 2) as [string, string]));
}

function rowCount(html: string): number {
  return html.match(/<tr class="finding"/g)?.length ?? 0;
}

describe('html report: policy and self-containment', () => {
  const html = renderHtml(resultOf(sampleFindings()), options);

  it('allows exactly its own inline style and script, by SHA-256 of the text served', () => {
    const policy = csp(html);
    assert.equal(policy.get('default-src'), "'none'");
    const scripts = inline(html, 'script');
    const styles = inline(html, 'style');
    assert.equal(scripts.length, 1);
    assert.equal(styles.length, 1);
    assert.equal(scripts[0], PAGE_SCRIPT);
    assert.equal(styles[0], PAGE_STYLE);
    assert.equal(policy.get('script-src'), sha256(scripts[0] as string));
    assert.equal(policy.get('style-src'), sha256(styles[0] as string));
    assert.equal(policy.get('base-uri'), "'none'");
    assert.equal(policy.get('form-action'), "'none'");
    assert.ok(!/unsafe-inline|unsafe-eval|unsafe-hashes/.test(html.slice(0, html.indexOf('</head>'))), 'no unsafe-* source');
  });

  it('the script is valid JavaScript and never writes HTML', () => {
    assert.doesNotThrow(() => new Function(PAGE_SCRIPT));
    assert.doesNotMatch(PAGE_SCRIPT, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|setAttribute\('style'|fetch\(|XMLHttpRequest/);
  });

  it('loads nothing from outside: no src, no external href, no url() or @import in the styles', () => {
    const tags = [...html.matchAll(/<[a-zA-Z][^>]*>/g)].map((m) => m[0]);
    assert.ok(!tags.some((t) => /\s(src|srcset|action|formaction|poster|data)=/i.test(t)), 'no attribute that loads');
    assert.ok(!tags.some((t) => /^<(link|img|iframe|object|embed|video|audio|source|form|base)\b/i.test(t)), 'no element that loads');
    const hrefs = tags.flatMap((t) => [.../\shref="([^"]*)"/.exec(t)?.slice(1) ?? []]);
    assert.ok(hrefs.length > 0);
    for (const href of hrefs) assert.match(href, /^(#findings|https:\/\/github\.com\/custody-dev\/custody\/blob\/main\/docs\/rules\/[a-z-]+\/[a-z-]+\.md)$/, href);
    assert.doesNotMatch(PAGE_STYLE, /url\(|@import|@font-face/);
  });

  it('passes the CLI stream guard unchanged, so the hashed script is the script served on stdout', () => {
    assert.equal(guardTerminalStream(html), html);
  });

  it('renderReport("html") is this page', () => {
    assert.equal(renderReport('html', resultOf(sampleFindings()), options), html);
  });
});

describe('html report: values from the input', () => {
  const html = renderHtml(resultOf(sampleFindings()), options);
  const body = html.slice(html.indexOf('<body>'), html.indexOf('<script>'));

  it('every hostile payload is text: no element, attribute or script comes from a value', () => {
    assert.equal(html.match(/<script>/g)?.length, 1, 'only the page script');
    assert.equal(html.match(/<\/script>/g)?.length, 1, 'no "</script>" from the input');
    assert.equal(html.match(/<style>/g)?.length, 1, 'no <style> from the input');
    const TAGS = new Set(['a', 'body', 'code', 'col', 'colgroup', 'details', 'div', 'fieldset', 'h1', 'h2', 'header', 'input', 'label', 'legend', 'li', 'main', 'option', 'p', 'pre', 'section', 'select', 'span', 'summary', 'table', 'tbody', 'td', 'th', 'thead', 'tr', 'ul', 'button', 'caption']);
    for (const [tag, name, attributes] of body.matchAll(/<([a-zA-Z][\w-]*)([^>]*)>/g)) {
      assert.ok(TAGS.has(name as string), `unexpected element ${tag}`);
      assert.doesNotMatch(attributes as string, /\son\w+\s*=|\sstyle\s*=/i, tag);
    }
    assert.match(body, /&lt;img src=x onerror=&quot;window\.__xss=1;alert\(1\)&quot;&gt;/);
    assert.match(body, /&lt;\/script&gt;&lt;script&gt;window\.__xss=2/);
    assert.match(body, /x&quot; onmouseover=&quot;window\.__xss=3&quot; data-x=&quot;/);
  });

  it('controls and bidi are in the terminal notation, and only https docs become links', () => {
    assert.ok(!html.includes(RLO));
    assert.match(body, /\\u\{202e\}gpj\.exe/);
    assert.match(body, /\\u\{200b\}\\u\{1b\}\[2J/);
    assert.doesNotMatch(html, /href="javascript:/);
    assert.match(body, /<td>config\/jupyter-no-token<span class="scanner">config<\/span><\/td>/);
  });

  it('negative: a plain finding is shown as it is, member after path, line and column after member', () => {
    assert.match(body, /<span class="path">models\/model\.pt<\/span><span class="member">!archive\/data\.pkl<\/span><span class="pos"> @77<\/span>/);
    assert.match(body, /<span class="path">config\/\.env<\/span><span class="pos line"><span class="colon">:<\/span>3:19<\/span>/);
    assert.match(body, /cell 3 line 2/);
    assert.match(body, /introduced in 0123456789ab, no longer in HEAD/);
  });

  it('a long path is kept whole (it fits the limit); longer texts are clipped with a note of how much', () => {
    assert.ok(body.includes(LONG_PATH));
    const evidence = `${'😀'.repeat(HTML_LIMITS.maxEvidenceChars)}tail-of-the-evidence`;
    const clipped = renderHtml(resultOf([{ ...sampleFindings()[0]!, evidence }]), options);
    assert.ok(!clipped.includes('tail-of-the-evidence'));
    assert.match(clipped, /… \(20 more characters\)/);
    assert.doesNotMatch(clipped, /\\u\{d[89a-f][0-9a-f]{2}\}/, 'no surrogate pair split into lone halves');
  });
});

describe('html report: the empty state', () => {
  it('says "No findings.", has no script and forbids scripts', () => {
    const html = renderHtml(resultOf([]), options);
    assert.match(html, /<p class="empty" id="status">No findings\.<\/p>/);
    assert.equal(inline(html, 'script').length, 0);
    assert.equal(csp(html).get('script-src'), "'none'");
    assert.match(html, /0 findings in 40 files scanned/);
  });
});

describe('html report: bounds', () => {
  const small: HtmlLimits = { ...HTML_LIMITS, maxRows: 50, maxRowsPerFile: 10 };

  it('caps rows per file and in all, most severe first, with explicit notices and full counts', () => {
    const findings = manyFindings(300, 30); // 10 files of 30
    const html = renderHtml(resultOf(findings), options, small);
    assert.equal(rowCount(html), 50);
    assert.match(html, /This page shows 50 of 300 findings/);
    assert.match(html, /data-all="300">Showing all 50 findings on this page \(300 in all\)\./);
    // Full counts: 300 findings cycle through five severities evenly.
    for (const sev of ['critical', 'high', 'medium', 'low', 'info']) assert.match(html, new RegExp(`data-count="severity\\|${sev}" data-total="60">60<`));
    // 60 critical findings (6 a file) compete for 50 places: every row shown is critical.
    const shown = [...html.matchAll(/<tr class="finding" data-severity="(\w+)"/g)].map((m) => m[1]);
    assert.deepEqual(new Set(shown), new Set(['critical']));
    const notices = [...html.matchAll(/<p class="more">(\d+) more findings in this file are not shown \(([^)]*)\)\.<\/p>/g)];
    assert.ok(notices.length > 0);
    assert.equal(notices.reduce((n, m) => n + Number(m[1]), 0) + rowCount(html) + Number(/(\d+) more findings? in (\d+) more files? (?:is|are) not shown/.exec(html)?.[1] ?? 0), 300);
  });

  it('negative: below the limits nothing is capped and no notice is shown', () => {
    const html = renderHtml(resultOf(manyFindings(40, 10)), options, small);
    assert.equal(rowCount(html), 40);
    assert.doesNotMatch(html, /class="capped"|class="more"/);
    assert.match(html, /Showing all 40 findings\./);
  });

  it('per file: one file with many findings shows maxRowsPerFile rows and says how many more', () => {
    const html = renderHtml(resultOf(manyFindings(25, 25)), options, small);
    assert.equal(rowCount(html), 10);
    assert.match(html, /15 more findings in this file are not shown \(/);
  });

  it('the character budget stops rows too', () => {
    const html = renderHtml(resultOf(manyFindings(200, 5)), options, { ...HTML_LIMITS, maxRowChars: 20_000 });
    const rows = rowCount(html);
    assert.ok(rows > 0 && rows < 200, String(rows));
    assert.match(html, new RegExp(`This page shows ${rows} of 200 findings`));
  });

  it('100,000 findings: the page stays bounded and grows by counts only', () => {
    const ten = renderHtml(resultOf(manyFindings(10_000, 50)), options).length;
    const html = renderHtml(resultOf(manyFindings(100_000, 50)), options);
    const hundred = html.length;
    assert.equal(rowCount(html), HTML_LIMITS.maxRows);
    assert.match(html, /This page shows 10000 of 100000 findings/);
    assert.ok(hundred < ten * 1.2, `10k findings: ${ten} chars, 100k: ${hundred}`);
    assert.ok(hundred < HTML_LIMITS.maxRowChars + 1024 * 1024, String(hundred));
  });
});
