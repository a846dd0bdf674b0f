import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { BufferSource, FileSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import type { Scanner } from '../../src/core/scanner.js';
import { scanFile, scanSource } from '../../src/scanners/file-scan.js';
import { onnxFormat } from '../../src/scanners/models/formats/onnx.js';
import { analyzeTf, sniffTf, tfSavedModelFormat } from '../../src/scanners/models/formats/tf-saved-model.js';
import { sniffProtobufModel } from '../../src/scanners/models/protobuf/sniff.js';
import { classifyTfFunction, classifyTfNode } from '../../src/scanners/models/keras/index.js';
import { mulberry32 } from '../support/random.js';

const FIXTURES = 'test/.tmp/fixtures/formats_a/tf';
// The protobuf formats together: a file is read as every protobuf model format its first fields fit.
const formats = [onnxFormat, tfSavedModelFormat];
const scanner: Scanner = {
  name: 'models',
  description: 'protobuf model formats',
  rules: formats.flatMap((f) => f.rules),
  async scan(target, context) {
    for (const format of formats) if (format.detect(target)) await format.scan(target, context);
  },
};
const options = { scanners: [scanner], config: defaultConfig(), knownRuleIds: new Set<string>() };

async function scan(rel: string): Promise<Finding[]> {
  const absPath = resolve(FIXTURES, rel);
  return scanFile({ displayPath: rel, absPath, size: statSync(absPath).size }, options);
}

function modelFiles(): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(FIXTURES).sort()) {
    const path = join(FIXTURES, entry);
    if (statSync(path).isDirectory()) for (const name of readdirSync(path).sort()) out.push(`${entry}/${name}`);
    else out.push(entry);
  }
  return out;
}

const rank = { critical: 4, high: 3, medium: 2, low: 1, info: 0 } as const;
const summary = (fs: Finding[]): string => fs.map((f) => `${f.severity} ${f.ruleId}: ${f.message} | ${f.evidence ?? ''}`).join('\n');

