import type { ImportRecord } from './collector.js';
import { OP } from './opcodes.js';

/**
 * Symbolic values of the analyser's stack machine. They are cheap on purpose:
 *
 * - A CONSTANT (int, float, str, bytes, None, bool) is the plain number giving the byte offset of the
 *   opcode that pushed it. Nothing is decoded or allocated until a value is needed (a STACK_GLOBAL
 *   operand, evidence for a report, a joblib array shape): the bytes are still in the buffer.
 * - Everything else is a small object tagged by `t`. Containers keep at most KEEP_ITEMS items (and
 *   always their count), and results of allowlisted calls collapse to one shared instance per class.
 */
export const T_GLOBAL = 1;
export const T_CALL = 2;
export const T_INSTANCE = 3;
export const T_CONTAINER = 4;
export const T_OPAQUE = 5;
export const T_BYTES = 6;

export const C_LIST = 0;
export const C_TUPLE = 1;
export const C_DICT = 2;
export const C_SET = 3;
export const C_FROZENSET = 4;

/** Items (or key/value pairs) a container keeps for evidence and for joblib state; the rest are counted. */
export const KEEP_ITEMS = 32;

/** An imported (or load-time resolved) name: a callable or object reached through find_class. */
export interface GlobalValue {
  readonly t: typeof T_GLOBAL;
  readonly rec: ImportRecord;
}

/** The result of REDUCE / NEWOBJ / NEWOBJ_EX / OBJ / INST on something not known to be plain data. */
export interface CallValue {
  readonly t: typeof T_CALL;
  readonly fn: Value;
  readonly args: Value;
  readonly kwargs: Value | undefined;
  /** The opcode byte that made the call. */
  readonly op: number;
  readonly offset: number;
  /** BUILD state applied to the result (kept for numpy dtypes and joblib wrappers). */
  state: Value | undefined;
}

/** An instance of an allowlisted class (or the result of an allowlisted call): plain data. */
export interface InstanceValue {
  readonly t: typeof T_INSTANCE;
  readonly rec: ImportRecord;
}

export interface ContainerValue {
  readonly t: typeof T_CONTAINER;
  readonly kind: number;
  /** Kept items (dicts: key, value, key, value…); null once more than KEEP_ITEMS were added. */
  items: Value[] | null;
  /** Number of items (dict: pairs). */
  count: number;
  /**
   * References to non-constant values among the items, every one of them (duplicates included), for
   * measuring how far the loaded object expands when walked (expansion.ts); undefined/null when none were
   * kept. Constants are counted from `count`.
   */
  kids?: ObjValue[] | null;
}

/** A value whose content is unknown to the analysis: a persistent id result, an out-of-band buffer. */
export interface OpaqueValue {
  readonly t: typeof T_OPAQUE;
  readonly text: string;
}

/** Bytes computed at load time (`_codecs.encode(s, 'latin1')`, `base64.b64decode(...)`), decoded on demand. */
export interface BytesValue {
  readonly t: typeof T_BYTES;
  /** Source text of the computation, built only when evidence needs it. */
  readonly describe: () => string;
  readonly get: () => Buffer | undefined;
}

export type ObjValue = GlobalValue | CallValue | InstanceValue | ContainerValue | OpaqueValue | BytesValue;
export type Value = number | ObjValue;

export const EMPTY_TUPLE: ContainerValue = Object.freeze({ t: T_CONTAINER, kind: C_TUPLE, items: [] as Value[], count: 0 }) as ContainerValue;
export const UNKNOWN: OpaqueValue = { t: T_OPAQUE, text: '<?>' };
export const OUT_OF_BAND: OpaqueValue = { t: T_OPAQUE, text: '<out-of-band buffer>' };

export function newContainer(kind: number): ContainerValue {
  return { t: T_CONTAINER, kind, items: [], count: 0 };
}

export function containerFrom(kind: number, stack: Value[], from: number, to: number, perItem: number): ContainerValue {
  const n = to - from;
  const count = perItem === 2 ? n >> 1 : n;
  const items = n <= KEEP_ITEMS * perItem ? stack.slice(from, to) : null;
  return { t: T_CONTAINER, kind, items, count };
}

