import type { ByteSource } from '../../core/byte-source.js';

/*
 * A bounded zip reader that keeps every disagreement it sees. It reads the archive the way Python's
 * zipfile does (which torch.load, numpy.load and joblib use): the end record found from the end of
 * the file, offsets shifted by any bytes prepended to the archive, names and sizes from the central
 * directory, the data start from the local header. It also walks the local headers in order, as a
 * streaming extractor would, to find entries the central directory does not list.
 *
 * It never decompresses and never throws for bad input: damage is recorded in `problems`.
 */

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const SIG_DESCRIPTOR = 0x08074b50;
const END_SIZE = 22;
const END64_SIZE = 56;
const LOCATOR64_SIZE = 20;
const MAX_COMMENT = 0xffff;
const MAX_CENTRAL_DIRECTORY = 256 * 1024 * 1024;
const U32 = 0xffffffff;
const U16 = 0xffff;

export const FLAG_ENCRYPTED = 0x0001;
export const FLAG_DESCRIPTOR = 0x0008;
export const FLAG_PATCHED = 0x0020;
export const FLAG_STRONG_ENCRYPTION = 0x0040;
export const FLAG_UTF8 = 0x0800;
export const FLAG_MASKED_HEADERS = 0x2000;
/** Flag bits with a meaning we accept: deflate options (1, 2), descriptor (3), enhanced deflate (4), UTF-8 (11). */
export const KNOWN_FLAGS = 0x0002 | 0x0004 | FLAG_DESCRIPTOR | 0x0010 | FLAG_UTF8 | FLAG_ENCRYPTED | FLAG_PATCHED | FLAG_STRONG_ENCRYPTION;

export const METHOD_LABELS: Readonly<Record<number, string>> = {
  0: 'stored',
  1: 'shrunk',
  6: 'imploded',
  8: 'deflate',
  9: 'deflate64',
  12: 'bzip2',
  14: 'lzma',
  93: 'zstd',
  95: 'xz',
  96: 'jpeg',
  97: 'wavpack',
  98: 'ppmd',
  99: 'aes',
};

export interface LocalHeader {
  /** Absolute offset of the signature. */
  offset: number;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  rawName: Buffer;
  name: string;
  /** Absolute offset of the entry data (after name and extra field). */
  dataStart: number;
  /** The WinZip AES extra field (0x9901), when present. */
  aes?: AesExtra;
}

/** WinZip AE-1/AE-2 encryption parameters (extra field 0x9901). */
export interface AesExtra {
  /** 1 (AE-1) or 2 (AE-2, CRC left 0). */
  version: number;
  /** 1, 2, 3: AES-128, -192, -256. */
  strength: number;
  /** The compression method of the content under the encryption. */
  method: number;
}

/** The WinZip AES extra field (0x9901: version, "AE", strength, method), when an extra block holds a well-formed one. */
export function readAesExtra(extra: Buffer): AesExtra | undefined {
  const body = extraBlock(extra, 0x9901);
  if (body === undefined || body.length < 7 || body[2] !== 0x41 || body[3] !== 0x45) return undefined;
  return { version: body.readUInt16LE(0), strength: body[4]!, method: body.readUInt16LE(5) };
}

/** The body of the first extra-field block with this id, when there is one (cut to the extra field's end). */
function extraBlock(extra: Buffer, id: number): Buffer | undefined {
  let p = 0;
  while (p + 4 <= extra.length) {
    const blockId = extra.readUInt16LE(p);
    const length = extra.readUInt16LE(p + 2);
    const body = extra.subarray(p + 4, Math.min(extra.length, p + 4 + length));
    p += 4 + length;
    if (blockId === id) return body;
  }
  return undefined;
}

export interface ZipEntry {
  /** Position in the central directory. */
  index: number;
  rawName: Buffer;
  name: string;
  /** The name Python zipfile files the entry under (cut at the first NUL). */
  key: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Absolute offset of the local header (after shifting by the prefix, as zipfile does; clamped to the file). */
  localOffset: number;
  /** The offset as the central directory gives it, shifted by the prefix. */
  declaredOffset: number;
  /** The local header at `localOffset`, when there is a valid one. */
  local?: LocalHeader;
  /** The WinZip AES extra field (0x9901) of the central entry, when present. */
  aes?: AesExtra;
}

