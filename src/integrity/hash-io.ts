import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { CustodyError, type ErrorCode } from '../core/errors.js';
import { createHasher, type HashType } from './digest.js';

/** A byte range to hash: a whole file (`whole`, read to its end) or one shard of it. */
export interface HashUnit {
  /** Name for messages (the manifest name of the file). */
  name: string;
  path: string;
  start: number;
  /** Exclusive end; for a whole file, its size when it was listed. */
  end: number;
  whole: boolean;
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

/** Large reads into one reused buffer: throughput close to `openssl dgst`, memory bounded. */
export const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Hashes each unit by reading it in large chunks into `buffer` (synchronous reads: this runs in a
 * worker thread, or inline for small inputs). A file whose size changed since it was listed is an
 * error, so a manifest never describes bytes that were not all read.
 */
export async function hashUnits(job: HashJob, buffer: Buffer, onBytes?: (bytes: number) => void): Promise<string[]> {
  const digests: string[] = [];
  for (const unit of job.units) {
    const hasher = await createHasher(job.hashType);
    let fd: number;
    try {
      fd = openSync(unit.path, constants.O_RDONLY | (job.noFollow ? constants.O_NOFOLLOW : 0));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new CustodyError('SYMLINK_REFUSED', `${unit.name} became a symbolic link while it was being hashed`, { details: { path: unit.name } });
      throw new CustodyError('IO_ERROR', `cannot open ${unit.name}: ${code ?? (error as Error).message}`, { cause: error, details: { path: unit.name } });
    }
    try {
      if (!fstatSync(fd).isFile()) throw new CustodyError('UNSUPPORTED_FORMAT', `${unit.name} is no longer a regular file`, { details: { path: unit.name } });
      let position = unit.start;
      for (;;) {
        const want = unit.whole ? buffer.length : Math.min(buffer.length, unit.end - position);
        if (want === 0) break;
        const n = readSync(fd, buffer, 0, want, position);
        if (n === 0) break;
        hasher.update(buffer.subarray(0, n));
        position += n;
        onBytes?.(n);
        if (unit.whole && position > unit.end) break;
      }
      if (position !== unit.end) {
        throw new CustodyError('IO_ERROR', `${unit.name} changed size while it was being hashed (listed at ${unit.end} bytes, read ${position}); hash it again once it is stable`, {
          details: { path: unit.name },
        });
      }
    } finally {
      closeSync(fd);
    }
    digests.push(hasher.digest().toString('hex'));
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