export function addItems(c: ContainerValue, stack: Value[], from: number, to: number, perItem: number): void {
  const n = to - from;
  c.count += perItem === 2 ? n >> 1 : n;
  if (c.items === null) return;
  if (c.items.length + n > KEEP_ITEMS * perItem) {
    c.items = null;
    return;
  }
  for (let i = from; i < to; i++) c.items.push(stack[i] as Value);
}

/** Kept items of a tuple-like value, or undefined when unknown or not kept. */
export function tupleItems(v: Value | undefined): readonly Value[] | undefined {
  if (v === undefined || typeof v === 'number' || v.t !== T_CONTAINER || v.items === null) return undefined;
  if (v.kind === C_DICT || v.kind === C_SET || v.kind === C_FROZENSET) return undefined;
  return v.items;
}

/** Looks a string key up in a kept dict. */
export function dictGet(v: Value | undefined, key: string, text: ConstReader): Value | undefined {
  if (v === undefined || typeof v === 'number' || v.t !== T_CONTAINER || v.kind !== C_DICT || v.items === null) return undefined;
  for (let i = 0; i + 1 < v.items.length; i += 2) {
    const k = v.items[i];
    if (typeof k === 'number' && text.str(k, 200) === key) return v.items[i + 1];
  }
  return undefined;
}

export function dictHas(v: Value | undefined, key: string, text: ConstReader): boolean {
  if (v === undefined || typeof v === 'number' || v.t !== T_CONTAINER || v.kind !== C_DICT || v.items === null) return false;
  for (let i = 0; i + 1 < v.items.length; i += 2) {
    const k = v.items[i];
    if (typeof k === 'number' && text.str(k, 200) === key) return true;
  }
  return false;
}

/** Kinds of constants, by the opcode that pushed them. */
export type ConstKind = 'int' | 'bool' | 'float' | 'str' | 'bytes' | 'bytearray' | 'none';

/**
 * Reads constants back from the buffer by the offset of the opcode that pushed them. All lengths were
 * checked by the analyser when the opcode was read, so these reads stay inside the buffer.
 */
export class ConstReader {
  constructor(private readonly d: Buffer) {}

  kind(off: number): ConstKind | undefined {
    switch (this.d[off]) {
      case OP.INT: {
        const nl = this.d.indexOf(10, off + 1);
        const n = nl - off - 1;
        if (n === 2 && this.d[off + 1] === 0x30 && (this.d[off + 2] === 0x30 || this.d[off + 2] === 0x31)) return 'bool';
        return 'int';
      }
      case OP.BININT:
      case OP.BININT1:
      case OP.BININT2:
      case OP.LONG:
      case OP.LONG1:
      case OP.LONG4:
        return 'int';
      case OP.FLOAT:
      case OP.BINFLOAT:
        return 'float';
      case OP.STRING:
      case OP.BINSTRING:
      case OP.SHORT_BINSTRING:
      case OP.UNICODE:
      case OP.BINUNICODE:
      case OP.SHORT_BINUNICODE:
      case OP.BINUNICODE8:
        return 'str';
      case OP.BINBYTES:
      case OP.SHORT_BINBYTES:
      case OP.BINBYTES8:
        return 'bytes';
      case OP.BYTEARRAY8:
        return 'bytearray';
      case OP.NONE:
        return 'none';
      case OP.NEWTRUE:
      case OP.NEWFALSE:
        return 'bool';
      default:
        return undefined;
    }
  }

