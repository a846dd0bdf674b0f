import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferSource, type ByteSource } from '../../src/core/byte-source.js';
import { isCustodyError } from '../../src/core/errors.js';
import { ProtoBudget, ProtoBuffer, ProtoMessage, ProtoSource, WIRE, signedValue, sniffFields, type ProtoField } from '../../src/scanners/models/protobuf/index.js';
import { mulberry32 } from '../support/random.js';

// A tiny encoder for the tests (the fixture generator has its own, in Python).
function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return Buffer.from(out);
}
const tag = (field: number, wire: number): Buffer => varint(field * 8 + wire);
const fVarint = (field: number, n: number | bigint): Buffer => Buffer.concat([tag(field, 0), varint(n)]);
const fBytes = (field: number, data: Buffer | string): Buffer => {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([tag(field, 2), varint(b.length), b]);
};
const fMsg = (field: number, ...parts: Buffer[]): Buffer => fBytes(field, Buffer.concat(parts));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    assert.ok(isCustodyError(error), `expected a CustodyError, got ${String(error)}`);
    return error.code;
  }
  return undefined;
}

async function codeOfAsync(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (error) {
    assert.ok(isCustodyError(error), `expected a CustodyError, got ${String(error)}`);
    return error.code;
  }
  return undefined;
}

