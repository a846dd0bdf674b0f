/**
 * A bounded LZMA (LZMA1) decoder for the two places models meet raw LZMA: ".lzma"/LZMA-alone files
 * (joblib `compress='lzma'`) and zip entries with method 14 (Python's zipfile ZIP_LZMA). It decodes
 * into one buffer that doubles as the dictionary, stops at `maxOutput`, and throws on damage after
 * recording what it decoded (the caller scans that part).
 */

const PROB_INIT = 1024;
const STATES = 12;
const POS_STATES_MAX = 16;
const END_POS_MODEL_INDEX = 14;
const FULL_DISTANCES = 128;
const ALIGN_BITS = 4;
const MATCH_MIN = 2;

export class LzmaError extends Error {}

export interface LzmaProperties {
  lc: number;
  lp: number;
  pb: number;
  dictionarySize: number;
}

export function parseLzmaProperties(props: Uint8Array, dictionary: number): LzmaProperties {
  let d = props[0] ?? 255;
  if (d >= 9 * 5 * 5) throw new LzmaError('bad LZMA properties byte');
  const lc = d % 9;
  d = Math.floor(d / 9);
  return { lc, lp: d % 5, pb: Math.floor(d / 5), dictionarySize: dictionary };
}

class RangeDecoder {
  private range = 0xffffffff;
  private code = 0;
  pos: number;

  constructor(
    private readonly input: Uint8Array,
    start: number,
  ) {
    this.pos = start;
    if (this.next() !== 0) throw new LzmaError('bad range coder start');
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.next()) >>> 0;
    if (this.code === this.range) throw new LzmaError('bad range coder start');
  }

  private next(): number {
    if (this.pos >= this.input.length) throw new LzmaError('unexpected end of LZMA input');
    return this.input[this.pos++] as number;
  }

  private normalize(): void {
    if (this.range < 0x1000000) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.next()) >>> 0;
    }
  }

  bit(probs: Uint16Array, index: number): number {
    const p = probs[index] as number;
    const bound = (this.range >>> 11) * p;
    let result: number;
    if (this.code < bound) {
      this.range = bound;
      probs[index] = p + ((2048 - p) >>> 5);
      result = 0;
    } else {
      this.range = (this.range - bound) >>> 0;
      this.code = (this.code - bound) >>> 0;
      probs[index] = p - (p >>> 5);
      result = 1;
    }
    this.normalize();
    return result;
  }

  direct(count: number): number {
    let result = 0;
    for (let i = 0; i < count; i++) {
      this.range >>>= 1;
      let bit = 0;
      if (this.code >= this.range) {
        this.code = (this.code - this.range) >>> 0;
        bit = 1;
      }
      result = ((result << 1) | bit) >>> 0;
      this.normalize();
    }
    return result;
  }

  tree(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) + this.bit(probs, base + m);
    return m - (1 << bits);
  }

  reverse(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    let symbol = 0;
    for (let i = 0; i < bits; i++) {
      const bit = this.bit(probs, base + m);
      m = (m << 1) + bit;
      symbol |= bit << i;
    }
    return symbol;
  }
}

class LengthDecoder {
  private readonly choice = new Uint16Array(2).fill(PROB_INIT);
  private readonly low = new Uint16Array(POS_STATES_MAX << 3).fill(PROB_INIT);
  private readonly mid = new Uint16Array(POS_STATES_MAX << 3).fill(PROB_INIT);
  private readonly high = new Uint16Array(256).fill(PROB_INIT);

  decode(rc: RangeDecoder, posState: number): number {
    if (rc.bit(this.choice, 0) === 0) return rc.tree(this.low, posState << 3, 3);
    if (rc.bit(this.choice, 1) === 0) return 8 + rc.tree(this.mid, posState << 3, 3);
    return 16 + rc.tree(this.high, 0, 8);
  }
}

export interface LzmaDecodeOptions {
  /** Uncompressed size when known (zip, LZMA-alone with a size); undefined: until the end marker. */
  size?: number;
  maxOutput: number;
  deadline: number;
}

