import { createInflateRaw } from 'node:zlib';
import { BufferSource, SliceSource, type ByteSource } from '../../core/byte-source.js';
import { HEAD_BYTES, type ScanContext, type ScanTarget } from '../../core/scanner.js';
import { BOMB_MIN_OUTPUT, BOMB_RATIO } from './compressed.js';
import { crc32 } from './crc32.js';
import type { MemberSpan } from './tarball.js';
import { decodeToSource, SPOOL_MEMORY_BYTES, type Codec } from './decompress.js';
import { startsLikePickle } from './pickle-sniff.js';
import {
  archiveLimitExceededRule,
  zipCrcMismatchRule,
  zipDuplicateEntryRule,
  zipFlagBitsRule,
  zipHeaderMismatchRule,
  zipMalformedRule,
  zipPathTraversalRule,
  zipPolyglotRule,
  zipUnsupportedCompressionRule,
} from './archive-rules.js';
import {
  FLAG_DESCRIPTOR,
  FLAG_ENCRYPTED,
  FLAG_MASKED_HEADERS,
  FLAG_PATCHED,
  FLAG_STRONG_ENCRYPTION,
  KNOWN_FLAGS,
  METHOD_LABELS,
  descriptorsAt,
  readZip,
  startsLikeZip,
  type AesExtra,
  type LocalHeader,
  type ZipArchive,
  type ZipEntry,
} from './zip-reader.js';

/** Most entries read from one archive (PyTorch checkpoints hold one per tensor storage). */
export const MAX_ZIP_ENTRIES = 100_000;
/** Stored members up to this size are read into memory (and their CRC checked); larger ones are read lazily. */
const INLINE_STORED = 1024 * 1024;
/** Larger stored members still have their CRC checked, a chunk at a time, when they start like a pickle. */
const CRC_PICKLE_LIMIT = 64 * 1024 * 1024;
const CRC_CHUNK = 1024 * 1024;

const CODEC_BY_METHOD: Readonly<Record<number, Codec>> = { 8: 'deflate-raw', 12: 'bzip2', 14: 'zip-lzma', 93: 'zstd', 95: 'xz' };

/** How one reading of an entry locates its bytes: the central directory's view or the local header's. */
interface Reading {
  /** Member label used in findings and for scanMember. */
  label: string;
  dataStart: number;
  method: number;
  compressedSize: number;
  crc: number;
  /** Uncompressed size as recorded (LZMA streams need it). */
  size: number;
  flags: number;
  /** CRC is known and should be checked. */
  checkCrc: boolean;
}

interface ScanState {
  target: ScanTarget;
  context: ScanContext;
  archive: ZipArchive;
  kind: string;
  /** Decompressed bytes so far, against the archive budget. */
  decoded: number;
  budget: number;
  budgetReported: boolean;
  timeoutReported: boolean;
  /** Where entry data must end (the central directory, or the end of the file). */
  dataEnd: number;
}

/**
 * Whether the target may hold a zip: a zip signature at the start, or (for files larger than the head,
 * or a head holding an end record) a possible end record at the end. `scanZip` checks the tail and
 * returns quietly when there is no zip there, so a pickle with a zip appended is read as both.
 */
export function mayHoldZip(target: ScanTarget): boolean {
  if (startsLikeZip(target.head)) return true;
  if (target.source.size > target.head.length && target.head.length >= HEAD_BYTES) return true;
  return target.head.includes('PK\x05\x06', 0, 'latin1');
}

export interface ScanZipOptions {
  /** Byte ranges of the target already handed to the scanners as members (tar members). */
  members?: readonly MemberSpan[];
}

/** Every structure of the archive — entries with their data, directory, end record — lies in `span`. */
function liesWithin(archive: ZipArchive, span: MemberSpan): boolean {
  if (archive.end === undefined || archive.directoryStart === undefined || archive.problems.some((p) => p.kind === 'timeout')) return false;
  if (archive.start < span.start || archive.directoryStart < span.start || archive.end > span.end) return false;
  return archive.entries.every((entry) => entry.local !== undefined && entry.localOffset >= span.start && entry.local.dataStart + entry.compressedSize <= archive.directoryStart!);
}

