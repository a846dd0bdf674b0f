import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import type { Scanner } from '../../src/core/scanner.js';
import { containersScanner } from '../../src/scanners/containers/index.js';
import { scanFile, scanSource } from '../../src/scanners/file-scan.js';
import { kerasV3Format, sniffKerasConfig } from '../../src/scanners/models/formats/keras-v3.js';
import { modelsScanner } from '../../src/scanners/models/index.js';
import { analyzeKerasConfig, isKerasModule, type KerasIssue } from '../../src/scanners/models/keras/index.js';
import { mulberry32 } from '../support/random.js';

const FIXTURES = 'test/.tmp/fixtures/formats_a/keras';
const scanner: Scanner = {
  name: 'models',
  description: 'keras-v3 only',
  rules: kerasV3Format.rules,
  async scan(target, context) {
    if (kerasV3Format.detect(target)) await kerasV3Format.scan(target, context);
  },
};
const options = { scanners: [scanner], config: defaultConfig(), knownRuleIds: new Set<string>() };

async function scan(rel: string, scanners: Scanner[] = [scanner]): Promise<Finding[]> {
  const absPath = resolve(FIXTURES, rel);
  return scanFile({ displayPath: rel, absPath, size: statSync(absPath).size }, { ...options, scanners });
}

const rank = { critical: 4, high: 3, medium: 2, low: 1, info: 0 } as const;
const summary = (fs: Finding[]): string => fs.map((f) => `${f.severity} ${f.ruleId}: ${f.message}`).join('\n');

// A fixed Python 3.11 marshal of `lambda x: __import__("os").system("id") or x` is not needed here:
// the generator writes real marshalled code into the fixtures; unit tests below use shapes only.
function layer(classname: string, config: Record<string, unknown>, module = 'keras.layers'): Record<string, unknown> {
  return { module, class_name: classname, config, registered_name: null };
}
function model(layers: unknown[]): Record<string, unknown> {
  return { module: 'keras', class_name: 'Sequential', config: { name: 'seq', layers }, registered_name: null };
}
const fn = (module: string, name: string): Record<string, unknown> => ({ module, class_name: 'function', config: name, registered_name: name });
const kinds = (issues: KerasIssue[]): string[] => issues.map((i) => `${i.kind}:${i.severity}:${i.subject}`);

describe('keras-v3 fixtures (bad-* get critical/high, ok-* get nothing, warn-* only medium)', () => {
  for (const rel of readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort()) {
    it(rel, async () => {
      const findings = await scan(rel);
      assert.ok(!findings.some((f) => f.ruleId === 'core/scan-error'), summary(findings));
      if (rel.startsWith('ok-')) assert.deepEqual(findings, [], summary(findings));
      else if (rel.startsWith('bad-')) assert.ok(findings.some((f) => rank[f.severity] >= rank.high), summary(findings));
      else {
        assert.ok(findings.length > 0);
        assert.ok(findings.every((f) => rank[f.severity] <= rank.medium), summary(findings));
      }
    });
  }
});