export interface LzmaResult {
  output: Buffer;
  /** Decoding stopped at maxOutput or the deadline. */
  stopped?: 'limit' | 'timeout';
  /** Damage, after `output` was decoded. */
  error?: string;
}

/** Decodes a raw LZMA stream starting at `start` in `input`. Never throws for bad input. */
export function decodeLzmaRaw(input: Uint8Array, start: number, props: LzmaProperties, options: LzmaDecodeOptions): LzmaResult {
  const { lc, lp, pb } = props;
  const limit = Math.min(options.maxOutput, options.size ?? Number.MAX_SAFE_INTEGER);
  let out = Buffer.allocUnsafe(Math.min(limit, Math.max(64 * 1024, Math.min(props.dictionarySize, 16 * 1024 * 1024))));
  let total = 0;
  const finish = (extra: Partial<LzmaResult>): LzmaResult => ({ output: out.subarray(0, total), ...extra });
  const put = (byte: number): void => {
    if (total === out.length) {
      const bigger = Buffer.allocUnsafe(Math.min(limit, out.length * 2));
      out.copy(bigger, 0, 0, total);
      out = bigger;
    }
    out[total++] = byte;
  };

  const literal = new Uint16Array(0x300 << (lc + lp)).fill(PROB_INIT);
  const isMatch = new Uint16Array(STATES << 4).fill(PROB_INIT);
  const isRep = new Uint16Array(STATES).fill(PROB_INIT);
  const isRepG0 = new Uint16Array(STATES).fill(PROB_INIT);
  const isRepG1 = new Uint16Array(STATES).fill(PROB_INIT);
  const isRepG2 = new Uint16Array(STATES).fill(PROB_INIT);
  const isRep0Long = new Uint16Array(STATES << 4).fill(PROB_INIT);
  const posSlot = new Uint16Array(4 << 6).fill(PROB_INIT);
  const posDecoders = new Uint16Array(1 + FULL_DISTANCES - END_POS_MODEL_INDEX).fill(PROB_INIT);
  const align = new Uint16Array(1 << ALIGN_BITS).fill(PROB_INIT);
  const lengths = new LengthDecoder();
  const repLengths = new LengthDecoder();
  const pbMask = (1 << pb) - 1;
  const lpMask = (1 << lp) - 1;

  let rc: RangeDecoder;
  try {
    rc = new RangeDecoder(input, start);
  } catch (error) {
    return finish({ error: (error as Error).message });
  }
  let state = 0;
  let rep0 = 0;
  let rep1 = 0;
  let rep2 = 0;
  let rep3 = 0;
  let nextCheck = 1024 * 1024;
  try {
    for (;;) {
      if (total >= limit) {
        if (options.size !== undefined && total >= options.size) return finish({});
        return finish({ stopped: 'limit' });
      }
      if (total >= nextCheck) {
        nextCheck += 1024 * 1024;
        if (Date.now() > options.deadline) return finish({ stopped: 'timeout' });
      }
      const posState = total & pbMask;
      if (rc.bit(isMatch, (state << 4) + posState) === 0) {
        const prev = total > 0 ? (out[total - 1] as number) : 0;
        const base = 0x300 * (((total & lpMask) << lc) + (prev >> (8 - lc)));
        let symbol = 1;
        if (state >= 7) {
          let matchByte = out[total - rep0 - 1] ?? 0;
          do {
            const matchBit = (matchByte >> 7) & 1;
            matchByte <<= 1;
            const bit = rc.bit(literal, base + ((1 + matchBit) << 8) + symbol);
            symbol = (symbol << 1) | bit;
            if (matchBit !== bit) break;
          } while (symbol < 0x100);
        }
        while (symbol < 0x100) symbol = (symbol << 1) | rc.bit(literal, base + symbol);
        put(symbol & 0xff);
        state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        continue;
      }
      let length: number;
      if (rc.bit(isRep, state) !== 0) {
        if (total === 0) throw new LzmaError('repeated match before any data');
        if (rc.bit(isRepG0, state) === 0) {
          if (rc.bit(isRep0Long, (state << 4) + posState) === 0) {
            state = state < 7 ? 9 : 11;
            put(out[total - rep0 - 1] as number);
            continue;
          }
        } else {
          let distance: number;
          if (rc.bit(isRepG1, state) === 0) distance = rep1;
          else {
            if (rc.bit(isRepG2, state) === 0) distance = rep2;
            else {
              distance = rep3;
              rep3 = rep2;
            }
            rep2 = rep1;
          }
          rep1 = rep0;
          rep0 = distance;
        }
        length = repLengths.decode(rc, posState);
        state = state < 7 ? 8 : 11;
      } else {
        rep3 = rep2;
        rep2 = rep1;
        rep1 = rep0;
        length = lengths.decode(rc, posState);
        state = state < 7 ? 7 : 10;
        const lenState = Math.min(length, 3);
        const slot = rc.tree(posSlot, lenState << 6, 6);
        if (slot < 4) rep0 = slot;
        else {
          const directBits = (slot >> 1) - 1;
          let distance = ((2 | (slot & 1)) << directBits) >>> 0;
          if (slot < END_POS_MODEL_INDEX) distance += rc.reverse(posDecoders, distance - slot, directBits);
          else {
            distance = (distance + ((rc.direct(directBits - ALIGN_BITS) << ALIGN_BITS) >>> 0)) >>> 0;
            distance = (distance + rc.reverse(align, 0, ALIGN_BITS)) >>> 0;
          }
          rep0 = distance;
        }
        if (rep0 === 0xffffffff) {
          // End marker.
          if (options.size !== undefined && total !== options.size) throw new LzmaError('end marker before the declared size');
          return finish({});
        }
      }
      const distance = rep0 + 1;
      if (distance > total || distance > Math.max(props.dictionarySize, 4096)) throw new LzmaError('match distance beyond the data');
      let count = length + MATCH_MIN;
      while (count-- > 0 && total < limit) put(out[total - distance] as number);
    }
  } catch (error) {
    return finish({ error: error instanceof LzmaError ? error.message : 'LZMA decoding failed' });
  }
}