export type ZipProblem =
  | { kind: 'noEnd' }
  | { kind: 'badDirectory'; detail: string }
  | { kind: 'count'; declared: number; actual: number }
  | { kind: 'zip64'; detail: string }
  | { kind: 'entries'; count: number | string; limit: number }
  /** The deadline stopped the reading of the directory or the local headers. */
  | { kind: 'timeout' }
  | { kind: 'centralEncryption'; flags: number };

export interface ZipArchive {
  /** Central-directory entries in order (at most `maxEntries`). */
  entries: ZipEntry[];
  /** Local entries found by walking the local headers that no central entry points at. */
  orphans: LocalHeader[];
  /** Offset of the first zip structure (bytes before it belong to something else). */
  start: number;
  /** Shift zipfile applies to every offset (bytes prepended to an archive written without them). */
  concat: number;
  /** Absolute offset of the central directory, when there is one. */
  directoryStart?: number;
  problems: ZipProblem[];
  /** Whether the file has an end record (false: only local headers were read). */
  hasEnd: boolean;
  /** Offset just past the end record and its comment, when there is an end record. */
  end?: number;
}

export interface ReadZipOptions {
  maxEntries: number;
  deadline: number;
}

const CP437 =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** Decodes a name the way zipfile does: UTF-8 with flag bit 11, else code page 437. */
export function decodeZipName(raw: Buffer, flags: number): string {
  if (flags & FLAG_UTF8) return raw.toString('utf8');
  let out = '';
  for (const byte of raw) out += byte < 0x80 ? String.fromCharCode(byte) : CP437[byte - 0x80];
  return out;
}

/** True when the head starts with a zip signature (local header, empty archive, spanning marker). */
export function startsLikeZip(head: Buffer): boolean {
  if (head.length < 4 || head[0] !== 0x50 || head[1] !== 0x4b) return false;
  const sig = head.readUInt32LE(0);
  return sig === SIG_LOCAL || sig === SIG_END || sig === SIG_DESCRIPTOR || sig === 0x30304b50;
}