/** Describes the archive for messages: PyTorch checkpoint, TorchScript archive, NumPy .npz, or plain zip. */
export function describeZipKind(names: readonly string[]): string {
  const pickles = names.filter((n) => /(^|\/)data\.pkl$/.test(n));
  if (pickles.length > 0) {
    if (names.some((n) => /(^|\/)code\//.test(n)) || names.some((n) => /(^|\/)constants\.pkl$/.test(n))) return 'TorchScript archive';
    return 'PyTorch checkpoint (zip)';
  }
  if (names.some((n) => /(^|\/)constants\.pkl$/.test(n))) return 'TorchScript archive';
  if (names.length > 0 && names.every((n) => n.endsWith('.npy'))) return 'NumPy .npz archive';
  return 'zip archive';
}

/**
 * Scans a zip: reports every structural trick and scans every member (under every reading of it)
 * through `context.scanMember`. Returns false when the target is not a zip at all.
 */
export async function scanZip(target: ScanTarget, context: ScanContext, options: ScanZipOptions = {}): Promise<boolean> {
  const { source } = target;
  const archive = await readZip(source, target.head, { maxEntries: context.limits.maxEntries ?? MAX_ZIP_ENTRIES, deadline: context.deadline });
  if (!archive) return false;
  // The zip is wholly one member the target's other reading already handed over: reading it here too
  // would scan every member twice (and call a tarball whose last file is a zip a polyglot).
  if (options.members !== undefined && options.members.some((span) => liesWithin(archive, span))) return true;
  const names = [...archive.entries.map((e) => e.name), ...archive.orphans.map((o) => o.name)];
  const state: ScanState = {
    target,
    context,
    archive,
    kind: describeZipKind(names),
    decoded: 0,
    budget: context.limits.maxMemberBytes * 4,
    budgetReported: false,
    timeoutReported: false,
    dataEnd: archive.directoryStart ?? source.size,
  };
  reportArchiveProblems(state);

  if (archive.start > 0 && archive.entries.length > 0) {
    const report = context.reporter(zipPolyglotRule, target);
    const prefix = target.head.subarray(0, Math.min(archive.start, target.head.length));
    // The prefix sits at offset 0 of this target, where every scanner (the pickle format included)
    // already reads it; here we only say that the file has two readings.
    report({ message: prefix[0] === 0x80 && startsLikePickle(prefix) ? 'pickle' : 'prefix', offset: 0, data: { kind: state.kind, bytes: archive.start } });
  }

  await checkSuffix(state);
  reportDuplicates(state);
  reportOverlaps(state);

  const copies = new Map<string, number>();
  const totals = new Map<string, number>();
  for (const entry of archive.entries) totals.set(entry.key, (totals.get(entry.key) ?? 0) + 1);
  for (const [i, entry] of archive.entries.entries()) {
    if (Date.now() > context.deadline) {
      reportTimeout(state, archive.entries.length - i + archive.orphans.length);
      return true;
    }
    const seen = (copies.get(entry.key) ?? 0) + 1;
    copies.set(entry.key, seen);
    const total = totals.get(entry.key) ?? 1;
    // zipfile keeps the last copy under the plain name; the others get a copy number.
    const label = seen === total ? entry.name : `${entry.name} (copy ${seen} of ${total})`;
    await scanEntry(state, entry, label);
  }
  for (const [i, orphan] of archive.orphans.entries()) {
    if (Date.now() > context.deadline) {
      reportTimeout(state, archive.orphans.length - i);
      return true;
    }
    context.reporter(zipHeaderMismatchRule, target)({ message: 'orphan', member: orphan.name, offset: orphan.offset, data: { name: orphan.name, offset: orphan.offset } });
    const sealed = await checkFlags(state, orphan.name, orphan.flags, { ...orphan, flagsAgree: true });
    if (sealed) continue;
    await scanReading(state, {
      label: `${orphan.name} (local entry at ${orphan.offset})`,
      dataStart: orphan.dataStart,
      method: orphan.method,
      compressedSize: orphan.compressedSize,
      crc: orphan.crc,
      size: orphan.size,
      flags: orphan.flags,
      checkCrc: (orphan.flags & FLAG_DESCRIPTOR) === 0,
    });
  }
  // The reader stopped early: members it did not reach were not scanned, whatever their number.
  if (archive.problems.some((problem) => problem.kind === 'timeout')) reportTimeout(state, 'further');
  return true;
}

function reportTimeout(state: ScanState, count: number | 'further'): void {
  if (state.timeoutReported) return;
  state.timeoutReported = true;
  state.context.reporter(archiveLimitExceededRule, state.target)({ message: 'timeout', data: { kind: state.kind, count } });
}

function reportArchiveProblems(state: ScanState): void {
  const { context, target, kind } = state;
  const malformed = context.reporter(zipMalformedRule, target);
  for (const problem of state.archive.problems) {
    switch (problem.kind) {
      case 'noEnd':
        malformed({ message: 'noEnd' });
        break;
      case 'badDirectory':
        malformed({ message: 'badDirectory', data: { detail: problem.detail } });
        break;
      case 'count':
        malformed({ message: 'count', data: { declared: problem.declared, actual: problem.actual } });
        break;
      case 'zip64':
        malformed({ message: 'zip64', data: { detail: problem.detail } });
        break;
      case 'entries':
        context.reporter(archiveLimitExceededRule, target)({ message: 'entries', data: { kind, count: problem.count, limit: problem.limit } });
        break;
      case 'centralEncryption':
        context.reporter(zipFlagBitsRule, target)({ message: 'centralEncryption', data: { flags: hex(problem.flags) } });
        break;
      case 'timeout':
        break; // reported once, after the members that were read (see scanZip)
    }
  }
}

/** Bytes after the end record (and its comment): invisible to zip readers, so scanned and reported. */
async function checkSuffix(state: ScanState): Promise<void> {
  const { target, context, archive } = state;
  const start = archive.end;
  if (start === undefined || start >= target.source.size || archive.entries.length === 0) return;
  const length = target.source.size - start;
  const head = await target.source.read(start, Math.min(length, 64 * 1024));
  if (head.every((b) => b === 0) && length <= head.length) return; // zero padding
  const pickle = head[0] === 0x80 && startsLikePickle(head);
  context.reporter(zipPolyglotRule, target)({
    message: 'suffix',
    offset: start,
    ...(pickle ? {} : { severity: 'medium' as const }),
    data: { bytes: length, kind: state.kind, offset: start, detail: pickle ? ' (they start like a pickle)' : '' },
  });
  await context.scanMember(target, `data after the archive@${start}`, new SliceSource(target.source, start, length));
}

function reportDuplicates(state: ScanState): void {
  const groups = new Map<string, ZipEntry[]>();
  for (const entry of state.archive.entries) {
    const group = groups.get(entry.key);
    if (group) group.push(entry);
    else groups.set(entry.key, [entry]);
  }
  const report = state.context.reporter(zipDuplicateEntryRule, state.target);
  for (const [key, group] of groups) {
    if (group.length < 2) continue;
    const shown = group.some((e) => e.name !== key) ? `${JSON.stringify(key)} (names differ after a NUL byte)` : key;
    report({ message: 'duplicate', member: key, data: { kind: state.kind, count: group.length, name: shown } });
  }
}

function reportOverlaps(state: ScanState): void {
  const spans = state.archive.entries
    .filter((e) => e.local !== undefined)
    .map((e) => ({ entry: e, start: e.localOffset, end: (e.local?.dataStart ?? e.localOffset) + e.compressedSize }))
    .sort((a, b) => a.start - b.start || a.end - b.end);
  const report = state.context.reporter(zipMalformedRule, state.target);
  let reported = 0;
  let furthest: (typeof spans)[number] | undefined;
  for (const span of spans) {
    if (furthest && span.start < furthest.end && reported < 10) {
      reported += 1;
      report({
        message: 'overlap',
        member: span.entry.name,
        offset: span.start,
        data: { name: span.entry.name, other: furthest.entry.name, offset: span.start, otherOffset: furthest.start },
      });
    }
    if (!furthest || span.end > furthest.end) furthest = span;
  }
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`;
}

function checkPath(state: ScanState, name: string): void {
  const parts = name.split(/[\\/]/);
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name) || parts.includes('..')) {
    state.context.reporter(zipPathTraversalRule, state.target)({ message: 'path', member: name, data: { name } });
  }
}

/** Where an entry's bytes are and what the headers say about them, for judging its encryption. */
interface SealedData {
  dataStart: number;
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  aes?: AesExtra | undefined;
  /** The local header and the central directory agree on the encryption bits. */
  flagsAgree: boolean;
}

/**
 * Reports the entry's flag bits. Returns true when the entry is really encrypted (its bytes are
 * ciphertext no loader can read without a password), so that its bytes are not scanned as content.
 */
async function checkFlags(state: ScanState, name: string, flags: number, sealed: SealedData): Promise<boolean> {
  const report = state.context.reporter(zipFlagBitsRule, state.target);
  const data = { name, flags: hex(flags) };
  let real = false;
  if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) {
    const verdict = await judgeEncryption(state, flags, sealed);
    if (verdict.real) {
      real = true;
      report({ message: 'ciphertext', member: name, severity: 'medium', data: { ...data, scheme: verdict.detail } });
    } else report({ message: 'encrypted', member: name, data: { ...data, detail: verdict.detail } });
  }
  if (flags & FLAG_PATCHED) report({ message: 'patched', member: name, data });
  if (flags & FLAG_MASKED_HEADERS) report({ message: 'centralEncryption', member: name, data });
  else if (flags & ~KNOWN_FLAGS & 0xffff) report({ message: 'unknown', member: name, severity: 'medium', data });
  return real;
}

/** Bytes of an encrypted entry read to judge it; CRCs are checked only when the whole entry fits. */
const SEALED_SAMPLE = 1024 * 1024;
const SEALED_FULL = 16 * 1024 * 1024;
/** Below this many bytes, byte entropy says nothing; above it, ciphertext is close to 8 bits per byte. */
const ENTROPY_MIN_BYTES = 256;
const CIPHERTEXT_MIN_ENTROPY = 7.0;
const AES_SALT: Readonly<Record<number, number>> = { 1: 8, 2: 12, 3: 16 };
const NPY = Buffer.from('\x93NUMPY', 'latin1');
const HDF5 = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Is a member marked encrypted really ciphertext? Python zipfile (numpy, joblib on zips) and PyTorch's
 * reader refuse encrypted entries, so real ciphertext cannot be loaded by anything: only its presence
 * is reported (medium). The flag over content that is not ciphertext is a scanner-evasion trick and
 * stays high. Real means: both headers mark it encrypted; the layout fits the scheme (ZipCrypto: a
 * 12-byte header, stored data exactly 12 bytes longer than the content; AES: a well-formed 0x9901 extra
 * field, room for salt, verifier and MAC); and the bytes do not read as content without decryption
 * (no known format at the start or after the 12-byte header, no CRC match, no complete deflate stream,
 * near-random bytes when there are enough of them to tell).
 */
async function judgeEncryption(state: ScanState, flags: number, e: SealedData): Promise<{ real: boolean; detail: string }> {
  const fake = (why: string): { real: boolean; detail: string } => ({ real: false, detail: `it is not ciphertext: ${why}` });
  if (!e.flagsAgree) return fake('the local header and the central directory disagree on encryption, so readers disagree on whether to decrypt it');
  const strong = (flags & FLAG_STRONG_ENCRYPTION) !== 0;
  let scheme: string;
  let header: number;
  if (e.method === 99) {
    if (e.aes === undefined) return fake('method 99 (AES) without a WinZip AES extra field (0x9901)');
    const salt = AES_SALT[e.aes.strength];
    if (salt === undefined) return fake(`unknown AES strength ${e.aes.strength}`);
    header = salt + 2;
    if (e.compressedSize < header + 10) return fake(`${e.compressedSize} bytes cannot hold the AES salt, password verifier and authentication code`);
    scheme = `WinZip AES-${64 + 64 * e.aes.strength} (AE-${e.aes.version})`;
  } else if (strong) {
    header = 0;
    scheme = 'PKWARE strong encryption';
  } else {
    header = 12;
    if (e.compressedSize < 12) return fake(`${e.compressedSize} bytes cannot hold the 12-byte ZipCrypto header`);
    if (e.method === 0 && e.compressedSize !== e.size + 12) return fake(`stored data of ${e.compressedSize} bytes for ${e.size} bytes of content has no room for the 12-byte ZipCrypto header`);
    scheme = 'ZipCrypto';
  }
  const available = Math.max(0, Math.min(e.compressedSize, state.target.source.size - e.dataStart));
  const whole = available === e.compressedSize && available <= SEALED_FULL;
  const bytes = await state.target.source.read(e.dataStart, whole ? available : Math.min(available, SEALED_SAMPLE));
  for (const [at, label] of [[0, 'at its start'], [header, `after the ${header}-byte encryption header`]] as const) {
    if (at > 0 && header === 0) continue;
    const part = bytes.subarray(at);
    const format = knownFormat(part);
    if (format !== undefined) return fake(`the bytes ${label} read as ${format} without decryption`);
    if (whole && e.size > 0 && e.method === 0 && crc32(part) === e.crc >>> 0) return fake(`the bytes ${label} match the entry's CRC without decryption`);
    if (e.method === 8 && (await inflatesCompletely(part, state.context.limits.maxMemberBytes, state.context.deadline))) return fake(`the bytes ${label} are a complete deflate stream without decryption`);
  }
  const body = bytes.subarray(header);
  if (body.length >= ENTROPY_MIN_BYTES) {
    const bits = entropy(body);
    if (bits < CIPHERTEXT_MIN_ENTROPY) return fake(`its bytes carry ${bits.toFixed(2)} bits per byte, too few for ciphertext`);
  }
  return { real: true, detail: scheme };
}

function knownFormat(b: Buffer): string | undefined {
  if (b.length >= 2 && b[0] === 0x80 && b[1]! >= 2 && b[1]! <= 5) return 'a pickle';
  if (b.length >= 4 && b.readUInt32BE(0) === 0x504b0304) return 'a zip';
  if (b.length >= NPY.length && b.subarray(0, NPY.length).equals(NPY)) return 'a NumPy array';
  if (b.length >= HDF5.length && b.subarray(0, HDF5.length).equals(HDF5)) return 'an HDF5 file';
  if (b.length >= 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 8) return 'gzip data';
  return undefined;
}

/**
 * Is `b` one complete raw-deflate stream that inflates to at most `max` bytes? The output is counted
 * and dropped as it comes (a 16 MiB stream may inflate to gigabytes: nothing of it is kept).
 */
function inflatesCompletely(b: Buffer, max: number, deadline: number): Promise<boolean> {
  if (b.length === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const stream = createInflateRaw({ chunkSize: 64 * 1024 });
    let produced = 0;
    let settled = false;
    const settle = (complete: boolean): void => {
      if (settled) return;
      settled = true;
      stream.removeAllListeners('data');
      stream.destroy();
      resolve(complete);
    };
    stream.on('data', (chunk: Buffer) => {
      produced += chunk.length;
      if (produced > max || Date.now() > deadline) settle(false);
    });
    stream.on('error', () => settle(false));
    stream.on('end', () => settle(true));
    stream.on('close', () => settle(false));
    stream.end(b);
  });
}

