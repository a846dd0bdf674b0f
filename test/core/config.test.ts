import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/core/config.js';
import { CustodyError } from '../../src/core/errors.js';

const known = new Set(['models/pickle-unknown-global', 'secrets/generic-secret']);

function problemsOf(text: string): { path: string; message: string }[] {
  try {
    parseConfig(text, '.custody.yml', known);
  } catch (error) {
    assert.ok(error instanceof CustodyError);
    assert.equal(error.code, 'CONFIG_INVALID');
    return (error.details?.['problems'] as { path: string; message: string }[] | undefined) ?? [];
  }
  assert.fail('expected CONFIG_INVALID');
}

describe('parseConfig', () => {
  it('reads rule overrides in every accepted shape', () => {
    const config = parseConfig(
      'rules:\n  models/pickle-unknown-global: low\n  secrets/generic-secret: off\nexclude: ["fixtures/**"]\nmodels:\n  allow: ["mypkg.layers.*", "mypkg.Model"]\nlimits:\n  maxNesting: 3\n',
      'x',
      known,
    );
    assert.deepEqual(config.rules.get('models/pickle-unknown-global'), { enabled: true, severity: 'low' });
    assert.deepEqual(config.rules.get('secrets/generic-secret'), { enabled: false });
    assert.deepEqual(config.exclude, ['fixtures/**']);
    assert.deepEqual(config.models.allow, ['mypkg.layers.*', 'mypkg.Model']);
    assert.equal(config.limits.maxNesting, 3);
  });

  it('accepts an empty file', () => {
    const config = parseConfig('', 'x', known);
    assert.equal(config.rules.size, 0);
  });

  it('collects every problem at once', () => {
    const problems = problemsOf('rules:\n  nope/rule: off\n  secrets/generic-secret: {severity: huge}\nmodels:\n  allow: ["os system"]\nlimits:\n  maxNesting: -1\nbogus: 1\n');
    const paths = problems.map((p) => p.path).sort();
    assert.deepEqual(paths, ['bogus', 'limits.maxNesting', 'models.allow[0]', 'rules.nope/rule', 'rules.secrets/generic-secret.severity']);
  });

  it('rejects invalid YAML and non-mapping documents with CONFIG_INVALID', () => {
    assert.throws(() => parseConfig('rules: [', 'x'), { code: 'CONFIG_INVALID' });
    assert.throws(() => parseConfig('- a\n- b\n', 'x'), { code: 'CONFIG_INVALID' });
  });

  it('rejects invalid regular expressions in secrets.allowValues', () => {
    const problems = problemsOf('secrets:\n  allowValues: ["(unclosed"]\n');
    assert.equal(problems[0]?.path, 'secrets.allowValues[0]');
  });
});