/** LZMA-alone (.lzma): 5 property bytes, 8-byte size (all ones: unknown, end marker), then the stream. */
export function decodeLzmaAlone(input: Uint8Array, options: Omit<LzmaDecodeOptions, 'size'>): LzmaResult {
  if (input.length < 13) return { output: Buffer.alloc(0), error: 'truncated LZMA header' };
  const view = Buffer.from(input.buffer, input.byteOffset, input.length);
  let props: LzmaProperties;
  try {
    props = parseLzmaProperties(view.subarray(0, 1), view.readUInt32LE(1));
  } catch (error) {
    return { output: Buffer.alloc(0), error: (error as Error).message };
  }
  const size = view.readBigUInt64LE(5);
  const known = size === 0xffffffffffffffffn ? undefined : size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size);
  return decodeLzmaRaw(view, 13, props, known === undefined ? options : { ...options, size: known });
}

/** Zip method 14: 2-byte version, 2-byte properties length (5), the properties, then the stream. */
export function decodeZipLzma(input: Uint8Array, size: number, options: Omit<LzmaDecodeOptions, 'size'>): LzmaResult {
  const view = Buffer.from(input.buffer, input.byteOffset, input.length);
  if (view.length < 9 || view.readUInt16LE(2) !== 5) return { output: Buffer.alloc(0), error: 'bad zip LZMA header' };
  let props: LzmaProperties;
  try {
    props = parseLzmaProperties(view.subarray(4, 5), view.readUInt32LE(5));
  } catch (error) {
    return { output: Buffer.alloc(0), error: (error as Error).message };
  }
  return decodeLzmaRaw(view, 9, props, { ...options, size });
}