/** Shannon entropy of the bytes, in bits per byte. */
function entropy(b: Buffer): number {
  const counts = new Uint32Array(256);
  for (const x of b) counts[x]! += 1;
  let h = 0;
  for (const c of counts) {
    if (c === 0) continue;
    const p = c / b.length;
    h -= p * Math.log2(p);
  }
  return h;
}

async function scanEntry(state: ScanState, entry: ZipEntry, label: string): Promise<void> {
  const { context, target } = state;
  checkPath(state, entry.name);
  const local = entry.local;
  const encryption = FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION;
  const sealed = await checkFlags(state, entry.name, entry.flags | (local?.flags ?? 0), {
    dataStart: local?.dataStart ?? entry.localOffset,
    method: entry.method,
    compressedSize: entry.compressedSize,
    size: entry.size,
    crc: entry.crc,
    aes: entry.aes ?? local?.aes,
    flagsAgree: local !== undefined && (local.flags & encryption) === (entry.flags & encryption),
  });
  if (!local) {
    context.reporter(zipMalformedRule, target)({ message: 'badLocal', member: entry.name, data: { name: entry.name, offset: entry.declaredOffset } });
    return;
  }
  const mismatch = context.reporter(zipHeaderMismatchRule, target);
  const member = entry.name;
  if (!local.rawName.equals(entry.rawName)) mismatch({ message: 'name', member, offset: local.offset, data: { name: entry.name, local: local.name } });
  if (local.method !== entry.method) mismatch({ message: 'method', member, offset: local.offset, data: { name: entry.name, central: entry.method, local: local.method } });
  const localDeferred = (local.flags & FLAG_DESCRIPTOR) !== 0;
  const localSizeKnown = !(localDeferred && local.compressedSize === 0);
  const sizeDiffers = localSizeKnown && local.compressedSize !== entry.compressedSize;
  if (sizeDiffers) mismatch({ message: 'size', member, offset: local.offset, data: { name: entry.name, central: entry.compressedSize, local: local.compressedSize } });
  if (!(localDeferred && local.crc === 0) && local.crc !== entry.crc) {
    mismatch({ message: 'crc', member, offset: local.offset, data: { name: entry.name, central: hex(entry.crc), local: hex(local.crc) } });
  }
  if (localDeferred || (entry.flags & FLAG_DESCRIPTOR) !== 0) await checkDescriptor(state, entry, local);

  const dataEnd = local.dataStart + entry.compressedSize;
  if (dataEnd > state.dataEnd) {
    const where = state.archive.directoryStart === undefined ? 'the end of the file' : 'the start of the central directory';
    context.reporter(zipMalformedRule, target)({
      message: 'outside',
      member,
      offset: local.dataStart,
      data: { name: entry.name, detail: `its ${entry.compressedSize} data bytes at offset ${local.dataStart} run past ${where}` },
    });
  }

  // Real ciphertext: no loader can read it, and its bytes are not content to scan.
  if (sealed) return;
  await scanReading(state, {
    label,
    dataStart: local.dataStart,
    method: entry.method,
    compressedSize: entry.compressedSize,
    crc: entry.crc,
    size: entry.size,
    flags: entry.flags,
    checkCrc: true,
  });
  // A streaming extractor trusts the local header: scan that reading too when it differs.
  if (local.method !== entry.method || sizeDiffers) {
    await scanReading(state, {
      label: `${label} (local header)`,
      dataStart: local.dataStart,
      method: local.method,
      compressedSize: localSizeKnown ? local.compressedSize : entry.compressedSize,
      crc: local.crc,
      size: localSizeKnown ? local.size : entry.size,
      flags: local.flags,
      checkCrc: !localDeferred,
    });
  }
}

