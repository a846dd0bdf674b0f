import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { defaultConfig } from '../../src/core/config.js';
import { sniffWrapper } from '../../src/scanners/models/containers/compressed-scan.js';
import { decodeBounded, zstdWindowSize } from '../../src/scanners/models/containers/decompress.js';
import { decodeLz4Frames } from '../../src/scanners/models/containers/lz4.js';
import { FIXTURES, analysed, caught, containerFindings, hasHigh, scanBuffer, scanFixture, withRule } from './containers-support.js';

const far = (): number => Date.now() + 60_000;

describe('bounded decoders', () => {
  it('decodes an LZ4 frame with literals, an overlapping match and the end mark', () => {
    const chunks: Uint8Array[] = [];
    decodeLz4Frames(readFileSync(`${FIXTURES}/compressed/repeat.lz4`), (b) => chunks.push(b));
    assert.equal(Buffer.concat(chunks).toString('latin1'), 'abcd'.repeat(16) + 'ENDED');
  });

  it('rejects LZ4 data that is not a frame, and a match before the start', () => {
    assert.throws(() => decodeLz4Frames(Buffer.from('not lz4'), () => undefined), /not an LZ4 frame|truncated/);
    const frame = Buffer.from(readFileSync(`${FIXTURES}/compressed/repeat.lz4`));
    frame.writeUInt16LE(40, 7 + 4 + 5); // offset 40 with only 4 bytes decoded
    assert.throws(() => decodeLz4Frames(frame, () => undefined), /before the data/);
  });

  it('decodes LZMA-alone streams with any lc/lp/pb, and stops at damage with the decoded part', async () => {
    const plain = readFileSync(`${FIXTURES}/compressed/lzma-plain.bin`);
    for (const file of ['lzma-lc0-lp2-pb0.lzma', 'lzma-lc4-pb4.lzma']) {
      const data = readFileSync(`${FIXTURES}/compressed/${file}`);
      const whole = await decodeBounded('lzma-alone', data, { maxOutput: 1 << 30, deadline: far() });
      assert.equal(whole.complete, true, file);
      assert.ok(whole.output.equals(plain), file);
      const cut = await decodeBounded('lzma-alone', data.subarray(0, data.length >> 1), { maxOutput: 1 << 30, deadline: far() });
      assert.match(cut.error ?? '', /end of LZMA input/);
      assert.ok(cut.output.length > 0 && plain.subarray(0, cut.output.length).equals(cut.output));
      const capped = await decodeBounded('lzma-alone', data, { maxOutput: 1000, deadline: far() });
      assert.equal(capped.stopped, 'limit');
      assert.ok(capped.output.equals(plain.subarray(0, 1000)));
    }
  });

  it('stops at maxOutput and says so', async () => {
    const big = gzipSync(Buffer.alloc(4 * 1024 * 1024));
    const result = await decodeBounded('gzip', big, { maxOutput: 1000, deadline: far() });
    assert.equal(result.output.length, 1000);
    assert.equal(result.stopped, 'limit');
    assert.equal(result.complete, false);
    const whole = await decodeBounded('gzip', big, { maxOutput: 8 * 1024 * 1024, deadline: far() });
    assert.equal(whole.complete, true);
    assert.equal(whole.output.length, 4 * 1024 * 1024);
  });

  it('reads the window a zstd frame asks for before allocating it', () => {
    assert.equal(zstdWindowSize(readFileSync(`${FIXTURES}/compressed/payload.pkl.zst`)), 37);
    const huge = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8]); // window descriptor 2^41
    assert.ok((zstdWindowSize(huge) ?? 0) > 2 ** 40);
  });

  it('refuses a zstd frame that asks for a huge window (damage, not an allocation)', async () => {
    const huge = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0, 0, 0, 0]);
    const result = await decodeBounded('zstd', huge, { maxOutput: 1024, deadline: far() });
    assert.match(result.error ?? '', /window/);
  });

  it('sniffs wrappers by magic, not by name', () => {
    assert.equal(sniffWrapper(readFileSync(`${FIXTURES}/compressed/payload-zf.pkl`))?.label, 'joblib ZF (zlib)');
    assert.equal(sniffWrapper(readFileSync(`${FIXTURES}/compressed/payload.joblib.z`))?.codec, 'zlib');
    assert.equal(sniffWrapper(Buffer.from('BZh9 is not bzip2 without a block magic')), undefined);
    // 'x^' is a valid zlib header: a weak magic, reported as damaged only if something decodes.
    assert.equal(sniffWrapper(Buffer.from('x^ text'))?.strong, false);
  });
});

