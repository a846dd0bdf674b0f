import type { ByteSource } from '../../core/byte-source.js';
import { isCustodyError } from '../../core/errors.js';
import type { BoundedSpool } from '../../core/spool.js';
import { InputReader } from './input-reader.js';

/**
 * A bounded LZMA (LZMA1) decoder for the two places models meet raw LZMA: ".lzma"/LZMA-alone files
 * (joblib `compress='lzma'`) and zip entries with method 14 (Python's zipfile ZIP_LZMA). It reads its
 * input a chunk at a time, keeps only the dictionary window in memory, hands output to a
 * BoundedSpool (which alone decides where output is cut), and reports damage after handing over
 * what decoded before it (the caller scans that part).
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

/** Bytes of input kept buffered ahead of the range decoder: more than one symbol can consume. */
const INPUT_MARGIN = 256;

class RangeDecoder {
  private range = 0xffffffff;
  private code = 0;

  constructor(private readonly input: InputReader) {}

  /** Reads the 5-byte start of the range coder (the caller has ensured they are buffered). */
  start(): void {
    if (this.next() !== 0) throw new LzmaError('bad range coder start');
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.next()) >>> 0;
    if (this.code === this.range) throw new LzmaError('bad range coder start');
  }

  private next(): number {
    const input = this.input;
    if (input.pos >= input.end) throw new LzmaError('unexpected end of LZMA input');
    return input.buf[input.pos++] as number;
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
  deadline: number;
}

/** Largest dictionary window held in memory: what xz and 7-Zip use at their strongest presets. */
export const MAX_LZMA_WINDOW = 64 * 1024 * 1024;
/** Output between deadline checks (and hand-overs to the spool). */
const STEP = 1024 * 1024;

/**
 * The decoder's dictionary: a ring buffer of at most `cap` bytes that grows as output arrives (a
 * header may claim a large dictionary for a tiny stream). Output is handed to the spool as it leaves.
 */
class Window {
  buf: Buffer;
  pos = 0;
  total = 0;
  private flushed = 0;

  constructor(
    readonly cap: number,
    private readonly spool: BoundedSpool,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(cap, STEP));
  }

  put(byte: number): void {
    if (this.pos === this.buf.length) this.makeRoom();
    this.buf[this.pos++] = byte;
    this.total += 1;
  }

  /** The byte `distance` bytes back (1 = the last one); the caller checks that it exists. */
  back(distance: number): number {
    const at = this.pos - distance;
    return this.buf[at < 0 ? at + this.buf.length : at] as number;
  }

  /** Hands what was decoded since the last flush to the spool; throws Stop when the spool is full. */
  flush(): void {
    if (this.pos > this.flushed) {
      const ok = this.spool.push(this.buf.subarray(this.flushed, this.pos));
      this.flushed = this.pos;
      if (!ok) throw new Stop();
    }
  }

  private makeRoom(): void {
    this.flush();
    if (this.buf.length < this.cap) {
      const bigger = Buffer.allocUnsafe(Math.min(this.cap, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.pos);
      this.buf = bigger;
    } else {
      this.pos = 0;
      this.flushed = 0;
    }
  }
}

/** Stops decoding once the spool refuses output; never escapes this module. */
class Stop extends Error {}

/**
 * Decodes a raw LZMA stream from `input` into `spool`, reading input a chunk at a time and holding
 * at most the dictionary (bounded by MAX_LZMA_WINDOW) in memory. Never throws for bad input: returns
 * a description of the damage (after handing over what decoded before it), or undefined. Stops
 * quietly when the spool is full or the deadline passes (the spool records why).
 */
