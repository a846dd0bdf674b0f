import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { crc32, gzipSync } from 'node:zlib';
import { BufferSource } from '../../src/core/byte-source.js';
import { defaultConfig } from '../../src/core/config.js';
import { sniffWrapper } from '../../src/scanners/containers/compressed.js';
import { decodeToSource, zstdWindowSize, type Codec, type DecodeOptions } from '../../src/scanners/containers/decompress.js';
import { decodeLz4Frames } from '../../src/scanners/containers/lz4.js';
import { FIXTURES, PAYLOAD_HEAD, analysed, caught, containerFindings, hasHigh, scanBuffer, scanFixture, withRule } from './containers-support.js';

const far = (): number => Date.now() + 60_000;

/** Decodes `input` whole into one Buffer (small test inputs only: the product always keeps the spool). */
async function decodeBounded(codec: Codec, input: Buffer, options: DecodeOptions): Promise<{ output: Buffer; complete: boolean; stopped?: string; error?: string }> {
  const decoded = await decodeToSource(codec, new BufferSource(input), { ...options, memoryBytes: Number.POSITIVE_INFINITY });
  try {
    const output = await decoded.source.read(0, decoded.size);
    return { output, complete: decoded.complete, ...(decoded.stopped === undefined ? {} : { stopped: decoded.stopped }), ...(decoded.error === undefined ? {} : { error: decoded.error }) };
  } finally {
    await decoded.dispose();
  }
}

