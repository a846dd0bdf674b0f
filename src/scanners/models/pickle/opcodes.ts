/**
 * The pickle opcode table (protocols 0–5), as CPython's `Lib/pickletools.py` documents it. The analyser
 * switches on the byte values directly; this table names them and says how each argument is encoded,
 * so that the cheap "does a pickle start here" test, the docs and the tests share one source.
 */

/** How an opcode's argument is stored after the opcode byte. */
export const ARG = {
  none: 0,
  /** One byte, unsigned. */
  u1: 1,
  /** Two bytes, little-endian unsigned. */
  u2: 2,
  /** Four bytes, little-endian (signed or unsigned depending on the opcode). */
  u4: 3,
  /** Eight bytes, little-endian unsigned. */
  u8: 4,
  /** Text up to and including `\n`. */
  line: 5,
  /** Two `\n`-terminated lines (module, then name). */
  twoLines: 6,
  /** A length (1, 4 or 8 bytes) followed by that many bytes. */
  len1: 7,
  len4: 8,
  len8: 9,
  /** Eight bytes (a big-endian IEEE double). */
  f8: 10,
} as const;
export type ArgKind = (typeof ARG)[keyof typeof ARG];

/** Bytes of a fixed-size argument (u1…u8, f8), or of a counted argument's length (len1/len4/len8); 0 otherwise. */
export function argBytes(arg: ArgKind): number {
  switch (arg) {
    case ARG.u1:
    case ARG.len1:
      return 1;
    case ARG.u2:
      return 2;
    case ARG.u4:
    case ARG.len4:
      return 4;
    case ARG.u8:
    case ARG.f8:
    case ARG.len8:
      return 8;
    default:
      return 0;
  }
}

export interface OpcodeInfo {
  readonly code: number;
  readonly name: string;
  readonly arg: ArgKind;
  /** The protocol that introduced it. */
  readonly proto: number;
}

const table: [string, string, ArgKind, number][] = [
  ['(', 'MARK', ARG.none, 0],
  ['.', 'STOP', ARG.none, 0],
  ['0', 'POP', ARG.none, 0],
  ['1', 'POP_MARK', ARG.none, 1],
  ['2', 'DUP', ARG.none, 0],
  ['F', 'FLOAT', ARG.line, 0],
  ['I', 'INT', ARG.line, 0],
  ['J', 'BININT', ARG.u4, 1],
  ['K', 'BININT1', ARG.u1, 1],
  ['L', 'LONG', ARG.line, 0],
  ['M', 'BININT2', ARG.u2, 1],
  ['N', 'NONE', ARG.none, 0],
  ['P', 'PERSID', ARG.line, 0],
  ['Q', 'BINPERSID', ARG.none, 1],
  ['R', 'REDUCE', ARG.none, 0],
  ['S', 'STRING', ARG.line, 0],
  ['T', 'BINSTRING', ARG.len4, 1],
  ['U', 'SHORT_BINSTRING', ARG.len1, 1],
  ['V', 'UNICODE', ARG.line, 0],
  ['X', 'BINUNICODE', ARG.len4, 1],
  ['a', 'APPEND', ARG.none, 0],
  ['b', 'BUILD', ARG.none, 0],
  ['c', 'GLOBAL', ARG.twoLines, 0],
  ['d', 'DICT', ARG.none, 0],
  ['}', 'EMPTY_DICT', ARG.none, 1],
  ['e', 'APPENDS', ARG.none, 1],
  ['g', 'GET', ARG.line, 0],
  ['h', 'BINGET', ARG.u1, 1],
  ['i', 'INST', ARG.twoLines, 0],
  ['j', 'LONG_BINGET', ARG.u4, 1],
  ['l', 'LIST', ARG.none, 0],
  [']', 'EMPTY_LIST', ARG.none, 1],
  ['o', 'OBJ', ARG.none, 1],
  ['p', 'PUT', ARG.line, 0],
  ['q', 'BINPUT', ARG.u1, 1],
  ['r', 'LONG_BINPUT', ARG.u4, 1],
  ['s', 'SETITEM', ARG.none, 0],
  ['t', 'TUPLE', ARG.none, 0],
  [')', 'EMPTY_TUPLE', ARG.none, 1],
  ['u', 'SETITEMS', ARG.none, 1],
  ['G', 'BINFLOAT', ARG.f8, 1],
  ['\x80', 'PROTO', ARG.u1, 2],
  ['\x81', 'NEWOBJ', ARG.none, 2],
  ['\x82', 'EXT1', ARG.u1, 2],
  ['\x83', 'EXT2', ARG.u2, 2],
  ['\x84', 'EXT4', ARG.u4, 2],
  ['\x85', 'TUPLE1', ARG.none, 2],
  ['\x86', 'TUPLE2', ARG.none, 2],
  ['\x87', 'TUPLE3', ARG.none, 2],
  ['\x88', 'NEWTRUE', ARG.none, 2],
  ['\x89', 'NEWFALSE', ARG.none, 2],
  ['\x8a', 'LONG1', ARG.len1, 2],
  ['\x8b', 'LONG4', ARG.len4, 2],
  ['B', 'BINBYTES', ARG.len4, 3],
  ['C', 'SHORT_BINBYTES', ARG.len1, 3],
  ['\x8c', 'SHORT_BINUNICODE', ARG.len1, 4],
  ['\x8d', 'BINUNICODE8', ARG.len8, 4],
  ['\x8e', 'BINBYTES8', ARG.len8, 4],
  ['\x8f', 'EMPTY_SET', ARG.none, 4],
  ['\x90', 'ADDITEMS', ARG.none, 4],
  ['\x91', 'FROZENSET', ARG.none, 4],
  ['\x92', 'NEWOBJ_EX', ARG.none, 4],
  ['\x93', 'STACK_GLOBAL', ARG.none, 4],
  ['\x94', 'MEMOIZE', ARG.none, 4],
  ['\x95', 'FRAME', ARG.u8, 4],
  ['\x96', 'BYTEARRAY8', ARG.len8, 5],
  ['\x97', 'NEXT_BUFFER', ARG.none, 5],
  ['\x98', 'READONLY_BUFFER', ARG.none, 5],
];

