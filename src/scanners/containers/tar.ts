import type { ByteSource } from '../../core/byte-source.js';
import { CustodyError } from '../../core/errors.js';
import { quoteExcerpt } from '../../core/redact.js';

/**
 * A bounded tar reader over a ByteSource. It reads headers only (data is addressed by `dataOffset`,
 * never copied), so listing a 10 GB layer costs one 512-byte read per entry.
 *
 * Understood: POSIX ustar (with `prefix`), old v7 headers (checksum only), GNU long names and long
 * link names (`L`/`K`), base-256 sizes, and pax extended headers (`x`, and `g` as defaults) for
 * `path`, `linkpath` and `size`. Every header's checksum is verified. Malformed input throws
 * CustodyError('PARSE_ERROR'); input beyond a bound (entries, metadata size, deadline) throws
 * CustodyError('INPUT_LIMIT'; `details.bound` is 'time' when the deadline passed). Entries hidden after the end-of-archive marker are still read.
 */
export interface TarEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  size: number;
  dataOffset: number;
  linkName?: string;
}

export interface TarReadOptions {
  /** Most entries yielded before INPUT_LIMIT (default 1,000,000). */
  maxEntries?: number;
  /** Epoch milliseconds after which reading stops with INPUT_LIMIT. */
  deadline?: number;
}

const BLOCK = 512;
const DEFAULT_MAX_ENTRIES = 1_000_000;
/** Largest pax or GNU long-name record read into memory. */
const MAX_META_BYTES = 1024 * 1024;
/** Bytes scanned at a time when skipping end-of-archive zero padding. */
const ZERO_SCAN_BYTES = 64 * 1024;

interface PaxAttributes {
  path?: string;
  linkpath?: string;
  size?: number;
}

export async function* readTarEntries(source: ByteSource, options: TarReadOptions = {}): AsyncGenerator<TarEntry> {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const deadline = options.deadline;
  let offset = 0;
  let entries = 0;
  let headers = 0;
  let global: PaxAttributes = {};
  let local: PaxAttributes = {};
  let longName: string | undefined;
  let longLink: string | undefined;

  while (offset < source.size) {
    if (deadline !== undefined && Date.now() > deadline) {
      throw new CustodyError('INPUT_LIMIT', `tar: reading stopped at byte ${offset}: the time budget ran out`, { details: { bound: 'time' } });
    }
    if (offset + BLOCK > source.size) {
      throw new CustodyError('PARSE_ERROR', `tar: truncated header at byte ${offset} (${source.size - offset} bytes left, expected ${BLOCK})`);
    }
    const header = await source.read(offset, BLOCK);
    if (header.length < BLOCK) throw new CustodyError('PARSE_ERROR', `tar: short read at byte ${offset}`);
    if (isZeroBlock(header)) {
      // End-of-archive marker (and record padding). Anything after it that is not zeros must still be
      // a valid header: tools such as `tar -i` read such entries, so hiding them would fail open.
      const next = await skipZeros(source, offset, deadline);
      if (next >= source.size) return;
      offset = next - ((next - offset) % BLOCK);
      continue;
    }
    headers += 1;
    if (headers > maxEntries * 2 + 16) throw new CustodyError('INPUT_LIMIT', `tar: more than ${maxEntries * 2 + 16} headers`);
    verifyChecksum(header, offset);

    const flag = String.fromCharCode(header[156] ?? 0);
    const headerSize = parseNumber(header, 124, 12, 'size', offset);
    const magic = header.toString('latin1', 257, 263);
    const ustar = magic === 'ustar\0';
    let name = cString(header, 0, 100);
    if (ustar) {
      const prefix = cString(header, 345, 155);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    const linkName = cString(header, 157, 100);
    const dataOffset = offset + BLOCK;

    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      const data = await readMeta(source, dataOffset, headerSize, flag, offset);
      offset = dataOffset + padded(headerSize);
      if (flag === 'x') local = { ...local, ...parsePax(data, offset) };
      else if (flag === 'g') global = { ...global, ...parsePax(data, offset) };
      else if (flag === 'L') longName = cString(data, 0, data.length);
      else longLink = cString(data, 0, data.length);
      continue;
    }

    const attributes: PaxAttributes = { ...global, ...local };
    const type = entryType(flag);
    // Data follows regular files and unknown types; links, directories and devices carry none
    // whatever their size field says (as POSIX and GNU tar read them).
    const hasData = type === 'file' || (type === 'other' && !'3456'.includes(flag));
    const size = hasData ? (attributes.size ?? headerSize) : 0;
    if (dataOffset + size > source.size) {
      throw new CustodyError('PARSE_ERROR', `tar: entry at byte ${offset} declares ${size} bytes of data but only ${Math.max(0, source.size - dataOffset)} remain`);
    }
    const entry: TarEntry = { name: attributes.path ?? longName ?? name, type, size, dataOffset };
    const link = attributes.linkpath ?? longLink ?? linkName;
    if ((type === 'symlink' || type === 'hardlink') && link !== '') entry.linkName = link;
    local = {};
    longName = undefined;
    longLink = undefined;
    offset = dataOffset + padded(size);

    entries += 1;
    if (entries > maxEntries) throw new CustodyError('INPUT_LIMIT', `tar: more than ${maxEntries} entries`);
    yield entry;
  }
  if (local.path !== undefined || longName !== undefined) {
    throw new CustodyError('PARSE_ERROR', 'tar: archive ends after an extended header without the entry it describes');
  }
}