describe('bounded decoders', () => {
  it('decodes an LZ4 frame with literals, an overlapping match and the end mark', async () => {
    const chunks: Uint8Array[] = [];
    await decodeLz4Frames(new BufferSource(readFileSync(`${FIXTURES}/compressed/repeat.lz4`)), (b) => chunks.push(Buffer.from(b)));
    assert.equal(Buffer.concat(chunks).toString('latin1'), 'abcd'.repeat(16) + 'ENDED');
  });

  it('rejects LZ4 data that is not a frame, and a match before the start', async () => {
    await assert.rejects(decodeLz4Frames(new BufferSource(Buffer.from('not lz4')), () => undefined), /not an LZ4 frame|truncated/);
    const frame = Buffer.from(readFileSync(`${FIXTURES}/compressed/repeat.lz4`));
    frame.writeUInt16LE(40, 7 + 4 + 5); // offset 40 with only 4 bytes decoded
    await assert.rejects(decodeLz4Frames(new BufferSource(frame), () => undefined), /before the data/);
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

  it('checks the window of every zstd frame, not only the first, before the decoder allocates it', async () => {
    /** A frame (window 2^log, not single-segment) holding `data` in one raw block. */
    const frame = (log: number, data: Buffer): Buffer => {
      const block = (data.length << 3) | 1;
      return Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (log - 10) << 3, block & 0xff, (block >> 8) & 0xff, block >> 16]), data]);
    };
    const small = frame(20, Buffer.from('first frame '));
    const fine = await decodeBounded('zstd', Buffer.concat([small, frame(27, Buffer.from('second'))]), { maxOutput: 1 << 20, deadline: far() });
    assert.equal(fine.complete, true, fine.error);
    assert.equal(fine.output.toString(), 'first frame second');
    // 2^30 bytes: more than zstd's own default limit (128 MiB); refused as damage after the first frame.
    const huge = await decodeBounded('zstd', Buffer.concat([small, Buffer.from([0x50, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 7, 7]), frame(30, Buffer.from('second'))]), { maxOutput: 1 << 20, deadline: far() });
    assert.match(huge.error ?? '', /window/);
    assert.equal(huge.output.toString(), 'first frame ');
  });

  it('holds at most a 64 MiB LZMA dictionary window; a stream reaching further back is damage, not an allocation', async () => {
    // LZMA-alone header claiming a 1 GiB dictionary over a tiny stream: decodes with a small window.
    const data = Buffer.from(readFileSync(`${FIXTURES}/compressed/payload.pkl.lzma`));
    data.writeUInt32LE(1 << 30, 1);
    const decoded = await decodeBounded('lzma-alone', data, { maxOutput: 1 << 20, deadline: far() });
    assert.equal(decoded.complete, true, decoded.error);
    assert.ok(decoded.output.subarray(0, PAYLOAD_HEAD.length).equals(PAYLOAD_HEAD));
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

describe('every decoder reports a cut the same way (payload just past the limit)', () => {
  const CONTENT = 'test/.tmp/fixtures/content';
  const LIMIT = 1024 * 1024;
  const CODEC_BY_EXT: Record<string, Codec> = { gz: 'gzip', zlib: 'zlib', deflate: 'deflate-raw', bz2: 'bzip2', xz: 'xz', lzma: 'lzma-alone', ziplzma: 'zip-lzma', zst: 'zstd', lz4: 'lz4' };
  const padding = Buffer.alloc(LIMIT, 0x41);

  for (const [ext, codec] of Object.entries(CODEC_BY_EXT)) {
    it(`${codec}: output cut at the limit is marked stopped 'limit'; output exactly at the limit is complete`, async () => {
      // zip's LZMA streams carry their size in the zip entry; give the true one (limit + payload).
      const past = readFileSync(`${CONTENT}/past-limit/model.pkl.${ext}`);
      const cut = await decodeBounded(codec, past, { maxOutput: LIMIT, deadline: far(), size: LIMIT + 37 });
      assert.equal(cut.stopped, 'limit', `${codec} hid the bytes past the limit`);
      assert.equal(cut.complete, false);
      assert.equal(cut.output.length, LIMIT);
      assert.ok(cut.output.equals(padding));
      const at = await decodeBounded(codec, readFileSync(`${CONTENT}/at-limit/model.pkl.${ext}`), { maxOutput: LIMIT, deadline: far(), size: LIMIT });
      assert.equal(at.stopped, undefined, codec);
      assert.equal(at.error, undefined, codec);
      assert.equal(at.complete, true, codec);
      assert.ok(at.output.equals(padding));
      // With room to spare, the payload is there (the stream itself is sound).
      const whole = await decodeBounded(codec, past, { maxOutput: 2 * LIMIT, deadline: far(), size: LIMIT + 37 });
      assert.equal(whole.complete, true, whole.error);
      assert.ok(whole.output.subarray(LIMIT, LIMIT + PAYLOAD_HEAD.length).equals(PAYLOAD_HEAD));
    });
  }

  for (const ext of ['gz', 'zlib', 'bz2', 'xz', 'lzma', 'zst', 'lz4']) {
    it(`a .${ext} wrapper with the payload past maxMemberBytes is an archive-limit-exceeded finding`, async () => {
      const config = defaultConfig();
      config.limits.maxMemberBytes = LIMIT;
      const { findings } = await scanFixture(`../content/past-limit/model.pkl.${ext}`, config);
      assert.ok(withRule(findings, 'models/archive-limit-exceeded').some((f) => f.severity === 'high' && /maxMemberBytes/.test(f.message)), JSON.stringify(findings));
      const clean = await scanFixture(`../content/at-limit/model.pkl.${ext}`, config);
      assert.deepEqual(containerFindings(clean.findings), [], ext);
    });
  }
});

describe('decoded output past the memory threshold is spooled to a nameless temporary file', () => {
  const CONTENT = 'test/.tmp/fixtures/content';
  for (const [ext, codec] of [['gz', 'gzip'], ['bz2', 'bzip2'], ['xz', 'xz'], ['lzma', 'lzma-alone'], ['zst', 'zstd'], ['lz4', 'lz4']] as const) {
    it(`${codec}: same bytes from disk as from memory, and nothing left in the temporary directory`, async () => {
      const data = readFileSync(`${CONTENT}/past-limit/model.pkl.${ext}`);
      const before = spoolDirs();
      const inMemory = await decodeToSource(codec, new BufferSource(data), { maxOutput: 4 << 20, deadline: far(), memoryBytes: 8 << 20 });
      const spooled = await decodeToSource(codec, new BufferSource(data), { maxOutput: 4 << 20, deadline: far(), memoryBytes: 64 * 1024 });
      try {
        assert.equal(inMemory.onDisk, false);
        assert.equal(spooled.onDisk, true);
        assert.equal(spooled.complete, true, spooled.error);
        assert.equal(spooled.size, inMemory.size);
        assert.ok((await spooled.source.read(0, spooled.size)).equals(await inMemory.source.read(0, inMemory.size)));
        assert.deepEqual(spoolDirs(), before, 'the spool file has no name on disk while it is open');
      } finally {
        await spooled.dispose();
        await inMemory.dispose();
      }
      assert.deepEqual(spoolDirs(), before);
    });
  }
});

function spoolDirs(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('custody-spool-')).sort();
}

describe('a temporary file that cannot be written is an error of ours, never a pass', () => {
  const withTmpdir = async (dir: string, run: () => Promise<void>): Promise<void> => {
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = dir;
    try {
      await run();
    } finally {
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
    }
  };
  const missing = '/nonexistent-custody-tmp/x';

  for (const [ext, codec] of [['gz', 'gzip'], ['zst', 'zstd'], ['lz4', 'lz4'], ['xz', 'xz'], ['lzma', 'lzma-alone'], ['bz2', 'bzip2']] as const) {
    it(`${codec}: IO_ERROR from the decoder`, async () => {
      const data = readFileSync(`test/.tmp/fixtures/content/past-limit/model.pkl.${ext}`);
      await withTmpdir(missing, () => assert.rejects(decodeToSource(codec, new BufferSource(data), { maxOutput: 4 << 20, deadline: far(), memoryBytes: 1024 }), (error: unknown) => (error as { code?: string }).code === 'IO_ERROR'));
    });
  }

  it('a scan reports core/scan-error for the file (high)', async () => {
    await withTmpdir(missing, async () => {
      const { findings } = await scanFixture('compressed/bomb.gz');
      assert.ok(hasHigh(findings, 'core/scan-error'), JSON.stringify(findings));
    });
  });
});

describe('decodeToSource can checksum what it keeps (for zip entries)', () => {
  it('the CRC-32 of the output, in memory or spooled, equals zlib\'s; absent unless asked', async () => {
    const data = readFileSync('test/.tmp/fixtures/content/past-limit/model.pkl.gz');
    for (const memoryBytes of [64 * 1024, 8 << 20]) {
      const decoded = await decodeToSource('gzip', new BufferSource(data), { maxOutput: 4 << 20, deadline: far(), memoryBytes, crc32: true });
      try {
        assert.equal(decoded.crc32, crc32(await decoded.source.read(0, decoded.size)) >>> 0);
      } finally {
        await decoded.dispose();
      }
    }
    const plain = await decodeToSource('gzip', new BufferSource(data), { maxOutput: 4 << 20, deadline: far(), memoryBytes: 8 << 20 });
    assert.equal(plain.crc32, undefined);
    await plain.dispose();
  });
});
