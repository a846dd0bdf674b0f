import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CustodyError } from './errors.js';

/**
 * File access for paths an attacker may have planted: the scanned tree, a model directory, a notebook
 * folder. Reads never block on a FIFO or device and never take a non-regular file for content; writes
 * never go through a symbolic link and never leave half a file behind.
 */

export interface OpenRegularOptions {
  /** Refuse a symbolic link as the last path component (O_NOFOLLOW). Default false. */
  noFollow?: boolean;
}

export interface RegularFile {
  handle: FileHandle;
  size: number;
}

/**
 * Opens a file for reading with O_NONBLOCK (a FIFO swapped in after a directory walk cannot hang the
 * open), then checks the open descriptor itself: anything but a regular file is refused with
 * SPECIAL_FILE. Errors: PATH_NOT_FOUND, SYMLINK_REFUSED (with `noFollow`), SPECIAL_FILE, IO_ERROR.
 */
export async function openRegularFile(path: string | Buffer, options: OpenRegularOptions = {}): Promise<RegularFile> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0);
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' && options.noFollow) throw new CustodyError('SYMLINK_REFUSED', `${path} is a symbolic link, which is not followed here`, { cause: error });
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CustodyError('PATH_NOT_FOUND', `cannot read ${path}: ${code}`, { cause: error });
    throw new CustodyError('IO_ERROR', `cannot open ${path}: ${code ?? (error as Error).message}`, { cause: error });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new CustodyError('SPECIAL_FILE', `${path} is ${describeFileType(stat)}, not a regular file; it is not read`);
    return { handle, size: stat.size };
  } catch (error) {
    await handle.close().catch(() => undefined);
    if (error instanceof CustodyError) throw error;
    throw new CustodyError('IO_ERROR', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

export interface ReadRegularOptions extends OpenRegularOptions {
  /** Refuse (INPUT_LIMIT) a file larger than this, before reading any of it. */
  maxBytes: number;
}

/** Reads a whole regular file, refusing special files and files over `maxBytes` before reading. */
export async function readRegularFile(path: string | Buffer, options: ReadRegularOptions): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path, options);
  try {
    if (size > options.maxBytes) {
      throw new CustodyError('INPUT_LIMIT', `${path} is ${size} bytes, over the limit of ${options.maxBytes} bytes`, { details: { path, size, limit: options.maxBytes } });
    }
    const buffer = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === size ? buffer : buffer.subarray(0, filled);
  } catch (error) {
    if (error instanceof CustodyError) throw error;
    throw new CustodyError('IO_ERROR', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * `readRegularFile` for small files read synchronously (a manifest or `.dockerignore` beside a scanned file):
 * opened with O_NONBLOCK and never through a final link; undefined when the path is absent, not a regular
 * file, or larger than `maxBytes`. It never throws and never blocks on a FIFO.
 */
export function readSmallRegularFileSync(path: string, maxBytes: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > maxBytes) return undefined;
    const buffer = Buffer.allocUnsafe(stat.size);
    let filled = 0;
    while (filled < stat.size) {
      const read = readSync(fd, buffer, filled, stat.size - filled, filled);
      if (read === 0) break;
      filled += read;
    }
    return buffer.subarray(0, filled);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export interface WriteSafelyOptions {
  /** Mode of a newly created file (the umask applies). An existing file keeps its own mode. */
  mode?: number;
  /** Replace an existing regular file (default true). False refuses with IO_ERROR when the path exists. */
  overwrite?: boolean;
  /** Give the file `mode` even when it replaces one with another mode (a private key must stay 0600). */
  forceMode?: boolean;
}

/**
 * Writes a file whole or not at all: the data goes to a new file with an unpredictable name in the
 * target's directory (created with O_EXCL and O_NOFOLLOW, so a planted link at that name cannot redirect
 * it), is flushed to disk, and is renamed over the target. A symbolic link at the target is refused
 * (SYMLINK_REFUSED), never written through; so is a directory or special file (SPECIAL_FILE). An
 * existing file keeps its mode. A failed write removes the temporary file and leaves the target as it was.
 */
export async function writeFileSafely(path: string, data: string | Uint8Array, options: WriteSafelyOptions = {}): Promise<void> {
  const existing = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new CustodyError('IO_ERROR', `cannot write ${path}: ${error.code ?? error.message}`, { cause: error });
  });
  if (existing) {
    if (existing.isSymbolicLink()) throw new CustodyError('SYMLINK_REFUSED', `${path} is a symbolic link; Custody does not write through links (remove it or choose another path)`);
    if (!existing.isFile()) throw new CustodyError('SPECIAL_FILE', `${path} is ${describeFileType(existing)}, not a regular file; it is not overwritten`);
    if (options.overwrite === false) throw new CustodyError('IO_ERROR', `${path} already exists (pass --force to replace it)`);
  }
  const temporary = join(dirname(path), `.${basename(path)}.custody-${randomBytes(8).toString('hex')}.tmp`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, flags, options.mode ?? 0o666);
    if (options.forceMode && options.mode !== undefined) await handle.chmod(options.mode);
    else if (existing) await handle.chmod(existing.mode & 0o7777);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporary, path);
  } catch (error) {
    if (handle) await handle.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    if (error instanceof CustodyError) throw error;
    throw new CustodyError('IO_ERROR', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

/** What a non-regular file is, for messages: `a FIFO`, `a socket`, `a character device`, … */
export function describeFileType(stat: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSymbolicLink(): boolean }): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}
