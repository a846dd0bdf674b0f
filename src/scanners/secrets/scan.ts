import picomatch from 'picomatch';
import type { ResolvedConfig } from '../../core/config.js';
import type { AnyRule, Report } from '../../core/rule.js';
import type { ScanContext, ScanTarget } from '../../core/scanner.js';
import { detectSecrets } from './detect.js';
import { JsonDeadlineError, JsonLimitError, JsonSyntaxError } from './json-tree.js';
import { baseNameOf, isNotebookName, textKindOf } from './kind.js';
import { notebookParts, NotebookShapeError, type NotebookPart } from './notebook.js';
import { notebookUnparsedRule, scanIncompleteRule } from './rules/meta.js';
import type { Candidate, SecretDoc, TextKind } from './types.js';

/** Text is read in windows of this size (or `limits.maxTextBytes` if smaller) so memory stays bounded. */
const WINDOW_BYTES = 8 * 1024 * 1024;
/** Windows overlap by this much, so a secret across a window boundary is still seen whole. */
const OVERLAP_BYTES = 64 * 1024;
/** Each window also reads this much before its start, for context (callee, YAML parents) only. */
const LOOKBEHIND_BYTES = 4 * 1024;
const BINARY_SNIFF = 8 * 1024;

const MAGICS: readonly Buffer[] = [
  Buffer.from([0x89, 0x50, 0x4e, 0x47]), // PNG
  Buffer.from([0xff, 0xd8, 0xff]), // JPEG
  Buffer.from('GIF8'),
  Buffer.from('%PDF'),
  Buffer.from([0x50, 0x4b, 0x03, 0x04]), // zip
  Buffer.from([0x1f, 0x8b]), // gzip
  Buffer.from('BZh'),
  Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), // xz
  Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), // zstd
  Buffer.from([0x7f, 0x45, 0x4c, 0x46]), // ELF
  Buffer.from('PAR1'),
  Buffer.from([0x89, 0x48, 0x44, 0x46]), // HDF5
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]), // numpy
  Buffer.from('SQLite format 3'),
  Buffer.from('GGUF'),
  Buffer.from([0x00, 0x61, 0x73, 0x6d]), // wasm
];

/** Binary content is not text: NUL bytes in the first 8 KiB, a pickle opcode header, or a known magic number. */
function isBinary(head: Buffer): boolean {
  if (utf16Of(head) !== undefined) return false;
  const sniff = head.subarray(0, BINARY_SNIFF);
  if (sniff.length >= 2 && sniff[0] === 0x80 && sniff[1]! >= 2 && sniff[1]! <= 5) return true; // pickle protocol 2–5
  for (const magic of MAGICS) if (sniff.length >= magic.length && sniff.subarray(0, magic.length).equals(magic)) return true;
  return sniff.includes(0);
}

interface Allow {
  values: RegExp[];
  paths: ((path: string) => boolean)[];
}

const allowCache = new WeakMap<ResolvedConfig, Allow>();

function allowOf(config: ResolvedConfig): Allow {
  let allow = allowCache.get(config);
  if (!allow) {
    allow = {
      values: config.secrets.allowValues.map((p) => new RegExp(p, 'u')),
      paths: config.secrets.allowPaths.map((g) => picomatch(g, { dot: true })),
    };
    allowCache.set(config, allow);
  }
  return allow;
}

/** Offsets → 1-based lines and columns, walking forward only (candidates arrive sorted). */
class LineCounter {
  private at = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly text: string) {}

  locate(offset: number): { line: number; column: number } {
    if (offset < this.at) {
      this.at = 0;
      this.line = 1;
      this.lineStart = 0;
    }
    const text = this.text;
    for (let nl = text.indexOf('\n', this.at); nl >= 0 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
      this.line++;
      this.lineStart = nl + 1;
    }
    this.at = offset;
    return { line: this.line, column: offset - this.lineStart + 1 };
  }
}

class Reporters {
  private readonly cache = new Map<string, Report<string>>();
  constructor(
    private readonly context: ScanContext,
    private readonly target: ScanTarget,
  ) {}
  get(rule: AnyRule): Report<string> {
    let r = this.cache.get(rule.id);
    if (!r) {
      r = this.context.reporter(rule, this.target);
      this.cache.set(rule.id, r);
    }
    return r;
  }
}

function allowed(candidate: Candidate, allow: Allow): boolean {
  return allow.values.some((re) => re.test(candidate.secret));
}

