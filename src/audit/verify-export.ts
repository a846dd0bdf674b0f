import { hash } from 'node:crypto';
import { CustodyError, isCustodyError } from '../core/errors.js';
import { isRecord } from '../core/json.js';
import { locateLeafFields, looksLikeLeaf } from './envelope.js';
import { EXPORT_FORMAT, EXPORT_MAX_LINE_BYTES, EXPORT_VERSION } from './export.js';
import { readLines } from './line-reader.js';
import { CompactRange } from './merkle.js';
import { parseVerifierKey, verifyCheckpoint, type NoteVerifier, type VerifiedCheckpoint } from './note.js';

/**
 * Offline verification of an audit export (see export.ts for the format), streaming and in bounded
 * memory. The export verifies when every line is where it belongs: entry i carries index i and the leaf
 * hash of entry i−1, every interval checkpoint and the final one are signed by the key and match the
 * tree of the entries before them, and the final line chains to the last entry.
 *
 * When it does not verify, the verifier names the first line that is not the log's: the first broken
 * link shows where the chain was cut, and one line of look-ahead tells an altered entry (the chain
 * resumes after it) from an altered, inserted, moved or missing one. A tamperer who rewrites every
 * link after an entry cannot reproduce the next signed checkpoint; then the verifier names the first
 * entry after the last checkpoint that still matched (everything before it is proven authentic).
 */

export const EXPORT_FAILURE_KINDS = [
  'header-invalid',
  'key-mismatch',
  'malformed',
  'oversized',
  'edited',
  'missing',
  'inserted',
  'duplicated',
  'reordered',
  'checkpoint-invalid',
  'checkpoint-misplaced',
  'checkpoint-missing',
  'rewritten',
  'truncated',
  'extra-line',
] as const;
export type ExportFailureKind = (typeof EXPORT_FAILURE_KINDS)[number];

export interface ExportFailure {
  kind: ExportFailureKind;
  /** 1-based line of the export file. */
  line: number;
  /** The entry index that belongs at that place, when the failure is about an entry. */
  index?: number;
  /** For `rewritten`: the entries [from, to) among which the first altered one is. */
  entries?: { from: number; to: number };
  message: string;
}

export interface ExportVerification {
  verified: boolean;
  /** Entry lines read before verification ended. */
  entries: number;
  /** Interval checkpoints that verified and matched. */
  intervalCheckpoints: number;
  /** True when the key came from the caller, false when it was taken from the export's own header. */
  keyPinned: boolean;
  verifierKey?: string;
  /** The final checkpoint, when it verified. */
  checkpoint?: { origin: string; size: number; root: string };
  failure?: ExportFailure;
}

export interface VerifyExportOptions {
  /** The log's verifier key (`name+hex+base64`). Without it, the header's key is used and not trusted. */
  verifierKey?: string;
  /** Longest line read (default EXPORT_MAX_LINE_BYTES). */
  maxLineBytes?: number;
}

/** Verifies an export file. Tool errors (unreadable file, malformed --key) throw; tampering is reported. */
export async function verifyAuditExport(path: string, options: VerifyExportOptions = {}): Promise<ExportVerification> {
  const pinned = options.verifierKey === undefined ? undefined : parseVerifierKey(options.verifierKey);
  const verifier = new ExportVerifier(pinned);
  const lines = await readLines(path, options.maxLineBytes ?? EXPORT_MAX_LINE_BYTES, verifier);
  verifier.finish(lines);
  return verifier.result();
}

interface Anomaly {
  position: number;
  line: number;
  index: number;
  /** prev names the leaf hash of entry position − 1. */
  prevOk: boolean;
  /** prev names the leaf hash of entry position − 2 (or is empty at position 1). */
  prevSkipsOne: boolean;
  hashB64: string;
}

interface Lookahead {
  /** The index the next line claims (for the final line: the size its checkpoint signs). */
  index: number | undefined;
  /** The next line's prev names the anomalous line's leaf hash. */
  links: boolean;
  /** The next line is the final checkpoint line. */
  final?: boolean;
}

interface Block {
  line: number;
  size: number;
  /** Entries read when the checkpoint line came. */
  count: number;
  from: number;
}

