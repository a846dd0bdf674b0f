import * as zlib from 'node:zlib';
import * as fzstd from 'fzstd';
import Bunzip from 'seek-bzip';
import xzDecompress from 'xz-decompress';
import type { ByteSource } from '../../core/byte-source.js';
import { isCustodyError } from '../../core/errors.js';
import { BoundedSpool, type SpoolStop } from '../../core/spool.js';
import { crc32 } from './crc32.js';
import { decodeLz4Frames, Lz4DeadlineError } from './lz4.js';
import { decodeLzmaAlone, decodeZipLzma } from './lzma.js';

/** Compression codecs we can open. `deflate-raw` is zip's method 8; `zlib` is RFC 1950; `gzip` RFC 1952. */
export const CODECS = ['deflate-raw', 'zlib', 'gzip', 'bzip2', 'xz', 'zstd', 'lz4', 'lzma-alone', 'zip-lzma'] as const;
export type Codec = (typeof CODECS)[number];

export interface DecodeOptions {
  /** Output is cut here (the rest is not decoded) and the cut is reported as `stopped: 'limit'`. */
  maxOutput: number;
  /** Epoch ms after which decoding stops. */
  deadline: number;
  /** Uncompressed size, when the container records it (zip LZMA streams need it). */
  size?: number;
}

export interface DecodeSourceOptions extends DecodeOptions {
  /** Output is held in memory up to this many bytes, then in a private temporary file. */
  memoryBytes: number;
  /** Also compute the CRC-32 of the output (what zip entries record), as it is produced. */
  crc32?: boolean;
}

interface DecodeOutcome {
  /** The stream ended where it says it ends, with no error and no cut. */
  complete: boolean;
  /** Decoding was cut short by us: `limit` (maxOutput) or `timeout` (deadline). */
  stopped?: SpoolStop;
  /** The stream is truncated or corrupt (the decoder's own words). */
  error?: string;
}

export interface DecodedSource extends DecodeOutcome {
  /** What was decoded, in memory or in a temporary file (see `DecodeSourceOptions.memoryBytes`). */
  source: ByteSource;
  size: number;
  onDisk: boolean;
  /** CRC-32 of the output, when `crc32` was asked for. */
  crc32?: number;
  /** Closes the source and frees its temporary file; call it once the source has been scanned. */
  dispose(): Promise<void>;
}

/** Below this, decoded output stays in memory; above, it is spooled to a temporary file. */
export const SPOOL_MEMORY_BYTES = 16 * 1024 * 1024;

/** Compressed input is read this much at a time. */
const INPUT_CHUNK = 1024 * 1024;

/** Thrown from inside synchronous decoder callbacks to stop them once the spool is full; never escapes this module. */
class Stop extends Error {}

/**
 * A decoder: reads `input`, hands everything it decodes to `spool` (never trimming it: the spool
 * alone cuts output, so every codec reports a cut the same way), stops when `spool.push` returns
 * false, and returns a description of any damage.
 */
type Decoder = (input: ByteSource, spool: BoundedSpool, options: DecodeOptions) => Promise<string | undefined>;

const DECODERS: Record<Codec, Decoder> = {
  'deflate-raw': (input, spool, options) => decodeZlib('deflate-raw', input, spool, options),
  zlib: (input, spool, options) => decodeZlib('zlib', input, spool, options),
  gzip: (input, spool, options) => decodeZlib('gzip', input, spool, options),
  bzip2: decodeBzip2,
  xz: decodeXz,
  zstd: decodeZstd,
  lz4: decodeLz4,
  'lzma-alone': (input, spool, options) => decodeLzmaAlone(input, spool, options.deadline),
  'zip-lzma': (input, spool, options) => decodeZipLzma(input, options.size ?? Number.MAX_SAFE_INTEGER, spool, options.deadline),
};

/**
 * Decodes `input` with `codec` into a ByteSource, never producing more than `options.maxOutput`
 * bytes, never holding more than `options.memoryBytes` of output in memory (the rest goes to a
 * private temporary file) and never running past the deadline. Input is read a chunk at a time
 * (bzip2 excepted: its decoder needs the whole stream). Never throws for bad input: a truncated or
 * corrupt stream yields what was decoded before the damage, with `error` set. Throws CustodyError
 * IO_ERROR only when the temporary file cannot be written. Call `dispose` when done.
 */
export async function decodeToSource(codec: Codec, input: ByteSource, options: DecodeSourceOptions): Promise<DecodedSource> {
  let crc = 0;
  const onKept = options.crc32 === true ? (kept: Uint8Array): void => void (crc = crc32(kept, crc)) : undefined;
  const spool = new BoundedSpool({ maxBytes: options.maxOutput, memoryBytes: options.memoryBytes, deadline: options.deadline, ...(onKept ? { onKept } : {}) });
  let error: string | undefined;
  try {
    error = await DECODERS[codec](input, spool, options);
  } catch (caught) {
    if (isCustodyError(caught)) {
      spool.abandon();
      throw caught;
    }
    if (caught instanceof Lz4DeadlineError) spool.stopForTime();
    else if (!(caught instanceof Stop)) error = caught instanceof Error ? caught.message || `${codec} data error` : `${codec} decoding failed`;
  }
  const { source, size, onDisk, dispose } = spool.finish();
  const result: DecodedSource = { source, size, onDisk, dispose, complete: error === undefined && spool.stopped === undefined };
  if (spool.stopped !== undefined) result.stopped = spool.stopped;
  if (error !== undefined) result.error = error;
  if (onKept !== undefined) result.crc32 = crc >>> 0;
  return result;
}

