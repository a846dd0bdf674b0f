// The Jinja chat-template scanner: benign templates of common model families yield nothing; SSTI payloads
// (dunder walks, attr filter, escapes, concatenation, globals, includes) yield critical/high with positions.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { scanJinjaTemplate, type JinjaIssue } from '../../src/scanners/models/jinja/index.js';

const ROOT = 'test/.tmp/fixtures/formats_b/templates';
const read = (kind: string): [string, string][] => readdirSync(join(ROOT, kind)).sort().map((n) => [n, readFileSync(join(ROOT, kind, n), 'utf8')]);
const kinds = (issues: readonly JinjaIssue[]): string[] => issues.map((i) => `${i.severity}:${i.kind}`);
const severe = (issues: readonly JinjaIssue[]): JinjaIssue[] => issues.filter((i) => i.severity === 'critical' || i.severity === 'high');

describe('Jinja template scanner', () => {
  it('finds nothing in benign chat templates (Llama, Mistral, ChatML, Gemma, Qwen tools, look-alikes)', () => {
    const templates = read('benign');
    assert.ok(templates.length >= 6);
    for (const [name, text] of templates) {
      const result = scanJinjaTemplate(text);
      assert.deepEqual(kinds(result.issues), [], name);
      assert.equal(result.error, undefined, name);
    }
  });

  it('flags every malicious template at critical or high', () => {
    const templates = read('malicious');
    assert.ok(templates.length >= 15);
    for (const [name, text] of templates) assert.ok(severe(scanJinjaTemplate(text).issues).length > 0, name);
  });

  const cases: [string, string, string][] = [
    ['dunder attribute', "{{ ''.__class__ }}", 'critical:dunder'],
    ['dunder via subscript string', "{{ x['__globals__'] }}", 'critical:dunder-string'],
    ['hex escapes spelling a dunder', "{{ x|attr('\\x5f\\x5fclass\\x5f\\x5f') }}", 'critical:dunder-string'],
    ['octal escapes spelling a dunder', "{{ x['\\137\\137class\\137\\137'] }}", 'critical:dunder-string'],
    ['named escape', "{{ x['\\N{LOW LINE}\\N{LOW LINE}init\\N{LOW LINE}\\N{LOW LINE}'] }}", 'critical:dunder-string'],
    ['tilde concatenation', "{{ x|attr('__cl' ~ 'ass__') }}", 'critical:concat'],
    ['plus concatenation without underscores at the seams', "{{ x|attr('_' + '_cla' + 'ss_' + '_') }}", 'critical:concat'],
    ['implicit concatenation', "{{ x|attr('__gl' 'obals__') }}", 'critical:concat'],
    ['joined list', "{{ x|attr(['__bui', 'ltins__']|join) }}", 'critical:concat'],
    ['attr filter alone', "{{ x|attr(name) }}", 'high:attr-filter'],
    ['format %c', "{{ x|attr('%c%c'|format(95, 95)) }}", 'high:format-char'],
    ['escape of a letter', "{{ x['\\x63lass'] }}", 'high:escape'],
    ['underscore repetition', "{{ '_' * 2 }}", 'high:repeat'],
    ['character picking', '{{ (lipsum|string)[0] }}', 'high:char-harvest'],
    ['cycler walk', '{{ cycler.next }}', 'high:global'],
    ['url_for walk', '{{ url_for.x }}', 'high:global'],
    ['get_flashed_messages walk', '{{ get_flashed_messages.x }}', 'high:global'],
    ['config walk', '{{ config.items() }}', 'high:global'],
    ['namespace walk', '{{ namespace.x }}', 'high:global'],
    ['private attribute', '{{ x._TemplateReference__context }}', 'high:private-attribute'],
    ['payload attribute', '{{ x.popen }}', 'high:dangerous-attribute'],
    ['os subscript', "{{ x['os'] }}", 'high:dangerous-string'],
    ['include', "{% include 'x.html' %}", 'high:include'],
    ['import', "{% import 'macros' as m %}", 'high:include'],
    ['bare global', '{{ joiner }}', 'medium:global'],
  ];
  for (const [title, template, expected] of cases) {
    it(`reports ${title}`, () => {
      const found = kinds(scanJinjaTemplate(template).issues);
      assert.ok(found.includes(expected), `${template} → ${found.join(', ')}`);
    });
  }

  const negatives: [string, string][] = [
    ['the string system in a comparison', "{% if m['role'] == 'system' %}x{% endif %}"],
    ['a single underscore in replace', "{{ name|replace('_', ' ') }}"],
    ['dunders in plain text and comments', 'call __init__ {# __class__ #}'],
    ['a local named like a global', '{% set config = namespace(x=1) %}{{ config.x }}'],
    ['a loop variable named self', '{% for self in items %}{{ self.name }}{% endfor %}'],
    ['a raw block', '{% raw %}{{ x.__class__ }}{% endraw %}'],
    ['namespace used as counter', '{% set ns = namespace(i=0) %}{% set ns.i = ns.i + 1 %}{{ ns.i }}'],
    ['keyword argument named config', '{{ render(config=1) }}'],
    ['tojson and string filters', "{{ tool|tojson }}{{ m.content|string }}{{ (m.content|string)|length }}"],
    ['braces inside strings', "{{ '{\"name\": \"' }}{{ '}' }}"],
  ];
  for (const [title, template] of negatives) {
    it(`does not report ${title}`, () => {
      const result = scanJinjaTemplate(template);
      assert.deepEqual(kinds(result.issues), [], template);
      assert.equal(result.error, undefined);
    });
  }

  it('gives 1-based line and column of the construct', () => {
    const result = scanJinjaTemplate('line one\n{% for m in messages %}\n   {{ m.__class__ }}{% endfor %}');
    const issue = result.issues[0];
    assert.ok(issue);
    assert.deepEqual([issue.line, issue.column, issue.construct], [3, 8, '.__class__']);
  });

  it('reports unterminated tags and strings as an error with a position, keeping what was found before', () => {
    const result = scanJinjaTemplate('{{ x.__class__ }}\n{{ "open');
    assert.equal(result.issues.length, 1);
    assert.deepEqual(result.error && [result.error.line, result.error.column], [2, 4]);
    assert.ok(scanJinjaTemplate('{% for x in y %}{{ x ').error);
    assert.ok(scanJinjaTemplate('{# comment').error);
    assert.ok(scanJinjaTemplate('{% raw %}{{ x }}').error);
  });

  it('stops at its limits and says so', () => {
    const big = '{{ x.__class__ }}'.repeat(1000);
    const result = scanJinjaTemplate(big, { maxChars: 1 << 20, maxTokens: 1 << 20, maxIssues: 10 });
    assert.equal(result.issues.length, 10);
    assert.equal(result.truncated, true);
    assert.equal(scanJinjaTemplate('{{ a }}'.repeat(100), { maxChars: 50, maxTokens: 1000, maxIssues: 10 }).truncated, true);
  });
});
