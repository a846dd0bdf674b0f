import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Finding } from '../../src/core/finding.js';
import { escapeForTerminal, escapeJsonForTerminal, guardTerminalStream } from '../../src/core/terminal.js';
import { renderHtml } from '../../src/report/html.js';
import { renderJson } from '../../src/report/json.js';
import { renderSarif } from '../../src/report/sarif.js';
import { renderText } from '../../src/report/text.js';
import type { ScanResult } from '../../src/scanners/engine.js';
import { describeErrorMessage } from '../../src/scanners/redact-text.js';
import { mulberry32 } from '../support/random.js';

/** Every character class the escaping must cover, one or more representatives each. */
const HOSTILE = {
  esc: '\x1b[2J\x1b[H',
  osc: '\x1b]0;owned\x07',
  cr: 'x\rNo findings.',
  lf: 'x\nNo findings.',
  tab: 'a\tb',
  nul: 'a\0b',
  del: 'a\x7fb',
  c1csi: 'a\u009b2Jb',
  c1nel: 'a\u0085b',
  lre: '\u202a',
  rle: '\u202b',
  pdf: '\u202c',
  lro: '\u202d',
  rlo: 'evil\u202etxt.exe',
  lri: '\u2066',
  rli: '\u2067',
  fsi: '\u2068',
  pdi: '\u2069',
  lrm: '\u200e',
  rlm: '\u200f',
  alm: '\u061c',
  zwsp: 'a\u200bb',
  zwj: 'a\u200db',
  bom: '\ufeff',
  tag: 'a\u{e0041}b',
  lsep: 'a\u2028b',
  psep: 'a\u2029b',
  lone: 'a\ud800b',
} as const;

const UNSAFE_ANYWHERE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/** The inverse of escapeForTerminal, as the notation in its docs defines it. */
function decode(text: string): string {
  return text.replace(/\\u\{([0-9a-f]+)\}/g, (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)));
}

describe('escapeForTerminal', () => {
  for (const [name, text] of Object.entries(HOSTILE)) {
    it(`${name}: written as \\u{…}, nothing unsafe left, and decodes back`, () => {
      const escaped = escapeForTerminal(text);
      assert.doesNotMatch(escaped, UNSAFE_ANYWHERE);
      assert.match(escaped, /\\u\{[0-9a-f]+\}/);
      assert.equal(decode(escaped), text);
    });
  }

  it('the exact notation: ESC, LF, RLO, a tag character', () => {
    assert.equal(escapeForTerminal('\x1b[31m'), '\\u{1b}[31m');
    assert.equal(escapeForTerminal('a\nb'), 'a\\u{a}b');
    assert.equal(escapeForTerminal('\u202e'), '\\u{202e}');
    assert.equal(escapeForTerminal('\u{e0041}'), '\\u{e0041}');
  });

  it('leaves ordinary text alone, backslashes and non-ASCII included (negative)', () => {
    for (const text of ['plain ASCII', "b'\\x80\\x04'", 'C:\\Users\\me', 'os.system("echo \\n")', 'naïve café', '模型.bin', 'Ελληνικά', 'עברית', '🙂', '\\u0041', '\\u', '']) {
      assert.equal(escapeForTerminal(text), text, JSON.stringify(text));
    }
  });

  it('a literal backslash before `u{` is escaped, so text cannot imitate an escape', () => {
    const forged = '\\u{1b}[2J'; // the six characters \ u { 1 b }, not ESC
    const escaped = escapeForTerminal(forged);
    assert.equal(escaped, '\\u{5c}u{1b}[2J');
    assert.equal(decode(escaped), forged);
    assert.notEqual(escapeForTerminal('\x1b[2J'), escaped);
  });

  it('is injective and complete on random strings over a hostile alphabet', () => {
    const alphabet = ['\\', 'u', '{', '}', '1', 'b', 'x', 'a', '\x1b', '\n', '\r', '\u202e', '\u2066', '\u{e0041}', '\ud800', '\u0085', ' ', 'é'];
    const random = mulberry32(8);
    for (let i = 0; i < 2000; i++) {
      let text = '';
      const length = Math.floor(random() * 12);
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(random() * alphabet.length)];
      const escaped = escapeForTerminal(text);
      assert.doesNotMatch(escaped, UNSAFE_ANYWHERE, JSON.stringify(text));
      assert.equal(decode(escaped), text, JSON.stringify(text));
    }
  });
});

function result(findings: Finding[]): ScanResult {
  return { findings, summary: { files: 1, bytes: 10, findings: findings.length, bySeverity: { critical: 0, high: findings.length, medium: 0, low: 0, info: 0 }, baselined: 0, durationMs: 1, scanners: ['models'] } };
}

