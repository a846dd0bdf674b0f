import { constants as bufferConstants } from 'node:buffer';
import * as zlib from 'node:zlib';
import * as fzstd from 'fzstd';
import Bunzip from 'seek-bzip';
import xzDecompress from 'xz-decompress';
import { decodeLz4Frames } from './lz4.js';
import { decodeLzmaAlone, decodeZipLzma, type LzmaResult } from './lzma.js';

/** Compression codecs we can open. `deflate-raw` is zip's method 8; `zlib` is RFC 1950; `gzip` RFC 1952. */
export const CODECS = ['deflate-raw', 'zlib', 'gzip', 'bzip2', 'xz', 'zstd', 'lz4', 'lzma-alone', 'zip-lzma'] as const;
export type Codec = (typeof CODECS)[number];

export interface DecodeOptions {
  /** Output is cut here (the rest is not decoded). */
  maxOutput: number;
  /** Epoch ms after which decoding stops. */
  deadline: number;
  /** Uncompressed size, when the container records it (zip LZMA streams need it). */
  size?: number;
}

export interface DecodeResult {
  /** Everything decoded, up to `maxOutput` bytes; on damage, what came out before it. */
  output: Buffer;
  /** The stream ended where it says it ends, with no error and no cut. */
  complete: boolean;
  /** Decoding was cut short by us: `limit` (maxOutput) or `timeout` (deadline). */
  stopped?: 'limit' | 'timeout';
  /** The stream is truncated or corrupt (the decoder's own words). */
  error?: string;
}

const CHUNK = 1024 * 1024;

/** Thrown from inside synchronous decoders to stop them at a bound; never escapes this module. */
class Stop extends Error {
  constructor(readonly reason: 'limit' | 'timeout') {
    super(reason);
  }
}

/** Collects output chunks up to a bound. */
class Sink {
  private readonly chunks: Buffer[] = [];
  total = 0;
  stopped: 'limit' | 'timeout' | undefined;

  constructor(private readonly options: DecodeOptions) {}

  /** Adds data; returns false (and records why) once the bound or the deadline is reached. */
  push(data: Uint8Array): boolean {
    if (this.stopped) return false;
    const room = this.options.maxOutput - this.total;
    if (data.length > room) {
      if (room > 0) this.chunks.push(Buffer.from(data.subarray(0, room)));
      this.total += Math.max(0, room);
      this.stopped = 'limit';
      return false;
    }
    this.chunks.push(Buffer.from(data.buffer, data.byteOffset, data.length));
    this.total += data.length;
    if (Date.now() > this.options.deadline) {
      this.stopped = 'timeout';
      return false;
    }
    return true;
  }

  result(error?: string): DecodeResult {
    const output = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.total);
    const result: DecodeResult = { output, complete: error === undefined && this.stopped === undefined };
    if (this.stopped) result.stopped = this.stopped;
    if (error !== undefined) result.error = error;
    return result;
  }
}

/**
 * Decodes `input` with `codec`, never producing more than `options.maxOutput` bytes nor running past
 * the deadline. Never throws for bad input: a truncated or corrupt stream yields what was decoded
 * before the damage, with `error` set.
 */
export async function decodeBounded(codec: Codec, input: Buffer, options: DecodeOptions): Promise<DecodeResult> {
  switch (codec) {
    case 'deflate-raw':
    case 'zlib':
    case 'gzip':
      return decodeZlib(codec, input, options);
    case 'bzip2':
      return decodeBzip2(input, options);
    case 'xz':
      return decodeXz(input, options);
    case 'zstd':
      return decodeZstd(input, options);
    case 'lz4':
      return decodeLz4(input, options);
    case 'lzma-alone':
      return fromLzma(decodeLzmaAlone(input, options));
    case 'zip-lzma':
      return fromLzma(decodeZipLzma(input, options.size ?? Number.MAX_SAFE_INTEGER, options));
  }
}

function fromLzma(result: LzmaResult): DecodeResult {
  const out: DecodeResult = { output: result.output, complete: result.error === undefined && result.stopped === undefined };
  if (result.stopped) out.stopped = result.stopped;
  if (result.error !== undefined) out.error = result.error;
  return out;
}

const SYNC = { 'deflate-raw': zlib.inflateRawSync, zlib: zlib.inflateSync, gzip: zlib.gunzipSync } as const;
const STREAM = { 'deflate-raw': zlib.createInflateRaw, zlib: zlib.createInflate, gzip: zlib.createGunzip } as const;