/** The secrets scanner's entry point for one target. Never throws for bad input. */
export async function scanTargetForSecrets(target: ScanTarget, context: ScanContext): Promise<void> {
  const allow = allowOf(context.config);
  const shownPath = target.member === undefined ? target.path : `${target.path}!${target.member}`;
  if (allow.paths.some((m) => m(target.path) || m(shownPath) || (target.member !== undefined && m(target.member)))) return;
  if (target.source.size === 0 || isBinary(target.head)) return;
  const baseName = baseNameOf(shownPath);
  const reporters = new Reporters(context, target);
  const maxText = context.limits.maxTextBytes;
  if (isNotebookName(baseName)) {
    if (target.source.size <= maxText) {
      const done = await scanNotebook(target, context, reporters, allow, baseName, shownPath.toLowerCase());
      if (done) return;
    } else {
      reporters.get(notebookUnparsedRule)({ message: 'tooLarge', data: { size: target.source.size, limit: maxText } });
    }
  }
  const utf16 = utf16Of(target.head);
  const lowerPath = shownPath.toLowerCase();
  if (utf16 !== undefined) await scanUtf16(target, context, reporters, allow, baseName, utf16, lowerPath);
  else await scanText(target, context, reporters, allow, baseName, textKindOf(baseName), lowerPath);
}

function reportCandidate(reporters: Reporters, c: Candidate, line: number, column: number, offset: number, properties?: Record<string, unknown>): void {
  c.rule.check({ candidate: c, line, column, offset, ...(properties === undefined ? {} : { properties }) }, reporters.get(c.rule));
}

async function scanText(target: ScanTarget, context: ScanContext, reporters: Reporters, allow: Allow, baseName: string, kind: TextKind, shownPath: string): Promise<void> {
  const size = target.source.size;
  const window = Math.max(64 * 1024, Math.min(WINDOW_BYTES, context.limits.maxTextBytes));
  let pos = 0;
  let linesBefore = 0; // newlines before readStart
  let readStart = 0;
  while (pos < size) {
    if (Date.now() > context.deadline) {
      reporters.get(scanIncompleteRule)({ message: 'timeout', offset: pos, data: { offset: pos, size, ms: context.limits.fileTimeoutMs } });
      return;
    }
    const readEnd = Math.min(size, pos + window + OVERLAP_BYTES);
    const bytes = await target.source.read(readStart, readEnd - readStart);
    // One character per byte (Latin-1): offsets are byte offsets; secrets are ASCII, other text keeps its bytes.
    const text = bytes.toString('latin1');
    const doc: SecretDoc = { text, kind, baseName, path: shownPath };
    const outcome = detectSecrets(doc, context.deadline);
    const acceptEnd = readEnd >= size ? size : pos + window;
    const lines = new LineCounter(text);
    for (const c of outcome.candidates) {
      const abs = readStart + c.start;
      if (abs < pos || abs >= acceptEnd) continue;
      if (outcome.stoppedAt !== undefined && c.start > outcome.stoppedAt) continue;
      if (allowed(c, allow)) continue;
      const { line, column } = lines.locate(c.start);
      reportCandidate(reporters, c, linesBefore + line, column, abs);
    }
    if (outcome.stoppedAt !== undefined) {
      const at = readStart + outcome.stoppedAt;
      reporters.get(scanIncompleteRule)({ message: 'timeout', offset: at, data: { offset: at, size, ms: context.limits.fileTimeoutMs } });
      return;
    }
    if (acceptEnd >= size) return;
    const nextRead = Math.max(0, acceptEnd - LOOKBEHIND_BYTES);
    linesBefore += lines.locate(nextRead - readStart).line - 1;
    readStart = nextRead;
    pos = acceptEnd;
  }
}

interface Utf16 {
  encoding: 'utf-16le' | 'utf-16be';
  /** Bytes of byte-order mark before the text (0 when the encoding was recognised without one). */
  bom: 0 | 2;
}

/**
 * The UTF-16 variant of a text: announced by a byte-order mark, or, without one, recognised by its
 * shape — ASCII-range text in UTF-16 has a NUL in every other byte (Windows tools write such files), so
 * it would otherwise be taken for binary and skipped.
 */
function utf16Of(head: Buffer): Utf16 | undefined {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bom: 2 };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bom: 2 };
  const sniff = head.subarray(0, Math.min(head.length, BINARY_SNIFF) & ~1);
  if (sniff.length < 16) return undefined;
  let le = 0;
  let be = 0;
  for (let i = 0; i < sniff.length; i += 2) {
    const a = sniff[i]!;
    const b = sniff[i + 1]!;
    if (b === 0 && isTextByte(a)) le += 1;
    else if (a === 0 && isTextByte(b)) be += 1;
  }
  const pairs = sniff.length / 2;
  if (le === pairs) return { encoding: 'utf-16le', bom: 0 };
  if (be === pairs) return { encoding: 'utf-16be', bom: 0 };
  return undefined;
}

