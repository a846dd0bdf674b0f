import type { ByteSource } from '../../core/byte-source.js';
import { decodeToSource, type Codec } from './decompress.js';

/**
 * Decompressed layers need random access (the tar reader addresses members by offset), so a layer is
 * decoded with the decoders every compressed stream goes through (./decompress.ts): output bounded by `maxBytes` and the deadline, held in memory up to `memoryBytes`
 * and in a nameless temporary file beyond (see src/core/spool.ts), with the cut reported the same way.
 */
export interface SpoolOptions {
  memoryBytes: number;
  maxBytes: number;
  deadline: number;
}

export interface SpooledSource {
  source: ByteSource;
  /** The output went to a temporary file (it outgrew `memoryBytes`). */
  onDisk: boolean;
  /** Set when decoding stopped early; `source` then holds what was decoded before it. */
  stopped?: { reason: 'limit' | 'timeout' | 'damaged'; detail: string };
  /** Closes the source and frees any temporary file. */
  dispose(): Promise<void>;
}

/**
 * Decompresses `source` into a spool. Bad input never throws: damage, the size bound and the
 * deadline end decoding and are reported through `stopped`. Throws CustodyError IO_ERROR only when
 * the temporary file cannot be written.
 */
export async function decompressToSpool(source: ByteSource, codec: Codec, options: SpoolOptions): Promise<SpooledSource> {
  const decoded = await decodeToSource(codec, source, { maxOutput: options.maxBytes, memoryBytes: options.memoryBytes, deadline: options.deadline });
  const out: SpooledSource = { source: decoded.source, onDisk: decoded.onDisk, dispose: decoded.dispose };
  if (decoded.stopped === 'limit') out.stopped = { reason: 'limit', detail: `more than ${options.maxBytes} bytes` };
  else if (decoded.stopped === 'timeout') out.stopped = { reason: 'timeout', detail: 'the time budget ran out' };
  else if (decoded.error !== undefined) out.stopped = { reason: 'damaged', detail: `${codec} stream: ${decoded.error}` };
  return out;
}
