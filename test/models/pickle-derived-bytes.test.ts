// Bytes a pickle computes at load time (zlib.decompress, gzip.decompress, codecs.decode(…, 'zlib')) and
// hands to a loader: the analyser decodes them (bounded by maxDerivedBytes) and analyses the pickle they
// hold. Output beyond the bound is never a silent pass: the inner payload goes unread, so it is a
// models/pickle-limit-exceeded finding.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import type { Finding } from '../../src/core/finding.js';
import { containersScanner } from '../../src/scanners/containers/index.js';
import { scanSource } from '../../src/scanners/file-scan.js';
import { allRules } from '../../src/scanners/index.js';
import { modelsScanner } from '../../src/scanners/models/index.js';
import { analyseStream, DEFAULT_ANALYSER_LIMITS } from '../../src/scanners/models/pickle/analyser.js';
import { compileAllow } from '../../src/scanners/models/pickle/classify.js';
import { PickleCollector } from '../../src/scanners/models/pickle/collector.js';

const MIB = 1024 * 1024;

/** os.system('echo pwned'), then `padding` zero bytes (pickle.loads stops at STOP and ignores them). */
function innerPayload(padding: number): Buffer {
  return Buffer.concat([Buffer.from("\x80\x02cos\nsystem\nX\x0a\x00\x00\x00echo pwned\x85R.", 'latin1'), Buffer.alloc(padding)]);
}

/** BINBYTES (protocol 3): a bytes constant of any length. */
function binbytes(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32LE(data.length);
  return Buffer.concat([Buffer.from('B', 'latin1'), length, data]);
}

/** pickle.loads(<module>.<name>(<bytes>[, <encoding>])) as a protocol-3 pickle. */
function loadsOf(module: string, name: string, compressed: Buffer, encoding?: string): Buffer {
  const args = encoding === undefined ? [binbytes(compressed), Buffer.from('\x85', 'latin1')] : [binbytes(compressed), Buffer.from(`X${String.fromCharCode(encoding.length)}\x00\x00\x00${encoding}\x86`, 'latin1')];
  return Buffer.concat([
    Buffer.from(`\x80\x03cpickle\nloads\nc${module}\n${name}\n`, 'latin1'),
    ...args,
    Buffer.from('R\x85R.', 'latin1'),
  ]);
}

const CASES: [string, (inner: Buffer) => Buffer][] = [
  ['zlib.decompress', (inner) => loadsOf('zlib', 'decompress', deflateSync(inner))],
  ['gzip.decompress', (inner) => loadsOf('gzip', 'decompress', gzipSync(inner))],
  ["codecs.decode(…, 'zlib')", (inner) => loadsOf('codecs', 'decode', deflateSync(inner), 'zlib')],
];

function analyse(data: Buffer, maxDerivedBytes: number): PickleCollector {
  const collector = new PickleCollector(compileAllow([]));
  analyseStream(data, 0, collector, { deadline: Date.now() + 60_000, limits: { ...DEFAULT_ANALYSER_LIMITS, maxDerivedBytes }, joblib: true, depth: 0, lenient: false });
  return collector;
}

describe('pickle: bytes decompressed at load time', () => {
  for (const [label, build] of CASES) {
    it(`${label}: within the bound, the inner pickle is analysed and no limit is reported`, () => {
      const collector = analyse(build(innerPayload(1000)), 4096);
      assert.equal(collector.nested.length, 1, 'the decompressed pickle is followed');
      assert.ok(collector.nested[0]?.bytes.subarray(0, 2).equals(Buffer.from([0x80, 0x02])));
      assert.deepEqual(collector.limits, []);
    });

    it(`${label}: past the bound, the cut is a limit event (not a silent undefined)`, () => {
      const collector = analyse(build(innerPayload(8192)), 4096);
      assert.equal(collector.nested.length, 0, 'nothing beyond the bound is followed');
      const limits = collector.limits.filter((e) => e.kind === 'derived');
      assert.equal(limits.length, 1, JSON.stringify(collector.limits));
      assert.equal(limits[0]?.limit, 4096);
    });
  }

  it('corrupt compressed data is not a limit (Python raises, nothing loads)', () => {
    const data = loadsOf('zlib', 'decompress', Buffer.from('x\x9cthis is not deflate data at all', 'latin1'));
    const collector = analyse(data, 4096);
    assert.equal(collector.nested.length, 0);
    assert.deepEqual(collector.limits, []);
  });

  it('a scan reports models/pickle-limit-exceeded (high) when the decompressed payload exceeds the default bound', async () => {
    const over = DEFAULT_ANALYSER_LIMITS.maxDerivedBytes + MIB;
    const data = loadsOf('zlib', 'decompress', deflateSync(innerPayload(over)));
    const findings: Finding[] = await scanSource('nested.pkl', new BufferSource(data), { scanners: [containersScanner, modelsScanner], config: defaultConfig(), knownRuleIds: new Set(allRules().map((r) => r.id)) });
    const limit = findings.find((f) => f.ruleId === 'models/pickle-limit-exceeded');
    assert.ok(limit, JSON.stringify(findings.map((f) => [f.ruleId, f.message])));
    assert.equal(limit.severity, 'high');
    assert.match(limit.message, new RegExp(`${DEFAULT_ANALYSER_LIMITS.maxDerivedBytes}`));
  });
});
