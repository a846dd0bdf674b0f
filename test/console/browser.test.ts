// The web console in a real browser: Debian's Chromium, driven by playwright-core, against a registry
// listening on loopback. A person signs in, finds the blocked version and reads why, approves as a
// second person and promotes, sees the audit entries of those actions with their proofs verified in
// the page (and a tampered proof fail); a viewer sees no promote button; forged POSTs are refused;
// hostile text everywhere stays inert; the lineage of a version with 50 upstream artifacts does not
// overlap; and a screenshot of each page (test/.tmp/console-screenshots/) is not blank.
// Without Chromium at /usr/bin/chromium (or CUSTODY_CHROMIUM) the suite fails: `.ci/run` installs it.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { decodePng, measurePicture } from '../report/html-png.js';
import { PASSWORD, setUpConsole, XSS, type ConsoleFixture } from './fixture.js';

const CHROMIUM = process.env['CUSTODY_CHROMIUM'] ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SHOTS = resolve('test/.tmp/console-screenshots');
const WATCH_CSP = "window.__csp = []; document.addEventListener('securitypolicyviolation', function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); }, true);";
const MISSING = `Chromium is not installed at ${CHROMIUM}; the console's browser tests need it. Install Debian's package (apt-get install -y chromium, as .ci/run does) or point CUSTODY_CHROMIUM at a Chromium binary.`;

it('Chromium is installed for the console browser tests', () => {
  assert.ok(existsSync(CHROMIUM), MISSING);
});

interface Tab {
  page: Page;
  context: BrowserContext;
  problems: string[];
  dialogs: string[];
}