describe('keras-v3 rules on fixtures', () => {
  const expect: [string, string, string][] = [
    ['bad-lambda-config.json', 'models/keras-lambda-layer', 'critical'],
    ['bad-lambda-harmless.json', 'models/keras-lambda-layer', 'high'],
    ['bad-legacy-lambda.json', 'models/keras-lambda-layer', 'critical'],
    ['bad-unsafe-module.json', 'models/keras-unsafe-module', 'critical'],
    ['bad-builtins-exec.json', 'models/keras-unsafe-module', 'critical'],
    ['bad-legacy-function.json', 'models/keras-unsafe-module', 'critical'],
    ['bad-lookalike-module.json', 'models/keras-unsafe-module', 'high'],
    ['bad-get-file.json', 'models/keras-dangerous-function', 'critical'],
    ['bad-unsafe-deserialization.json', 'models/keras-dangerous-function', 'critical'],
    ['bad-vocabulary-file.json', 'models/keras-dangerous-function', 'high'],
    ['bad-tfsm-layer.json', 'models/keras-dangerous-function', 'high'],
    ['bad-tfoplambda.json', 'models/keras-tf-op-lambda', 'critical'],
    ['bad-tfoplambda-pyfunc.json', 'models/keras-tf-op-lambda', 'critical'],
    ['bad-malformed.json', 'models/keras-malformed', 'high'],
    ['bad-deep.json', 'models/keras-malformed', 'high'],
    ['warn-custom-object.json', 'models/keras-custom-object', 'medium'],
    ['warn-registered-name.json', 'models/keras-custom-object', 'medium'],
  ];
  for (const [rel, ruleId, severity] of expect) {
    it(`${rel} → ${ruleId} (${severity})`, async () => {
      const findings = await scan(rel);
      assert.ok(findings.some((f) => f.ruleId === ruleId && f.severity === severity), summary(findings));
    });
  }

  it('shows what decoded Lambda bytecode calls', async () => {
    const [finding] = await scan('bad-lambda-config.json');
    assert.ok(finding?.evidence?.includes('names: __import__, system'), finding?.evidence);
    assert.ok(finding?.evidence?.includes('"id"'), finding?.evidence);
    assert.deepEqual(finding?.properties?.['names'], ['__import__', 'system']);
  });

  it('reaches config.json inside a .keras zip through the container layer (members are detected by content)', async () => {
    const bad = await scan('bad-lambda.keras', [containersScanner, modelsScanner]);
    const lambda = bad.find((f) => f.ruleId === 'models/keras-lambda-layer');
    assert.ok(lambda, summary(bad));
    assert.equal(lambda.location.member, 'config.json');
    assert.equal(lambda.severity, 'critical');
    const ok = await scan('ok-model.keras', [containersScanner, modelsScanner]);
    assert.deepEqual(ok, [], summary(ok));
  });
});