describe('tf fixtures (bad-* get critical/high, ok-* get nothing, warn-* only medium or lower)', () => {
  for (const rel of modelFiles()) {
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

describe('tf rules', () => {
  const expect: [string, string, string, string][] = [
    ['bad-nested-write/saved_model.pb', 'models/tf-file-write', 'critical', '(graph) → serving_default → inner_fn → WriteFile (node "w")'],
    ['bad-pyfunc/saved_model.pb', 'models/tf-python-op', 'critical', '→ then_fn → EagerPyFunc'],
    ['bad-readfile.pb', 'models/tf-file-read', 'high', 'ReadFile (node "read")'],
    ['bad-immutable-const.pb', 'models/tf-file-read', 'high', '[/etc/passwd]'],
    ['bad-print-to-file.pb', 'models/tf-file-write', 'critical', 'file:///tmp/exfil.txt'],
    ['bad-debug-url.pb', 'models/tf-system-op', 'high', 'grpc://attacker.example:6064'],
    ['bad-asset-escape/saved_model.pb', 'models/tf-file-read', 'high', '../../../etc/passwd'],
    ['bad-keras-lambda/saved_model.pb', 'models/keras-lambda-layer', 'critical', 'object_graph.nodes[0].metadata'],
    ['bad-keras-lambda/keras_metadata.pb', 'models/keras-lambda-layer', 'critical', 'root.metadata'],
    ['bad-truncated/saved_model.pb', 'models/tf-malformed', 'high', 'runs past the end'],
    ['bad-disguised-checkpoint/saved_model.pb', 'models/tf-file-write', 'critical', '__inference__traced_save_20 → SaveV2 (node "SaveV2")'],
    ['bad-disguised-checkpoint/saved_model.pb', 'models/tf-file-write', 'critical', '(graph) → SaveV2 (node "stray_save")'],
    ['warn-vocab-table/saved_model.pb', 'models/tf-file-read', 'medium', 'InitializeTableFromTextFileV2'],
    ['bad-library-first.pb', 'models/tf-file-write', 'critical', '(graph) → writer_fn → WriteFile (node "w")'],
  ];
  for (const [rel, ruleId, severity, evidence] of expect) {
    it(`${rel} → ${ruleId}`, async () => {
      const findings = await scan(rel);
      const hit = findings.find((f) => f.ruleId === ruleId && f.severity === severity && (f.evidence ?? '').includes(evidence));
      assert.ok(hit, summary(findings));
    });
  }

  it('reports a Keras layer found in both the model config and its own node once', async () => {
    const findings = (await scan('bad-keras-lambda/saved_model.pb')).filter((f) => f.ruleId === 'models/keras-lambda-layer');
    assert.equal(findings.length, 1, summary(findings));
  });

  it('records the call path as a property', async () => {
    const [finding] = (await scan('bad-nested-write/saved_model.pb')).filter((f) => f.ruleId === 'models/tf-file-write');
    assert.deepEqual(finding?.properties?.['callPath'], ['(graph)', 'serving_default', 'inner_fn']);
  });
});

describe('tf op tables', () => {
  it('judges attribute-dependent ops by their attributes (boundaries)', () => {
    assert.equal(classifyTfNode('PrintV2', new Map([['output_stream', ['stderr']]])), undefined);
    assert.equal(classifyTfNode('PrintV2', new Map([['output_stream', ['file:///x']]]))?.category, 'file-write');
    assert.equal(classifyTfNode('DebugIdentity', new Map([['debug_urls', []]])), undefined);
    assert.equal(classifyTfNode('DebugIdentity', new Map([['debug_urls', ['file:///dump']]]))?.severity, 'critical');
    assert.equal(classifyTfNode('DecodeProtoV2', new Map([['descriptor_source', ['local://']]])), undefined);
    assert.equal(classifyTfNode('DecodeProtoV2', new Map([['descriptor_source', ['/tmp/d.desc']]]))?.category, 'file-read');
    assert.equal(classifyTfNode('MatMul', new Map()), undefined);
    assert.equal(classifyTfNode('WriteFile', new Map())?.severity, 'critical');
    assert.equal(classifyTfNode('ReadFile', new Map())?.severity, 'high');
  });

  it('classifies TF Python API names', () => {
    assert.equal(classifyTfFunction('io.write_file')?.category, 'file-write');
    assert.equal(classifyTfFunction('tf.compat.v1.py_func')?.category, 'python');
    assert.equal(classifyTfFunction('raw_ops.ReadFile')?.category, 'file-read');
    assert.equal(classifyTfFunction('load_op_library')?.category, 'python');
    assert.equal(classifyTfFunction('math.add'), undefined);
    assert.equal(classifyTfFunction('io.write_filex'), undefined);
  });
});

describe('tf detection by content', () => {
  it('recognises SavedModels, GraphDefs and keras_metadata.pb whatever their names', () => {
    const kinds: Record<string, string> = {};
    for (const rel of modelFiles()) {
      const bytes = readFileSync(join(FIXTURES, rel));
      kinds[rel] = sniffTf(bytes.subarray(0, 65536), bytes.length) ?? 'none';
    }
    assert.equal(kinds['ok-saved-model/saved_model.pb'], 'saved-model');
    assert.equal(kinds['bad-truncated/saved_model.pb'], 'saved-model');
    assert.equal(kinds['ok-frozen-graph.pb'], 'graph-def');
    const libraryFirst = readFileSync(join(FIXTURES, 'bad-library-first.pb'));
    assert.deepEqual(sniffProtobufModel(libraryFirst.subarray(0, 65536), libraryFirst.length).tf, ['saved-model', 'graph-def']);
    assert.equal(kinds['ok-saved-model/keras_metadata.pb'], 'keras-metadata');
    assert.ok(Object.values(kinds).every((k) => k !== 'none'), JSON.stringify(kinds));
  });

  it('does not claim ONNX, JSON, text starting with newlines or zeros', () => {
    for (const rel of ['../onnx/ok-simple.onnx', '../onnx/ok-local-function.onnx', '../keras/ok-keras3.json']) {
      const bytes = readFileSync(join(FIXTURES, rel));
      assert.equal(sniffTf(bytes.subarray(0, 65536), bytes.length), undefined, rel);
    }
    for (const text of ['\n\n\n\nhello world\n', '\n# a comment\nkey: value\n', '\n\x02ab\x12\x03a b']) {
      assert.equal(sniffTf(Buffer.from(text), text.length), undefined, JSON.stringify(text));
    }
    assert.equal(sniffTf(Buffer.alloc(64), 64), undefined);
  });
});

describe('tf bounded work', () => {
  it('skips large constants without reading them', async () => {
    const path = join(FIXTURES, 'ok-frozen-graph.pb');
    const source = await FileSource.open(path);
    try {
      const facts = await analyzeTf(source, 'graph-def');
      assert.deepEqual(facts.problems, []);
      assert.equal(facts.nodes, 4);
      assert.ok(source.size > 2 * 1024 * 1024);
      assert.ok(facts.bytesRead < 600 * 1024, `read ${facts.bytesRead} of ${source.size}`);
    } finally {
      await source.close();
    }
  });

  it('caps reports per rule, most severe first, so that many medium hits cannot hide a critical one', async () => {
    // A tiny protobuf encoder: GraphDef { node: NodeDef { name, op } … }.
    const len = (field: number, data: Buffer): Buffer => Buffer.concat([Buffer.from([(field << 3) | 2]), varint(data.length), data]);
    const varint = (n: number): Buffer => {
      const out: number[] = [];
      for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
      out.push(n);
      return Buffer.from(out);
    };
    const node = (name: string, op: string): Buffer => len(1, Buffer.concat([len(1, Buffer.from(name)), len(2, Buffer.from(op))]));
    const nodes = Array.from({ length: 250 }, (_, i) => node(`table_${i}`, 'InitializeTableFromTextFileV2'));
    const graph = Buffer.concat([...nodes, node('hidden', 'PyFunc'), node('write', 'WriteFile')]);
    const findings = await scanSource('graph.pb', new BufferSource(graph), options);
    assert.ok(findings.some((f) => f.ruleId === 'models/tf-python-op' && f.severity === 'critical'), summary(findings.slice(-3)));
    assert.ok(findings.some((f) => f.ruleId === 'models/tf-file-write' && f.severity === 'critical'), summary(findings.slice(-3)));
    assert.equal(findings.filter((f) => f.ruleId === 'models/tf-file-read').length, 200);
  });

  it('reports a walk that runs out of time as a limit', async () => {
    const bytes = readFileSync(join(FIXTURES, 'bad-nested-write/saved_model.pb'));
    const facts = await analyzeTf(new BufferSource(bytes), 'saved-model', { deadline: Date.now() - 1 });
    assert.deepEqual(facts.problems.map((p) => p.kind), ['limit']);
  });
});

describe('tf fuzz (fixed seed, bounded)', () => {
  it('scans mutated and truncated models without throwing or hanging', async () => {
    const random = mulberry32(0x7f);
    const seeds = ['bad-nested-write/saved_model.pb', 'bad-keras-lambda/saved_model.pb', 'bad-keras-lambda/keras_metadata.pb', 'bad-print-to-file.pb'].map((rel) => readFileSync(join(FIXTURES, rel)));
    let detected = 0;
    for (let i = 0; i < 300; i += 1) {
      const data = Buffer.from(seeds[i % seeds.length] as Buffer);
      const flips = 1 + Math.floor(random() * 8);
      for (let j = 0; j < flips; j += 1) data[4 + Math.floor(random() * (data.length - 4))] = Math.floor(random() * 256);
      const input = random() < 0.25 ? data.subarray(0, 1 + Math.floor(random() * data.length)) : data;
      const findings = await scanSource('fuzz.pb', new BufferSource(input), options);
      assert.ok(!findings.some((f) => f.ruleId === 'core/scan-error'), summary(findings));
      if (sniffTf(input.subarray(0, 65536), input.length) !== undefined) detected += 1;
    }
    assert.ok(detected > 100, `only ${detected} mutants were still recognised`);
  });
});