/** Every opcode, in the order pickletools lists them by family. */
export const OPCODES: readonly OpcodeInfo[] = table.map(([ch, name, arg, proto]) => ({ code: ch.charCodeAt(0), name, arg, proto }));

/** Opcode info by byte value (undefined for bytes that are not opcodes). */
export const OPCODE_BY_BYTE: readonly (OpcodeInfo | undefined)[] = (() => {
  const out: (OpcodeInfo | undefined)[] = new Array<OpcodeInfo | undefined>(256).fill(undefined);
  for (const op of OPCODES) out[op.code] = op;
  return out;
})();

export function opcodeName(byte: number): string {
  return OPCODE_BY_BYTE[byte]?.name ?? `0x${byte.toString(16).padStart(2, '0')}`;
}

/** The highest protocol CPython's unpickler accepts in PROTO. */
export const HIGHEST_PROTOCOL = 5;

/** Byte values, for the analyser's switch. */
export const OP = {
  MARK: 0x28,
  STOP: 0x2e,
  POP: 0x30,
  POP_MARK: 0x31,
  DUP: 0x32,
  FLOAT: 0x46,
  INT: 0x49,
  BININT: 0x4a,
  BININT1: 0x4b,
  LONG: 0x4c,
  BININT2: 0x4d,
  NONE: 0x4e,
  PERSID: 0x50,
  BINPERSID: 0x51,
  REDUCE: 0x52,
  STRING: 0x53,
  BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55,
  UNICODE: 0x56,
  BINUNICODE: 0x58,
  APPEND: 0x61,
  BUILD: 0x62,
  GLOBAL: 0x63,
  DICT: 0x64,
  EMPTY_DICT: 0x7d,
  APPENDS: 0x65,
  GET: 0x67,
  BINGET: 0x68,
  INST: 0x69,
  LONG_BINGET: 0x6a,
  LIST: 0x6c,
  EMPTY_LIST: 0x5d,
  OBJ: 0x6f,
  PUT: 0x70,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  SETITEM: 0x73,
  TUPLE: 0x74,
  EMPTY_TUPLE: 0x29,
  SETITEMS: 0x75,
  BINFLOAT: 0x47,
  PROTO: 0x80,
  NEWOBJ: 0x81,
  EXT1: 0x82,
  EXT2: 0x83,
  EXT4: 0x84,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
  BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97,
  READONLY_BUFFER: 0x98,
} as const;