describe('analyzeKerasConfig', () => {
  it('accepts parsed JSON, JSON text and buffers', () => {
    const config = model([layer('Dense', { name: 'd', activation: fn('os', 'system') })]);
    for (const input of [config, JSON.stringify(config), Buffer.from(JSON.stringify(config))]) {
      assert.deepEqual(kinds(analyzeKerasConfig(input)), ['unsafe-module:critical:os.system']);
    }
  });

  it('reports text that is not JSON as malformed and never throws on odd shapes', () => {
    assert.deepEqual(kinds(analyzeKerasConfig('{"class_name": ')), ['malformed:high:config']);
    for (const odd of [null, 42, 'x', [], [null, [1, { class_name: 7 }]], { class_name: 'Dense', config: null }, { class_name: 'Lambda', config: 'x' }]) {
      assert.doesNotThrow(() => analyzeKerasConfig(odd));
    }
  });

  it('names the enclosing layer and the JSON path', () => {
    const [issue] = analyzeKerasConfig(model([layer('Dense', { name: 'first' }), layer('Dense', { name: 'second', kernel_initializer: fn('subprocess', 'Popen') })]));
    assert.equal(issue?.layer, 'second');
    assert.equal(issue?.path, 'config.layers[1].config.kernel_initializer');
  });

  it('lets Keras own functions and builtins names through (boundaries)', () => {
    const config = model([
      layer('Dense', { name: 'a', activation: fn('keras.activations', 'relu') }),
      layer('Dense', { name: 'b', activation: fn('builtins', 'gelu') }),
      layer('Dense', { name: 'c' }, 'keras.src.layers.core.dense'),
      layer('Dense', { name: 'd' }, 'tf_keras.layers'),
      layer('StringLookup', { name: 'e', vocabulary: ['a', 'b'] }),
      layer('StringLookup', { name: 'f', vocabulary: '' }),
      { module: 'keras.layers', class_name: 'Dense', config: { name: 'g' }, registered_name: 'Dense' },
      { module: 'keras_hub.src.models.gemma.gemma_backbone', class_name: 'GemmaBackbone', config: { name: 'h' }, registered_name: 'keras_hub>GemmaBackbone' },
      { class_name: '__tensor__', config: { value: [1, 2], dtype: 'float32' } },
      fn('keras.src.ops.numpy', 'exists'),
    ]);
    assert.deepEqual(analyzeKerasConfig(config), []);
    // A Lambda layer is always reported, even one that only names a Keras function (low: no code of the model's).
    assert.deepEqual(kinds(analyzeKerasConfig(model([layer('Lambda', { name: 'i', function: fn('keras.ops', 'copy') })]))), ['lambda:low:Lambda']);
  });

  it('flags builtins that evaluate code and modules that only look like Keras', () => {
    assert.deepEqual(kinds(analyzeKerasConfig(layer('Dense', { name: 'a', activation: fn('builtins', 'eval') }))), ['unsafe-module:critical:builtins.eval']);
    assert.deepEqual(kinds(analyzeKerasConfig(layer('Dense', { name: 'a' }, 'kerasx.layers'))), ['unsafe-module:high:kerasx.layers.Dense']);
    assert.deepEqual(kinds(analyzeKerasConfig(layer('Dense', { name: 'a' }, 'keras.layers; import os'))).map((k) => k.split(':')[0]), ['unsafe-module']);
    assert.equal(isKerasModule('keras'), true);
    assert.equal(isKerasModule('keras.src.ops'), true);
    assert.equal(isKerasModule('keras_evil'), false);
  });

  it('reports Keras-namespace functions that write, download or disable safe mode', () => {
    assert.deepEqual(kinds(analyzeKerasConfig(layer('Lambda', { name: 'l', function: fn('keras.config', 'enable_unsafe_deserialization') }))), [
      'lambda:low:Lambda',
      'dangerous-function:critical:keras.config.enable_unsafe_deserialization',
    ]);
    assert.deepEqual(kinds(analyzeKerasConfig(fn('keras.src.utils.file_utils', 'listdir'))), ['dangerous-function:high:keras.src.utils.file_utils.listdir']);
    assert.deepEqual(kinds(analyzeKerasConfig(fn('keras.src.utils.file_utils', 'copy'))), ['dangerous-function:critical:keras.src.utils.file_utils.copy']);
    assert.deepEqual(kinds(analyzeKerasConfig(fn('keras.src.utils.io_utils', 'something'))), ['dangerous-function:high:keras.src.utils.io_utils.something']);
    assert.deepEqual(kinds(analyzeKerasConfig(fn('keras.src.utils.python_utils', 'something_new'))), ['dangerous-function:high:keras.src.utils.python_utils.something_new']);
  });

  it('handles Keras 3 and legacy Lambda shapes, including output_shape lambdas', () => {
    const undecodable = analyzeKerasConfig(layer('Lambda', { name: 'l', function: { class_name: '__lambda__', config: { code: 'AAAA', defaults: null, closure: null } } }));
    assert.deepEqual(kinds(undecodable), ['lambda:high:Lambda']);
    const viaValue = analyzeKerasConfig({ class_name: '__lambda__', config: { value: ['AAAA', null, null] } });
    assert.deepEqual(kinds(viaValue), ['lambda:high:Lambda']);
    const legacy = analyzeKerasConfig({ class_name: 'Lambda', config: { name: 'l', function: 'bWFpbg==bWFpbg==', function_type: 'function', module: 'keras.activations', output_shape: ['AAAAAAAA', null, null], output_shape_type: 'lambda' } });
    assert.deepEqual(kinds(legacy), ['lambda:high:Lambda']);
    const mainFunction = analyzeKerasConfig({ class_name: 'Lambda', config: { name: 'l', function: 'preprocess', function_type: 'function', module: '__main__' } });
    assert.deepEqual(kinds(mainFunction), ['lambda:medium:Lambda']);
    const missing = analyzeKerasConfig({ class_name: 'Lambda', config: { name: 'l' } });
    assert.deepEqual(kinds(missing), ['lambda:high:Lambda']);
  });

  it('reports every Lambda layer whatever form its function takes', () => {
    const lambda = (config: Record<string, unknown>): string[] => kinds(analyzeKerasConfig({ class_name: 'Lambda', config: { name: 'l', ...config } }));
    // Python source text (no function_type, as the legacy HDF5 peer sample has it): high, critical when it names eval/os/…
    assert.deepEqual(lambda({ function: 'lambda x: x * 2' }), ['lambda:high:Lambda']);
    assert.deepEqual(lambda({ function: "lambda x: eval('print(1)')" }), ['lambda:critical:Lambda']);
    assert.deepEqual(lambda({ function: 'lambda x: __import__("os").system("id")', function_type: 'raw' }), ['lambda:critical:Lambda']);
    // base64 of source text, of random bytes; bytecode shapes that cannot be read
    assert.deepEqual(lambda({ function: Buffer.from('lambda x: x + 1  # just maths').toString('base64') }), ['lambda:high:Lambda']);
    assert.deepEqual(lambda({ function: Buffer.from('lambda x: os.system("id")').toString('base64') }), ['lambda:critical:Lambda']);
    assert.deepEqual(lambda({ function: Buffer.alloc(40, 0xfe).toString('base64'), function_type: 'lambda' }), ['lambda:high:Lambda']);
    assert.deepEqual(lambda({ function: 42 }), ['lambda:high:Lambda']);
    assert.deepEqual(lambda({ function: [7, null, null], function_type: 'lambda' }), ['lambda:high:Lambda']);
    assert.deepEqual(lambda({ function: { code: 'lambda x: exec(x)' } }), ['lambda:critical:Lambda']);
    assert.deepEqual(lambda({ function: { something: 'else' } }), ['lambda:high:Lambda']);
    // named and registered functions: Keras' own (low), the program's or a package's (medium), a dangerous module (critical, reported as such)
    assert.deepEqual(lambda({ function: 'relu', function_type: 'function', module: 'keras.activations' }), ['lambda:low:Lambda']);
    assert.deepEqual(lambda({ function: 'gelu', function_type: 'function', module: 'my_pkg.ops' }), ['custom-object:medium:my_pkg.ops.gelu', 'lambda:medium:Lambda']);
    assert.deepEqual(lambda({ function: 'system', function_type: 'function', module: 'os' }), ['unsafe-module:critical:os.system', 'lambda:medium:Lambda']);
    assert.deepEqual(lambda({ function: { module: 'builtins', class_name: 'function', config: 'exec', registered_name: 'function' } }), [
      'lambda:medium:Lambda',
      'unsafe-module:critical:builtins.exec',
    ]);
    // output_shape given as plain numbers is data, not code
    assert.deepEqual(lambda({ function: 'relu', function_type: 'function', module: 'keras.activations', output_shape: [null, 4], output_shape_type: 'raw' }), ['lambda:low:Lambda']);
    // a Keras 3 serialized lambda is reported once, where it sits
    assert.deepEqual(lambda({ function: { class_name: '__lambda__', config: { code: 'lambda x: x' } } }), ['lambda:high:Lambda']);
  });

  it('checks TFOpLambda and SlicingOpLambda function names', () => {
    const config = { class_name: 'Functional', config: { layers: [
      { class_name: 'TFOpLambda', config: { name: 'a', function: 'io.read_file' } },
      { class_name: 'TFOpLambda', config: { name: 'b', function: 'raw_ops.WriteFile' } },
      { class_name: 'TFOpLambda', config: { name: 'c', function: 'nn.relu' } },
      { class_name: 'SlicingOpLambda', config: { name: 'd', function: '__operators__.getitem' } },
      { class_name: 'SlicingOpLambda', config: { name: 'e', function: 'strings.join' } },
    ] } };
    assert.deepEqual(kinds(analyzeKerasConfig(config)), ['tf-op-lambda:high:tf.io.read_file', 'tf-op-lambda:critical:tf.raw_ops.WriteFile', 'tf-op-lambda:medium:tf.strings.join']);
  });

  it('flags legacy registered custom objects and registered_name disguises', () => {
    assert.deepEqual(kinds(analyzeKerasConfig({ class_name: 'MyPkg>Attention', config: { name: 'a' } })), ['custom-object:medium:MyPkg>Attention']);
    assert.deepEqual(kinds(analyzeKerasConfig({ module: 'keras.layers', class_name: 'Dense', config: {}, registered_name: 'Other' })), ['custom-object:medium:keras.layers.Dense as Other']);
    assert.deepEqual(kinds(analyzeKerasConfig({ module: 'keras_hub.src.models', class_name: 'GemmaBackbone', config: {}, registered_name: 'keras_hub>Other' })), [
      'custom-object:medium:keras_hub.src.models.GemmaBackbone as keras_hub>Other',
    ]);
    assert.deepEqual(kinds(analyzeKerasConfig({ module: 'keras_hub.src.models', class_name: 'GemmaBackbone', config: {}, registered_name: 'evil_pkg>GemmaBackbone' })), [
      'custom-object:medium:keras_hub.src.models.GemmaBackbone as evil_pkg>GemmaBackbone',
    ]);
  });

  it('bounds the walk by nodes and depth', () => {
    const wide = { class_name: 'X', config: { items: Array.from({ length: 1000 }, (_, i) => i) } };
    assert.deepEqual(kinds(analyzeKerasConfig(wide, { maxNodes: 100 })), ['malformed:high:config']);
    let deep: unknown = { class_name: 'Dense', config: { activation: fn('os', 'system') } };
    for (let i = 0; i < 50; i += 1) deep = { class_name: 'Wrapper', config: { layer: deep } };
    const issues = analyzeKerasConfig(deep, { maxDepth: 20 });
    assert.deepEqual(kinds(issues), ['malformed:high:config']);
    assert.deepEqual(kinds(analyzeKerasConfig(deep)), ['unsafe-module:critical:os.system']);
  });
});

