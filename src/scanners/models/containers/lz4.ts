/**
 * A bounded decoder for LZ4 frames (the format of `lz4.frame`, which joblib uses for `compress='lz4'`).
 * Memory is bounded by the frame's block size (at most 4 MiB plus a 64 KiB history window); output is
 * handed to `onData` block by block, which may throw to stop decoding. Checksums are skipped (they
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
 * Decodes every frame in `input` (skippable frames are skipped). `onData` receives each decoded block.
 * Throws an Error describing the damage for truncated or corrupt input (after emitting what decoded).
 * `maxOutput` lets it refuse a block that would decode past the caller's bound without decoding it.
 */
export function decodeLz4Frames(input: Uint8Array, onData: (block: Uint8Array) => void, maxOutput = Number.MAX_SAFE_INTEGER): void {
  let pos = 0;
  let frames = 0;
  let emitted = 0;
  while (pos < input.length) {
    if (input.length - pos < 4) fail('truncated frame magic');
    const magic = readU32(input, pos);
    if (magic >>> 4 === 0x184d2a5) {
      if (input.length - pos < 8) fail('truncated skippable frame');
      pos += 8 + readU32(input, pos + 4);
      continue;
    }
    if (magic === LEGACY_MAGIC) fail('legacy LZ4 frames are not supported');
    if (magic !== FRAME_MAGIC) {
      if (frames > 0) fail('unexpected data after the last frame');
      fail('not an LZ4 frame');
    }
    pos += 4;
    if (input.length - pos < 3) fail('truncated frame descriptor');
    const flg = input[pos] ?? 0;
    const bd = input[pos + 1] ?? 0;
    if (flg >> 6 !== 1) fail(`unsupported frame version ${flg >> 6}`);
    if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) fail('reserved bits set in the frame descriptor');
    const blockChecksum = (flg & 0x10) !== 0;
    const hasContentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const hasDictId = (flg & 0x01) !== 0;
    const blockMax = BLOCK_MAX[(bd >> 4) & 7] ?? 0;
    if (blockMax === 0) fail('invalid block maximum size');
    pos += 2 + (hasContentSize ? 8 : 0) + (hasDictId ? 4 : 0) + 1;
    if (pos > input.length) fail('truncated frame descriptor');
    if (hasDictId) fail('frames that need a dictionary are not supported');

    const window = new Uint8Array(HISTORY + blockMax);
    let history = 0;
    for (;;) {
      if (input.length - pos < 4) fail('truncated block header');
      const header = readU32(input, pos);
      pos += 4;
      if (header === 0) break;
      const stored = (header & 0x80000000) !== 0;
      const size = header & 0x7fffffff;
      if (size > blockMax) fail('block larger than the frame allows');
      if (input.length - pos < size) {
        fail('truncated block');
      }
      let produced: number;
      if (stored) {
        window.set(input.subarray(pos, pos + size), history);
        produced = size;
      } else {
        produced = decodeBlock(input, pos, pos + size, window, history, history + blockMax) - history;
      }
      pos += size + (blockChecksum ? 4 : 0);
      if (emitted + produced > maxOutput) {
        onData(window.slice(history, history + Math.max(0, maxOutput - emitted)));
        emitted = maxOutput;
      } else {
        onData(window.slice(history, history + produced));
        emitted += produced;
      }
      // Keep the last 64 KiB as history for linked blocks.
      const end = history + produced;
      const keep = Math.min(HISTORY, end);
      window.copyWithin(0, end - keep, end);
      history = keep;
    }
    if (contentChecksum) pos += 4;
    if (pos > input.length) fail('truncated content checksum');
    frames += 1;
  }
  if (frames === 0) fail('no LZ4 frame');
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
    let from = op - offset;
    if (offset >= length) {
      out.copyWithin(op, from, from + length);
      op += length;
    } else {
      for (let i = 0; i < length; i++) out[op++] = out[from++] ?? 0;
    }
  }
  return op;
}