  /** Where the payload of a str/bytes constant lies: [start, end) and how it is encoded. */
  span(off: number): { start: number; end: number; enc: 'utf8' | 'latin1' | 'escape' | 'rawunicode' } | undefined {
    const d = this.d;
    switch (d[off]) {
      case OP.STRING: {
        const nl = d.indexOf(10, off + 1);
        return { start: off + 2, end: nl - 1, enc: 'escape' };
      }
      case OP.UNICODE: {
        const nl = d.indexOf(10, off + 1);
        return { start: off + 1, end: nl, enc: 'rawunicode' };
      }
      case OP.BINSTRING:
        return { start: off + 5, end: off + 5 + d.readInt32LE(off + 1), enc: 'latin1' };
      case OP.SHORT_BINSTRING:
        return { start: off + 2, end: off + 2 + (d[off + 1] ?? 0), enc: 'latin1' };
      case OP.BINUNICODE:
        return { start: off + 5, end: off + 5 + d.readUInt32LE(off + 1), enc: 'utf8' };
      case OP.SHORT_BINUNICODE:
        return { start: off + 2, end: off + 2 + (d[off + 1] ?? 0), enc: 'utf8' };
      case OP.BINUNICODE8:
        return { start: off + 9, end: off + 9 + readU64(d, off + 1), enc: 'utf8' };
      case OP.BINBYTES:
        return { start: off + 5, end: off + 5 + d.readUInt32LE(off + 1), enc: 'latin1' };
      case OP.SHORT_BINBYTES:
        return { start: off + 2, end: off + 2 + (d[off + 1] ?? 0), enc: 'latin1' };
      case OP.BINBYTES8:
      case OP.BYTEARRAY8:
        return { start: off + 9, end: off + 9 + readU64(d, off + 1), enc: 'latin1' };
      default:
        return undefined;
    }
  }

  /** A str (or bytes, as latin-1) constant, decoded; at most `max` characters, else undefined when `exact`. */
  str(off: number, max: number, exact = true): string | undefined {
    const s = this.span(off);
    if (s === undefined) return undefined;
    const limit = s.enc === 'utf8' ? max * 4 : s.enc === 'latin1' ? max : max * 10;
    const tooLong = s.end - s.start > limit;
    if (tooLong && exact) return undefined;
    const end = tooLong ? s.start + limit : s.end;
    let text: string;
    if (s.enc === 'utf8') text = this.d.toString('utf8', s.start, end);
    else if (s.enc === 'latin1') text = this.d.toString('latin1', s.start, end);
    else if (s.enc === 'escape') text = decodeEscapes(this.d, s.start, end);
    else text = decodeRawUnicode(this.d.toString('latin1', s.start, end));
    if (text.length > max) return exact ? undefined : text.slice(0, max);
    return text;
  }

  /** The bytes a str/bytes constant holds (str as latin-1 after unescaping; utf-8 strings as utf-8). */
  bytes(off: number): Buffer | undefined {
    const s = this.span(off);
    if (s === undefined) return undefined;
    if (s.enc === 'utf8' || s.enc === 'latin1') return this.d.subarray(s.start, s.end);
    const text = s.enc === 'escape' ? decodeEscapes(this.d, s.start, s.end) : decodeRawUnicode(this.d.toString('latin1', s.start, s.end));
    return Buffer.from(text, 'latin1');
  }

  /** A str constant encoded as latin-1 (undefined when a character is beyond U+00FF, as Python would fail). */
  latin1(off: number, max: number): Buffer | undefined {
    const s = this.span(off);
    if (s === undefined) return undefined;
    if (s.enc === 'latin1') return this.d.subarray(s.start, s.end);
    const text = this.str(off, max);
    if (text === undefined) return undefined;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return undefined;
    return Buffer.from(text, 'latin1');
  }

  /** An int (or bool) constant as a number, when it fits. */
  int(off: number): number | undefined {
    const d = this.d;
    switch (d[off]) {
      case OP.BININT:
        return d.readInt32LE(off + 1);
      case OP.BININT1:
        return d[off + 1];
      case OP.BININT2:
        return d.readUInt16LE(off + 1);
      case OP.NEWTRUE:
        return 1;
      case OP.NEWFALSE:
        return 0;
      case OP.INT:
      case OP.LONG: {
        const nl = d.indexOf(10, off + 1);
        const text = d.toString('latin1', off + 1, Math.min(nl, off + 40)).trim().replace(/L$/, '');
        if (!/^[+-]?\d+$/.test(text)) return undefined;
        const n = Number(text);
        return Number.isSafeInteger(n) ? n : undefined;
      }
      case OP.LONG1:
      case OP.LONG4: {
        const n = d[off] === OP.LONG1 ? (d[off + 1] ?? 0) : d.readInt32LE(off + 1);
        const start = off + (d[off] === OP.LONG1 ? 2 : 5);
        if (n === 0) return 0;
        if (n > 7) return undefined;
        let value = 0;
        for (let i = n - 1; i >= 0; i--) value = value * 256 + (d[start + i] ?? 0);
        if ((d[start + n - 1] ?? 0) & 0x80) value -= 2 ** (8 * n);
        return Number.isSafeInteger(value) ? value : undefined;
      }
      default:
        return undefined;
    }
  }

