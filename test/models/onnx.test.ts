import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { BufferSource, FileSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import type { Scanner } from '../../src/core/scanner.js';
import { scanFile, scanSource } from '../../src/scanners/file-scan.js';
import { analyzeOnnx, classifyLocation, onnxFormat, reportOnnx, sniffOnnx } from '../../src/scanners/models/formats/onnx.js';
import { tfSavedModelFormat } from '../../src/scanners/models/formats/tf-saved-model.js';
import { sniffProtobufModel } from '../../src/scanners/models/protobuf/sniff.js';
import { mulberry32 } from '../support/random.js';

const FIXTURES = 'test/.tmp/fixtures/formats_a/onnx';
// The protobuf formats together: files that fit both ONNX and TensorFlow shapes are read both ways by tf-saved-model.
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
    if (entry.endsWith('.onnx')) out.push(entry);
    else if (statSync(join(FIXTURES, entry)).isDirectory()) out.push(`${entry}/model.onnx`);
  }
  return out;
}

const rank = { critical: 4, high: 3, medium: 2, low: 1, info: 0 } as const;
const summary = (fs: Finding[]): string => fs.map((f) => `${f.severity} ${f.ruleId}: ${f.message}`).join('\n');

describe('onnx fixtures (bad-* get critical/high, ok-* get nothing, warn-* only medium or lower)', () => {
  for (const rel of modelFiles()) {
    it(rel, async () => {
      const findings = await scan(rel);
      assert.ok(!findings.some((f) => f.ruleId === 'core/scan-error'), summary(findings));
      if (rel.startsWith('ok-')) assert.deepEqual(findings, [], summary(findings));
      else if (rel.startsWith('bad-')) assert.ok(findings.some((f) => rank[f.severity] >= rank.high), summary(findings));
      else {
        assert.ok(findings.length > 0, 'expected a finding');
        assert.ok(findings.every((f) => rank[f.severity] <= rank.medium), summary(findings));
      }
    });
  }
});