async function checkDescriptor(state: ScanState, entry: ZipEntry, local: LocalHeader): Promise<void> {
  const report = state.context.reporter(zipHeaderMismatchRule, state.target);
  const member = entry.name;
  const say = (detail: string): void => report({ message: 'descriptor', member, offset: local.offset, data: { name: entry.name, detail } });
  if ((local.flags & FLAG_DESCRIPTOR) !== (entry.flags & FLAG_DESCRIPTOR)) {
    say('the data-descriptor flag is set in only one of the local and central headers');
    return;
  }
  const at = local.dataStart + entry.compressedSize;
  const readings = await descriptorsAt(state.target.source, at);
  const descriptor = readings[0];
  if (!descriptor) {
    say(`no data descriptor after the data (offset ${at})`);
    return;
  }
  const agrees = readings.some((d) => d.crc === entry.crc && d.compressedSize === entry.compressedSize && d.size === entry.size);
  if (!agrees) {
    say(`the data descriptor (CRC ${hex(descriptor.crc)}, ${descriptor.compressedSize} → ${descriptor.size} bytes) disagrees with the central directory (CRC ${hex(entry.crc)}, ${entry.compressedSize} → ${entry.size} bytes)`);
  }
}

/** Produces the bytes of one reading and scans them as a member. */
async function scanReading(state: ScanState, reading: Reading): Promise<void> {
  const { context, target } = state;
  const { source } = target;
  const available = Math.max(0, Math.min(reading.compressedSize, source.size - reading.dataStart));
  const encrypted = (reading.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) !== 0;
  const limitReport = context.reporter(archiveLimitExceededRule, target);
  const member = reading.label;
  const crcKnown = reading.checkCrc && !encrypted && available === reading.compressedSize;

  if (reading.method === 0) {
    if (available > INLINE_STORED) {
      // Large stored members (tensor data) are scanned where they lie; their CRC is checked (a pass
      // over the bytes, never a copy) only when they start like a pickle, where it matters.
      const lazy = new SliceSource(source, reading.dataStart, available);
      const head = await lazy.read(0, 8);
      if (crcKnown && startsLikePickle(head) && head[0] === 0x80 && available <= CRC_PICKLE_LIMIT) {
        checkCrc(state, reading, await crc32Of(lazy));
      }
      await context.scanMember(target, member, lazy);
      return;
    }
    const bytes = await source.read(reading.dataStart, available);
    if (crcKnown) checkCrc(state, reading, crc32(bytes));
    await context.scanMember(target, member, new BufferSource(bytes));
    return;
  }

  const codec = CODEC_BY_METHOD[reading.method];
  if (!codec) {
    if (!encrypted || reading.method !== 99) {
      context.reporter(zipUnsupportedCompressionRule, target)({
        message: 'method',
        member,
        data: { name: member, method: reading.method, label: METHOD_LABELS[reading.method] ?? 'unknown' },
      });
    }
    return;
  }
  const maxMember = context.limits.maxMemberBytes;
  const remaining = state.budget - state.decoded;
  if (remaining <= 0) {
    if (!state.budgetReported) {
      state.budgetReported = true;
      limitReport({ message: 'total', data: { kind: state.kind, limit: state.budget, count: 1 } });
    }
    return;
  }
  let input = available;
  if (input > maxMember) {
    limitReport({ message: 'inputSize', member, data: { name: member, size: available, limit: maxMember } });
    input = maxMember;
  }
  const maxOutput = Math.min(maxMember, remaining);
  // Decoded output stays in memory up to SPOOL_MEMORY_BYTES and goes to a nameless temporary file
  // beyond, so a small member that expands to gigabytes costs disk up to maxOutput, never memory.
  const result = await decodeToSource(codec, new SliceSource(source, reading.dataStart, input), {
    maxOutput,
    deadline: context.deadline,
    size: reading.size,
    memoryBytes: SPOOL_MEMORY_BYTES,
    crc32: true,
  });
  try {
    state.decoded += result.size;
    if (result.stopped === 'limit') {
      if (maxOutput < maxMember) {
        state.budgetReported = true;
        limitReport({ message: 'total', data: { kind: state.kind, limit: state.budget, count: 1 } });
      } else limitReport({ message: 'memberSize', member, data: { name: member, limit: maxMember } });
    } else if (result.stopped === 'timeout') {
      limitReport({ message: 'timeout', member, data: { kind: state.kind, count: 1 } });
    }
    if (result.error !== undefined && !encrypted) {
      context.reporter(zipMalformedRule, target)({ message: 'damaged', member, data: { name: member, detail: result.error } });
    }
    if (result.size > BOMB_MIN_OUTPUT && result.size > input * BOMB_RATIO) {
      limitReport({
        message: 'ratio',
        member,
        severity: 'medium',
        data: { name: member, ratio: Math.round(result.size / Math.max(1, input)), compressed: input, size: result.size },
      });
    }
    if (result.complete && crcKnown && result.crc32 !== undefined) checkCrc(state, reading, result.crc32);
    if (result.size > 0 || result.complete) await context.scanMember(target, member, result.source);
  } finally {
    await result.dispose();
  }
}

/** CRC-32 of a source, read a chunk at a time. */
async function crc32Of(source: ByteSource): Promise<number> {
  let crc = 0;
  for (let at = 0; at < source.size; ) {
    const chunk = await source.read(at, CRC_CHUNK);
    if (chunk.length === 0) break;
    crc = crc32(chunk, crc);
    at += chunk.length;
  }
  return crc >>> 0;
}

function checkCrc(state: ScanState, reading: Reading, actual: number): void {
  if (actual === reading.crc >>> 0) return;
  state.context.reporter(zipCrcMismatchRule, state.target)({
    message: 'mismatch',
    member: reading.label,
    data: { name: reading.label, actual: `0x${actual.toString(16).padStart(8, '0')}`, expected: `0x${(reading.crc >>> 0).toString(16).padStart(8, '0')}` },
  });
}
