import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { CustodyError, type ErrorCode } from '../core/errors.js';
import { createHasher, type HashType } from './digest.js';

/** A byte range to hash: a whole file or one shard of it. */
export interface HashUnit {
  /** Name for messages (the manifest name of the file). */
  name: string;
  path: string;
  start: number;
  /** Exclusive end. */
  end: number;
  /** The file's size when it was listed; it must still have it once the range is read. */
  fileSize: number;
}

export interface HashJob {
  units: HashUnit[];
  hashType: HashType;
  /** Open with O_NOFOLLOW, so a file swapped for a symlink after listing is refused. */
  noFollow: boolean;
}

/** An error as it crosses a thread boundary. */
export interface HashFailure {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * Reads of 128 KiB into one reused buffer. Measured (bench/hash.bench.ts, docs/benchmarks.md):
 * up to 128 KiB the copy out of the page cache lands in a buffer that stays in the core's cache
 * and the kernel's share of the CPU time matches `openssl dgst`'s; from 192 KiB up it triples
 * (0.10 s → 0.45 s of system time per GB here), and larger reads save no measurable time in
 * syscalls. coreutils settled on the same size for the same reason.
 */
export const READ_CHUNK_BYTES = 128 * 1024;

/**
 * Hashes each unit by reading it in large chunks into `buffer` (synchronous reads: this runs in a
 * worker thread, or inline for small inputs). A file whose size changed since it was listed is an
 * error, for shards as for whole files, so a manifest never describes a file whose bytes were not
 * all read.
 */
export async function hashUnits(job: HashJob, buffer: Buffer, onBytes?: (bytes: number) => void | Promise<void>): Promise<string[]> {
  const digests: string[] = [];
  for (const unit of job.units) {
    let fd: number;
    try {
      // O_NONBLOCK: a file swapped for a FIFO after listing cannot block the open; fstat below refuses it.
      fd = openSync(unit.path, constants.O_RDONLY | constants.O_NONBLOCK | (job.noFollow ? constants.O_NOFOLLOW : 0));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new CustodyError('SYMLINK_REFUSED', `${unit.name} became a symbolic link while it was being hashed`, { details: { path: unit.name } });
      throw new CustodyError('IO_ERROR', `cannot open ${unit.name}: ${code ?? (error as Error).message}`, { cause: error, details: { path: unit.name } });
    }
    try {
      if (!fstatSync(fd).isFile()) throw new CustodyError('SPECIAL_FILE', `${unit.name} is no longer a regular file (a FIFO, device, socket or directory took its place); it is not read`, { details: { path: unit.name } });
      const hasher = await createHasher(job.hashType);
      let position = unit.start;
      while (position < unit.end) {
        const n = readSync(fd, buffer, 0, Math.min(buffer.length, unit.end - position), position);
        if (n === 0) break;
        hasher.update(buffer.subarray(0, n));
        position += n;
        const pause = onBytes?.(n); // the calling thread's share pauses now and then for messages
        if (pause) await pause;
      }
      const size = fstatSync(fd).size;
      if (position !== unit.end || size !== unit.fileSize) {
        throw new CustodyError('IO_ERROR', `${unit.name} changed size while it was being hashed (listed at ${unit.fileSize} bytes, now ${size}); hash it again once it is stable`, {
          details: { path: unit.name },
        });
      }
      digests.push(hasher.digest().toString('hex'));
    } finally {
      closeSync(fd);
    }
  }
  return digests;
}

export function toFailure(error: unknown): HashFailure {
  if (error instanceof CustodyError) return { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

export function fromFailure(failure: HashFailure): CustodyError {
  return new CustodyError(failure.code, failure.message, failure.details ? { details: failure.details } : {});
}