/** The input a chunk at a time; stops (marking the spool) when the deadline passes. */
async function* chunksOf(input: ByteSource, spool: BoundedSpool, deadline: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < input.size; ) {
    if (Date.now() > deadline) {
      spool.stopForTime();
      return;
    }
    const chunk = await input.read(offset, INPUT_CHUNK);
    if (chunk.length === 0) return;
    offset += chunk.length;
    yield chunk;
  }
}

const STREAM = { 'deflate-raw': zlib.createInflateRaw, zlib: zlib.createInflate, gzip: zlib.createGunzip } as const;

async function decodeZlib(codec: 'deflate-raw' | 'zlib' | 'gzip', input: ByteSource, spool: BoundedSpool, options: DecodeOptions): Promise<string | undefined> {
  const stream = STREAM[codec]({ chunkSize: 64 * 1024 });
  let failure: string | undefined;
  let ours: unknown; // an error of ours (the spool's temporary file), rethrown once the stream is down
  let settled = false;
  const finished = new Promise<void>((resolve) => {
    const settle = (why?: string): void => {
      if (settled) return;
      settled = true;
      failure = why;
      stream.removeAllListeners('data');
      stream.destroy();
      resolve();
    };
    stream.on('data', (chunk: Buffer) => {
      try {
        if (!spool.push(chunk)) settle();
      } catch (error) {
        ours = error;
        settle();
      }
    });
    stream.on('error', (error: Error) => settle(error.message));
    stream.on('end', () => settle());
    stream.on('close', () => settle('stream closed early'));
  });
  for await (const chunk of chunksOf(input, spool, options.deadline)) {
    if (settled) break;
    if (!stream.write(chunk)) await new Promise<void>((resolve) => {
      stream.once('drain', resolve);
      void finished.then(resolve);
    });
  }
  if (!settled) {
    if (spool.stopped !== undefined) {
      settled = true;
      stream.destroy();
      return undefined;
    }
    stream.end();
  }
  await finished;
  if (ours !== undefined) throw ours;
  return failure;
}

async function decodeBzip2(input: ByteSource, spool: BoundedSpool): Promise<string | undefined> {
  // seek-bzip reads synchronously: the compressed stream is read whole (callers bound its size).
  const data = await input.read(0, input.size);
  const CHUNK = 1024 * 1024;
  const block = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  const flush = (): void => {
    if (used === 0) return;
    const ok = spool.push(block.subarray(0, used));
    used = 0;
    if (!ok) throw new Stop();
  };
  const output = {
    writeByte(byte: number): void {
      block[used++] = byte;
      if (used === CHUNK) flush();
    },
  };
  let pos = 0;
  const reader = {
    readByte(): number {
      if (pos >= data.length) throw new Error('unexpected end of bzip2 input');
      return data[pos++] ?? 0;
    },
    read(buffer: Uint8Array, at: number, length: number): number {
      const n = Math.min(length, data.length - pos);
      if (n <= 0) return -1;
      buffer.set(data.subarray(pos, pos + n), at);
      pos += n;
      return n;
    },
    seek(to: number): void {
      pos = to;
    },
    eof(): boolean {
      return pos >= data.length;
    },
  };
  let error: string | undefined;
  try {
    Bunzip.decode(reader, output, true);
  } catch (caught) {
    if (caught instanceof Stop || isCustodyError(caught)) throw caught;
    error = caught instanceof Error ? caught.message : 'bzip2 decoding failed';
  }
  flush();
  return error;
}

async function decodeXz(input: ByteSource, spool: BoundedSpool, options: DecodeOptions): Promise<string | undefined> {
  const chunks = chunksOf(input, spool, options.deadline);
  const compressed = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.length));
    },
  });
  const reader = new xzDecompress.XzReadableStream(compressed).getReader();
  try {
    for (;;) {
      if (spool.stopped !== undefined) {
        await reader.cancel().catch(() => undefined);
        return undefined;
      }
      const { done, value } = await reader.read();
      if (done) return undefined;
      if (!spool.push(value)) {
        await reader.cancel().catch(() => undefined);
        return undefined;
      }
    }
  } catch (caught) {
    if (isCustodyError(caught)) throw caught;
    return caught instanceof Error ? caught.message : 'xz decoding failed';
  }
}

const ZSTD_MAGIC = 0xfd2fb528;

/** Largest zstd window we allocate: zstd's own default maximum (without --long or --memory) is 128 MiB. */
export const MAX_ZSTD_WINDOW = 128 * 1024 * 1024;