describe('onnx rules', () => {
  const expect: [string, string, string][] = [
    ['bad-external-absolute/model.onnx', 'models/onnx-external-data-escape', '/etc/passwd'],
    ['bad-external-dotdot/model.onnx', 'models/onnx-external-data-escape', '../../x/weights.bin'],
    ['bad-external-windows/model.onnx', 'models/onnx-external-data-escape', 'Windows'],
    ['bad-external-symlink/model.onnx', 'models/onnx-external-data-escape', 'onnx-outside'],
    ['bad-subgraph-external.onnx', 'models/onnx-external-data-escape', 'then_branch'],
    ['bad-external-range/model.onnx', 'models/onnx-external-data-range', '[4096, 4160) of 64 bytes'],
    ['bad-truncated.onnx', 'models/onnx-malformed', 'runs past the end'],
    ['bad-oversized-field.onnx', 'models/onnx-malformed', 'length 1099511627776'],
    ['bad-nested-overrun.onnx', 'models/onnx-malformed', 'field 3'],
    ['bad-big-docstring-external/model.onnx', 'models/onnx-external-data-escape', '/etc/passwd'],
    ['bad-binary-producer-external/model.onnx', 'models/onnx-external-data-escape', '/etc/passwd'],
    ['bad-reordered-external/model.onnx', 'models/onnx-external-data-escape', '/etc/passwd'],
    ['bad-binary-producer-external/model.onnx', 'models/onnx-malformed', 'producer_name is 70002 bytes'],
    ['warn-custom-domain.onnx', 'models/onnx-custom-domain', 'com.example.ops'],
  ];
  for (const [rel, ruleId, evidence] of expect) {
    it(`${rel} → ${ruleId}`, async () => {
      const findings = await scan(rel);
      const hit = findings.find((f) => f.ruleId === ruleId && `${f.evidence ?? ''} ${f.message}`.includes(evidence));
      assert.ok(hit, summary(findings));
    });
  }

  it('reports the symlink with its resolved target and the range with non-numeric values', async () => {
    const range = await scan('bad-external-range/model.onnx');
    assert.deepEqual(range.map((f) => f.message).filter((m) => m.includes('not a non-negative integer')).length, 2);
  });

  it('checks lexically only when the model is a container member (no directory to resolve against)', async () => {
    const bytes = readFileSync(join(FIXTURES, 'bad-external-absolute/model.onnx'));
    const findings = await scanSource('archive.zip', new BufferSource(bytes), options);
    assert.ok(findings.some((f) => f.ruleId === 'models/onnx-external-data-escape'));
    const fine = await scanSource('archive.zip', new BufferSource(readFileSync(join(FIXTURES, 'ok-external/model.onnx'))), options);
    assert.deepEqual(fine, []);
  });

  it('reports running out of time while checking external files on disk, instead of stopping quietly', async () => {
    const bytes = readFileSync(join(FIXTURES, 'ok-external/model.onnx'));
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'custody-onnx-'));
    try {
      writeFileSync(join(dir, 'model.onnx'), bytes);
      const late: Scanner = {
        name: 'late',
        description: 'reports ONNX facts with the time budget already spent',
        rules: onnxFormat.rules,
        async scan(target, context) {
          const facts = await analyzeOnnx(target.source, {});
          await reportOnnx(facts, target, { ...context, deadline: 0 });
        },
      };
      const findings = await scanFile({ displayPath: 'model.onnx', absPath: join(dir, 'model.onnx'), size: bytes.length }, { ...options, scanners: [late] });
      assert.deepEqual(summary(findings), summary(findings.filter((f) => f.ruleId === 'models/onnx-malformed')));
      assert.equal(findings.length, 1);
      assert.match(findings[0]?.message ?? '', /time budget ran out while checking external-data files/);
      assert.equal(findings[0]?.severity, 'high');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing external file as medium (it cannot be checked)', async () => {
    const bytes = readFileSync(join(FIXTURES, 'ok-external/model.onnx'));
    // Same model, scanned from a directory without its data files.
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'custody-onnx-'));
    try {
      writeFileSync(join(dir, 'model.onnx'), bytes);
      const findings = await scanFile({ displayPath: 'model.onnx', absPath: join(dir, 'model.onnx'), size: bytes.length }, options);
      assert.ok(findings.length > 0);
      assert.ok(findings.every((f) => f.ruleId === 'models/onnx-external-data-range' && f.severity === 'medium'), summary(findings));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('classifyLocation', () => {
  const cases: [string, string | undefined][] = [
    ['weights.bin', undefined],
    ['data/w.bin', undefined],
    ['./data/../w.bin', undefined],
    ['a/../../w.bin', 'traversal'],
    ['../w.bin', 'traversal'],
    ['..\\w.bin', 'traversal'],
    ['..weights.bin', undefined],
    ['/etc/passwd', 'absolute'],
    ['\\\\server\\share\\w', 'absolute'],
    ['C:\\w.bin', 'absolute'],
    ['c:w.bin', 'absolute'],
    ['file:///etc/passwd', 'notPath'],
    ['https://example.com/w', 'notPath'],
    ['~/w.bin', 'notPath'],
    ['w.bin\0.txt', 'notPath'],
  ];
  for (const [location, expected] of cases) {
    it(`${JSON.stringify(location)} → ${expected ?? 'inside'}`, () => {
      assert.equal(classifyLocation(location), expected);
    });
  }
});

describe('onnx detection by content', () => {
  it('recognises every fixture model whatever its name (as ONNX, possibly among other readings)', () => {
    for (const rel of modelFiles()) {
      const head = readFileSync(join(FIXTURES, rel)).subarray(0, 65536);
      assert.notEqual(sniffProtobufModel(head, statSync(join(FIXTURES, rel)).size).onnx, undefined, rel);
    }
  });

  it('reads files that also fit a TensorFlow shape both ways', () => {
    const binary = readFileSync(join(FIXTURES, 'bad-binary-producer-external/model.onnx'));
    assert.deepEqual(sniffProtobufModel(binary.subarray(0, 65536), binary.length), { onnx: 'loose', tf: ['saved-model'] });
    const doc = readFileSync(join(FIXTURES, 'ok-big-docstring.onnx'));
    assert.deepEqual(sniffProtobufModel(doc.subarray(0, 65536), doc.length), { onnx: 'loose', tf: [] });
    const saved = readFileSync(join(FIXTURES, '../tf/ok-saved-model/saved_model.pb'));
    assert.deepEqual(sniffProtobufModel(saved.subarray(0, 65536), saved.length), { onnx: 'loose', tf: ['saved-model'] });
  });

  it('does not claim SavedModels, GraphDefs, JSON, zeros or other protobufs', () => {
    const others = ['../tf/ok-saved-model/saved_model.pb', '../tf/ok-frozen-graph.pb', '../tf/ok-saved-model/keras_metadata.pb', '../keras/ok-keras3.json'];
    for (const rel of others) {
      const bytes = readFileSync(join(FIXTURES, rel));
      assert.equal(sniffOnnx(bytes.subarray(0, 65536), bytes.length), false, rel);
    }
    assert.equal(sniffOnnx(Buffer.alloc(100), 100), false);
    // fingerprint.pb-like: field 1 is a 64-bit checksum, not an IR version.
    assert.equal(sniffOnnx(Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x10, 0x01]), 8), false);
    // ir_version and a producer name but no graph or opset: not enough to claim it.
    assert.equal(sniffOnnx(Buffer.from([0x08, 0x07, 0x12, 0x01, 0x61]), 5), false);
  });
});