const everything = Object.values(HOSTILE).join('|');
const hostileFinding: Finding = {
  ruleId: 'models/pickle-unknown-global',
  scanner: 'models',
  severity: 'high',
  confidence: 'high',
  title: 't',
  message: `imports ${everything}`,
  location: { path: `dir/${HOSTILE.esc}${HOSTILE.rlo}.pkl`, member: `m${HOSTILE.cr}`, offset: 3 },
  evidence: `GLOBAL ${everything}`,
  remediation: 'r',
  docs: 'https://example.invalid/d',
  fingerprint: 'f',
  tags: [],
  properties: { layer: `l${HOSTILE.osc}`, commit: `c${HOSTILE.lf}`, cell: 1, field: `outputs${HOSTILE.rlo}`, deletedInLayer: 2 },
};
const options = { color: false, rules: [], toolVersion: '0' };

describe('every report format is safe to print', () => {
  it('text: no raw control, bidi or separator character; no forged line', () => {
    const text = renderText(result([hostileFinding]), options);
    const withoutNewlines = text.replace(/\n/g, '');
    assert.doesNotMatch(withoutNewlines, UNSAFE_ANYWHERE);
    assert.ok(!text.split('\n').some((line) => line.startsWith('No findings')), 'a forged summary line');
    assert.match(text, /dir\/\\u\{1b\}\[2J\\u\{1b\}\[Hevil\\u\{202e\}txt\.exe\.pkl/);
  });

  it('text with colour: only Custody\'s own colour codes reach the terminal', () => {
    const text = renderText(result([hostileFinding]), { ...options, color: true });
    // eslint-disable-next-line no-control-regex -- stripping Custody's own colour codes
    const ours = text.replace(/\x1b\[(?:0|1|2|31|33|36|1;35)m/g, '').replace(/\n/g, '');
    assert.doesNotMatch(ours, UNSAFE_ANYWHERE);
  });

  it('html: controls and bidi are visible escapes, not characters the browser acts on', () => {
    const html = renderHtml(result([hostileFinding]), options);
    assert.doesNotMatch(html.replace(/\n/g, ''), UNSAFE_ANYWHERE);
    assert.match(html, /evil\\u\{202e\}txt\.exe/);
    assert.ok(!html.includes('<2J'), 'still HTML-escaped');
  });

  for (const [name, render] of [['json', renderJson], ['sarif', renderSarif]] as const) {
    it(`${name}: values are faithful, the document is valid JSON, and nothing raw is printed`, () => {
      const out = render(result([hostileFinding]), options);
      assert.doesNotMatch(out.replace(/\n/g, ''), UNSAFE_ANYWHERE);
      const parsed = JSON.parse(out) as unknown;
      const serialized = JSON.stringify(parsed);
      assert.ok(serialized.includes(JSON.stringify(hostileFinding.message).slice(1, -1)), 'message survives JSON round trip');
      const text = JSON.stringify(hostileFinding.location.path);
      assert.ok(serialized.includes(text.slice(1, -1)), 'path survives JSON round trip');
    });
  }

  it('escapeJsonForTerminal keeps JSON valid and values identical (negative: plain JSON untouched)', () => {
    const value = { a: `x${HOSTILE.rlo}${HOSTILE.c1csi}${HOSTILE.tag}${HOSTILE.lsep}\x7f`, b: 'plain é 🙂' };
    const json = escapeJsonForTerminal(JSON.stringify(value, null, 2));
    assert.deepEqual(JSON.parse(json), value);
    assert.doesNotMatch(json.replace(/\n/g, ''), UNSAFE_ANYWHERE);
    const plain = JSON.stringify({ b: 'plain é 🙂' }, null, 2);
    assert.equal(escapeJsonForTerminal(plain), plain);
  });
});

describe('the CLI output stream guard', () => {
  it('keeps line feeds, Custody\'s colours and the progress line; escapes everything else', () => {
    const ours = 'a\n\x1b[31mHIGH\x1b[0m \x1b[1;35mx\x1b[0m\r\x1b[2Kscanning 1/2';
    assert.equal(guardTerminalStream(ours), ours);
    const hostile = `\x1b]0;t\x07\x1b[2J\x1b[8m\r${HOSTILE.rlo}${HOSTILE.tag}`;
    const guarded = guardTerminalStream(hostile);
    assert.doesNotMatch(guarded, UNSAFE_ANYWHERE);
    assert.equal(guarded, '\\u001b]0;t\\u0007\\u001b[2J\\u001b[8m\\u000devil\\u202etxt.exea\\udb40\\udc41b');
  });

  it('leaves JSON valid and its values intact', () => {
    const value = { path: `a${HOSTILE.rlo}\x7f${HOSTILE.tag}` };
    assert.deepEqual(JSON.parse(guardTerminalStream(JSON.stringify(value))), value);
  });
});

describe('error messages on the terminal', () => {
  it('escape control characters and indent every continuation line, so input cannot start a line', () => {
    const message = `cannot read tree/${HOSTILE.esc}x\nNo findings.\n  - a problem listed by the tool`;
    const shown = describeErrorMessage(message);
    const lines = shown.split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[1], '  No findings.');
    assert.equal(lines[2], '  - a problem listed by the tool');
    assert.doesNotMatch(shown.replace(/\n/g, ''), UNSAFE_ANYWHERE);
  });
});