  /** Python-like source text of a constant, clipped to about `max` characters. */
  repr(off: number, max = 80): string {
    const d = this.d;
    const kind = this.kind(off);
    switch (kind) {
      case 'none':
        return 'None';
      case 'bool':
        return d[off] === OP.NEWTRUE || (d[off] === OP.INT && d[off + 2] === 0x31) ? 'True' : 'False';
      case 'int': {
        const n = this.int(off);
        if (n !== undefined) return String(n);
        if (d[off] === OP.LONG || d[off] === OP.INT) {
          const nl = d.indexOf(10, off + 1);
          return clipText(d.toString('latin1', off + 1, nl).trim(), max);
        }
        return '<big int>';
      }
      case 'float': {
        if (d[off] === OP.BINFLOAT) return String(d.readDoubleBE(off + 1));
        const nl = d.indexOf(10, off + 1);
        return clipText(d.toString('latin1', off + 1, nl).trim(), max);
      }
      case 'str': {
        const s = this.str(off, max, false) ?? '';
        const span = this.span(off);
        const full = span !== undefined && this.str(off, max) !== undefined;
        return pyRepr(s, !full);
      }
      case 'bytes':
      case 'bytearray': {
        const span = this.span(off);
        if (span === undefined) return "b''";
        const end = Math.min(span.end, span.start + max);
        const text = `b${pyRepr(d.toString('latin1', span.start, end), end < span.end, true)}`;
        return kind === 'bytearray' ? `bytearray(${text})` : text;
      }
      default:
        return '<?>';
    }
  }
}

export function readU64(d: Buffer, at: number): number {
  return d.readUInt32LE(at + 4) * 0x1_0000_0000 + d.readUInt32LE(at);
}

function clipText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** Python's repr of a str, single-quoted, with non-printables escaped. */
export function pyRepr(s: string, clipped = false, bytes = false): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f || (c >= 0x80 && (bytes || c < 0xa0))) out += c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : ch;
    else out += ch;
  }
  return clipped ? `${out}…${quote}` : out + quote;
}

/** Python 2 `string_escape` decoding of a STRING opcode body (result as latin-1 text). */
function decodeEscapes(d: Buffer, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) {
    const c = d[i] ?? 0;
    if (c !== 0x5c || i + 1 >= end) {
      out += String.fromCharCode(c);
      continue;
    }
    const n = d[++i] ?? 0;
    const simple: Record<number, string> = { 0x5c: '\\', 0x27: "'", 0x22: '"', 0x61: '\x07', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t', 0x76: '\v', 0x0a: '' };
    const mapped = simple[n];
    if (mapped !== undefined) out += mapped;
    else if (n === 0x78 && i + 2 < end + 1) {
      const hex = d.toString('latin1', i + 1, Math.min(i + 3, end));
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        out += String.fromCharCode(parseInt(hex, 16));
        i += 2;
      } else out += '\\x';
    } else if (n >= 0x30 && n <= 0x37) {
      let j = i;
      let v = 0;
      while (j < end && j < i + 3 && (d[j] ?? 0) >= 0x30 && (d[j] ?? 0) <= 0x37) v = v * 8 + ((d[j++] ?? 0) - 0x30);
      out += String.fromCharCode(v & 0xff);
      i = j - 1;
    } else out += `\\${String.fromCharCode(n)}`;
  }
  return out;
}

/** `raw-unicode-escape` decoding: only \uXXXX and \UXXXXXXXX are escapes. */
function decodeRawUnicode(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt(u4 ?? u8 ?? '0', 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : _m;
  });
}