describe('onnx bounded work', () => {
  it('walks a model with embedded weights without reading the weights', async () => {
    const path = join(FIXTURES, 'ok-large-embedded.onnx');
    const source = await FileSource.open(path);
    try {
      const facts = await analyzeOnnx(source);
      assert.deepEqual(facts.problems, []);
      assert.equal(facts.nodes, 2);
      assert.ok(source.size > 2 * 1024 * 1024);
      assert.ok(facts.bytesRead < 600 * 1024, `read ${facts.bytesRead} of ${source.size} bytes`);
    } finally {
      await source.close();
    }
  });

  it('reports external-data tensors past the kept number as a limit, not a pass', async () => {
    const bytes = readFileSync(join(FIXTURES, 'ok-external/model.onnx')); // three external tensors
    const all = await analyzeOnnx(new BufferSource(bytes), { maxExternalRefs: 3 });
    assert.deepEqual([all.external.length, all.problems], [3, []]);
    const capped = await analyzeOnnx(new BufferSource(bytes), { maxExternalRefs: 2 });
    assert.deepEqual([capped.external.length, capped.problems.map((p) => p.kind)], [2, ['limit']]);
  });

  it('reports a parse that runs out of time as a limit, not a pass', async () => {
    const bytes = readFileSync(join(FIXTURES, 'ok-simple.onnx'));
    const facts = await analyzeOnnx(new BufferSource(bytes), { deadline: Date.now() - 1, inMemoryBytes: 0 });
    assert.deepEqual(facts.problems.map((p) => p.kind), ['limit']);
  });
});

describe('onnx fuzz (fixed seed, bounded)', () => {
  it('scans mutated and truncated models without throwing or hanging', async () => {
    const random = mulberry32(0x0a11);
    const seeds = ['ok-simple.onnx', 'ok-local-function.onnx', 'bad-subgraph-external.onnx', 'ok-external/model.onnx'].map((rel) => readFileSync(join(FIXTURES, rel)));
    let detected = 0;
    for (let i = 0; i < 300; i += 1) {
      const data = Buffer.from(seeds[i % seeds.length] as Buffer);
      const flips = 1 + Math.floor(random() * 8);
      for (let j = 0; j < flips; j += 1) data[2 + Math.floor(random() * (data.length - 2))] = Math.floor(random() * 256);
      const input = random() < 0.25 ? data.subarray(0, 1 + Math.floor(random() * data.length)) : data;
      const findings = await scanSource('fuzz.onnx', new BufferSource(input), options);
      assert.ok(!findings.some((f) => f.ruleId === 'core/scan-error'), summary(findings));
      if (sniffOnnx(input.subarray(0, 65536), input.length)) detected += 1;
    }
    assert.ok(detected > 100, `only ${detected} mutants were still recognised as ONNX`);
  });
});
