// Red-team cases for the chat-template scanner: payloads that build dunder names at render time
// (set variables, dict kwargs, printf/str.format, replace, set blocks) versus benign templates shaped
// like those model families ship (tools, namespaces, macros, format calls).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { scanJinjaTemplate } from '../../src/scanners/models/jinja/index.js';

const ROOT = 'test/.tmp/fixtures/redteam_formats/templates';
const severe = (text: string): string[] =>
  scanJinjaTemplate(text).issues.filter((i) => i.severity === 'critical' || i.severity === 'high').map((i) => `${i.severity}:${i.kind}`);

describe('red team: chat templates', () => {
  for (const name of readdirSync(join(ROOT, 'benign')).sort()) {
    it(`benign ${name} has no findings`, () => {
      const result = scanJinjaTemplate(readFileSync(join(ROOT, 'benign', name), 'utf8'));
      assert.deepEqual(result.issues.map((i) => `${i.kind}:${i.construct}`), []);
      assert.equal(result.error, undefined);
    });
  }
  for (const name of readdirSync(join(ROOT, 'malicious')).sort()) {
    it(`malicious ${name} is critical or high`, () => {
      assert.ok(severe(readFileSync(join(ROOT, 'malicious', name), 'utf8')).length > 0);
    });
  }

  const positives: [string, string, string][] = [
    ['set variables', "{% set u = '_' %}{{ x[u ~ u ~ 'init' ~ u ~ u] }}", 'critical:computed-key'],
    ['percent operator with %c', "{{ x['%c%cinit%c%c' % (95, 95, 95, 95)] }}", 'critical:computed-key'],
    ['str.format', "{{ x['{0}{0}init{0}{0}'.format('_')] }}", 'critical:computed-key'],
    ['attr filter with a variable', "{% set n = '__glo' ~ 'bals__' %}{{ x|attr(n) }}", 'critical:computed'],
    ['map attribute built', "{% set u = '_' * 2 %}{{ x|map(attribute=u ~ 'class' ~ u)|list }}", 'critical:computed'],
    ['upper-case then lower', "{{ x[('__CLASS__')|lower] }}", 'critical:computed-key'],
    ['computed os key', "{% set a = 'o' %}{{ g[a ~ 's'] }}", 'high:computed-key'],
  ];
  for (const [what, text, expected] of positives) {
    it(`flags ${what}`, () => assert.ok(severe(text).includes(expected), severe(text).join(',')));
  }

  const negatives: [string, string][] = [
    ['single underscore joined into a role name', "{% set sep = '_' %}{{ 'tool' ~ sep ~ 'call' }}"],
    ['one underscore short of a dunder', "{% set u = '_' %}{{ x[u ~ 'class' ~ u ~ u] }}"],
    ['format of unknown values', "{{ '%s: %s'|format(message.role, message.content) }}"],
    ['str.format with numbers', "{{ '{0}/{1}'.format(1, 2) }}"],
    ['slices and negative indexes', "{{ messages[1:][-1]['content'][:-1] }}"],
    ['set block of prose', '{% set intro %}You are a helpful assistant.{% endset %}{{ intro|trim }}'],
    ['variable key of a dict', "{% set k = 'role' %}{{ message[k] }}"],
  ];
  for (const [what, text] of negatives) {
    it(`does not flag ${what}`, () => assert.deepEqual(severe(text), []));
  }

  it('never throws on broken expressions', () => {
    for (const text of ["{{ x[ }}", "{{ ('a' ~ }}", "{% set %}{% endset %}", "{{ 'a' % }}", "{{ dict(=1) }}", "{{ '%c' % (99999999999,) }}"]) {
      assert.doesNotThrow(() => scanJinjaTemplate(text));
    }
  });
});
