// GGUF: header bounds, tensor ranges (ggml block sizes), chat templates with positions; fixtures from
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
import { modelsScanner } from '../../src/scanners/models/index.js';

const ROOT = 'test/.tmp/fixtures/formats_b/gguf';

async function scanDir(dir: string): Promise<Map<string, Finding[]>> {
  const result = await runScan({ paths: [dir], only: ['models'], jobs: 0 });
  const byFile = new Map<string, Finding[]>();
  for (const name of readdirSync(dir)) byFile.set(name, []);
  for (const f of result.findings) byFile.get(f.location.path.split('/').pop() as string)?.push(f);
  return byFile;
}

function scanBytes(bytes: Buffer): Promise<Finding[]> {
  return scanSource('mem.gguf', new BufferSource(bytes), { scanners: [modelsScanner], config: defaultConfig(), knownRuleIds: new Set() });
}

/** A minimal GGUF v3 writer for boundary cases (the generator covers the rest). */
function gguf(kvs: [string, string][], tensors: { name: string; dims: number[]; type: number; offset: number }[], dataBytes: number): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
  const u64 = (n: number | bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
  const str = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
  parts.push(Buffer.from('GGUF'), u32(3), u64(tensors.length), u64(kvs.length));
  for (const [k, v] of kvs) parts.push(str(k), u32(8), str(v));
  for (const t of tensors) parts.push(str(t.name), u32(t.dims.length), ...t.dims.map(u64), u32(t.type), u64(t.offset));
  let out = Buffer.concat(parts);
  out = Buffer.concat([out, Buffer.alloc((32 - (out.length % 32)) % 32), Buffer.alloc(dataBytes)]);
  return out;
}

const ids = (findings: readonly Finding[]): string[] => [...new Set(findings.map((f) => f.ruleId))].sort();
const severe = (findings: readonly Finding[]): Finding[] => findings.filter((f) => f.severity === 'critical' || f.severity === 'high');

describe('GGUF format', () => {
  it('passes well-formed files: v1, v2, v3, big-endian, alignment 64, nested arrays, benign chat templates', async () => {
    const byFile = await scanDir(join(ROOT, 'good'));
    assert.ok(byFile.size >= 8);
    for (const [name, findings] of byFile) assert.deepEqual(findings.map((f) => f.message), [], name);
  });

  it('reports every malformed header, lying tensor and malicious template at high or critical', async () => {
    const byFile = await scanDir(join(ROOT, 'bad'));
    assert.ok(byFile.size >= 30);
    for (const [name, findings] of byFile) {
      const rule = name.startsWith('template_') ? 'models/gguf-chat-template-injection' : name.startsWith('tensor_') ? 'models/gguf-tensor-invalid' : 'models/gguf-header-invalid';
      assert.ok(severe(findings).some((f) => f.ruleId === rule), `${name}: ${findings.map((f) => `${f.severity} ${f.ruleId}`).join(', ')}`);
    }
  });

  it('reports unknown tensor types, gaps and unreadable templates at medium only', async () => {
    const byFile = await scanDir(join(ROOT, 'medium'));
    for (const [name, findings] of byFile) {
      assert.ok(findings.length > 0, name);
      assert.ok(findings.every((f) => f.severity === 'medium'), `${name}: ${findings.map((f) => `${f.severity} ${f.message}`).join(' | ')}`);
    }
  });

  it('reports the template construct with its line and column and the byte offset in the file', async () => {
    const template = '{% for m in messages %}\n{{ m.content }}\n  {{ x.__class__ }}';
    const bytes = gguf([['tokenizer.chat_template', template]], [], 0);
    const findings = await scanBytes(bytes);
    const hit = findings.find((f) => f.ruleId === 'models/gguf-chat-template-injection');
    assert.ok(hit, ids(findings).join());
    assert.equal(hit.severity, 'critical');
    assert.match(hit.message, /line 3, column 7/);
    assert.equal(hit.properties?.['templateLine'], 3);
    const at = hit.location.offset as number;
    assert.equal(bytes.subarray(at, at + 10).toString(), '.__class__');
  });

  it('checks tensor sizes with quantised block sizes at the boundary', async () => {
    // Q4_K: 256 elements per 144-byte block. [512, 2] = 4 blocks = 576 bytes.
    const exact = gguf([], [{ name: 'w', dims: [512, 2], type: 12, offset: 0 }], 576);
    assert.deepEqual(ids(await scanBytes(exact)), []);
    const short = gguf([], [{ name: 'w', dims: [512, 2], type: 12, offset: 0 }], 575);
    assert.deepEqual(ids(await scanBytes(short)), ['models/gguf-tensor-invalid']);
    const notMultiple = gguf([], [{ name: 'w', dims: [255, 2], type: 12, offset: 0 }], 576);
    assert.deepEqual(ids(await scanBytes(notMultiple)), ['models/gguf-tensor-invalid']);
  });

  it('treats tensors placed one after another (aligned) as contiguous, and one byte of overlap as overlap', async () => {
    const ok = gguf([], [{ name: 'a', dims: [8], type: 0, offset: 0 }, { name: 'b', dims: [8], type: 0, offset: 32 }], 64);
    assert.deepEqual(ids(await scanBytes(ok)), []);
    const overlapping = gguf([], [{ name: 'a', dims: [9], type: 0, offset: 0 }, { name: 'b', dims: [8], type: 0, offset: 32 }], 64);
    const findings = await scanBytes(overlapping);
    assert.ok(findings.some((f) => f.severity === 'high' && /overlaps/.test(f.message)), findings.map((f) => f.message).join());
  });

  it('caps findings per kind, so that many medium ones cannot hide a high one', async () => {
    // 25 tensors with names longer than ggml allows (medium), then one that runs past the end (high).
    const tensors = Array.from({ length: 25 }, (_, i) => ({ name: `${'n'.repeat(70)}${i}`, dims: [8], type: 0, offset: i * 32 }));
    tensors.push({ name: 'last', dims: [8], type: 0, offset: 25 * 32 + 4096 });
    const findings = await scanBytes(gguf([], tensors, 26 * 32));
    assert.equal(findings.filter((f) => /exceeds the 63-byte limit/.test(f.message)).length, 20);
    assert.ok(findings.some((f) => f.severity === 'high' && /past the end/.test(f.message)), findings.map((f) => f.message).join(' | '));
  });

  it('stops at the deadline and reports the header as not fully read', async () => {
    const config = defaultConfig();
    config.limits.fileTimeoutMs = -1_000; // a deadline already past
    const bytes = gguf([['general.name', 'x']], [], 0);
    const findings = await scanSource('late.gguf', new BufferSource(bytes), { scanners: [modelsScanner], config, knownRuleIds: new Set() });
    assert.ok(findings.some((f) => f.ruleId === 'models/gguf-header-invalid' && /time limit/.test(f.message)), findings.map((f) => f.message).join());
  });

  it('reads a vocabulary-sized metadata array without reporting it', async () => {
    // 50,000 tokens of 8 bytes each, written as a string array.
    const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
    const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
    const tokens: Buffer[] = [];
    for (let i = 0; i < 50_000; i++) tokens.push(u64(8), Buffer.from(`tok${String(i).padStart(5, '0')}`));
    const key = 'tokenizer.ggml.tokens';
    const body = Buffer.concat([Buffer.from('GGUF'), u32(3), u64(0), u64(1), u64(key.length), Buffer.from(key), u32(9), u32(8), u64(50_000), ...tokens]);
    assert.deepEqual(ids(await scanBytes(body)), []);
  });
});
