import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CustodyError } from '../core/errors.js';
import { canonicalJson } from './canonical-json.js';
import type { AuditLog } from './log.js';
import { parseCheckpointText, parseNote } from './note.js';

/**
 * The export of an audit log: JSON Lines, read top to bottom by `custody audit verify`.
 *
 *   line 1          {"checkpointInterval":1000,"format":"custody-audit-export","origin":"…","verifierKey":"…","version":1}
 *   one per entry   the leaf itself, byte for byte: {"entry":{…},"index":i,"prev":"…"}
 *   every interval  {"checkpoint":"<signed note for the size reached>"} right after each entry whose
 *                   index + 1 is a multiple of checkpointInterval (see AuditLog.intervalCheckpoint)
 *   last line       {"checkpoint":"<signed note for the exported size>","final":true,"prev":"<leaf hash of the last entry>"}
 *
 * Every line ends with a newline. Entry lines are the exact leaf bytes, so the verifier hashes what it
 * reads; the final checkpoint is the one the entries must reproduce (it is the last line, not a sibling
 * file, so one file is the whole evidence). See docs/audit.md.
 */

export const EXPORT_FORMAT = 'custody-audit-export';
export const EXPORT_VERSION = 1;
/** Longest line the verifier reads (a final line carries a note of up to 128 KiB, JSON-escaped). */
export const EXPORT_MAX_LINE_BYTES = 512 * 1024;
const PAGE = 4096;

export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  origin: string;
  verifierKey: string;
  checkpointInterval: number;
}

export function formatExportHeader(header: Omit<ExportHeader, 'format' | 'version'>): string {
  return `${canonicalJson({ format: EXPORT_FORMAT, version: EXPORT_VERSION, ...header })}\n`;
}

export function formatCheckpointLine(note: string): string {
  return `${canonicalJson({ checkpoint: note })}\n`;
}

export function formatFinalLine(note: string, lastLeafHash: Uint8Array | undefined): string {
  return `${canonicalJson({ checkpoint: note, final: true, prev: lastLeafHash === undefined ? '' : Buffer.from(lastLeafHash).toString('base64') })}\n`;
}

/**
 * Streams the export of `log` as text chunks (whole lines, one page of entries at a time), for an
 * HTTP response or `writeAuditExport`. The exported size is fixed when it starts (a fresh checkpoint of
 * the committed size); entries appended meanwhile are not included. Rows are exported as stored, not
 * re-derived, so a row altered on disk shows up as a failed verification rather than being hidden.
 */
export async function* exportAuditLog(log: AuditLog): AsyncGenerator<string> {
  const note = await log.checkpoint();
  const { size } = parseCheckpointText(parseNote(note).text);
  yield formatExportHeader({ origin: log.origin, verifierKey: log.verifierKey, checkpointInterval: log.checkpointInterval });
  let last: Uint8Array | undefined;
  for (let start = 0; start < size; start += PAGE) {
    const end = Math.min(start + PAGE, size);
    const rows = await log.readStoredEntries(start, end);
    if (rows.length !== end - start) throw new CustodyError('AUDIT_STORE_CORRUPT', `the audit store returned ${rows.length} entries for [${start}, ${end})`);
    const checkpoints = new Map((await log.readCheckpoints(start + 1, end + 1)).map((c) => [c.size, c.note]));
    const lines: string[] = [];
    for (const row of rows) {
      lines.push(`${row.leaf}\n`);
      const reached = row.index + 1;
      if (reached % log.checkpointInterval === 0) lines.push(formatCheckpointLine(await log.intervalCheckpoint(reached, checkpoints.get(reached))));
      last = row.leafHash;
    }
    yield lines.join('');
  }
  yield formatFinalLine(note, last);
}

export interface WriteExportOptions {
  /** Replace an existing regular file (default false). */
  overwrite?: boolean;
}

/**
 * Writes a stream of chunks to `path` whole or not at all: into a new temporary file beside it
 * (O_EXCL | O_NOFOLLOW, mode 0600), fsynced, then renamed over `path`. A symbolic link, directory or
 * special file at `path` is refused; so is an existing file unless `overwrite`. A failure removes the
 * temporary file and leaves `path` as it was.
 */
export async function writeAuditExport(path: string, chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>, options: WriteExportOptions = {}): Promise<void> {
  const existing = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new CustodyError('IO_ERROR', `cannot write ${path}: ${error.code ?? error.message}`, { cause: error });
  });
  if (existing?.isSymbolicLink()) throw new CustodyError('SYMLINK_REFUSED', `${path} is a symbolic link; the export is not written through it`);
  if (existing && !existing.isFile()) throw new CustodyError('SPECIAL_FILE', `${path} is not a regular file; the export is not written there`);
  if (existing && options.overwrite !== true) throw new CustodyError('IO_ERROR', `${path} already exists (pass --force to replace it)`);
  const temporary = join(dirname(path), `.${basename(path)}.custody-${randomBytes(8).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    for await (const chunk of chunks) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      for (let offset = 0; offset < bytes.length; ) offset += (await handle.write(bytes, offset, bytes.length - offset)).bytesWritten;
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporary, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    if (error instanceof CustodyError) throw error;
    throw new CustodyError('IO_ERROR', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}
