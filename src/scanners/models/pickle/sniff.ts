import { ARG, argBytes, HIGHEST_PROTOCOL, OP, OPCODE_BY_BYTE } from './opcodes.js';

/**
 * "Could a pickle stream start here?" — a cheap, strict look at the first opcodes: each must be a real
 * opcode with a well-formed argument (identifiers for GLOBAL, digits for INT, quotes for STRING…) and
 * the stack depth must never go below the last MARK. Text that happens to start with `(`, `c`, `N` or
 * `I` fails within a few bytes; real pickles of any protocol pass. The analyser decides for real.
 */

/** Bytes a protocol 0/1 pickle can start with (PROTO starts protocols 2–5). */
const START_BYTES = new Set<number>([
  OP.MARK, OP.EMPTY_LIST, OP.EMPTY_DICT, OP.EMPTY_TUPLE, OP.GLOBAL, OP.INT, OP.LONG, OP.FLOAT, OP.NONE, OP.STRING,
  OP.UNICODE, OP.BININT, OP.BININT1, OP.BININT2, OP.BINFLOAT, OP.BINSTRING, OP.SHORT_BINSTRING, OP.BINUNICODE,
  OP.BINBYTES, OP.SHORT_BINBYTES, OP.PERSID, OP.NEWTRUE, OP.NEWFALSE, OP.EMPTY_SET, OP.SHORT_BINUNICODE, OP.FRAME,
]);

const TORCH_MAGIC = Buffer.from('\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19', 'latin1');
const TORCH_MAGIC_PROTOCOL_0 = 'L119547037146038801333356L\n.';

/** torch.save's legacy stacked format (before torch 1.6): its first pickle is the magic number 0x1950a86a20f9469cfc6c. */
export function isLegacyStacked(data: Buffer): boolean {
  if (data[0] === 0x80 && (data[1] ?? 0) >= 2 && (data[1] ?? 0) <= 5) {
    const at = data.subarray(0, 32).indexOf(TORCH_MAGIC);
    return at >= 2 && at <= 16;
  }
  return data.subarray(0, TORCH_MAGIC_PROTOCOL_0.length).toString('latin1') === TORCH_MAGIC_PROTOCOL_0;
}

/** Bytes in one of torch.save's own formats: zip, or legacy stacked. (torch.load of anything else unpickles it raw.) */
export function isTorchSave(data: Buffer): boolean {
  return (data.length >= 4 && data.readUInt32BE(0) === 0x504b0304) || isLegacyStacked(data);
}

const NAME = /^[\p{L}_][\p{L}\p{N}_]*(\.[\p{L}_][\p{L}\p{N}_]*)*$/u;
const INT_TEXT = /^[ \t]*[-+]?(?:\d[\d_]*|0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+)?L?[ \t]*$/;
const FLOAT_TEXT = /^[ \t]*[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf|infinity|nan)[ \t]*$/i;
const INDEX_TEXT = /^[ \t]*\d{1,15}[ \t]*$/;

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a) return true;
  }
  return false;
}

interface SniffResult {
  /** Opcodes read without a problem. */
  ops: number;
  /** Distinct opcodes among them. */
  distinct: number;
  stopped: boolean;
  /** True when an opcode or its argument was wrong (rather than the data or the window ending). */
  bad: boolean;
  /** GLOBAL/INST targets read (module, name), well-formed. */
  imports: [string, string][];
}

/**
 * Reads up to `maxOps` opcodes from `start`, checking arguments and stack depth only. `prefix`: `data` is
 * only the first bytes of a larger source, so an argument (or a text line) running past its end is not
 * evidence against a pickle — the opcode counts as read.
 */