function readU64(buf: Buffer, at: number): number {
  const value = buf.readBigUInt64LE(at);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

interface Zip64Fields {
  size?: number;
  compressedSize?: number;
  offset?: number;
}

/** Reads the ZIP64 extra field (0x0001) for the fields whose 32-bit value is the 0xFFFFFFFF marker. */
function readZip64Extra(extra: Buffer, want: { size: boolean; compressedSize: boolean; offset: boolean }): Zip64Fields | undefined {
  const body = extraBlock(extra, 0x0001);
  if (body === undefined) return undefined;
  const fields: Zip64Fields = {};
  let q = 0;
  for (const key of ['size', 'compressedSize', 'offset'] as const) {
    if (!want[key]) continue;
    if (q + 8 > body.length) return fields;
    fields[key] = readU64(body, q);
    q += 8;
  }
  return fields;
}

/** Parses the local header at `offset`, or returns undefined when there is none. */
export async function readLocalHeader(source: ByteSource, offset: number): Promise<LocalHeader | undefined> {
  if (offset < 0 || offset + 30 > source.size) return undefined;
  const fixed = await source.read(offset, 30);
  if (fixed.length < 30 || fixed.readUInt32LE(0) !== SIG_LOCAL) return undefined;
  const nameLength = fixed.readUInt16LE(26);
  const extraLength = fixed.readUInt16LE(28);
  const variable = await source.read(offset + 30, nameLength + extraLength);
  if (variable.length < nameLength + extraLength) return undefined;
  const flags = fixed.readUInt16LE(6);
  const rawName = Buffer.from(variable.subarray(0, nameLength));
  let compressedSize = fixed.readUInt32LE(18);
  let size = fixed.readUInt32LE(22);
  if (compressedSize === U32 || size === U32) {
    const extra = readZip64Extra(variable.subarray(nameLength), { size: true, compressedSize: true, offset: false });
    if (extra?.size !== undefined && size === U32) size = extra.size;
    if (extra?.compressedSize !== undefined && compressedSize === U32) compressedSize = extra.compressedSize;
  }
  const aes = readAesExtra(variable.subarray(nameLength));
  return {
    offset,
    flags,
    method: fixed.readUInt16LE(8),
    crc: fixed.readUInt32LE(14),
    compressedSize,
    size,
    rawName,
    name: decodeZipName(rawName, flags),
    dataStart: offset + 30 + nameLength + extraLength,
    ...(aes === undefined ? {} : { aes }),
  };
}

interface EndRecord {
  offset: number;
  commentLength: number;
  entries: number;
  directorySize: number;
  directoryOffset: number;
  zip64: boolean;
}

/** Finds and reads the end record (and ZIP64 end record) the way zipfile does: the last signature wins. */
async function readEnd(source: ByteSource, problems: ZipProblem[]): Promise<EndRecord | undefined> {
  if (source.size < END_SIZE) return undefined;
  const tailLength = Math.min(source.size, MAX_COMMENT + END_SIZE);
  const tailStart = source.size - tailLength;
  const tail = await source.read(tailStart, tailLength);
  let at = -1;
  // zipfile first tries an end record with no comment, then the last signature in the tail.
  if (tail.length >= END_SIZE && tail.readUInt32LE(tail.length - END_SIZE) === SIG_END && tail.readUInt16LE(tail.length - 2) === 0) at = tail.length - END_SIZE;
  else {
    for (let i = tail.length - END_SIZE; i >= 0; i--) {
      if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 0x05 && tail[i + 3] === 0x06) {
        at = i;
        break;
      }
    }
  }
  if (at < 0) return undefined;

  const end: EndRecord = {
    offset: tailStart + at,
    commentLength: tail.readUInt16LE(at + 20),
    entries: tail.readUInt16LE(at + 10),
    directorySize: tail.readUInt32LE(at + 12),
    directoryOffset: tail.readUInt32LE(at + 16),
    zip64: false,
  };
  // ZIP64: a locator right before the end record, and the ZIP64 end record right before the locator
  // (where zipfile looks), or where the locator says (where miniz, in torch, looks).
  const locatorAt = end.offset - LOCATOR64_SIZE;
  if (locatorAt >= 0) {
    const locator = await source.read(locatorAt, LOCATOR64_SIZE);
    if (locator.length === LOCATOR64_SIZE && locator.readUInt32LE(0) === SIG_LOCATOR64) {
      const candidates = [locatorAt - END64_SIZE, readU64(locator, 8)];
      let record: Buffer | undefined;
      for (const candidate of candidates) {
        if (candidate < 0 || candidate + END64_SIZE > source.size) continue;
        const data = await source.read(candidate, END64_SIZE);
        if (data.length === END64_SIZE && data.readUInt32LE(0) === SIG_END64) {
          record = data;
          if (candidate !== candidates[0]) problems.push({ kind: 'zip64', detail: 'the ZIP64 end record is not right before its locator' });
          break;
        }
      }
      if (record) {
        end.zip64 = true;
        end.entries = readU64(record, 32);
        end.directorySize = readU64(record, 40);
        end.directoryOffset = readU64(record, 48);
      } else problems.push({ kind: 'zip64', detail: 'a ZIP64 locator points at no ZIP64 end record' });
    } else if (end.entries === U16 || end.directorySize === U32 || end.directoryOffset === U32) {
      problems.push({ kind: 'zip64', detail: 'the end record uses ZIP64 markers but there is no ZIP64 locator' });
    }
  }
  return end;
}

/**
 * Reads the structure of a zip. Returns undefined when the data is not a zip: it neither starts
 * with a zip signature nor ends with an end record whose central directory is where it says.
 */