/** True when `head` starts with a tar header whose checksum holds (ustar, GNU or old v7). */
export function isTarHeader(head: Buffer): boolean {
  if (head.length < BLOCK) return false;
  const block = head.subarray(0, BLOCK);
  if (isZeroBlock(block)) return false;
  const stored = parseChecksumField(block);
  if (stored === undefined) return false;
  const { unsigned, signed } = checksums(block);
  if (stored !== unsigned && stored !== signed) return false;
  // A v7 header has no magic: demand a plausible name and size so that random data does not pass.
  const magic = block.toString('latin1', 257, 263);
  if (magic === 'ustar\0' || magic === 'ustar ') return true;
  return block[0] !== 0 && /^[0-7 \0]+$/.test(block.toString('latin1', 124, 136));
}

/** `./a//b/` → `a/b`; `..` segments are kept (callers decide what they mean). */
export function normalizeTarPath(name: string): string {
  return name
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}

function entryType(flag: string): TarEntry['type'] {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '5':
      return 'dir';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    default:
      return 'other';
  }
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Returns the offset of the first non-zero byte at or after `offset`, or the source size. */
async function skipZeros(source: ByteSource, offset: number, deadline: number | undefined): Promise<number> {
  let at = offset;
  while (at < source.size) {
    if (deadline !== undefined && Date.now() > deadline) {
      throw new CustodyError('INPUT_LIMIT', `tar: reading stopped at byte ${at}: the time budget ran out`, { details: { bound: 'time' } });
    }
    const chunk = await source.read(at, ZERO_SCAN_BYTES);
    if (chunk.length === 0) break;
    for (let i = 0; i < chunk.length; i++) if (chunk[i] !== 0) return at + i;
    at += chunk.length;
  }
  return source.size;
}

function checksums(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte >= 0x80 ? byte - 0x100 : byte;
  }
  return { unsigned, signed };
}

function parseChecksumField(block: Buffer): number | undefined {
  const text = block.toString('latin1', 148, 156).replace(/[\0 ]+$/, '').replace(/^[ ]+/, '');
  if (text === '' || !/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

function verifyChecksum(block: Buffer, offset: number): void {
  const stored = parseChecksumField(block);
  if (stored === undefined) throw new CustodyError('PARSE_ERROR', `tar: header at byte ${offset} has no valid checksum field`);
  const { unsigned, signed } = checksums(block);
  if (stored !== unsigned && stored !== signed) {
    throw new CustodyError('PARSE_ERROR', `tar: header checksum mismatch at byte ${offset} (stored ${stored}, computed ${unsigned})`);
  }
}

/** Octal (NUL/space padded) or GNU base-256 (high bit of the first byte set). */
function parseNumber(block: Buffer, start: number, length: number, field: string, offset: number): number {
  const first = block[start] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw new CustodyError('PARSE_ERROR', `tar: negative ${field} at byte ${offset}`);
    let value = first & 0x7f;
    for (let i = start + 1; i < start + length; i++) {
      value = value * 256 + (block[i] ?? 0);
      if (!Number.isSafeInteger(value)) throw new CustodyError('INPUT_LIMIT', `tar: ${field} at byte ${offset} is too large`);
    }
    return value;
  }
  const text = block.toString('latin1', start, start + length).replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new CustodyError('PARSE_ERROR', `tar: ${field} field at byte ${offset} is not octal: ${quoteExcerpt(text)}`);
  return parseInt(text, 8);
}

function cString(buffer: Buffer, start: number, length: number): string {
  const end = buffer.indexOf(0, start);
  const stop = end === -1 || end > start + length ? start + length : end;
  return buffer.toString('utf8', start, stop);
}

async function readMeta(source: ByteSource, dataOffset: number, size: number, flag: string, offset: number): Promise<Buffer> {
  if (size > MAX_META_BYTES) {
    throw new CustodyError('INPUT_LIMIT', `tar: ${flag === 'L' || flag === 'K' ? 'GNU long name' : 'pax header'} at byte ${offset} is ${size} bytes (limit ${MAX_META_BYTES})`);
  }
  if (dataOffset + size > source.size) throw new CustodyError('PARSE_ERROR', `tar: extended header at byte ${offset} is truncated`);
  const data = await source.read(dataOffset, size);
  if (data.length < size) throw new CustodyError('PARSE_ERROR', `tar: extended header at byte ${offset} is truncated`);
  return data;
}

/** pax records: `<length> <key>=<value>\n`, where length counts the whole record in bytes. */
function parsePax(data: Buffer, offset: number): PaxAttributes {
  const attributes: PaxAttributes = {};
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break; // some writers pad the record block with NULs
    const space = data.indexOf(0x20, at);
    const lengthText = space === -1 ? '' : data.toString('latin1', at, space);
    if (!/^[0-9]{1,8}$/.test(lengthText)) throw new CustodyError('PARSE_ERROR', `tar: malformed pax record near byte ${offset}`);
    const length = Number(lengthText);
    const end = at + length;
    if (length <= space - at + 1 || end > data.length || data[end - 1] !== 0x0a) {
      throw new CustodyError('PARSE_ERROR', `tar: malformed pax record near byte ${offset}`);
    }
    const record = data.toString('utf8', space + 1, end - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) throw new CustodyError('PARSE_ERROR', `tar: pax record without key=value near byte ${offset}`);
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') attributes.path = value;
    else if (key === 'linkpath') attributes.linkpath = value;
    else if (key === 'size') {
      if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
        throw new CustodyError('PARSE_ERROR', `tar: pax size ${quoteExcerpt(value, 20)} near byte ${offset} is not a valid size`);
      }
      attributes.size = Number(value);
    }
    at = end;
  }
  return attributes;
}