describe('compressed wrappers: the pickle inside is scanned', () => {
  const cases: [string, string][] = [
    ['payload.pkl.gz', 'payload.pkl'],
    ['payload.pkl.bz2', 'payload.pkl'],
    ['payload.pkl.xz', 'payload.pkl'],
    ['payload.pkl.zst', 'payload.pkl'],
    ['payload.pkl.lz4', 'payload.pkl'],
    ['payload.pkl.lzma', 'payload.pkl'],
    ['payload.joblib.z', 'payload.joblib'],
    ['payload-zf.pkl', 'zlib content'],
    ['double.pkl.bz2.gz', 'double.pkl.bz2!double.pkl'],
    ['torch.pt.gz', 'torch.pt!archive/data.pkl'],
  ];
  for (const [file, member] of cases) {
    it(`${file} → ${member}`, async () => {
      const outcome = await scanFixture(`compressed/${file}`);
      assert.deepEqual(outcome.payloadAt, [member]);
      assert.deepEqual(containerFindings(outcome.findings), []);
      assert.ok(analysed(outcome));
    });
  }

  it('reports nothing for clean compressed files and look-alikes', async () => {
    for (const file of ['benign.pkl.gz', 'text.txt.gz', 'x-caret.txt', 'repeat.lz4']) {
      const { findings, payloadAt } = await scanFixture(`compressed/${file}`);
      assert.deepEqual(containerFindings(findings), [], file);
      assert.deepEqual(payloadAt, []);
    }
  });
});

describe('compressed-stream-damaged', () => {
  for (const file of ['truncated.pkl.gz', 'truncated.pkl.bz2', 'truncated.pkl.xz', 'truncated.pkl.lz4', 'truncated.pkl.lzma', 'corrupt.pkl.gz']) {
    it(`${file}: reported high, and the payload before the damage is scanned`, async () => {
      const outcome = await scanFixture(`compressed/${file}`);
      assert.ok(hasHigh(outcome.findings, 'models/compressed-stream-damaged'), JSON.stringify(outcome.findings));
      assert.equal(outcome.payloadAt.length, 1);
      assert.ok(caught(outcome) && analysed(outcome));
    });
  }

  it('an intact stream is not damaged (negative), even with a gzip of a gzip', async () => {
    const inner = gzipSync(Buffer.from('hello'));
    const { findings } = await scanBuffer('x.gz.gz', gzipSync(inner));
    assert.deepEqual(containerFindings(findings), []);
  });

  it('a strong-magic stream with nothing decodable is damaged', async () => {
    const { findings } = await scanBuffer('x.gz', Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff]));
    assert.ok(hasHigh(findings, 'models/compressed-stream-damaged'));
  });
});

describe('archive-limit-exceeded on compressed streams', () => {
  it('a bomb ratio is reported (medium) and the output still scanned', async () => {
    const { findings, members } = await scanFixture('compressed/bomb.gz');
    const hits = withRule(findings, 'models/archive-limit-exceeded');
    assert.equal(hits.length, 1);
    assert.equal(hits[0]?.severity, 'medium');
    assert.ok(members.includes('bomb'));
  });

  it('output past maxMemberBytes is cut and reported high', async () => {
    const config = defaultConfig();
    config.limits.maxMemberBytes = 1024 * 1024;
    const { findings } = await scanFixture('compressed/bomb.gz', config);
    assert.ok(withRule(findings, 'models/archive-limit-exceeded').some((f) => f.severity === 'high' && /maxMemberBytes/.test(f.message)));
  });

  it('output exactly at the limit is not reported', async () => {
    const config = defaultConfig();
    config.limits.maxMemberBytes = 1000;
    const { findings } = await scanBuffer('a.gz', gzipSync(Buffer.alloc(1000, 1)), config);
    assert.deepEqual(containerFindings(findings), []);
  });
});