async function decodeZlib(codec: 'deflate-raw' | 'zlib' | 'gzip', input: Buffer, options: DecodeOptions): Promise<DecodeResult> {
  // Fast path: one synchronous call, bounded by maxOutputLength. It throws on damage or on the
  // bound, losing the partial output, so those cases go through the stream below.
  if (options.maxOutput >= 1) {
    try {
      const output = SYNC[codec](input, { maxOutputLength: Math.min(options.maxOutput, bufferConstants.MAX_LENGTH) });
      return { output, complete: true };
    } catch {
      // fall through to the streaming decoder
    }
  }
  const sink = new Sink(options);
  const stream = STREAM[codec]({ chunkSize: 16 * 1024 });
  return new Promise<DecodeResult>((resolve) => {
    let settled = false;
    const finish = (error?: string): void => {
      if (settled) return;
      settled = true;
      stream.removeAllListeners('data');
      stream.destroy();
      resolve(sink.result(error));
    };
    stream.on('data', (chunk: Buffer) => {
      if (!sink.push(chunk)) finish();
    });
    stream.on('error', (error: Error) => finish(error.message));
    stream.on('end', () => finish());
    stream.on('close', () => finish('stream closed early'));
    stream.end(input);
  });
}

function decodeBzip2(input: Buffer, options: DecodeOptions): DecodeResult {
  const sink = new Sink(options);
  let block = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  const flush = (): void => {
    if (used === 0) return;
    const ok = sink.push(block.subarray(0, used));
    block = Buffer.allocUnsafe(CHUNK);
    used = 0;
    if (!ok) throw new Stop(sink.stopped ?? 'limit');
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
      if (pos >= input.length) throw new Error('unexpected end of bzip2 input');
      return input[pos++] ?? 0;
    },
    read(buffer: Uint8Array, at: number, length: number): number {
      const n = Math.min(length, input.length - pos);
      if (n <= 0) return -1;
      buffer.set(input.subarray(pos, pos + n), at);
      pos += n;
      return n;
    },
    seek(to: number): void {
      pos = to;
    },
    eof(): boolean {
      return pos >= input.length;
    },
  };
  let error: string | undefined;
  try {
    Bunzip.decode(reader, output, true);
  } catch (caught) {
    if (!(caught instanceof Stop)) error = caught instanceof Error ? caught.message : 'bzip2 decoding failed';
  }
  try {
    flush();
  } catch {
    // bound reached on the last block; recorded in the sink
  }
  return sink.result(error);
}

async function decodeXz(input: Buffer, options: DecodeOptions): Promise<DecodeResult> {
  const sink = new Sink(options);
  let offset = 0;
  const compressed = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= input.length) {
        controller.close();
        return;
      }
      const end = Math.min(input.length, offset + CHUNK);
      controller.enqueue(new Uint8Array(input.buffer, input.byteOffset + offset, end - offset));
      offset = end;
    },
  });
  let error: string | undefined;
  const reader = new xzDecompress.XzReadableStream(compressed).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!sink.push(value)) {
        await reader.cancel().catch(() => undefined);
        break;
      }
    }
  } catch (caught) {
    error = caught instanceof Error ? caught.message : 'xz decoding failed';
  }
  return sink.result(error);
}

/** Largest zstd window we allocate; zstd's own default maximum without --long is 128 MiB. */
export const MAX_ZSTD_WINDOW = 512 * 1024 * 1024;

/** Window size a zstd frame header asks for (what the decoder would allocate), or undefined. */
export function zstdWindowSize(data: Buffer): number | undefined {
  if (data.length < 6 || data.readUInt32LE(0) !== 0xfd2fb528) return undefined;
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

function decodeZstd(input: Buffer, options: DecodeOptions): DecodeResult {
  const sink = new Sink(options);
  const window = zstdWindowSize(input);
  if (window !== undefined && window > Math.max(MAX_ZSTD_WINDOW, options.maxOutput)) {
    return sink.result(`zstd frame asks for a ${window}-byte window, more than we allocate`);
  }
  const decoder = new fzstd.Decompress((data) => {
    if (!sink.push(data)) throw new Stop(sink.stopped ?? 'limit');
  });
  let error: string | undefined;
  try {
    const step = 64 * 1024;
    for (let at = 0; at < input.length; at += step) {
      const end = Math.min(input.length, at + step);
      decoder.push(input.subarray(at, end), end === input.length);
    }
    if (input.length === 0) error = 'empty zstd stream';
  } catch (caught) {
    if (!(caught instanceof Stop)) error = caught instanceof Error ? caught.message || 'zstd data error' : 'zstd decoding failed';
  }
  return sink.result(error);
}

function decodeLz4(input: Buffer, options: DecodeOptions): DecodeResult {
  const sink = new Sink(options);
  let error: string | undefined;
  try {
    decodeLz4Frames(input, (data) => {
      if (!sink.push(data)) throw new Stop(sink.stopped ?? 'limit');
    }, options.maxOutput);
  } catch (caught) {
    if (!(caught instanceof Stop)) error = caught instanceof Error ? caught.message : 'lz4 decoding failed';
  }
  return sink.result(error);
}