/** A source that counts the bytes it hands out. */
class CountingSource implements ByteSource {
  bytes = 0;
  constructor(private readonly inner: BufferSource) {}
  get size(): number {
    return this.inner.size;
  }
  async read(offset: number, length: number): Promise<Buffer> {
    const data = await this.inner.read(offset, length);
    this.bytes += data.length;
    return data;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('ProtoBuffer', () => {
  it('reads varint, fixed64, fixed32 and length-delimited fields with absolute offsets', () => {
    const fixed64 = Buffer.alloc(8);
    fixed64.writeBigUInt64LE(1234567890123n);
    const fixed32 = Buffer.alloc(4);
    fixed32.writeUInt32LE(0xdeadbeef);
    const data = Buffer.concat([fVarint(1, 150), tag(2, 1), fixed64, tag(3, 5), fixed32, fBytes(4, 'hello')]);
    const fields = [...ProtoBuffer.of(data, new ProtoBudget(), 100).fields()];
    assert.deepEqual(fields.map((f) => [f.number, f.wireType, f.value]), [[1, 0, 150], [2, 1, 1234567890123], [3, 5, 0xdeadbeef], [4, 2, 0]]);
    assert.equal(fields[0]?.tagOffset, 100);
    const msg = ProtoBuffer.of(data, new ProtoBudget(), 100);
    assert.equal(msg.string(fields[3] as ProtoField), 'hello');
  });

  it('keeps 64-bit varints exact and decodes negative int64', () => {
    const data = Buffer.concat([fVarint(1, 2n ** 63n + 5n), fVarint(2, -1n), fVarint(3, Number.MAX_SAFE_INTEGER)]);
    const [big, negative, safe] = [...ProtoBuffer.of(data).fields()] as [ProtoField, ProtoField, ProtoField];
    assert.equal(big.bigValue, 2n ** 63n + 5n);
    assert.equal(signedValue(negative), -1);
    assert.equal(safe.value, Number.MAX_SAFE_INTEGER);
    assert.equal(safe.bigValue, undefined);
  });

  it('reads packed and unpacked repeated varints', () => {
    const packed = fBytes(1, Buffer.concat([varint(3), varint(300), varint(0)]));
    const msg = ProtoBuffer.of(Buffer.concat([packed, fVarint(1, 7)]));
    const [a, b] = [...msg.fields()] as [ProtoField, ProtoField];
    assert.deepEqual(msg.varints(a), [3, 300, 0]);
    assert.deepEqual(msg.varints(b), [7]);
  });

  it('walks nested messages', () => {
    const data = fMsg(7, fBytes(2, 'inner'), fMsg(3, fVarint(1, 9)));
    const outer = ProtoBuffer.of(data);
    const [field] = [...outer.fields()] as [ProtoField];
    const inner = outer.message(field);
    const innerFields = [...inner.fields()];
    assert.equal(inner.string(innerFields[0] as ProtoField), 'inner');
    assert.equal([...inner.message(innerFields[1] as ProtoField).fields()][0]?.value, 9);
  });

  const malformed: [string, Buffer][] = [
    ['a truncated varint', Buffer.from([0x08, 0x80])],
    ['a varint of 11 bytes', Buffer.concat([Buffer.from([0x08]), Buffer.alloc(10, 0x80), Buffer.from([0x01])])],
    ['a 10-byte varint over 64 bits', Buffer.concat([Buffer.from([0x08]), Buffer.alloc(9, 0xff), Buffer.from([0x02])])],
    ['a length past the end', Buffer.concat([tag(1, 2), varint(10), Buffer.from('abc')])],
    ['a length of 2^40', Buffer.concat([tag(1, 2), varint(2n ** 40n)])],
    ['a truncated fixed64', Buffer.concat([tag(1, 1), Buffer.alloc(7)])],
    ['a truncated fixed32', Buffer.concat([tag(1, 5), Buffer.alloc(3)])],
    ['wire type 6', Buffer.from([0x0e])],
    ['wire type 7', Buffer.from([0x0f])],
    ['field number 0', Buffer.from([0x00, 0x01])],
    ['a start-group (groups rejected)', Buffer.concat([tag(1, 3), tag(1, 4)])],
    ['a stray end-group', tag(1, 4)],
  ];
  for (const [what, data] of malformed) {
    it(`rejects ${what} with PARSE_ERROR`, () => {
      assert.equal(codeOf(() => [...ProtoBuffer.of(data).fields()]), 'PARSE_ERROR');
    });
  }

  it('accepts boundary cases: empty message, zero-length field, length exactly to the end', () => {
    assert.deepEqual([...ProtoBuffer.of(Buffer.alloc(0)).fields()], []);
    const fields = [...ProtoBuffer.of(Buffer.concat([fBytes(1, ''), fBytes(2, 'xyz')])).fields()];
    assert.deepEqual(fields.map((f) => f.length), [0, 3]);
  });

  it('skips groups when asked, and bounds their nesting', () => {
    const group = Buffer.concat([tag(5, 3), fVarint(1, 1), tag(6, 3), tag(6, 4), tag(5, 4), fVarint(2, 42)]);
    const fields = [...ProtoBuffer.of(group, new ProtoBudget({ groups: 'skip' })).fields()];
    assert.deepEqual(fields.map((f) => [f.number, f.value]), [[2, 42]]);
    const deep = Buffer.concat([...Array.from({ length: 100 }, () => tag(1, 3)), ...Array.from({ length: 100 }, () => tag(1, 4))]);
    assert.equal(codeOf(() => [...ProtoBuffer.of(deep, new ProtoBudget({ groups: 'skip', maxDepth: 10 })).fields()]), 'INPUT_LIMIT');
    assert.equal(codeOf(() => [...ProtoBuffer.of(Buffer.concat([tag(5, 3), tag(6, 4)]), new ProtoBudget({ groups: 'skip' })).fields()]), 'PARSE_ERROR');
    assert.equal(codeOf(() => [...ProtoBuffer.of(tag(5, 3), new ProtoBudget({ groups: 'skip' })).fields()]), 'PARSE_ERROR');
  });

  it('stops with INPUT_LIMIT after maxFields and after the deadline', () => {
    const many = Buffer.concat(Array.from({ length: 100 }, () => fVarint(1, 1)));
    assert.equal(codeOf(() => [...ProtoBuffer.of(many, new ProtoBudget({ maxFields: 99 })).fields()]), 'INPUT_LIMIT');
    assert.equal(codeOf(() => [...ProtoBuffer.of(many, new ProtoBudget({ maxFields: 100 })).fields()]), undefined);
    const lots = Buffer.concat(Array.from({ length: 5000 }, () => fVarint(1, 1)));
    assert.equal(codeOf(() => [...ProtoBuffer.of(lots, new ProtoBudget({ deadline: Date.now() - 1 })).fields()]), 'INPUT_LIMIT');
  });
});

describe('ProtoSource (lazy)', () => {
  it('walks structure without reading skipped payloads', async () => {
    const payload = Buffer.alloc(4 * 1024 * 1024, 0x41);
    const data = Buffer.concat([fVarint(1, 8), fBytes(9, payload), fBytes(8, 'name')]);
    const source = new CountingSource(new BufferSource(data));
    const reader = new ProtoSource(source, new ProtoBudget(), { windowBytes: 4096 });
    const seen: [number, number][] = [];
    await reader.forEachField(0, source.size, (f) => {
      seen.push([f.number, f.length]);
    });
    assert.deepEqual(seen, [[1, 1], [9, payload.length], [8, 4]]);
    assert.ok(source.bytes < 16 * 1024, `read ${source.bytes} bytes`);
    assert.equal(reader.bytesRead, source.bytes);
  });

  it('descends lazily into big messages and reads small ones whole', async () => {
    const big = fMsg(7, fBytes(2, 'graph'), fBytes(9, Buffer.alloc(3 * 1024 * 1024)), fMsg(1, fBytes(4, 'Relu')));
    const source = new CountingSource(new BufferSource(Buffer.concat([fVarint(1, 8), big])));
    const { root } = ProtoMessage.fromSource(source, {}, { inMemoryBytes: 64 * 1024, windowBytes: 4096 });
    const ops: string[] = [];
    await root.forEach(async (f) => {
      if (f.number !== 7) return;
      const graph = await root.child(f, 1);
      await graph.forEach(async (g) => {
        if (g.number !== 1) return;
        const node = await graph.child(g, 2);
        await node.forEach(async (n) => {
          if (n.number === 4) ops.push(await node.string(n));
        });
      });
    });
    assert.deepEqual(ops, ['Relu']);
    assert.ok(source.bytes < 32 * 1024, `read ${source.bytes} bytes`);
  });

  it('rejects a nested length past its parent with PARSE_ERROR', async () => {
    const inner = Buffer.concat([tag(3, 2), varint(200), Buffer.from('zz')]);
    const data = Buffer.concat([fMsg(7, inner), fVarint(2, 1)]);
    const { root } = ProtoMessage.fromSource(new BufferSource(data));
    const code = await codeOfAsync(() =>
      root.forEach(async (f) => {
        if (f.number === 7) await (await root.child(f, 1)).forEach(() => undefined);
      }),
    );
    assert.equal(code, 'PARSE_ERROR');
  });

  it('bounds depth, field payload size and time', async () => {
    let nested = fVarint(1, 1);
    for (let i = 0; i < 80; i += 1) nested = fMsg(1, nested);
    const { root } = ProtoMessage.fromSource(new BufferSource(nested), { maxDepth: 64 });
    const descend = async (msg: ProtoMessage, depth: number): Promise<void> => {
      await msg.forEach(async (f) => {
        if (f.wireType === WIRE.LEN) await descend(await msg.child(f, depth + 1), depth + 1);
      });
    };
    assert.equal(await codeOfAsync(() => descend(root, 0)), 'INPUT_LIMIT');

    const data = fBytes(1, Buffer.alloc(1000));
    const small = ProtoMessage.fromSource(new BufferSource(data)).root;
    await small.forEach(async (f) => {
      assert.equal(await codeOfAsync(() => small.bytes(f, 999)), 'INPUT_LIMIT');
      assert.equal((await small.bytes(f, 1000)).length, 1000);
    });

    const lots = Buffer.concat(Array.from({ length: 5000 }, () => fVarint(1, 1)));
    const late = ProtoMessage.fromSource(new BufferSource(lots), { deadline: Date.now() - 1 }).root;
    assert.equal(await codeOfAsync(() => late.forEach(() => undefined)), 'INPUT_LIMIT');
  });

  it('refuses a message range past the end of the source', async () => {
    const reader = new ProtoSource(new BufferSource(Buffer.alloc(4)));
    assert.equal(await codeOfAsync(() => reader.forEachField(0, 10, () => undefined)), 'PARSE_ERROR');
  });
});

describe('sniffFields', () => {
  it('returns the headers visible in the head, including a field that runs past it', () => {
    const data = Buffer.concat([fVarint(1, 8), fBytes(2, 'pytorch'), tag(7, 2), varint(1_000_000)]);
    const fields = sniffFields(data, 2_000_000);
    assert.deepEqual(fields?.map((f) => f.number), [1, 2, 7]);
  });

  it('tolerates a header cut by the end of the head only when the file goes on', () => {
    const data = Buffer.concat([fVarint(1, 8), Buffer.from([0x12, 0x80])]);
    assert.deepEqual(sniffFields(data, 1000)?.map((f) => f.number), [1]);
    assert.equal(sniffFields(data, data.length), undefined);
  });

  it('returns undefined for bytes that are not protobuf', () => {
    assert.equal(sniffFields(Buffer.from('{"module": "keras"}'), 19), undefined);
    assert.equal(sniffFields(Buffer.from([0x0f, 0x00]), 2), undefined);
    assert.equal(sniffFields(Buffer.concat([tag(1, 3), tag(1, 4)]), 2), undefined);
  });
});

describe('protobuf reader fuzz (fixed seed, bounded)', () => {
  const seedMessage = fMsg(7, fBytes(2, 'g'), fMsg(1, fBytes(4, 'Relu'), fBytes(1, 'x'), fMsg(5, fBytes(1, 'alpha'), fVarint(3, 2))), fMsg(5, fVarint(1, 4), fBytes(9, Buffer.alloc(64, 1))));
  const base = Buffer.concat([fVarint(1, 8), fBytes(2, 'producer'), seedMessage]);

  it('never throws anything but a CustodyError, in memory or lazily, and always terminates', async () => {
    const random = mulberry32(0xc0ffee);
    const walkMemory = (buf: Buffer, depth: number): void => {
      const msg = ProtoBuffer.of(buf, new ProtoBudget({ maxFields: 10_000 }));
      for (const f of msg.fields()) if (f.wireType === WIRE.LEN && depth < 8) walkMemory(msg.bytes(f), depth + 1);
    };
    const walkLazy = async (msg: ProtoMessage, depth: number): Promise<void> => {
      await msg.forEach(async (f) => {
        if (f.wireType === WIRE.LEN && depth < 8) await walkLazy(await msg.child(f, depth + 1), depth + 1);
      });
    };
    for (let i = 0; i < 400; i += 1) {
      const data = Buffer.from(base);
      const flips = 1 + Math.floor(random() * 6);
      for (let j = 0; j < flips; j += 1) data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
      const cut = random() < 0.3 ? data.subarray(0, Math.floor(random() * data.length)) : data;
      const noise = random() < 0.1 ? Buffer.from(Array.from({ length: 64 }, () => Math.floor(random() * 256))) : cut;
      codeOf(() => walkMemory(noise, 0));
      await codeOfAsync(() => walkLazy(ProtoMessage.fromSource(new BufferSource(noise), { maxFields: 10_000 }, { inMemoryBytes: 16, windowBytes: 64 }).root, 0));
      sniffFields(noise, noise.length);
    }
  });
});