export async function readZip(source: ByteSource, head: Buffer, options: ReadZipOptions): Promise<ZipArchive | undefined> {
  const problems: ZipProblem[] = [];
  const claims = startsLikeZip(head);
  const end = await readEnd(source, problems);
  const archive: ZipArchive = { entries: [], orphans: [], start: 0, concat: 0, problems, hasEnd: end !== undefined };

  if (end) {
    let concat = end.offset - end.directorySize - end.directoryOffset;
    if (end.zip64) concat -= END64_SIZE + LOCATOR64_SIZE;
    const directoryStart = end.directoryOffset + concat;
    const valid = directoryStart >= 0 && directoryStart + end.directorySize <= end.offset && end.directorySize <= MAX_CENTRAL_DIRECTORY;
    // Without a zip signature at the start, an end record counts only if it leads to a real directory:
    // four bytes "PK\x05\x06" in the tail of a tensor file are not an archive.
    if (!claims && end.directorySize === 0) return undefined;
    if (!valid) {
      if (!claims) return undefined;
      problems.push({ kind: 'badDirectory', detail: `it is said to be ${end.directorySize} bytes at offset ${end.directoryOffset}, outside the file` });
    } else {
      const directory = await source.read(directoryStart, end.directorySize);
      if (end.directorySize > 0 && (directory.length < 4 || directory.readUInt32LE(0) !== SIG_CENTRAL)) {
        if (!claims) return undefined;
        problems.push({ kind: 'badDirectory', detail: `no central directory header at offset ${directoryStart}` });
      } else {
        archive.concat = concat;
        archive.directoryStart = directoryStart;
        archive.end = Math.min(source.size, end.offset + END_SIZE + end.commentLength);
        parseDirectory(directory, concat, source.size, end, options, archive);
      }
    }
  } else if (!claims) return undefined;
  else problems.push({ kind: 'noEnd' });

  for (const entry of archive.entries) {
    if (Date.now() > options.deadline) {
      problems.push({ kind: 'timeout' });
      return archive;
    }
    const local = await readLocalHeader(source, entry.localOffset);
    if (local) entry.local = local;
  }
  const offsets = archive.entries.map((e) => e.localOffset).filter((o) => o >= 0);
  archive.start = offsets.length > 0 ? Math.min(...offsets) : (archive.directoryStart ?? 0);
  if (claims) archive.start = 0;
  await walkLocalHeaders(source, archive, options);
  return archive;
}

function parseDirectory(directory: Buffer, concat: number, fileSize: number, end: EndRecord, options: ReadZipOptions, archive: ZipArchive): void {
  let p = 0;
  let count = 0;
  // zipfile reads entries until the directory's byte size is used up (miniz trusts the count).
  while (p < directory.length) {
    if (p + 46 > directory.length || directory.readUInt32LE(p) !== SIG_CENTRAL) {
      archive.problems.push({ kind: 'badDirectory', detail: `entry ${count} at directory offset ${p} is not a central directory header` });
      break;
    }
    const flags = directory.readUInt16LE(p + 8);
    const nameLength = directory.readUInt16LE(p + 28);
    const extraLength = directory.readUInt16LE(p + 30);
    const commentLength = directory.readUInt16LE(p + 32);
    const next = p + 46 + nameLength + extraLength + commentLength;
    if (next > directory.length) {
      archive.problems.push({ kind: 'badDirectory', detail: `entry ${count} runs past the end of the directory` });
      break;
    }
    count += 1;
    if (archive.entries.length < options.maxEntries) {
      const rawName = Buffer.from(directory.subarray(p + 46, p + 46 + nameLength));
      let compressedSize = directory.readUInt32LE(p + 20);
      let size = directory.readUInt32LE(p + 24);
      let offset = directory.readUInt32LE(p + 42);
      if (compressedSize === U32 || size === U32 || offset === U32) {
        const extra = readZip64Extra(directory.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength), {
          size: size === U32,
          compressedSize: compressedSize === U32,
          offset: offset === U32,
        });
        if (extra?.size !== undefined) size = extra.size;
        if (extra?.compressedSize !== undefined) compressedSize = extra.compressedSize;
        if (extra?.offset !== undefined) offset = extra.offset;
      }
      const name = decodeZipName(rawName, flags);
      const nul = name.indexOf('\0');
      const aes = readAesExtra(directory.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength));
      archive.entries.push({
        ...(aes === undefined ? {} : { aes }),
        index: count - 1,
        rawName,
        name,
        key: nul >= 0 ? name.slice(0, nul) : name,
        flags,
        method: directory.readUInt16LE(p + 10),
        crc: directory.readUInt32LE(p + 16),
        compressedSize,
        size,
        localOffset: Math.min(offset + concat, fileSize + 1),
        declaredOffset: offset + concat,
      });
    }
    p = next;
    if ((count & 1023) === 0 && Date.now() > options.deadline) {
      archive.problems.push({ kind: 'timeout' });
      return;
    }
  }
  if (count > options.maxEntries) archive.problems.push({ kind: 'entries', count, limit: options.maxEntries });
  if (count !== end.entries && !archive.problems.some((x) => x.kind === 'badDirectory')) {
    archive.problems.push({ kind: 'count', declared: end.entries, actual: count });
  }
}