/** Printable ASCII, tab, newline or carriage return. */
function isTextByte(byte: number): boolean {
  return (byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * UTF-16 files are decoded whole, up to limits.maxTextBytes; byte offsets are two per character after
 * the byte-order mark, if any. Larger ones are reported as not scanned.
 */
async function scanUtf16(target: ScanTarget, context: ScanContext, reporters: Reporters, allow: Allow, baseName: string, { encoding, bom }: Utf16, shownPath: string): Promise<void> {
  const size = target.source.size;
  if (size > context.limits.maxTextBytes) {
    reporters.get(scanIncompleteRule)({ message: 'undecodable', data: { reason: `${encoding} text larger than limits.maxTextBytes (${context.limits.maxTextBytes} bytes)` } });
    return;
  }
  const text = new TextDecoder(encoding).decode((await target.source.read(bom, size - bom)) as Uint8Array);
  const outcome = detectSecrets({ text, kind: textKindOf(baseName), baseName, path: shownPath }, context.deadline);
  const lines = new LineCounter(text);
  for (const c of outcome.candidates) {
    if (allowed(c, allow) || (outcome.stoppedAt !== undefined && c.start > outcome.stoppedAt)) continue;
    const { line, column } = lines.locate(c.start);
    reportCandidate(reporters, c, line, column, bom + 2 * c.start);
  }
  if (outcome.stoppedAt !== undefined) {
    const at = bom + 2 * outcome.stoppedAt;
    reporters.get(scanIncompleteRule)({ message: 'timeout', offset: at, data: { offset: at, size, ms: context.limits.fileTimeoutMs } });
  }
}

/** Returns false when the notebook could not be parsed (reported; the caller scans it as raw text). */
async function scanNotebook(target: ScanTarget, context: ScanContext, reporters: Reporters, allow: Allow, baseName: string, shownPath: string): Promise<boolean> {
  const raw = (await target.source.read(0, target.source.size)).toString('latin1');
  let parts: NotebookPart[];
  try {
    parts = notebookParts(raw, { deadline: context.deadline });
  } catch (error) {
    if (error instanceof JsonDeadlineError) {
      reporters.get(scanIncompleteRule)({ message: 'timeout', offset: error.offset, data: { offset: error.offset, size: raw.length, ms: context.limits.fileTimeoutMs } });
      return true;
    }
    if (error instanceof JsonSyntaxError || error instanceof NotebookShapeError) {
      reporters.get(notebookUnparsedRule)({ message: 'invalid', data: { reason: error.message.slice(0, 120) } });
      return false;
    }
    if (error instanceof JsonLimitError) {
      reporters.get(notebookUnparsedRule)({ message: 'tooComplex', offset: error.offset, data: { reason: error.message } });
      return false;
    }
    throw error;
  }
  const lines = new LineIndex(raw);
  for (const [index, part] of parts.entries()) {
    if (index % 256 === 255 && Date.now() > context.deadline) {
      const at = part.text.toRaw(0);
      reporters.get(scanIncompleteRule)({ message: 'timeout', offset: at, data: { offset: at, size: raw.length, ms: context.limits.fileTimeoutMs } });
      return true;
    }
    const text = part.text.toString();
    const outcome = detectSecrets({ text, kind: part.kind, baseName, path: shownPath }, context.deadline);
    const cellLines = new LineCounter(text);
    for (const c of outcome.candidates) {
      if (allowed(c, allow)) continue;
      const rawOffset = part.text.toRaw(c.start);
      const { line, column } = lines.locate(rawOffset);
      const properties: Record<string, unknown> = { field: part.field };
      if (part.cell !== undefined) properties['cell'] = part.cell;
      if (part.field === 'source' || part.field === 'outputs') properties['cellLine'] = cellLines.locate(c.start).line;
      if (part.output !== undefined) properties['output'] = part.output;
      reportCandidate(reporters, c, line, column, rawOffset, properties);
    }
    if (outcome.stoppedAt !== undefined) {
      const at = part.text.toRaw(outcome.stoppedAt);
      reporters.get(scanIncompleteRule)({ message: 'timeout', offset: at, data: { offset: at, size: raw.length, ms: context.limits.fileTimeoutMs } });
      return true;
    }
  }
  return true;
}

/** Line starts of a whole text, for random-access offset → line lookups. */
class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', nl + 1)) this.starts.push(nl + 1);
  }
  locate(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}