export function sniffPickle(data: Buffer, start: number, maxOps = 32, prefix = false): SniffResult {
  const len = data.length;
  let p = start;
  let depth = 0;
  const marks: number[] = [];
  const seen = new Set<number>();
  const imports: [string, string][] = [];
  let ops = 0;
  const result = (stopped: boolean, bad: boolean): SniffResult => ({ ops, distinct: seen.size, stopped, bad, imports });
  // The data (or the window a text line is looked for in) ends inside the current opcode's argument.
  const cut = (op: number): SniffResult => {
    if (prefix) {
      ops++;
      seen.add(op);
    }
    return result(false, false);
  };
  let next = 0;
  const line = (from: number): string | undefined => {
    // Bounded search: looksLikePickle runs at many candidate offsets of large buffers.
    const nl = data.subarray(0, Math.min(len, from + 4097)).indexOf(10, from);
    if (nl < 0) return undefined;
    next = nl + 1;
    return data.toString('utf8', from, nl);
  };
  const fence = (): number => (marks.length > 0 ? marks[marks.length - 1]! : 0);
  const need = (n: number): boolean => depth - n >= fence();

  while (ops < maxOps) {
    if (p >= len) return result(false, false);
    const op = data[p]!;
    const info = OPCODE_BY_BYTE[op];
    if (info === undefined) return result(false, true);
    p += 1;
    // Argument.
    switch (info.arg) {
      case ARG.none:
        break;
      case ARG.u1:
      case ARG.u2:
      case ARG.u4:
      case ARG.u8:
      case ARG.f8: {
        const n = argBytes(info.arg);
        if (p + n > len) return cut(op);
        if (op === OP.PROTO && data[p]! > HIGHEST_PROTOCOL) return result(false, true);
        if (op === OP.FRAME && (data.readUInt32LE(p + 4) !== 0 || data.readUInt32LE(p) > 0x7fffffff)) return result(false, true);
        p += n;
        break;
      }
      case ARG.len1:
      case ARG.len4:
      case ARG.len8: {
        const w = argBytes(info.arg);
        if (p + w > len) return cut(op);
        const n = w === 1 ? data[p]! : w === 4 ? data.readInt32LE(p) : data.readUInt32LE(p + 4) === 0 ? data.readUInt32LE(p) : -1;
        if (n < 0) return result(false, true);
        p += w + n;
        if (p > len) return cut(op);
        break;
      }
      case ARG.line: {
        const text = line(p);
        // No newline within the window (or the data): long text arguments are legal, so this is not evidence.
        if (text === undefined) return cut(op);
        const ok =
          op === OP.INT || op === OP.LONG ? INT_TEXT.test(text) && text.trim() !== '' :
          op === OP.FLOAT ? FLOAT_TEXT.test(text) :
          op === OP.PUT || op === OP.GET ? INDEX_TEXT.test(text) :
          op === OP.STRING ? text.length >= 2 && (text[0] === "'" || text[0] === '"') && text[text.length - 1] === text[0] :
          op === OP.PERSID ? /^[\x20-\x7e]*$/.test(text) :
          !hasControl(text);
        if (!ok) return result(false, true);
        p = next;
        break;
      }
      case ARG.twoLines: {
        const module = line(p);
        if (module === undefined) return result(false, p + 4096 < len);
        const nameStart = next;
        const name = line(nameStart);
        if (name === undefined) return result(false, nameStart + 4096 < len);
        if (!NAME.test(module) || !NAME.test(name)) return result(false, true);
        imports.push([module, name]);
        p = next;
        break;
      }
      default:
        break;
    }
    // Stack depth.
    let ok = true;
    switch (op) {
      case OP.MARK:
        marks.push(depth);
        break;
      case OP.STOP:
        if (!need(1)) return result(false, true);
        ops++;
        seen.add(op);
        return result(true, false);
      case OP.POP:
        if (marks.length > 0 && marks[marks.length - 1] === depth) marks.pop();
        else if (need(1)) depth--;
        else ok = false;
        break;
      case OP.POP_MARK:
      case OP.DICT:
      case OP.LIST:
      case OP.TUPLE:
      case OP.FROZENSET:
      case OP.INST:
      case OP.OBJ:
      case OP.APPENDS:
      case OP.SETITEMS:
      case OP.ADDITEMS: {
        const m = marks.pop();
        if (m === undefined) {
          ok = false;
          break;
        }
        const above = depth - m;
        if (op === OP.OBJ && above < 1) ok = false;
        else if (op === OP.APPENDS || op === OP.SETITEMS || op === OP.ADDITEMS) {
          if (m <= fence() || (op === OP.SETITEMS && above % 2 !== 0)) ok = false;
          depth = m;
        } else if (op === OP.DICT && above % 2 !== 0) ok = false;
        else depth = op === OP.POP_MARK ? m : m + 1;
        break;
      }
      case OP.DUP:
      case OP.READONLY_BUFFER:
      case OP.BINPERSID:
      case OP.PUT:
      case OP.BINPUT:
      case OP.LONG_BINPUT:
      case OP.MEMOIZE:
        if (!need(1)) ok = false;
        else if (op === OP.DUP) depth++;
        break;
      case OP.APPEND:
      case OP.BUILD:
      case OP.REDUCE:
      case OP.NEWOBJ:
      case OP.STACK_GLOBAL:
        if (!need(2)) ok = false;
        else depth--;
        break;
      case OP.SETITEM:
      case OP.NEWOBJ_EX:
        if (!need(3)) ok = false;
        else depth -= 2;
        break;
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3: {
        const k = op - OP.TUPLE1 + 1;
        if (!need(k)) ok = false;
        else depth -= k - 1;
        break;
      }
      case OP.FRAME:
      case OP.PROTO:
        break;
      default:
        // Everything else pushes one value.
        depth++;
        break;
    }
    if (!ok) return result(false, true);
    ops++;
    seen.add(op);
  }
  return result(false, false);
}

/**
 * Cheap test: could a pickle stream start at data[start]? PROTO with a version 0–5, or a protocol-0/1
 * opcode that legitimately starts a stream (`(`, `]`, `}`, `c`, `I`, `N`, …) followed by well-formed
 * opcodes (a few of them, or a STOP).
 */
export function looksLikePickle(data: Buffer, start = 0, prefix = false): boolean {
  const r = sniffStart(data, start, prefix);
  return r !== undefined && acceptSniff(r, data[start] === OP.PROTO);
}

/** The sniff of a stream start, or undefined when the first byte cannot start a pickle. */
export function sniffStart(data: Buffer, start = 0, prefix = false): SniffResult | undefined {
  const b = data[start];
  if (b === undefined) return undefined;
  if (b === OP.PROTO) {
    const v = data[start + 1];
    if (v === undefined || v > HIGHEST_PROTOCOL) return undefined;
    return sniffPickle(data, start, 32, prefix);
  }
  if (!START_BYTES.has(b)) return undefined;
  return sniffPickle(data, start, 32, prefix);
}

function acceptSniff(r: SniffResult, proto: boolean): boolean {
  if (proto) return r.stopped || (!r.bad && r.ops >= 2) || r.ops >= 3;
  return r.stopped || (r.ops >= 4 && r.distinct >= 2);
}