const CHECKPOINT_PREFIX = Buffer.from('{"checkpoint":');

class ExportVerifier {
  private verifier: NoteVerifier | undefined;
  private readonly keyPinned: boolean;
  private readonly range = new CompactRange();
  private count = 0;
  private last = ''; // base64 leaf hash of entry count − 1 ('' before the first)
  private beforeLast = ''; // base64 leaf hash of entry count − 2
  private lastGood = 0; // entries [0, lastGood) are proven by a signed checkpoint
  private intervalCheckpoints = 0;
  private interval = 0; // from the header: a checkpoint line follows every multiple of it
  private nextCheckpoint = 0; // the next interval size whose checkpoint line is due
  private missingCheckpoint: ExportFailure | undefined; // the first interval checkpoint line that never came
  /** Entries read when each interval checkpoint line came, to turn positions into line numbers. */
  private readonly checkpointCounts: number[] = [];
  private anomaly: Anomaly | undefined;
  private block: Block | undefined;
  private final: VerifiedCheckpoint | undefined;
  private failure: ExportFailure | undefined;
  private done = false;

  constructor(pinned: NoteVerifier | undefined) {
    this.verifier = pinned;
    this.keyPinned = pinned !== undefined;
  }

  line(buffer: Buffer, start: number, end: number, lineNo: number, tooLong: boolean, terminated: boolean): boolean {
    if (this.done) return true;
    if (tooLong) this.badLine(lineNo, 'oversized', `line ${lineNo} is longer than the ${EXPORT_MAX_LINE_BYTES} bytes any export line may have`);
    else if (!terminated) this.badLine(lineNo, 'truncated', `line ${lineNo} does not end with a newline: the export is truncated`);
    else if (lineNo === 1) this.header(buffer.toString('utf8', start, end));
    else if (this.final) this.fail({ kind: 'extra-line', line: lineNo, message: `line ${lineNo} follows the final checkpoint line; nothing may` });
    else {
      if (looksLikeLeaf(buffer, start, end)) this.entry(buffer, start, end, lineNo);
      else if (end - start >= CHECKPOINT_PREFIX.length && buffer.compare(CHECKPOINT_PREFIX, 0, CHECKPOINT_PREFIX.length, start, start + CHECKPOINT_PREFIX.length) === 0) this.checkpointLine(buffer.toString('utf8', start, end), lineNo);
      else this.badLine(lineNo, 'malformed', `line ${lineNo} is neither an audit entry nor a checkpoint line`);
    }
    return this.done;
  }

  finish(lines: number): void {
    if (this.done) return;
    if (lines === 0) return this.fail({ kind: 'header-invalid', line: 1, message: 'the file is empty; an export starts with its header line' });
    if (this.anomaly) return this.resolve(this.anomaly, { index: undefined, links: false });
    if (this.block) return this.reportBlock(this.block);
    if (!this.final) return this.fail({ kind: 'truncated', line: lines + 1, index: this.count, message: `the export ends after ${this.count} entries without its final checkpoint line: it is truncated` });
    this.done = true;
  }

  result(): ExportVerification {
    const result: ExportVerification = { verified: this.done && this.failure === undefined, entries: this.count, intervalCheckpoints: this.intervalCheckpoints, keyPinned: this.keyPinned };
    if (this.verifier) result.verifierKey = this.verifier.verifierKey;
    if (this.final) result.checkpoint = { origin: this.final.origin, size: this.final.size, root: this.final.root.toString('base64') };
    if (this.failure) result.failure = this.failure;
    return result;
  }

  private fail(failure: ExportFailure): void {
    if (this.failure) return;
    // A checkpoint line found missing earlier is the first bad line, unless this failure is earlier still.
    this.failure = this.missingCheckpoint && this.missingCheckpoint.line < failure.line ? this.missingCheckpoint : failure;
    this.done = true;
  }

  /** Notes that the checkpoint line for the size due was not where it belongs, at `line`. */
  private noteMissingCheckpoint(line: number): void {
    const size = this.nextCheckpoint;
    this.missingCheckpoint ??= { kind: 'checkpoint-missing', line, message: `the checkpoint line for size ${size} is missing at line ${line} (the export has one after every ${this.interval} entries)` };
    this.nextCheckpoint += this.interval;
  }

