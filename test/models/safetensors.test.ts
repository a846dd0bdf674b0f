// safetensors: header, range, layout, dtype and metadata checks against fixtures from
// scripts/fixtures/gen_formats_b.py (good/ → no finding, bad/ → high or critical, medium/ → medium only).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { runScan } from '../../src/scanners/engine.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { MODEL_FORMATS, modelsScanner } from '../../src/scanners/models/index.js';

const ROOT = 'test/.tmp/fixtures/formats_b/safetensors';

async function scanDir(dir: string): Promise<Map<string, Finding[]>> {
  const result = await runScan({ paths: [dir], only: ['models'], jobs: 0 });
  const byFile = new Map<string, Finding[]>();
  for (const name of readdirSync(dir)) byFile.set(name, []);
  for (const f of result.findings) byFile.get(f.location.path.split('/').pop() as string)?.push(f);
  return byFile;
}

function scanBytes(bytes: Buffer): Promise<Finding[]> {
  return scanSource('mem.bin', new BufferSource(bytes), { scanners: [modelsScanner], config: defaultConfig(), knownRuleIds: new Set() });
}

function safetensors(header: unknown, data: Buffer, lengthOverride?: bigint): Buffer {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(text.length));
  return Buffer.concat([prefix, text, data]);
}

const ids = (findings: readonly Finding[]): string[] => [...new Set(findings.map((f) => f.ruleId))].sort();

describe('safetensors format', () => {
  it('detects safetensors by content, whatever the name', () => {
    const format = MODEL_FORMATS.find((f) => f.name === 'safetensors');
    assert.ok(format);
    const bytes = safetensors({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4));
    assert.equal(format.detect({ path: 'weights.bin', source: new BufferSource(bytes), head: bytes, depth: 0 }), true);
    // A JSON text file whose 9th byte is '{' is not safetensors (its "length" is text).
    const json = Buffer.from('[\n      {"dtype": "F32"}]\n');
    assert.equal(format.detect({ path: 'x.json', source: new BufferSource(json), head: json, depth: 0 }), false);
  });

  it('passes every well-formed file (padding, metadata, zero-sized, scalars, sub-byte dtypes, unordered entries)', async () => {
    const byFile = await scanDir(join(ROOT, 'good'));
    assert.ok(byFile.size >= 7);
    for (const [name, findings] of byFile) assert.deepEqual(findings.map((f) => f.message), [], name);
  });

  it('reports every lying or malformed file at high or critical severity, with the expected rule', async () => {
    const byFile = await scanDir(join(ROOT, 'bad'));
    const expected: Record<string, string> = {
      'header_too_large.safetensors': 'models/safetensors-header-invalid',
      'header_beyond_file.safetensors': 'models/safetensors-header-invalid',
      'header_huge_u64.safetensors': 'models/safetensors-header-invalid',
      'not_json.safetensors': 'models/safetensors-header-invalid',
      'not_object.safetensors': 'models/safetensors-header-invalid',
      'deep_json.safetensors': 'models/safetensors-header-invalid',
      'duplicate_key.safetensors': 'models/safetensors-header-invalid',
      'entry_missing_dtype.safetensors': 'models/safetensors-header-invalid',
      'entry_negative_shape.safetensors': 'models/safetensors-header-invalid',
      'entry_float_offsets.safetensors': 'models/safetensors-header-invalid',
      'size_mismatch.safetensors': 'models/safetensors-range-invalid',
      'out_of_bounds.safetensors': 'models/safetensors-range-invalid',
      'reversed_range.safetensors': 'models/safetensors-range-invalid',
      'overlap.safetensors': 'models/safetensors-range-invalid',
      'huge_shape.safetensors': 'models/safetensors-range-invalid',
      'sub_byte_misfit.safetensors': 'models/safetensors-range-invalid',
    };
    assert.deepEqual([...byFile.keys()].sort(), Object.keys(expected).sort());
    for (const [name, findings] of byFile) {
      const severe = findings.filter((f) => f.severity === 'critical' || f.severity === 'high');
      assert.ok(severe.some((f) => f.ruleId === expected[name]), `${name}: ${ids(findings).join(', ')}`);
    }
  });

  it('reports oddities (gaps, trailing bytes, unknown dtypes, non-string metadata) at medium only', async () => {
    const byFile = await scanDir(join(ROOT, 'medium'));
    const expected: Record<string, string> = {
      'gap.safetensors': 'models/safetensors-layout-gap',
      'trailing.safetensors': 'models/safetensors-layout-gap',
      'unknown_dtype.safetensors': 'models/safetensors-unknown-dtype',
      'metadata_nested.safetensors': 'models/safetensors-metadata-invalid',
      'metadata_not_object.safetensors': 'models/safetensors-metadata-invalid',
    };
    for (const [name, findings] of byFile) {
      assert.deepEqual(ids(findings), [expected[name]], name);
      assert.ok(findings.every((f) => f.severity === 'medium'), name);
    }
  });

  it('checks sizes at the boundary: one byte short or long is a mismatch, exact is not', async () => {
    const entry = (end: number) => ({ w: { dtype: 'BF16', shape: [3, 5], data_offsets: [0, end] } });
    assert.deepEqual(ids(await scanBytes(safetensors(entry(30), Buffer.alloc(30)))), []);
    assert.deepEqual(ids(await scanBytes(safetensors(entry(29), Buffer.alloc(29)))), ['models/safetensors-range-invalid']);
    assert.deepEqual(ids(await scanBytes(safetensors(entry(31), Buffer.alloc(31)))), ['models/safetensors-range-invalid']);
  });

  it('accepts the largest header length that fits and refuses one byte more', async () => {
    const header = JSON.stringify({ w: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } });
    const exact = safetensors(header, Buffer.alloc(2));
    assert.deepEqual(ids(await scanBytes(exact)), []);
    const lying = safetensors(header, Buffer.alloc(2), BigInt(header.length + 3));
    const findings = await scanBytes(lying);
    assert.ok(findings.some((f) => f.ruleId === 'models/safetensors-header-invalid' && f.severity === 'high'), ids(findings).join());
  });

  it('stops at the deadline and reports the header as not fully checked', async () => {
    const config = defaultConfig();
    config.limits.fileTimeoutMs = -1_000; // a deadline already past
    const bytes = safetensors({ w: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1));
    const findings = await scanSource('late.safetensors', new BufferSource(bytes), { scanners: [modelsScanner], config, knownRuleIds: new Set() });
    assert.ok(findings.some((f) => f.ruleId === 'models/safetensors-header-invalid' && /time limit/.test(f.message)), findings.map((f) => f.message).join());
  });

  it('gives the file offset of a tensor range finding', async () => {
    const header = JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } });
    const findings = await scanBytes(safetensors(header, Buffer.alloc(12)));
    const overlap = findings.find((f) => f.ruleId === 'models/safetensors-range-invalid');
    assert.equal(overlap?.location.offset, 8 + header.length + 4);
  });

  it('caps findings per rule so a header with hundreds of bad entries stays small', async () => {
    const header: Record<string, unknown> = {};
    for (let i = 0; i < 500; i++) header[`t${i}`] = { dtype: 'F32', shape: [4], data_offsets: [0, 4] };
    const findings = await scanBytes(safetensors(header, Buffer.alloc(4)));
    assert.ok(findings.length <= 40, `${findings.length} findings`);
  });
});