/** Window size a zstd frame header asks for (what the decoder would allocate), or undefined. */
export function zstdWindowSize(data: Buffer): number | undefined {
  if (data.length < 6 || data.readUInt32LE(0) !== ZSTD_MAGIC) return undefined;
  const descriptor = data[4] ?? 0;
  const singleSegment = (descriptor >> 5) & 1;
  const sizeFlag = descriptor >> 6;
  const dictFlag = descriptor & 3;
  if (!singleSegment) {
    const wd = data[5] ?? 0;
    const base = 2 ** (10 + (wd >> 3));
    return base + (base / 8) * (wd & 7);
  }
  const at = 5 + [0, 1, 2, 4][dictFlag]!;
  const width = sizeFlag === 0 ? 1 : [1, 2, 4, 8][sizeFlag]!;
  if (data.length < at + width) return undefined;
  let size = 0;
  for (let i = width - 1; i >= 0; i--) size = size * 256 + (data[at + i] ?? 0);
  return sizeFlag === 1 ? size + 256 : size;
}

async function decodeZstd(input: ByteSource, spool: BoundedSpool, options: DecodeOptions): Promise<string | undefined> {
  if (input.size === 0) return 'empty zstd stream';
  const decoder = new fzstd.Decompress((data) => {
    if (!spool.push(data)) throw new Stop();
  });
  // fzstd allocates (and rewrites on every block) the window each frame asks for: every frame header
  // is checked before the decoder sees it.
  const frames = new ZstdFrameWalker();
  const step = 64 * 1024;
  let offset = 0;
  for await (const chunk of chunksOf(input, spool, options.deadline)) {
    for (let at = 0; at < chunk.length; at += step) {
      const end = Math.min(chunk.length, at + step);
      const part = chunk.subarray(at, end);
      const refused = frames.feed(part);
      if (refused !== undefined) {
        // Decode the frames before the refused one (their output is kept), then stop.
        if (refused.at > 0) decoder.push(part.subarray(0, refused.at), false);
        return refused.reason;
      }
      decoder.push(part, offset + end === input.size);
    }
    offset += chunk.length;
  }
  return undefined;
}

/**
 * Follows the frame and block structure of a zstd stream as it streams by (headers only), so that
 * each frame's window is known before the decoder allocates it. Anything it does not understand is
 * left to the decoder, which reports it as damage.
 */
export class ZstdFrameWalker {
  private carry: Buffer = Buffer.alloc(0);
  private skip = 0;
  private phase: 'frame' | 'block' | 'off' = 'frame';
  private checksum = false;

  /** Returns why a frame is refused and where in `chunk` it starts (0 when it began earlier), or undefined. */
  feed(chunk: Buffer): { reason: string; at: number } | undefined {
    if (this.phase === 'off') return undefined;
    const carried = this.carry.length;
    const data = carried > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length - at);
        at += n;
        this.skip -= n;
        if (this.skip > 0) break;
        continue;
      }
      const left = data.length - at;
      if (this.phase === 'frame') {
        if (left < 5) break;
        const magic = data.readUInt32LE(at);
        if (magic >>> 4 === 0x184d2a5) {
          if (left < 8) break;
          this.skip = 8 + data.readUInt32LE(at + 4);
          continue;
        }
        if (magic !== ZSTD_MAGIC) {
          this.phase = 'off';
          return undefined;
        }
        const descriptor = data[at + 4] ?? 0;
        const singleSegment = (descriptor >> 5) & 1;
        const sizeFlag = descriptor >> 6;
        const headerLength = 5 + (singleSegment ? 0 : 1) + ([0, 1, 2, 4][descriptor & 3] ?? 0) + (sizeFlag === 0 ? singleSegment : 1 << sizeFlag);
        if (left < headerLength) break;
        const window = zstdWindowSize(data.subarray(at, at + headerLength));
        if (window !== undefined && window > MAX_ZSTD_WINDOW) {
          this.phase = 'off';
          return { reason: `a zstd frame asks for a ${window}-byte window, more than the ${MAX_ZSTD_WINDOW} bytes Custody allocates`, at: Math.max(0, at - carried) };
        }
        this.checksum = ((descriptor >> 2) & 1) === 1;
        at += headerLength;
        this.phase = 'block';
      } else {
        if (left < 3) break;
        const header = (data[at] ?? 0) | ((data[at + 1] ?? 0) << 8) | ((data[at + 2] ?? 0) << 16);
        const type = (header >> 1) & 3;
        if (type === 3) {
          this.phase = 'off';
          return undefined;
        }
        at += 3;
        this.skip = type === 1 ? 1 : header >>> 3;
        if ((header & 1) === 1) {
          this.skip += this.checksum ? 4 : 0;
          this.phase = 'frame';
        }
      }
    }
    this.carry = Buffer.from(data.subarray(at));
    return undefined;
  }
}

async function decodeLz4(input: ByteSource, spool: BoundedSpool, options: DecodeOptions): Promise<string | undefined> {
  await decodeLz4Frames(input, (data) => {
    if (!spool.push(data)) throw new Stop();
  }, options.deadline);
  return undefined;
}