  private header(text: string): void {
    const header = parseRecord(text);
    const interval = header['checkpointInterval'];
    if (header['format'] !== EXPORT_FORMAT || header['version'] !== EXPORT_VERSION || typeof header['verifierKey'] !== 'string' || typeof header['origin'] !== 'string' || typeof interval !== 'number' || !Number.isSafeInteger(interval) || interval < 1) {
      return this.fail({ kind: 'header-invalid', line: 1, message: `line 1 is not a ${EXPORT_FORMAT} version ${EXPORT_VERSION} header` });
    }
    this.interval = interval;
    this.nextCheckpoint = interval;
    const named = header['verifierKey'];
    if (this.verifier) {
      if (named !== this.verifier.verifierKey) return this.fail({ kind: 'key-mismatch', line: 1, message: `the export names the key ${named.slice(0, 300)}, not the key given to check it with` });
    } else {
      try {
        this.verifier = parseVerifierKey(named);
      } catch (error) {
        return this.fail({ kind: 'header-invalid', line: 1, message: `the header's verifier key is not valid: ${(error as Error).message}` });
      }
    }
    if (header['origin'] !== this.verifier.name) this.fail({ kind: 'header-invalid', line: 1, message: `the header names log "${String(header['origin']).slice(0, 300)}", but the key is for "${this.verifier.name}"` });
  }

  private entry(buffer: Buffer, start: number, end: number, lineNo: number): void {
    const fields = locateLeafFields(buffer, start, end);
    if (!fields) return this.badLine(lineNo, 'malformed', `line ${lineNo} starts like an entry but is not in the leaf layout {"entry":…,"index":…,"prev":"…"}`);
    buffer[start - 1] = 0; // the leaf prefix, written over the previous line's newline
    const leafHash = hash('sha256', buffer.subarray(start - 1, end), 'buffer');
    const prev = buffer.toString('latin1', fields.prevStart, fields.prevEnd);
    if (this.anomaly) return this.resolve(this.anomaly, { index: fields.index, links: prev === this.anomaly.hashB64 });
    const position = this.count;
    if (position === this.nextCheckpoint) this.noteMissingCheckpoint(lineNo);
    const leafB64 = leafHash.toString('base64');
    if (fields.index === position && prev === this.last) {
      this.range.appendLeaf(leafHash);
      this.beforeLast = this.last;
      this.last = leafB64;
      this.count += 1;
      if (this.block) this.reportBlock(this.block); // the chain runs on past the checkpoint that failed
      return;
    }
    if (position > 0 && leafB64 === this.last) {
      return this.culprit(position, lineNo, 'duplicated', `line ${lineNo} repeats entry ${position - 1}: entry ${position} belongs there`);
    }
    this.anomaly = { position, line: lineNo, index: fields.index, prevOk: prev === this.last, prevSkipsOne: position >= 1 && prev === (position === 1 ? '' : this.beforeLast), hashB64: leafB64 };
  }

  /** Decides which line broke the chain, from the anomaly at `a.position` and the line after it. */
  private resolve(a: Anomaly, next: Lookahead): void {
    const p = a.position;
    if (next.links && p >= 1) {
      // The line at p is sound (the next one chains to it and follows it), so the one before was altered.
      if (a.index === p && !a.prevOk && next.index === p + 1) {
        return this.culprit(p - 1, this.lineOf(p - 1), 'edited', `entry ${p - 1} (line ${this.lineOf(p - 1)}) was altered: entry ${p} no longer chains to it`);
      }
      // The line at p is entry p−1 and chains past the line before it, which is therefore foreign.
      if (a.index === p - 1 && a.prevSkipsOne && next.index === p) {
        return this.culprit(p - 1, this.lineOf(p - 1), 'inserted', `line ${this.lineOf(p - 1)} is not in the log: it was inserted before entry ${p - 1}`);
      }
    }
    if (next.final === true && next.index !== undefined && next.index <= p) {
      return this.culprit(p, a.line, 'inserted', `line ${a.line} is not in the log: the final checkpoint signs ${next.index} entries`);
    }
    if (a.index === p) return this.culprit(p, a.line, 'edited', `entry ${p} (line ${a.line}) was altered: its link to the entry before does not match`);
    if (a.index > p && next.links && next.index === a.index + 1) {
      const line = this.expectedLine(p);
      const gone = a.index - p === 1 ? `entry ${p} is` : `entries ${p}–${a.index - 1} are`;
      return this.culprit(p, line, 'missing', `${gone} missing from line ${line} on: line ${a.line} holds entry ${a.index} where entry ${p} belongs`);
    }
    if (next.index === p + 1 && !next.final) return this.culprit(p, a.line, 'edited', `entry ${p} (line ${a.line}) was altered: it claims index ${a.index}`);
    this.culprit(p, a.line, 'reordered', `line ${a.line} holds entry ${a.index} where entry ${p} belongs (entries out of order, moved or altered)`);
  }