describe('keras-v3 detection by content', () => {
  it('recognises Keras configs by content (class_name and config in a JSON object), not their name', () => {
    assert.equal(sniffKerasConfig(Buffer.from('{"module": "keras", "class_name": "Sequential", "config": {}}')), true);
    assert.equal(sniffKerasConfig(Buffer.from('\ufeff\n  {\n  "class_name": "Sequential",\n  "config": {}}')), true);
    assert.equal(sniffKerasConfig(Buffer.from('{"module": "keras", "class_name": "Sequential"')), false);
    // Key order does not matter to Keras: a reordered object is sniffed, and parsing decides (see redteam-formats-keras).
    assert.equal(sniffKerasConfig(Buffer.from('{"config": {}, "class_name": "Sequential"}')), true);
    assert.equal(sniffKerasConfig(Buffer.from('[{"class_name": "x", "config": {}}]')), false);
    assert.equal(sniffKerasConfig(Buffer.from('{"keras_version": "3.1.0", "date_saved": "2024"}')), false);
  });

  it('scans a config member handed over by a container', async () => {
    const bytes = readFileSync(join(FIXTURES, 'bad-unsafe-module.json'));
    const findings = await scanSource('model.keras', new BufferSource(bytes), options);
    assert.ok(findings.some((f) => f.ruleId === 'models/keras-unsafe-module'));
  });

  it('reports a config larger than the text limit instead of passing it', async () => {
    const bytes = readFileSync(join(FIXTURES, 'ok-keras3.json'));
    const config = defaultConfig();
    config.limits.maxTextBytes = 100;
    const findings = await scanSource('config.json', new BufferSource(bytes), { ...options, config });
    assert.deepEqual(findings.map((f) => f.ruleId), ['models/keras-malformed']);
  });
});