export async function decodeLzmaRaw(input: InputReader, props: LzmaProperties, spool: BoundedSpool, options: LzmaDecodeOptions): Promise<string | undefined> {
  const { lc, lp, pb } = props;
  const dictionary = Math.max(props.dictionarySize, 4096);
  const size = options.size;
  const window = new Window(Math.max(1, Math.min(dictionary, MAX_LZMA_WINDOW, size ?? Number.MAX_SAFE_INTEGER)), spool);

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

  const rc = new RangeDecoder(input);
  let state = 0;
  let rep0 = 0;
  let rep1 = 0;
  let rep2 = 0;
  let rep3 = 0;
  let nextCheck = STEP;
  try {
    await input.ensure(INPUT_MARGIN);
    rc.start();
    for (;;) {
      const total = window.total;
      if (size !== undefined && total >= size) break;
      if (input.end - input.pos < INPUT_MARGIN) await input.ensure(INPUT_MARGIN);
      if (total >= nextCheck) {
        nextCheck += STEP;
        window.flush();
        if (Date.now() > options.deadline) {
          spool.stopForTime();
          return undefined;
        }
      }
      const posState = total & pbMask;
      if (rc.bit(isMatch, (state << 4) + posState) === 0) {
        const prev = total > 0 ? window.back(1) : 0;
        const base = 0x300 * (((total & lpMask) << lc) + (prev >> (8 - lc)));
        let symbol = 1;
        if (state >= 7) {
          let matchByte = total > rep0 ? window.back(rep0 + 1) : 0;
          do {
            const matchBit = (matchByte >> 7) & 1;
            matchByte <<= 1;
            const bit = rc.bit(literal, base + ((1 + matchBit) << 8) + symbol);
            symbol = (symbol << 1) | bit;
            if (matchBit !== bit) break;
          } while (symbol < 0x100);
        }
        while (symbol < 0x100) symbol = (symbol << 1) | rc.bit(literal, base + symbol);
        window.put(symbol & 0xff);
        state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
        continue;
      }
      let length: number;
      if (rc.bit(isRep, state) !== 0) {
        if (total === 0) throw new LzmaError('repeated match before any data');
        if (rc.bit(isRepG0, state) === 0) {
          if (rc.bit(isRep0Long, (state << 4) + posState) === 0) {
            state = state < 7 ? 9 : 11;
            checkDistance(rep0 + 1, total, dictionary, window.cap);
            window.put(window.back(rep0 + 1));
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
          if (size !== undefined && total !== size) throw new LzmaError('end marker before the declared size');
          break;
        }
      }
      const distance = rep0 + 1;
      checkDistance(distance, total, dictionary, window.cap);
      let count = length + MATCH_MIN;
      if (size !== undefined) count = Math.min(count, size - total);
      while (count-- > 0) window.put(window.back(distance));
    }
    window.flush();
    return undefined;
  } catch (error) {
    if (error instanceof Stop) return undefined;
    if (isCustodyError(error)) throw error; // ours (the spool's temporary file), not the input's
    try {
      window.flush();
    } catch {
      // the spool is full: it recorded the cut
    }
    return error instanceof LzmaError ? error.message : 'LZMA decoding failed';
  }
}

function checkDistance(distance: number, total: number, dictionary: number, held: number): void {
  if (distance > total || distance > dictionary) throw new LzmaError('match distance beyond the data');
  if (distance > held) throw new LzmaError(`match distance beyond the ${held}-byte dictionary window Custody holds`);
}

/** LZMA-alone (.lzma): 5 property bytes, 8-byte size (all ones: unknown, end marker), then the stream. */
export async function decodeLzmaAlone(source: ByteSource, spool: BoundedSpool, deadline: number): Promise<string | undefined> {
  const input = new InputReader(source);
  if ((await input.ensure(13)) < 13) return 'truncated LZMA header';
  const header = input.buf.subarray(input.pos, input.pos + 13);
  let props: LzmaProperties;
  try {
    props = parseLzmaProperties(header.subarray(0, 1), header.readUInt32LE(1));
  } catch (error) {
    return (error as Error).message;
  }
  const declared = header.readBigUInt64LE(5);
  input.pos += 13;
  const size = declared === 0xffffffffffffffffn ? undefined : declared > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(declared);
  return decodeLzmaRaw(input, props, spool, size === undefined ? { deadline } : { deadline, size });
}

/** Zip method 14: 2-byte version, 2-byte properties length (5), the properties, then the stream. */
export async function decodeZipLzma(source: ByteSource, size: number, spool: BoundedSpool, deadline: number): Promise<string | undefined> {
  const input = new InputReader(source);
  if ((await input.ensure(9)) < 9) return 'bad zip LZMA header';
  const header = input.buf.subarray(input.pos, input.pos + 9);
  if (header.readUInt16LE(2) !== 5) return 'bad zip LZMA header';
  let props: LzmaProperties;
  try {
    props = parseLzmaProperties(header.subarray(4, 5), header.readUInt32LE(5));
  } catch (error) {
    return (error as Error).message;
  }
  input.pos += 9;
  return decodeLzmaRaw(input, props, spool, { deadline, size });
}