describe('web console in Chromium', () => {
  let f: ConsoleFixture;
  let userDir: string;
  let browser: Awaited<ReturnType<typeof chromium.launch>>;
  const tabs: Tab[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(MISSING);
    mkdirSync(SHOTS, { recursive: true });
    userDir = mkdtempSync(join(tmpdir(), 'custody-console-'));
    f = await setUpConsole();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  });

  after(async () => {
    for (const t of tabs) await t.context.close().catch(() => undefined);
    await browser?.close();
    await f?.close();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
  });

  /** A fresh browser profile (own cookies) with watchers for errors, dialogs, outside requests and CSP reports. */
  async function openTab(): Promise<Tab> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    context.setDefaultTimeout(60_000);
    await context.addInitScript({ content: WATCH_CSP });
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
      if (!r.url().startsWith(f.url)) problems.push(`request: ${r.url()}`);
    });
    const tab = { page, context, problems, dialogs };
    tabs.push(tab);
    return tab;
  }

  async function signInWithToken(tab: Tab, token: string): Promise<void> {
    await tab.page.goto(`${f.url}/console/`);
    assert.match(tab.page.url(), /\/console\/sign-in/);
    await tab.page.getByLabel('Token').fill(token);
    await tab.page.getByRole('button', { name: 'Sign in with token' }).click();
    await tab.page.waitForURL(`${f.url}/console/`);
  }

  /** Hostile values rendered as text: no dialog, no injected element or handler, no script but ours, no CSP report. */
  async function assertInert(tab: Tab, where: string): Promise<void> {
    const found = await tab.page.evaluate(`(function () {
      var bad = [];
      document.querySelectorAll('script').forEach(function (s) { if (!/\\/console\\/static\\/[a-z]+\\.js$/.test(s.src)) bad.push('script ' + s.outerHTML.slice(0, 80)); });
      document.querySelectorAll('img, iframe, object, embed').forEach(function (e) { bad.push(e.tagName); });
      document.querySelectorAll('*').forEach(function (e) { for (var i = 0; i < e.attributes.length; i++) if (/^on/i.test(e.attributes[i].name)) bad.push('handler ' + e.tagName + ' ' + e.attributes[i].name); });
      document.querySelectorAll('svg svg').forEach(function () { bad.push('nested svg'); });
      return bad;
    })()`);
    assert.deepEqual(found, [], `${where}: injected elements`);
    await tab.page.evaluate('new Promise(function (r) { setTimeout(r, 0); })');
    assert.deepEqual(await tab.page.evaluate('window.__csp'), [], `${where}: CSP violations`);
    assert.deepEqual(tab.dialogs, [], `${where}: dialogs`);
    assert.deepEqual(tab.problems, [], `${where}: console errors or outside requests`);
  }

  async function shoot(tab: Tab, name: string): Promise<void> {
    const png = await tab.page.screenshot({ fullPage: false });
    writeFileSync(join(SHOTS, `${name}.png`), png);
    const { variance, colours } = measurePicture(decodePng(png));
    assert.ok(variance > 50 && colours > 8, `${name}: the screenshot looks blank (variance ${variance.toFixed(1)}, ${colours} colours)`);
  }

  const versionUrl = (name: string, v: string) => `${f.url}/console/p/${f.project}/models/${name}/v/${v}`;

  it('signs in with a password, shows the projects, and rejects a wrong password', async () => {
    const tab = await openTab();
    await tab.page.goto(`${f.url}/console/sign-in`);
    await shoot(tab, 'sign-in');
    await tab.page.getByLabel('Account name').fill('root');
    await tab.page.getByLabel('Password').fill('wrong password, surely');
    await tab.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    assert.match((await tab.page.locator('.flash.error').textContent()) ?? '', /do not sign in/);
    assert.deepEqual(tab.problems, ['console.error: Failed to load resource: the server responded with a status of 401 (Unauthorized)'], 'the refused sign-in answers 401');
    tab.problems.length = 0;
    await tab.page.getByLabel('Account name').fill('root');
    await tab.page.getByLabel('Password').fill(PASSWORD);
    await tab.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await tab.page.waitForURL(`${f.url}/console/`);
    assert.equal(await tab.page.locator('h1').textContent(), 'Projects');
    assert.match((await tab.page.locator('.who').textContent()) ?? '', /root/);
    const cookies = await tab.context.cookies();
    const session = cookies.find((c) => c.name === 'custody-session');
    assert.ok(session, 'a session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(session.path, '/');
    await shoot(tab, 'projects');
    await tab.page.getByRole('link', { name: f.project }).click();
    await tab.page.waitForURL(`${f.url}/console/p/${f.project}`);
    await shoot(tab, 'project');
    await assertInert(tab, 'project');
  });

  it('finds the blocked version and reads why it is blocked', async () => {
    const tab = await openTab();
    await signInWithToken(tab, f.gov.tokens['bob'] as string);
    await tab.page.getByRole('link', { name: f.project }).click();
    await tab.page.getByRole('link', { name: 'classifier' }).click();
    await shoot(tab, 'model-versions');
    const row = tab.page.locator('table.versions tbody tr', { hasText: 'critical' });
    assert.equal(await row.count(), 1, 'one version has critical findings');
    await row.getByRole('link').click();
    await tab.page.waitForURL(versionUrl('classifier', f.blocked));
    const staging = tab.page.locator('section.checklist:has(#check-staging)');
    assert.match((await staging.locator('h3').textContent()) ?? '', /blocked/);
    const missing = await staging.locator('li.req-missing').allTextContents();
    assert.ok(missing.some((m) => /scan/i.test(m) && /critical/i.test(m)), `the checklist names the scan's critical finding: ${missing.join(' | ')}`);
    assert.ok(await tab.page.locator('table.findings').getByText(XSS.fileName, { exact: false }).count() > 0, 'the finding shows the hostile file name as text');
    await shoot(tab, 'version-blocked');
    await assertInert(tab, 'blocked version');
  });

  it('approves as a second person, then the uploader promotes; the checklist and timeline follow', async () => {
    const bob = await openTab();
    await signInWithToken(bob, f.gov.tokens['bob'] as string);
    await bob.page.goto(versionUrl('classifier', f.clean));
    const production = bob.page.locator('section.checklist:has(#check-production)');
    assert.match((await production.locator('h3').textContent()) ?? '', /blocked/);
    await bob.page.locator('#approve-to').selectOption('production');
    await bob.page.getByLabel('Comment').fill(XSS.comment);
    await bob.page.getByRole('button', { name: 'Approve' }).click();
    await bob.page.waitForURL(versionUrl('classifier', f.clean));
    assert.match((await bob.page.locator('.flash.ok').textContent()) ?? '', /approval for production is recorded/);
    assert.equal(await bob.page.locator('table.approvals td.comment').textContent(), XSS.comment);
    await assertInert(bob, 'after approval');

    const alice = await openTab();
    await signInWithToken(alice, f.gov.tokens['alice'] as string);
    await alice.page.goto(versionUrl('classifier', f.clean));
    // A contributor (and uploader) has no approve control: approving is for someone else.
    assert.equal(await alice.page.locator('#approve-to').count(), 0);
    for (const to of ['staging', 'production']) {
      await alice.page.locator('#promote-to').selectOption(to);
      await alice.page.getByRole('button', { name: 'Promote' }).click();
      await alice.page.waitForURL(versionUrl('classifier', f.clean));
      assert.match((await alice.page.locator('.flash.ok').textContent()) ?? '', new RegExp(`Promoted to ${to}`));
    }
    assert.equal(await alice.page.locator('dl.summary .stage').textContent(), 'production');
    assert.equal(await alice.page.locator('svg.timeline g.tl-event').count(), 3, 'pushed, to staging, to production');
    assert.ok((await alice.page.locator('svg.metrics g.metric').count()) === 0 || (await alice.page.locator('svg.metrics').isVisible()));
    await shoot(alice, 'version-promoted');
    await assertInert(alice, 'promoted version');
    // The blocked one cannot be promoted from the page either.
    await alice.page.goto(versionUrl('classifier', f.blocked));
    await alice.page.locator('#promote-to').selectOption('staging');
    await alice.page.getByRole('button', { name: 'Promote' }).click();
    assert.match((await alice.page.locator('.flash.error').textContent()) ?? '', /POLICY_UNMET/);
    assert.equal(await alice.page.locator('dl.summary .stage').textContent(), 'candidate');
  });

  it('shows the audit entries of those actions with their proofs verified in the page, and a tampered proof failed', async () => {
    const tab = await openTab();
    await tab.page.goto(`${f.url}/console/sign-in`);
    await tab.page.getByLabel('Account name').fill('root');
    await tab.page.getByLabel('Password').fill(PASSWORD);
    await tab.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await tab.page.waitForURL(`${f.url}/console/`);
    for (const [action, who] of [
      ['version.approve', f.accounts['bob']],
      ['version.promote', f.accounts['alice']],
    ] as const) {
      await tab.page.goto(`${f.url}/console/audit?action=${action}`);
      const rows = tab.page.locator('tr.entry');
      assert.ok((await rows.count()) >= 1, `${action} entries`);
      assert.ok((await tab.page.locator('tr.entry', { hasText: who ?? '?' }).count()) >= 1, `${action} by ${who}`);
      await tab.page.waitForFunction('document.querySelectorAll("tr.entry").length === document.querySelectorAll("tr.entry[data-verified]").length');
      const verdicts = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-verified')));
      assert.ok(verdicts.every((v) => v === 'yes'), `every proof verifies: ${(await rows.locator('.proof-status').allTextContents()).join(' | ')} ${await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-index') + ':' + (e.getAttribute('data-proof') ?? '').split(',').length).join(' '))} ${await tab.page.locator('#proofs').getAttribute('data-size')}`);
      assert.equal(await tab.page.locator('#checkpoint-status').textContent(), 'Checkpoint signature verified.');
      await assertInert(tab, `audit ${action}`);
    }
    await shoot(tab, 'audit');
    // Tamper with one proof hash (flip a byte) and with one leaf: both fail.
    const first = tab.page.locator('tr.entry').first();
    await first.evaluate((row) => {
      const proof = (row.getAttribute('data-proof') ?? '').split(',');
      const bytes = atob(proof[0] ?? '');
      proof[0] = btoa(String.fromCharCode(bytes.charCodeAt(0) ^ 1) + bytes.slice(1));
      row.setAttribute('data-proof', proof.join(','));
    });
    await first.getByRole('button', { name: /Verify/ }).click();
    await tab.page.waitForFunction('document.querySelector("tr.entry").getAttribute("data-verified") === "no"');
    assert.match((await first.locator('.proof-status').textContent()) ?? '', /^failed/);
    const second = tab.page.locator('tr.entry').nth(1);
    await second.evaluate((row) => row.setAttribute('data-leaf', btoa(atob(row.getAttribute('data-leaf') ?? '').replace('"allow"', '"deny"'))));
    await second.getByRole('button', { name: /Verify/ }).click();
    await tab.page.waitForFunction('document.querySelectorAll("tr.entry")[1].getAttribute("data-verified") === "no"');
    // An untouched row still verifies when checked again.
    const third = tab.page.locator('tr.entry').nth(2);
    if ((await third.count()) > 0) {
      await third.getByRole('button', { name: /Verify/ }).click();
      await tab.page.waitForFunction('document.querySelectorAll("tr.entry")[2].getAttribute("data-verified") === "yes"');
    }
    // A checkpoint whose signature was tampered with fails every row.
    await tab.page.goto(`${f.url}/console/audit?action=version.promote`);
    await tab.page.waitForFunction('document.querySelectorAll("tr.entry[data-verified]").length > 0');
    await tab.page.evaluate(`(function () {
      var box = document.getElementById('proofs');
      var note = atob(box.getAttribute('data-checkpoint'));
      box.setAttribute('data-checkpoint', btoa(note.replace(/\\n(\\d+)\\n/, function (m, n) { return '\\n' + (Number(n) + 1) + '\\n'; })));
    })()`);
    // verify.js reads the checkpoint once on load: run it again over the tampered page.
    await tab.page.addScriptTag({ url: '/console/static/verify.js' });
    await tab.page.waitForFunction('document.getElementById("checkpoint-status").textContent.indexOf("does not verify") >= 0');
  });

  it('a viewer sees no promote or approve control, and forged POSTs are refused', async () => {
    const vic = await openTab();
    await signInWithToken(vic, f.gov.tokens['vic'] as string);
    await vic.page.goto(versionUrl('classifier', f.blocked));
    assert.equal(await vic.page.locator('#promote-button').count(), 0);
    assert.equal(await vic.page.getByRole('button', { name: 'Approve' }).count(), 0);
    assert.equal(await vic.page.locator('section.actions').count(), 0);
    await assertInert(vic, 'viewer');

    // Alice may promote, so only the forgery checks stand between a forged POST and a promotion.
    const alice = await openTab();
    await signInWithToken(alice, f.gov.tokens['alice'] as string);
    await alice.page.goto(versionUrl('ensemble', f.wide));
    const csrf = await alice.page.locator('form[action$="/promote"] input[name="_csrf"]').getAttribute('value');
    assert.ok(csrf);
    const cookie = (await alice.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const target = `${f.url}/console/p/${f.project}/models/ensemble/v/${f.wide}/promote`;
    const post = (headers: Record<string, string>, body: Record<string, string>) =>
      fetch(target, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body).toString() });
    const host = new URL(f.url).host;
    const forged = [
      { why: 'no token', headers: { origin: f.url, 'sec-fetch-site': 'same-origin' }, body: { to: 'staging' } },
      { why: 'wrong token', headers: { origin: f.url, 'sec-fetch-site': 'same-origin' }, body: { to: 'staging', _csrf: `${csrf.slice(0, -2)}AA` } },
      { why: 'cross-origin', headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }, body: { to: 'staging', _csrf: csrf } },
      { why: 'cross-site fetch metadata only', headers: { 'sec-fetch-site': 'same-site' }, body: { to: 'staging', _csrf: csrf } },
      { why: 'other origin only', headers: { origin: `http://x${host}` }, body: { to: 'staging', _csrf: csrf } },
    ];
    for (const attempt of forged) {
      const r = await post(attempt.headers, attempt.body);
      assert.equal(r.status, 403, attempt.why);
    }
    // The viewer's own valid form token does not give her a right the registry denies.
    const vicCookie = (await vic.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    await vic.page.goto(`${f.url}/console/tokens`);
    const vicCsrf = await vic.page.locator('input[name="_csrf"]').first().getAttribute('value');
    const denied = await fetch(target, { method: 'POST', redirect: 'manual', headers: { cookie: vicCookie, origin: f.url, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ to: 'staging', _csrf: vicCsrf ?? '' }).toString() });
    assert.equal(denied.status, 403);
    const shown = await f.reg.call('GET', `/v1/projects/${f.project}/models/ensemble/versions/${f.wide}`, { token: f.reg.adminToken });
    assert.equal((shown.json() as { stage: string }).stage, 'candidate', 'nothing was promoted');
    // The same form, sent by the page itself, works (the checks refuse forgeries, not the form).
    await alice.page.locator('#promote-to').selectOption('staging');
    await alice.page.getByRole('button', { name: 'Promote' }).click();
    assert.match((await alice.page.locator('.flash').textContent()) ?? '', /Promoted to staging|refused/);
  });

  it('draws the lineage of a version with 50 upstream artifacts without overlap, links the training data, and shows tokens and accounts', async () => {
    const tab = await openTab();
    await signInWithToken(tab, f.reg.adminToken);
    await tab.page.goto(`${versionUrl('ensemble', f.wide)}/lineage`);
    const boxes = await tab.page.locator('svg.lineage g.node rect.box').evaluateAll((els) => els.map((e) => {
      const r = e.getBoundingClientRect();
      return { x: r.x, y: r.y, w: r.width, h: r.height };
    }));
    assert.ok(boxes.length >= 52, `${boxes.length} nodes drawn`);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i] as { x: number; y: number; w: number; h: number };
        const b = boxes[j] as { x: number; y: number; w: number; h: number };
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        assert.ok(!overlap, `nodes ${i} and ${j} overlap`);
      }
    }
    const texts = await tab.page.locator('svg.lineage text.label').evaluateAll((els) => els.map((e) => (e as unknown as { getBBox(): { width: number } }).getBBox().width));
    assert.ok(texts.every((w) => w <= 202), 'every label fits its box');
    assert.ok((await tab.page.locator('.graph-scroll').evaluate((e) => e.scrollHeight > e.clientHeight)), 'the tall picture scrolls');
    await shoot(tab, 'lineage');
    await assertInert(tab, 'lineage');

    await tab.page.goto(`${versionUrl('classifier', f.clean)}/lineage`);
    await assertInert(tab, 'lineage with hostile builder and dataset');
    await tab.page.goto(versionUrl('classifier', f.clean));
    const link = tab.page.locator('dl.facts a', { hasText: `${f.project}/training@` });
    assert.equal(await link.count(), 1, 'the training dataset links to its own page');
    assert.ok((await tab.page.getByText(XSS.builder).count()) > 0, 'the builder id is shown as text');
    await link.click();
    await tab.page.waitForURL(`${f.url}/console/p/${f.project}/datasets/training/v/${f.dataset}`);
    await shoot(tab, 'dataset-version');

    await tab.page.goto(`${f.url}/console/impact?kind=dataset&project=${f.project}&name=training&ref=${f.dataset}`);
    assert.ok((await tab.page.locator('table tbody tr').count()) >= 2, 'both models trained on it');
    await shoot(tab, 'impact');
    await tab.page.goto(`${f.url}/console/tokens`);
    assert.ok((await tab.page.getByText(XSS.description).count()) > 0);
    await shoot(tab, 'tokens');
    await assertInert(tab, 'tokens');
    await tab.page.goto(`${f.url}/console/accounts`);
    await shoot(tab, 'accounts');
    await assertInert(tab, 'accounts');
  });

  it('reaches every control with the keyboard, with a visible focus', async () => {
    const tab = await openTab();
    await signInWithToken(tab, f.gov.tokens['bob'] as string);
    await tab.page.goto(versionUrl('classifier', f.blocked));
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      await tab.page.keyboard.press('Tab');
      const info = await tab.page.evaluate(`(function () { var e = document.activeElement; if (!e || e === document.body) return null; var s = getComputedStyle(e); return { id: e.tagName + '|' + (e.id || e.getAttribute('name') || e.textContent.slice(0, 20)), outline: s.outlineStyle + ' ' + s.outlineWidth }; })()`);
      if (!info) continue;
      const { id, outline } = info as { id: string; outline: string };
      seen.add(id);
      assert.notEqual(outline.split(' ')[0], 'none', `${id} shows its focus`);
    }
    for (const expected of ['SELECT|approve-to', 'TEXTAREA|approve-comment', 'SELECT|promote-to', 'BUTTON|promote-button']) assert.ok(seen.has(expected), `${expected} is reachable (${[...seen].join(', ')})`);
    // Every form control has a label.
    const unlabelled = await tab.page.evaluate(`Array.prototype.filter.call(document.querySelectorAll('input:not([type=hidden]), select, textarea'), function (e) { return e.labels.length === 0 && !e.getAttribute('aria-label'); }).length`);
    assert.equal(unlabelled, 0);
  });
});