export interface Descriptor {
  length: number;
  crc: number;
  compressedSize: number;
  size: number;
}

/**
 * The data descriptor at `at` (optional signature, CRC, then 4- or 8-byte sizes), in each width that
 * fits. Writers use 8-byte sizes for ZIP64 entries, and miniz (PyTorch) also for small entries that
 * sit beyond 4 GiB, so both readings are offered and the caller keeps the one that matches.
 */
export async function descriptorsAt(source: ByteSource, at: number): Promise<Descriptor[]> {
  const data = await source.read(at, 24);
  const signed = data.length >= 4 && data.readUInt32LE(0) === SIG_DESCRIPTOR;
  const base = signed ? 4 : 0;
  const out: Descriptor[] = [];
  for (const width of [4, 8] as const) {
    if (data.length < base + 4 + 2 * width) continue;
    const read = (q: number): number => (width === 8 ? readU64(data, q) : data.readUInt32LE(q));
    out.push({ length: base + 4 + 2 * width, crc: data.readUInt32LE(base), compressedSize: read(base + 4), size: read(base + 4 + width) });
  }
  return out;
}

/** Walks local headers from the start of the archive as a streaming extractor would, collecting orphans. */
async function walkLocalHeaders(source: ByteSource, archive: ZipArchive, options: ReadZipOptions): Promise<void> {
  const known = new Map<number, ZipEntry>();
  for (const entry of archive.entries) if (!known.has(entry.localOffset)) known.set(entry.localOffset, entry);
  const stop = archive.directoryStart ?? source.size;
  let pos = archive.start;
  let steps = 0;
  while (pos < stop) {
    if (steps >= options.maxEntries) {
      // More local headers than we walk: entries past them (listed nowhere else) would go unread.
      if (!archive.problems.some((p) => p.kind === 'entries')) archive.problems.push({ kind: 'entries', count: `more than ${options.maxEntries} local`, limit: options.maxEntries });
      return;
    }
    steps += 1;
    if ((steps & 255) === 0 && Date.now() > options.deadline) {
      archive.problems.push({ kind: 'timeout' });
      return;
    }
    const local = await readLocalHeader(source, pos);
    if (!local) return;
    const entry = known.get(pos);
    if (!entry) archive.orphans.push(local);
    let length = local.compressedSize;
    if (local.flags & FLAG_DESCRIPTOR && length === 0) {
      // A streaming reader finds the end by decoding; we follow the central directory when it knows.
      if (!entry) return;
      length = entry.compressedSize;
    }
    pos = local.dataStart + length;
    if (local.flags & FLAG_DESCRIPTOR) {
      const readings = await descriptorsAt(source, pos);
      const descriptor = readings.find((d) => d.compressedSize === length) ?? readings[0];
      if (!descriptor) return;
      pos += descriptor.length;
    }
  }
}
