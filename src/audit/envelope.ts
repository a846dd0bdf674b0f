import { CustodyError } from '../core/errors.js';
import { canonicalJson } from './canonical-json.js';
import { HASH_SIZE } from './merkle.js';

/**
 * The leaf of the audit log: the canonical JSON (RFC 8785) of an envelope around the registry's entry,
 *
 *   {"entry":<entry>,"index":<position>,"prev":"<base64 leaf hash of entry index−1, or empty for 0>"}
 *
 * The index pins each leaf to its position and `prev` chains it to the leaf before, so an export line
 * that was edited, deleted, inserted or moved breaks a link right where it happened, and the verifier
 * can name that line (see docs/audit.md for why this and not only a root at the end). The envelope's
 * members are already in JCS order, so the leaf is built by concatenation.
 */

/** Longest leaf, in UTF-8 bytes; an entry that would make a longer one is refused at append. */
export const MAX_LEAF_BYTES = 64 * 1024;
// `{"entry":` + `,"index":` + 16 digits + `,"prev":"` + 44 + `"}` is 89 bytes; keep a margin.
const ENVELOPE_OVERHEAD = 128;
export const MAX_ENTRY_BYTES = MAX_LEAF_BYTES - ENVELOPE_OVERHEAD;
const PREV_BASE64_LENGTH = 44;

/** Canonical JSON of a registry entry, refusing (AUDIT_ENTRY_INVALID) what cannot be a leaf. */
export function canonicalEntry(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new CustodyError('AUDIT_ENTRY_INVALID', 'an audit entry must be a JSON object');
  const text = canonicalJson(entry, { maxLength: MAX_ENTRY_BYTES });
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_ENTRY_BYTES) throw new CustodyError('AUDIT_ENTRY_INVALID', `the entry is ${bytes} bytes of canonical JSON, over the limit of ${MAX_ENTRY_BYTES}`, { details: { bytes, limit: MAX_ENTRY_BYTES } });
  return text;
}

/** The leaf text for an already canonical entry at `index`, chained to the previous leaf hash. */
export function buildLeaf(canonicalEntryText: string, index: number, prevLeafHash: Uint8Array | undefined): string {
  const prev = prevLeafHash === undefined ? '' : Buffer.from(prevLeafHash).toString('base64');
  return `{"entry":${canonicalEntryText},"index":${index},"prev":"${prev}"}`;
}

export interface ParsedLeaf {
  entry: unknown;
  index: number;
  /** Previous leaf hash, or undefined for the first entry. */
  prev: Buffer | undefined;
}

/** Parses a stored leaf (trusted shape, still checked): AUDIT_STORE_CORRUPT when it is not an envelope. */
export function parseLeaf(leaf: string): ParsedLeaf {
  let value: unknown;
  try {
    value = JSON.parse(leaf);
  } catch (error) {
    throw new CustodyError('AUDIT_STORE_CORRUPT', 'a stored audit leaf is not JSON', { cause: error });
  }
  const record = value as { entry?: unknown; index?: unknown; prev?: unknown };
  if (typeof value !== 'object' || value === null || typeof record.index !== 'number' || typeof record.prev !== 'string' || !('entry' in record)) {
    throw new CustodyError('AUDIT_STORE_CORRUPT', 'a stored audit leaf is not an {entry, index, prev} envelope');
  }
  const prev = record.prev === '' ? undefined : Buffer.from(record.prev, 'base64');
  if (prev !== undefined && prev.length !== HASH_SIZE) throw new CustodyError('AUDIT_STORE_CORRUPT', 'a stored audit leaf has a malformed prev hash');
  return { entry: record.entry, index: record.index, prev };
}

// Byte-level reading of an export line, for the verifier's hot path. It only locates the fields of a
// line in the exact layout buildLeaf writes; whether the line is authentic is for the hashes to say.
const ENTRY_PREFIX = Buffer.from('{"entry":');
const INDEX_MARKER = Buffer.from(',"index":');
const PREV_MARKER = Buffer.from(',"prev":"');
const EMPTY_PREV_TAIL = Buffer.from(',"prev":""}');
const QUOTE = 0x22;
const BRACE = 0x7d;

export interface LeafFields {
  index: number;
  /** Offsets in the buffer of the base64 prev value; empty (start = end) for the first entry. */
  prevStart: number;
  prevEnd: number;
}

function matchesAt(buffer: Buffer, at: number, start: number, end: number, marker: Buffer): boolean {
  if (at < start || at + marker.length > end) return false;
  // A byte loop: for these few bytes it is cheaper than a call into Buffer.compare.
  for (let i = 0; i < marker.length; i++) if (buffer[at + i] !== marker[i]) return false;
  return true;
}

/** True when bytes [start, end) of `buffer` start like an entry line. */
export function looksLikeLeaf(buffer: Buffer, start: number, end: number): boolean {
  return end - start > ENTRY_PREFIX.length && matchesAt(buffer, start, start, end, ENTRY_PREFIX);
}

/** Locates index and prev in the entry line at [start, end) of `buffer`; undefined when it is not in the leaf layout. */
export function locateLeafFields(buffer: Buffer, start: number, end: number): LeafFields | undefined {
  let prevStart: number;
  let prevEnd: number;
  let markerAt: number;
  if (matchesAt(buffer, end - EMPTY_PREV_TAIL.length, start, end, EMPTY_PREV_TAIL)) {
    markerAt = end - EMPTY_PREV_TAIL.length;
    prevStart = prevEnd = end - 2;
  } else {
    if (buffer[end - 1] !== BRACE || buffer[end - 2] !== QUOTE) return undefined;
    prevEnd = end - 2;
    prevStart = prevEnd - PREV_BASE64_LENGTH;
    markerAt = prevStart - PREV_MARKER.length;
    if (!matchesAt(buffer, markerAt, start, end, PREV_MARKER)) return undefined;
  }
  let index = 0;
  let digitsStart = markerAt;
  while (digitsStart > start && markerAt - digitsStart < 17) {
    const byte = buffer[digitsStart - 1] as number;
    if (byte < 0x30 || byte > 0x39) break;
    digitsStart--;
  }
  const digits = markerAt - digitsStart;
  if (digits === 0 || digits > 16 || (digits > 1 && buffer[digitsStart] === 0x30)) return undefined;
  for (let at = digitsStart; at < markerAt; at++) index = index * 10 + ((buffer[at] as number) - 0x30);
  const indexMarkerAt = digitsStart - INDEX_MARKER.length;
  if (indexMarkerAt <= start + ENTRY_PREFIX.length || !matchesAt(buffer, indexMarkerAt, start, end, INDEX_MARKER)) return undefined;
  if (!Number.isSafeInteger(index)) return undefined;
  return { index, prevStart, prevEnd };
}