  private culprit(position: number, line: number, kind: ExportFailureKind, message: string): void {
    // A checkpoint that failed before this point is earlier evidence unless the culprit explains it: a
    // culprit after that checkpoint's place in the sequence, or a checkpoint line out of place before
    // the culprit's line, is not explained by it.
    const block = this.block;
    if (block && (position > block.count || (block.size !== block.count && line > block.line))) return this.reportBlock(block);
    this.fail({ kind, line, index: position, message });
  }

  private badLine(lineNo: number, kind: ExportFailureKind, message: string): void {
    if (this.anomaly) return this.resolve(this.anomaly, { index: undefined, links: false });
    if (this.block) return this.reportBlock(this.block);
    this.fail({ kind, line: lineNo, index: this.count, message });
  }

  private reportBlock(block: Block): void {
    if (block.size === block.count) {
      const line = this.lineOf(block.from);
      return this.fail({
        kind: 'rewritten',
        line,
        index: block.from,
        entries: { from: block.from, to: block.size },
        message: `entries ${block.from}–${block.size - 1} (from line ${line}) do not reproduce the signed checkpoint of size ${block.size} on line ${block.line}; the first altered entry is among them`,
      });
    }
    this.fail({ kind: 'checkpoint-misplaced', line: block.line, message: `line ${block.line} holds the signed checkpoint of size ${block.size} after ${block.count} entries` });
  }

  /** The line where entry `position` belongs in an export as written: after the header and the checkpoint lines before it. */
  private expectedLine(position: number): number {
    return 2 + position + Math.floor(position / this.interval);
  }