describe('keras config fuzz (fixed seed, bounded)', () => {
  it('analyses random config-shaped JSON and mutated fixture text without throwing', async () => {
    const random = mulberry32(0x5eed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const keys = ['module', 'class_name', 'config', 'registered_name', 'function', 'function_type', 'output_shape', 'vocabulary', 'name', 'layers', 'code', 'value'];
    const leaves: unknown[] = ['keras', 'os', 'builtins', '__lambda__', 'Lambda', 'TFOpLambda', 'function', 'lambda', 'AAAA', 'io.write_file', 'system', null, 1, true, ''];
    const build = (depth: number): unknown => {
      const r = random();
      if (depth > 6 || r < 0.3) return pick(leaves);
      if (r < 0.5) return Array.from({ length: Math.floor(random() * 4) }, () => build(depth + 1));
      const obj: Record<string, unknown> = {};
      for (let i = 0; i < 1 + Math.floor(random() * 5); i += 1) obj[pick(keys)] = build(depth + 1);
      return obj;
    };
    for (let i = 0; i < 500; i += 1) assert.doesNotThrow(() => analyzeKerasConfig(build(0)));

    const seeds = ['bad-lambda-config.json', 'bad-legacy-lambda.json', 'ok-keras3.json'].map((rel) => readFileSync(join(FIXTURES, rel)));
    for (let i = 0; i < 150; i += 1) {
      const data = Buffer.from(seeds[i % seeds.length] as Buffer);
      for (let j = 0; j < 1 + Math.floor(random() * 6); j += 1) data[20 + Math.floor(random() * (data.length - 20))] = Math.floor(random() * 128);
      const findings = await scanSource('config.json', new BufferSource(data), options);
      assert.ok(!findings.some((f) => f.ruleId === 'core/scan-error'), summary(findings));
    }
  });
});
