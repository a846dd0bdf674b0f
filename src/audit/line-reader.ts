import { openRegularFile } from '../core/safe-fs.js';
import { CustodyError } from '../core/errors.js';

/**
 * Reads a file line by line in bounded memory, never trusting line lengths: a line longer than
 * `maxLineBytes` is not buffered but skipped to its newline and reported as too long. Each line is
 * handed over as a range of a shared buffer with at least one writable byte before `start` (the
 * verifier writes the 0x00 leaf prefix there to hash a line without copying it). The range is only
 * valid during the callback. Special files (FIFOs, devices) are refused before anything is read.
 */

export interface LineSink {
  /**
   * One line without its newline. `terminated` is false for a last line that had no newline; `tooLong`
   * lines come with an empty range. Return true to stop reading.
   */
  line(buffer: Buffer, start: number, end: number, lineNo: number, tooLong: boolean, terminated: boolean): boolean;
}

const CHUNK = 4 * 1024 * 1024;
const NEWLINE = 0x0a;

/** Returns the number of lines read. */
export async function readLines(path: string, maxLineBytes: number, sink: LineSink): Promise<number> {
  const { handle } = await openRegularFile(path);
  const buffer = Buffer.allocUnsafe(1 + maxLineBytes + CHUNK);
  let start = 1;
  let end = 1;
  let lineNo = 0;
  let skipping = false;
  try {
    for (;;) {
      if (start > 1) {
        buffer.copy(buffer, 1, start, end);
        end = 1 + (end - start);
        start = 1;
      }
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, end, buffer.length - end, null));
      } catch (error) {
        throw new CustodyError('IO_ERROR', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
      }
      if (bytesRead === 0) break;
      let scan = end;
      end += bytesRead;
      const view = buffer.subarray(0, end);
      for (;;) {
        const newline = view.indexOf(NEWLINE, scan);
        if (newline < 0) break;
        lineNo += 1;
        const tooLong = skipping || newline - start > maxLineBytes;
        const stop = tooLong ? sink.line(buffer, newline, newline, lineNo, true, true) : sink.line(buffer, start, newline, lineNo, false, true);
        skipping = false;
        if (stop) return lineNo;
        start = newline + 1;
        scan = start;
      }
      if (skipping || end - start > maxLineBytes) {
        skipping = true;
        start = end = 1;
      }
    }
    if (skipping || end > start) {
      lineNo += 1;
      sink.line(buffer, skipping ? 1 : start, skipping ? 1 : end, lineNo, skipping, false);
    }
    return lineNo;
  } finally {
    await handle.close().catch(() => undefined);
  }
}