  /** 1-based file line of entry `position` as read (line 1 is the header; checkpoint lines sit between entries). */
  private lineOf(position: number): number {
    let low = 0;
    let high = this.checkpointCounts.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.checkpointCounts[middle] as number) <= position) low = middle + 1;
      else high = middle;
    }
    return 2 + position + low;
  }

  private checkpointLine(text: string, lineNo: number): void {
    const record = parseRecord(text);
    const keys = Object.keys(record).sort().join(',');
    const isFinal = keys === 'checkpoint,final,prev' && record['final'] === true && typeof record['prev'] === 'string';
    if (typeof record['checkpoint'] !== 'string' || (!isFinal && keys !== 'checkpoint')) return this.badLine(lineNo, 'malformed', `line ${lineNo} is not a well-formed checkpoint line`);
    if (this.anomaly && !isFinal) return; // waiting for the next entry to resolve the anomaly
    let checkpoint: VerifiedCheckpoint | undefined;
    let problem = '';
    try {
      checkpoint = verifyCheckpoint(record['checkpoint'], this.verifier as NoteVerifier);
    } catch (error) {
      if (!isCustodyError(error)) throw error;
      problem = `${error.code}: ${error.message}`;
    }
    if (!isFinal) this.checkpointCounts.push(this.count);
    if (!checkpoint) {
      if (this.anomaly) return this.resolve(this.anomaly, { index: undefined, links: record['prev'] === this.anomaly.hashB64 });
      if (this.block) return this.reportBlock(this.block);
      return this.fail({ kind: 'checkpoint-invalid', line: lineNo, message: `the checkpoint on line ${lineNo} does not verify (${problem})` });
    }
    if (isFinal) return this.finalLine(checkpoint, record['prev'] as string, lineNo);
    if (this.block) return this.reportBlock(this.block);
    if (checkpoint.size === this.count && checkpoint.root.equals(this.range.root())) {
      if (checkpoint.size % this.interval !== 0 || checkpoint.size < this.nextCheckpoint) {
        return this.fail({ kind: 'checkpoint-misplaced', line: lineNo, message: `line ${lineNo} holds a checkpoint of size ${checkpoint.size}, where the export has none (one every ${this.interval} entries)` });
      }
      this.nextCheckpoint = checkpoint.size + this.interval;
      this.lastGood = this.count;
      this.intervalCheckpoints += 1;
      return;
    }
    this.block = { line: lineNo, size: checkpoint.size, count: this.count, from: this.lastGood };
  }

  private finalLine(checkpoint: VerifiedCheckpoint, prev: string, lineNo: number): void {
    if (this.anomaly) return this.resolve(this.anomaly, { index: checkpoint.size, links: prev === this.anomaly.hashB64, final: true });
    const n = this.count;
    if (this.nextCheckpoint <= n) this.noteMissingCheckpoint(lineNo);
    const linked = prev === this.last;
    const matches = checkpoint.size === n && checkpoint.root.equals(this.range.root());
    if (linked && matches) {
      // The entries are the log's, so a checkpoint line that failed on the way is the foreign line.
      if (this.block) return this.fail({ kind: 'checkpoint-misplaced', line: this.block.line, message: `line ${this.block.line} holds a signed checkpoint of size ${this.block.size} that these entries do not reproduce there` });
      if (this.missingCheckpoint) return this.fail(this.missingCheckpoint);
      this.final = checkpoint;
      return;
    }
    if (!linked) {
      if (matches) return this.fail({ kind: 'checkpoint-invalid', line: lineNo, message: `the final line's link to the last entry was altered (the entries themselves match the checkpoint)` });
      if (n > checkpoint.size) {
        return this.culprit(checkpoint.size, this.lineOf(checkpoint.size), 'inserted', `line ${this.lineOf(checkpoint.size)} and after are not in the log: the checkpoint signs ${checkpoint.size} entries, the export holds ${n}`);
      }
      if (n < checkpoint.size) {
        const line = this.expectedLine(n);
        return this.culprit(n, line, 'missing', `entries ${n}–${checkpoint.size - 1} are missing from line ${line} on: the export holds ${n} of the ${checkpoint.size} entries its checkpoint signs`);
      }
      if (n > 0) return this.culprit(n - 1, this.lineOf(n - 1), 'edited', `entry ${n - 1} (line ${this.lineOf(n - 1)}) was altered: the final checkpoint no longer chains to it`);
    }
    if (this.block) return this.reportBlock(this.block);
    if (this.lastGood === n && n > 0) return this.fail({ kind: 'checkpoint-misplaced', line: lineNo, message: `the final checkpoint does not match the ${n} entries that the checkpoint of size ${n} already proved` });
    if (checkpoint.size !== n) return this.fail({ kind: 'checkpoint-misplaced', line: lineNo, message: `the final checkpoint signs ${checkpoint.size} entries, but the export chains ${n} entries up to it` });
    // The chain is whole but the tree is not the signed one: every link after some entry was rewritten.
    this.reportBlock({ line: lineNo, size: n, count: n, from: this.lastGood });
  }
}

/** A JSON object line as a record; an empty one for anything else (not JSON, too deep, not an object). */
function parseRecord(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : {};
  } catch {
    return {};
  }
}

export function describeVerification(result: ExportVerification): string {
  if (result.verified && result.checkpoint) {
    const trust = result.keyPinned ? 'signed by the pinned key' : 'signed by the key the export names (not pinned: pass --key to prove who signed it)';
    return `verified: ${result.entries} entries, ${result.intervalCheckpoints} interval checkpoints; final checkpoint ${result.checkpoint.origin} size ${result.checkpoint.size} root ${result.checkpoint.root}, ${trust}`;
  }
  const failure = result.failure;
  if (!failure) throw new CustodyError('INTERNAL', 'an export verification ended with neither a result nor a failure');
  return `FAILED at line ${failure.line}${failure.index === undefined ? '' : ` (entry ${failure.index})`}: ${failure.message} [${failure.kind}]`;
}
