import type { ByteSource } from '../../core/byte-source.js';
import { InputReader } from './input-reader.js';

/**
 * A bounded decoder for LZ4 frames (the format of `lz4.frame`, which joblib uses for `compress='lz4'`).
 * Memory is bounded by the frame's block size (at most 4 MiB plus a 64 KiB history window) and one
 * chunk of input; output is handed to `onData` block by block, which may throw to stop decoding. Checksums are skipped (they
 * guard against accidental corruption; a scanner must read whatever a loader would decode anyway).
 */

const FRAME_MAGIC = 0x184d2204;
const LEGACY_MAGIC = 0x184c2102;
const HISTORY = 64 * 1024;
const BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024] as const;

export function isLz4Frame(data: Uint8Array): boolean {
  return data.length >= 4 && readU32(data, 0) === FRAME_MAGIC;
}

function readU32(data: Uint8Array, at: number): number {
  return ((data[at] ?? 0) | ((data[at + 1] ?? 0) << 8) | ((data[at + 2] ?? 0) << 16) | ((data[at + 3] ?? 0) << 24)) >>> 0;
}

function fail(message: string): never {
  throw new Error(`lz4: ${message}`);
}

/**
 * Decodes every frame of `input` (skippable frames are skipped), reading it a chunk at a time.
 * `onData` receives each decoded block whole — the caller's bounded output decides where to cut, so a
 * cut is always visible to it — and may throw to stop decoding. Throws an Error describing the damage
 * for truncated or corrupt input (after emitting what decoded), and an Error once `deadline` passes.
 */
export async function decodeLz4Frames(input: ByteSource, onData: (block: Uint8Array) => void, deadline = Number.POSITIVE_INFINITY): Promise<void> {
  const reader = new InputReader(input);
  let frames = 0;
  const u32 = async (what: string): Promise<number> => {
    if ((await reader.ensure(4)) < 4) fail(`truncated ${what}`);
    const value = readU32(reader.buf, reader.pos);
    reader.pos += 4;
    return value;
  };
  while ((await reader.ensure(1)) > 0) {
    const magic = await u32('frame magic');
    if (magic >>> 4 === 0x184d2a5) {
      const length = await u32('skippable frame');
      if (!(await reader.skip(length))) fail('truncated skippable frame');
      continue;
    }
    if (magic === LEGACY_MAGIC) fail('legacy LZ4 frames are not supported');
    if (magic !== FRAME_MAGIC) {
      if (frames > 0) fail('unexpected data after the last frame');
      fail('not an LZ4 frame');
    }
    if ((await reader.ensure(3)) < 3) fail('truncated frame descriptor');
    const flg = reader.buf[reader.pos] ?? 0;
    const bd = reader.buf[reader.pos + 1] ?? 0;
    if (flg >> 6 !== 1) fail(`unsupported frame version ${flg >> 6}`);
    if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) fail('reserved bits set in the frame descriptor');
    const blockChecksum = (flg & 0x10) !== 0;
    const hasContentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const hasDictId = (flg & 0x01) !== 0;
    const blockMax = BLOCK_MAX[(bd >> 4) & 7] ?? 0;
    if (blockMax === 0) fail('invalid block maximum size');
    if (!(await reader.skip(2 + (hasContentSize ? 8 : 0) + (hasDictId ? 4 : 0) + 1))) fail('truncated frame descriptor');
    if (hasDictId) fail('frames that need a dictionary are not supported');

    const window = new Uint8Array(HISTORY + blockMax);
    let history = 0;
    for (;;) {
      if (Date.now() > deadline) throw new Lz4DeadlineError();
      const header = await u32('block header');
      if (header === 0) break;
      const stored = (header & 0x80000000) !== 0;
      const size = header & 0x7fffffff;
      if (size > blockMax) fail('block larger than the frame allows');
      if ((await reader.ensure(size)) < size) fail('truncated block');
      let produced: number;
      if (stored) {
        window.set(reader.buf.subarray(reader.pos, reader.pos + size), history);
        produced = size;
      } else {
        produced = decodeBlock(reader.buf, reader.pos, reader.pos + size, window, history, history + blockMax) - history;
      }
      reader.pos += size;
      if (blockChecksum && !(await reader.skip(4))) fail('truncated block checksum');
      onData(window.subarray(history, history + produced));
      // Keep the last 64 KiB as history for linked blocks.
      const end = history + produced;
      const keep = Math.min(HISTORY, end);
      window.copyWithin(0, end - keep, end);
      history = keep;
    }
    if (contentChecksum && !(await reader.skip(4))) fail('truncated content checksum');
    frames += 1;
  }
  if (frames === 0) fail('no LZ4 frame');
}

/** Thrown when decoding runs past its deadline. */
export class Lz4DeadlineError extends Error {
  constructor() {
    super('lz4: the time budget ran out');
  }
}

/** Decodes one LZ4 block into `out` starting at `outPos`; returns the new output position. */
function decodeBlock(src: Uint8Array, start: number, end: number, out: Uint8Array, outPos: number, outEnd: number): number {
  let ip = start;
  let op = outPos;
  while (ip < end) {
    const token = src[ip++] ?? 0;
    let literals = token >> 4;
    if (literals === 15) {
      let byte: number;
      do {
        if (ip >= end) fail('truncated literal length');
        byte = src[ip++] ?? 0;
        literals += byte;
      } while (byte === 255);
    }
    if (ip + literals > end) fail('literals run past the block');
    if (op + literals > outEnd) fail('block decodes past its maximum size');
    out.set(src.subarray(ip, ip + literals), op);
    ip += literals;
    op += literals;
    if (ip === end) break;
    if (ip + 2 > end) fail('truncated match offset');
    const offset = (src[ip] ?? 0) | ((src[ip + 1] ?? 0) << 8);
    ip += 2;
    if (offset === 0 || offset > op) fail('match offset points before the data');
    let length = (token & 15) + 4;
    if ((token & 15) === 15) {
      let byte: number;
      do {
        if (ip >= end) fail('truncated match length');
        byte = src[ip++] ?? 0;
        length += byte;
      } while (byte === 255);
    }
    if (op + length > outEnd) fail('block decodes past its maximum size');
    // An overlapping match repeats the last `offset` bytes: copy them in spans that double each time.
    const from = op - offset;
    for (let left = length; left > 0; ) {
      const n = Math.min(left, op - from);
      out.copyWithin(op, from, from + n);
      op += n;
      left -= n;
    }
  }
  return op;
}
