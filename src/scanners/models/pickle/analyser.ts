import { gunzipSync, inflateSync } from 'node:zlib';
import { displayName, PickleCollector, SPECIAL, type DivergenceEvent, type ImportRecord, type StreamError } from './collector.js';
import { HIGHEST_PROTOCOL, OP } from './opcodes.js';
import { classifyGlobal } from './classify.js';
import { measureExpansion } from './expansion.js';
import { isTorchSave, looksLikePickle } from './sniff.js';
import {
  addItems, C_DICT, C_FROZENSET, C_LIST, C_SET, C_TUPLE, ConstReader, containerFrom, dictGet, dictHas, EMPTY_TUPLE,
  newContainer, OUT_OF_BAND, pyRepr, readU64, T_BYTES, T_CALL, T_CONTAINER, T_GLOBAL, T_INSTANCE, T_OPAQUE,
  tupleItems, UNKNOWN, type BytesValue, type CallValue, type ContainerValue, type ObjValue, type OpaqueValue, type Value,
} from './values.js';

/**
 * A symbolic pickle virtual machine. It reads the opcodes of one pickle stream exactly as CPython's
 * C unpickler (`_pickle.c`, the one `pickle.load` and `torch.load` use) reads them — sequentially,
 * with FRAME only requiring its bytes to be present — and keeps a stack and a memo of symbolic values,
 * but it never imports or calls anything. What the load would reach (imports, calls, attribute walks,
 * nested pickles, mutations of imported objects) goes to a PickleCollector.
 *
 * Performance: one tight loop over the Buffer with a switch on the opcode byte. Constants are the
 * offset of their opcode (a small integer, no allocation); containers keep counts and a few items.
 */

export interface AnalyserLimits {
  /** Opcodes per top-level stream, inline streams included. */
  maxOpcodes: number;
  /** Distinct memo entries. */
  maxMemo: number;
  /** Values on the stack (checked every 65,536 opcodes). */
  maxStack: number;
  /** Open MARKs. */
  maxMarks: number;
  /** Streams read inline (joblib object arrays within object arrays…). */
  maxDepth: number;
  /** Largest bytes value computed at load time (zlib/base64) that is decoded to look for a nested pickle. */
  maxDerivedBytes: number;
}

export const DEFAULT_ANALYSER_LIMITS: AnalyserLimits = {
  maxOpcodes: 200_000_000,
  maxMemo: 50_000_000,
  maxStack: 5_000_000,
  maxMarks: 1_000_000,
  maxDepth: 4,
  maxDerivedBytes: 64 * 1024 * 1024,
};

export interface StreamOptions {
  /** Epoch ms after which analysis stops with a limit event. */
  deadline: number;
  limits: AnalyserLimits;
  /**
   * Apply joblib's NumpyUnpickler semantics: the raw bytes of an array follow the BUILD of a
   * NumpyArrayWrapper in the stream. (The bytes skipped this way are also checked as opcodes, for a
   * loader that does not know about joblib.)
   */
  joblib: boolean;
  /** Inline nesting depth of this stream. */
  depth: number;
  /**
   * Shadow mode, for bytes that a loader other than the expected one would read as opcodes: start on
   * a stack of unknown values and report nothing about the stream's health.
   */
  lenient: boolean;
  /**
   * Another loader's reading of the same bytes (a frame-honouring C unpickler, see loader-views.ts):
   * report what it reaches, but not the stream's health (breaks, leftovers, frames), which the main
   * reading reports.
   */
  quiet?: boolean;
}

export interface StreamResult {
  /** Offset after STOP, or where the stream broke. */
  end: number;
  complete: boolean;
  opcodes: number;
  proto: number;
  /** A FRAME opcode was read. */
  sawFrame: boolean;
  /** Frames and opcodes disagreed (an opcode across a frame's end, overlapping frames, a frame past STOP or past the data). */
  frameAnomaly: boolean;
  /** Bytes skipped as joblib array data (read as opcodes by every loader but joblib's). */
  skipped: boolean;
  /**
   * Where a frame that was still open at STOP ends: a C unpickler that fetched that frame with `read(n)`
   * leaves the file there, so the next pickle.load of the same file starts there rather than after STOP.
   */
  frameTail: number | undefined;
}

/** Analyses one pickle stream starting at `start`. Never throws for bad input. */
export function analyseStream(data: Buffer, start: number, collector: PickleCollector, options: StreamOptions): StreamResult {
  return new Machine(data, collector, options).run(start);
}

const MAX_CALL_EVIDENCE = 4;
/** References between containers kept per stream for the expansion measure (beyond it, what was kept is a lower bound). */
const MAX_EXPANSION_REFS = 4_000_000;
/** A tree walk of the loaded object visiting at least this many nodes, and this many per opcode, is reported. */
export const EXPANSION_MIN_NODES = 10_000_000;
export const EXPANSION_MIN_RATIO = 1000;
/** A container holding at least this many references to itself or to an enclosing container is reported. */
export const BACK_REFERENCES_MIN = 16;
/** Opcodes spent per stream reading joblib array bytes as a non-joblib loader would. */
const SHADOW_BUDGET = 5_000_000;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PERSISTENT: OpaqueValue = { t: T_OPAQUE, text: 'persistent_load(…)' };
const utf8 = new TextDecoder('utf-8', { fatal: true });

interface JoblibPending {
  inst: CallValue;
  kind: 'array' | 'external';
  offset: number;
}

class Machine {
  private readonly stack: Value[] = [];
  private readonly marks: number[] = [];
  private readonly memo: Value[] = [];
  private memoSparse: Map<number, Value> | undefined;
  private memoCount = 0;
  private proto = 0;
  private readonly text: ConstReader;
  private stopped = false;
  private joblibPending: JoblibPending | undefined;
  private pendingSkip: { at: number; to: number } | undefined;
  private skipped = false;
  private frameAnomaly = false;
  /** Containers holding references to other containers or calls, for the expansion measure, and where each was made. */
  private readonly registry: ContainerValue[] = [];
  private readonly registryAt: number[] = [];
  private refsLeft = MAX_EXPANSION_REFS;

  constructor(
    private readonly d: Buffer,
    private readonly c: PickleCollector,
    private readonly o: StreamOptions,
  ) {
    this.text = new ConstReader(d);
  }

  run(start: number): StreamResult {
    const d = this.d;
    const len = d.length;
    const stack = this.stack;
    const marks = this.marks;
    const limits = this.o.limits;
    if (this.o.lenient) for (let i = 0; i < 16; i++) stack.push(UNKNOWN);
    const quiet = this.o.lenient || this.o.quiet === true;
    let p = start;
    let fence = 0;
    let frameEnd = -1;
    let ops = 0;
    let complete = false;
    let sawFrame = false;
    let frameTail: number | undefined;
    let pastEnd: DivergenceEvent | undefined;

    loop: for (;;) {
      if (p >= len) {
        this.fail(p, 'truncated', p === start ? 'the stream is empty' : 'the data ends before STOP');
        break;
      }
      const opStart = p;
      const op = d[p++]!;
      ops++;
      if ((ops & 0xffff) === 0 && this.overBudget(ops, opStart)) break;

      switch (op) {
        case OP.MARK:
          if (marks.length >= limits.maxMarks) {
            this.limit(opStart, 'marks', limits.maxMarks);
            break loop;
          }
          marks.push(stack.length);
          fence = stack.length;
          break;
        case OP.STOP:
          if (stack.length <= fence) {
            this.fail(opStart, 'underflow', 'STOP with nothing on the stack');
            break loop;
          }
          stack.pop();
          complete = true;
          if (!quiet && (stack.length > 0 || marks.length > 0)) {
            this.c.add(this.c.leftovers, { offset: opStart, items: stack.length, marks: marks.length });
          }
          if (frameEnd > p) {
            this.frame(opStart, 'trailing', `the frame declared ${frameEnd - p} more byte(s) after STOP`);
            frameTail = frameEnd;
          }
          break loop;
        case OP.POP:
          if (marks.length > 0 && marks[marks.length - 1] === stack.length) {
            marks.pop();
            fence = marks.length > 0 ? marks[marks.length - 1]! : 0;
          } else if (stack.length <= fence) {
            this.fail(opStart, 'underflow', 'POP with nothing above the mark');
            break loop;
          } else stack.pop();
          break;
        case OP.POP_MARK: {
          if (marks.length === 0) {
            this.fail(opStart, 'noMark', 'POP_MARK without a MARK');
            break loop;
          }
          stack.length = marks.pop()!;
          fence = marks.length > 0 ? marks[marks.length - 1]! : 0;
          break;
        }
        case OP.DUP: {
          if (stack.length <= fence) {
            this.fail(opStart, 'underflow', 'DUP with nothing above the mark');
            break loop;
          }
          const v = stack[stack.length - 1]!;
          if (typeof v !== 'number') this.noteUse(v);
          stack.push(v);
          break;
        }
        case OP.FLOAT:
        case OP.INT:
        case OP.LONG:
        case OP.UNICODE: {
          const nl = d.indexOf(10, p);
          if (nl < 0) {
            this.fail(opStart, 'truncated', 'the data ends inside a text argument');
            break loop;
          }
          p = nl + 1;
          stack.push(opStart);
          break;
        }
        case OP.STRING: {
          const nl = d.indexOf(10, p);
          if (nl < 0) {
            this.fail(opStart, 'truncated', 'the data ends inside a STRING argument');
            break loop;
          }
          const q = d[p];
          if (nl - p < 2 || (q !== 0x27 && q !== 0x22) || d[nl - 1] !== q) {
            this.fail(opStart, 'badArgument', 'the STRING argument is not quoted');
            break loop;
          }
          p = nl + 1;
          stack.push(opStart);
          break;
        }
        case OP.BININT:
          if (p + 4 > len) {
            this.fail(opStart, 'truncated', 'the data ends inside BININT');
            break loop;
          }
          p += 4;
          stack.push(opStart);
          break;
        case OP.BININT1:
          if (p + 1 > len) {
            this.fail(opStart, 'truncated', 'the data ends inside BININT1');
            break loop;
          }
          p += 1;
          stack.push(opStart);
          break;
        case OP.BININT2:
          if (p + 2 > len) {
            this.fail(opStart, 'truncated', 'the data ends inside BININT2');
            break loop;
          }
          p += 2;
          stack.push(opStart);
          break;
        case OP.BINFLOAT:
          if (p + 8 > len) {
            this.fail(opStart, 'truncated', 'the data ends inside BINFLOAT');
            break loop;
          }
          p += 8;
          stack.push(opStart);
          break;
        case OP.SHORT_BINUNICODE:
        case OP.SHORT_BINSTRING:
        case OP.SHORT_BINBYTES:
        case OP.LONG1: {
          if (p + 1 > len || p + 1 + d[p]! > len) {
            this.fail(opStart, 'truncated', 'the data ends inside a short string, bytes or long');
            break loop;
          }
          p += 1 + d[p]!;
          stack.push(opStart);
          break;
        }
        case OP.BINUNICODE:
        case OP.BINBYTES:
        case OP.BINSTRING:
        case OP.LONG4: {
          if (p + 4 > len) {
            this.fail(opStart, 'truncated', 'the data ends inside a length');
            break loop;
          }
          const n = op === OP.BINSTRING || op === OP.LONG4 ? d.readInt32LE(p) : d.readUInt32LE(p);
          if (n < 0) {
            this.fail(opStart, 'badArgument', 'negative length');
            break loop;
          }
          if (n > len - p - 4) {
            this.fail(opStart, 'truncated', `a ${n}-byte argument runs past the end of the data`);
            break loop;
          }
          p += 4 + n;
          stack.push(opStart);
          break;
        }
        case OP.BINUNICODE8:
        case OP.BINBYTES8:
        case OP.BYTEARRAY8: {
          if (p + 8 > len) {
            this.fail(opStart, 'truncated', 'the data ends inside a length');
            break loop;
          }
          const n = readU64(d, p);
          if (n > len - p - 8) {
            this.fail(opStart, 'truncated', `a ${n}-byte argument runs past the end of the data`);
            break loop;
          }
          p += 8 + n;
          stack.push(opStart);
          break;
        }
        case OP.NONE:
        case OP.NEWTRUE:
        case OP.NEWFALSE:
          stack.push(opStart);
          break;
        case OP.NEXT_BUFFER:
          stack.push(OUT_OF_BAND);
          break;
        case OP.READONLY_BUFFER:
          if (stack.length <= fence) {
            this.fail(opStart, 'underflow', 'READONLY_BUFFER with nothing above the mark');
            break loop;
          }
          break;
        case OP.APPEND:
        case OP.SETITEM: {
          const k = op === OP.APPEND ? 1 : 2;
          const n = stack.length;
          if (n - k - 1 < fence) {
            this.fail(opStart, 'underflow', `${op === OP.APPEND ? 'APPEND' : 'SETITEM'} needs ${k + 1} values above the mark`);
            break loop;
          }
          this.addTo(stack[n - k - 1]!, n - k, n, k, opStart);
          stack.length = n - k;
          break;
        }
        case OP.APPENDS:
        case OP.SETITEMS:
        case OP.ADDITEMS: {
          if (marks.length === 0) {
            this.fail(opStart, 'noMark', 'no MARK before APPENDS/SETITEMS/ADDITEMS');
            break loop;
          }
          const x = marks.pop()!;
          fence = marks.length > 0 ? marks[marks.length - 1]! : 0;
          const n = stack.length;
          const k = op === OP.SETITEMS ? 2 : 1;
          if (x > n || x <= fence) {
            this.fail(opStart, 'underflow', 'no container below the MARK');
            break loop;
          }
          if ((n - x) % k !== 0) {
            this.fail(opStart, 'badArgument', 'odd number of items for SETITEMS');
            break loop;
          }
          if (n > x) this.addTo(stack[x - 1]!, x, n, k, opStart);
          stack.length = x;
          break;
        }
        case OP.BUILD: {
          const n = stack.length;
          if (n - 2 < fence) {
            this.fail(opStart, 'underflow', 'BUILD needs an object and a state');
            break loop;
          }
          const state = stack[n - 1]!;
          stack.length = n - 1;
          this.build(stack[n - 2]!, state, opStart);
          break;
        }
        case OP.GLOBAL:
        case OP.INST: {
          const nl1 = d.indexOf(10, p);
          const nl2 = nl1 < 0 ? -1 : d.indexOf(10, nl1 + 1);
          if (nl2 < 0) {
            this.eofImport(nl1, p, opStart);
            this.fail(opStart, 'truncated', 'the data ends inside a module/name pair');
            break loop;
          }
          const module = decodeUtf8(d, p, nl1);
          const name = decodeUtf8(d, nl1 + 1, nl2);
          if (module === undefined || name === undefined) {
            this.fail(opStart, 'badArgument', 'the module or name is not valid UTF-8');
            break loop;
          }
          p = nl2 + 1;
          // An empty module line fails before any import (C: "pickle data was truncated"; Python: "Empty module
          // name"); an empty name fails after the pure-Python unpickler has imported the module.
          if (module === '') {
            this.fail(opStart, 'badArgument', 'the module name is empty');
            break loop;
          }
          const g = this.global(module, name, opStart, op === OP.GLOBAL ? 'GLOBAL' : 'INST');
          if (name === '') {
            this.fail(opStart, 'badArgument', 'the attribute name is empty');
            break loop;
          }
          if (op === OP.GLOBAL) {
            stack.push(g);
            break;
          }
          if (marks.length === 0) {
            this.fail(opStart, 'noMark', 'INST without a MARK');
            break loop;
          }
          const x = marks.pop()!;
          fence = marks.length > 0 ? marks[marks.length - 1]! : 0;
          const args = x === stack.length ? EMPTY_TUPLE : this.adopt(containerFrom(C_TUPLE, stack, x, stack.length, 1), x, stack.length, opStart);
          stack.length = x;
          stack.push(this.call(g, args, undefined, op, opStart));
          break;
        }
        case OP.STACK_GLOBAL: {
          const n = stack.length;
          if (n - 2 < fence) {
            this.fail(opStart, 'underflow', 'STACK_GLOBAL needs a module and a name');
            break loop;
          }
          const g = this.stackGlobal(stack[n - 2]!, stack[n - 1]!, opStart);
          if (g === undefined) break loop;
          stack.length = n - 2;
          stack.push(g);
          break;
        }
        case OP.DICT:
        case OP.LIST:
        case OP.TUPLE:
        case OP.FROZENSET:
        case OP.OBJ: {
          if (marks.length === 0) {
            this.fail(opStart, 'noMark', 'no MARK before a DICT/LIST/TUPLE/FROZENSET/OBJ');
            break loop;
          }
          const x = marks.pop()!;
          fence = marks.length > 0 ? marks[marks.length - 1]! : 0;
          const n = stack.length;
          let v: Value;
          if (op === OP.DICT) {
            if ((n - x) % 2 !== 0) {
              this.fail(opStart, 'badArgument', 'odd number of items for DICT');
              break loop;
            }
            v = this.adopt(containerFrom(C_DICT, stack, x, n, 2), x, n, opStart);
          } else if (op === OP.LIST) v = this.adopt(containerFrom(C_LIST, stack, x, n, 1), x, n, opStart);
          else if (op === OP.TUPLE) v = n === x ? EMPTY_TUPLE : this.adopt(containerFrom(C_TUPLE, stack, x, n, 1), x, n, opStart);
          else if (op === OP.FROZENSET) v = this.adopt(containerFrom(C_FROZENSET, stack, x, n, 1), x, n, opStart);
          else {
            if (n - x < 1) {
              this.fail(opStart, 'underflow', 'OBJ needs a class after the MARK');
              break loop;
            }
            const args = n - x === 1 ? EMPTY_TUPLE : this.adopt(containerFrom(C_TUPLE, stack, x + 1, n, 1), x + 1, n, opStart);
            v = this.call(stack[x]!, args, undefined, op, opStart);
          }
          stack.length = x;
          stack.push(v);
          break;
        }
        case OP.EMPTY_DICT:
          stack.push(newContainer(C_DICT));
          break;
        case OP.EMPTY_LIST:
          stack.push(newContainer(C_LIST));
          break;
        case OP.EMPTY_SET:
          stack.push(newContainer(C_SET));
          break;
        case OP.EMPTY_TUPLE:
          stack.push(EMPTY_TUPLE);
          break;
        case OP.TUPLE1:
        case OP.TUPLE2:
        case OP.TUPLE3: {
          const k = op - OP.TUPLE1 + 1;
          const n = stack.length;
          if (n - k < fence) {
            this.fail(opStart, 'underflow', `TUPLE${k} needs ${k} value(s) above the mark`);
            break loop;
          }
          const v = this.adopt(containerFrom(C_TUPLE, stack, n - k, n, 1), n - k, n, opStart);
          stack.length = n - k;
          stack.push(v);
          break;
        }
        case OP.REDUCE:
        case OP.NEWOBJ:
        case OP.NEWOBJ_EX: {
          const k = op === OP.NEWOBJ_EX ? 3 : 2;
          const n = stack.length;
          if (n - k < fence) {
            this.fail(opStart, 'underflow', `${op === OP.REDUCE ? 'REDUCE' : 'NEWOBJ'} needs ${k} values above the mark`);
            break loop;
          }
          const fn = stack[n - k]!;
          const args = stack[n - k + 1]!;
          const kwargs = k === 3 ? stack[n - 1] : undefined;
          stack.length = n - k;
          stack.push(this.call(fn, args, kwargs, op, opStart));
          break;
        }
        case OP.PUT:
        case OP.GET: {
          const nl = d.indexOf(10, p);
          if (nl < 0) {
            this.fail(opStart, 'truncated', 'the data ends inside a memo index');
            break loop;
          }
          const idx = parseIndex(d, p, nl);
          p = nl + 1;
          if (idx < 0) {
            this.fail(opStart, 'badArgument', 'the memo index is not a non-negative integer');
            break loop;
          }
          if (op === OP.PUT ? !this.put(idx, opStart, fence) : !this.get(idx, opStart)) break loop;
          break;
        }
        case OP.BINPUT:
        case OP.BINGET:
          if (p + 1 > len) {
            this.fail(opStart, 'truncated', 'the data ends inside a memo index');
            break loop;
          }
          p += 1;
          if (op === OP.BINPUT ? !this.put(d[p - 1]!, opStart, fence) : !this.get(d[p - 1]!, opStart)) break loop;
          break;
        case OP.LONG_BINPUT:
        case OP.LONG_BINGET:
          if (p + 4 > len) {
            this.fail(opStart, 'truncated', 'the data ends inside a memo index');
            break loop;
          }
          p += 4;
          if (op === OP.LONG_BINPUT ? !this.put(d.readUInt32LE(p - 4), opStart, fence) : !this.get(d.readUInt32LE(p - 4), opStart)) break loop;
          break;
        case OP.MEMOIZE:
          if (!this.put(this.memoCount, opStart, fence)) break loop;
          break;
        case OP.EXT1:
        case OP.EXT2:
        case OP.EXT4: {
          const k = op === OP.EXT1 ? 1 : op === OP.EXT2 ? 2 : 4;
          if (p + k > len) {
            this.fail(opStart, 'truncated', 'the data ends inside an extension code');
            break loop;
          }
          const code = k === 1 ? d[p]! : k === 2 ? d.readUInt16LE(p) : d.readInt32LE(p);
          p += k;
          if (code <= 0) {
            this.fail(opStart, 'badArgument', 'extension code must be positive');
            break loop;
          }
          stack.push(this.extension(code, k, opStart));
          break;
        }
        case OP.PERSID: {
          const nl = d.indexOf(10, p);
          if (nl < 0) {
            this.fail(opStart, 'truncated', 'the data ends inside PERSID');
            break loop;
          }
          p = nl + 1;
          stack.push(PERSISTENT);
          break;
        }
        case OP.BINPERSID:
          if (stack.length <= fence) {
            this.fail(opStart, 'underflow', 'BINPERSID with nothing above the mark');
            break loop;
          }
          stack[stack.length - 1] = PERSISTENT;
          break;
        case OP.FRAME: {
          if (p + 8 > len) {
            this.fail(opStart, 'truncated', 'the data ends inside FRAME');
            break loop;
          }
          const n = readU64(d, p);
          p += 8;
          sawFrame = true;
          if (frameEnd > opStart && !this.o.lenient) {
            this.frame(opStart, 'overlap', `a new frame starts ${frameEnd - opStart} byte(s) before the previous frame ends`);
          }
          if (n > len - p) {
            // The C unpickler refuses the frame ("pickle data was truncated"); the pure-Python one (joblib's)
            // reads what there is and goes on — so the analysis goes on too.
            // Reported only when that reading completes: a file cut short breaks both readings anyway.
            pastEnd ??= { offset: opStart, kind: 'pastEnd', frame: opStart, left: len - p, declared: n, reached: [] };
            frameEnd = -1;
            break;
          }
          frameEnd = p + n;
          break;
        }
        case OP.PROTO: {
          if (p + 1 > len) {
            this.fail(opStart, 'truncated', 'the data ends inside PROTO');
            break loop;
          }
          const v = d[p++]!;
          if (v > HIGHEST_PROTOCOL) {
            this.fail(opStart, 'protocol', `unsupported pickle protocol ${v}`);
            break loop;
          }
          this.proto = v;
          break;
        }
        default:
          this.fail(opStart, 'invalidOpcode', `byte 0x${op.toString(16).padStart(2, '0')} is not a pickle opcode`);
          break loop;
      }

      if (this.stopped) break;
      if (frameEnd >= 0 && p >= frameEnd) {
        if (p > frameEnd && !this.o.lenient) this.frame(opStart, 'span', `an opcode runs ${p - frameEnd} byte(s) past the end of its frame`);
        const at = frameEnd;
        frameEnd = -1;
        if (this.pendingSkip !== undefined && this.pendingSkip.at === at) {
          p = Math.max(p, this.pendingSkip.to);
          this.pendingSkip = undefined;
        }
      }
      if (this.joblibPending !== undefined) {
        const pending = this.joblibPending;
        this.joblibPending = undefined;
        const inFrame = frameEnd > p;
        const to = this.joblibSkip(pending, inFrame ? frameEnd : p);
        if (to < 0) break;
        if (inFrame) {
          this.frame(pending.offset, 'joblib', 'joblib reads the array data after the end of the frame that holds the wrapper, while the unpickler goes on inside the frame');
          this.pendingSkip = { at: frameEnd, to };
        } else p = to;
      }
    }

    this.c.opcodes += ops;
    if (pastEnd !== undefined && complete && !quiet) this.c.add(this.c.divergences, pastEnd);
    if (this.registry.length > 0) this.measure(ops);
    return { end: Math.min(p, len), complete, opcodes: ops, proto: this.proto, sawFrame, frameAnomaly: this.frameAnomaly || pastEnd !== undefined, skipped: this.skipped, frameTail };
  }

  // ---- bookkeeping -------------------------------------------------------------------------------

  /** Keeps the container's references to containers and calls among stack[from, to), for the expansion measure. */
  private adopt(c: ContainerValue, from: number, to: number, offset: number): ContainerValue {
    if (this.o.lenient || this.o.quiet === true) return c;
    const stack = this.stack;
    for (let i = from; i < to; i++) {
      const v = stack[i]!;
      if (typeof v === 'number' || v === EMPTY_TUPLE || (v.t !== T_CONTAINER && v.t !== T_CALL)) continue;
      if (this.refsLeft <= 0) return c;
      this.refsLeft -= 1;
      let kids = c.kids;
      if (kids === undefined || kids === null) {
        kids = [];
        c.kids = kids;
        this.registry.push(c);
        this.registryAt.push(offset);
      }
      kids.push(v);
    }
    return c;
  }

  /** The expansion measure of this stream's containers (expansion.ts), reported past its thresholds. */
  private measure(ops: number): void {
    const m = measureExpansion(this.registry, this.o.deadline);
    const at = (c: ContainerValue | undefined): number => {
      const i = c === undefined ? -1 : this.registry.indexOf(c);
      return i < 0 ? 0 : this.registryAt[i]!;
    };
    if (m.maxNodes >= EXPANSION_MIN_NODES && m.maxNodes >= EXPANSION_MIN_RATIO * Math.max(1, ops)) {
      this.c.add(this.c.expansions, { offset: at(m.maxAt), kind: 'walk', count: m.maxNodes, opcodes: ops });
    }
    if (m.maxBack >= BACK_REFERENCES_MIN) this.c.add(this.c.expansions, { offset: at(m.backAt), kind: 'cycle', count: m.maxBack, opcodes: ops });
  }

  private fail(offset: number, kind: StreamError['kind'], detail: string): void {
    this.stopped = true;
    if (this.o.lenient || this.o.quiet === true) return;
    this.c.add(this.c.errors, { offset, kind, detail, reached: this.c.reachedCount() });
  }

  private limit(offset: number, kind: 'opcodes' | 'memo' | 'stack' | 'marks' | 'deadline' | 'depth', limit: number): void {
    this.stopped = true;
    if (this.o.lenient) return;
    this.c.add(this.c.limits, { offset, kind, limit });
  }

  private frame(offset: number, kind: 'span' | 'overlap' | 'trailing' | 'joblib', detail: string): void {
    this.frameAnomaly = true;
    if (this.o.lenient || this.o.quiet === true) return;
    this.c.add(this.c.frames, { offset, kind, detail });
  }

  private overBudget(ops: number, offset: number): boolean {
    const limits = this.o.limits;
    if (Date.now() > this.o.deadline) this.limit(offset, 'deadline', 0);
    else if (this.c.opcodes + ops > limits.maxOpcodes) this.limit(offset, 'opcodes', limits.maxOpcodes);
    else if (this.stack.length > limits.maxStack) this.limit(offset, 'stack', limits.maxStack);
    return this.stopped;
  }

  private put(idx: number, offset: number, fence: number): boolean {
    if (this.stack.length <= fence) {
      this.fail(offset, 'underflow', 'memo store with nothing above the mark');
      return false;
    }
    const v = this.stack[this.stack.length - 1]!;
    const memo = this.memo;
    const had = memo[idx] !== undefined || (this.memoSparse?.has(idx) ?? false);
    if (idx <= memo.length + 4096) {
      memo[idx] = v;
      this.memoSparse?.delete(idx);
    } else {
      this.memoSparse ??= new Map();
      this.memoSparse.set(idx, v);
    }
    if (!had && ++this.memoCount > this.o.limits.maxMemo) {
      this.limit(offset, 'memo', this.o.limits.maxMemo);
      return false;
    }
    return true;
  }

  private get(idx: number, offset: number): boolean {
    const v = this.memo[idx] ?? this.memoSparse?.get(idx);
    if (v === undefined) {
      if (this.o.lenient) {
        this.stack.push(UNKNOWN);
        return true;
      }
      this.fail(offset, 'memo', `memo entry ${idx} was never stored`);
      return false;
    }
    if (typeof v !== 'number') this.noteUse(v);
    this.stack.push(v);
    return true;
  }

  /** Counts uses of conditional gadgets (getattr, partial…): each must be proven harmless. */
  private noteUse(v: ObjValue): void {
    if (v.t === T_GLOBAL && v.rec.conditional) v.rec.pushes++;
  }

  // ---- imports -------------------------------------------------------------------------------------

  /**
   * The pure-Python unpickler reads GLOBAL/INST lines with `readline()[:-1]` and does not check for the
   * newline outside a frame: at the end of the data it imports the unterminated line minus its last byte
   * (and an empty name means the module object). Recorded only when that import is dangerous, since a
   * buffer that is only the prefix of a larger file also ends inside lines.
   */
  private eofImport(nl1: number, p: number, opStart: number): void {
    const d = this.d;
    if (this.o.lenient || d.length - p < 2) return;
    const module = decodeUtf8(d, p, nl1 < 0 ? d.length - 1 : nl1);
    const name = nl1 < 0 ? '' : decodeUtf8(d, nl1 + 1, Math.max(nl1 + 1, d.length - 1));
    if (module === undefined || module === '' || name === undefined) return;
    if (classifyGlobal(module, name, this.c.allow).verdict !== 'dangerous') return;
    this.global(module, name, opStart, 'GLOBAL (unterminated line at the end of the data, as pickle._Unpickler reads it)');
  }

  private global(module: string, name: string, offset: number, op: string): Value {
    const rec = this.c.record(module, name, offset, op);
    rec.pushes++;
    return rec.value;
  }

  /** A load-time attribute walk: `getattr(base, attr)` reaches `base.attr`, which is classified on its own. */
  private walk(base: ImportRecord, attr: string, offset: number, via: string): Value {
    if (base.verdict === 'computed') return UNKNOWN;
    const rec = this.c.record(base.module, base.name === '' ? attr : `${base.name}.${attr}`, offset, via);
    rec.pushes++;
    return rec.value;
  }

  private stackGlobal(modV: Value, nameV: Value, offset: number): Value | undefined {
    const m = this.operand(modV);
    const n = this.operand(nameV);
    if (m === null || n === null) {
      this.fail(offset, 'badArgument', 'STACK_GLOBAL operands must be str');
      return undefined;
    }
    if (m !== undefined && n !== undefined) return this.global(m, n, offset, 'STACK_GLOBAL');
    const evidence = this.c.full(this.c.computed) ? 'STACK_GLOBAL(…)' : `STACK_GLOBAL(${this.render(modV)}, ${this.render(nameV)})`;
    const em = m ?? this.evalStr(modV);
    const en = n ?? this.evalStr(nameV);
    const known = em !== undefined && en !== undefined;
    const rec = this.c.computedRecord(offset, known ? `${evidence} → ${em}.${en}` : evidence);
    this.c.add(this.c.computed, { offset, kind: 'stackGlobal', evidence: rec.why, rec });
    return known ? this.global(em, en, offset, 'STACK_GLOBAL (computed)') : rec.value;
  }

  /** A STACK_GLOBAL operand: the string, undefined when computed at load time, null when not a str. */
  private operand(v: Value): string | undefined | null {
    if (typeof v !== 'number') return v === UNKNOWN && this.o.lenient ? null : undefined;
    if (this.text.kind(v) !== 'str') return null;
    return this.text.str(v, 4096) ?? `${this.text.str(v, 4096, false) ?? ''}…`;
  }

  /** Evaluates the few pure str-producing calls a pickle can make (`str(b'os', 'ascii')`). */
  private evalStr(v: Value): string | undefined {
    if (typeof v === 'number') return this.text.kind(v) === 'str' ? this.text.str(v, 4096) : undefined;
    if (v.t !== T_CALL || typeof v.fn === 'number' || v.fn.t !== T_GLOBAL || v.fn.rec.special !== SPECIAL.str) return undefined;
    const items = tupleItems(v.args);
    const x = items?.[0];
    if (items === undefined || typeof x !== 'number') return undefined;
    if (items.length === 1 && this.text.kind(x) === 'str') return this.text.str(x, 4096);
    const b = this.bytesOf(x);
    return items.length === 2 && b !== undefined && b.length <= 4096 ? b.toString('latin1') : undefined;
  }

  private extension(code: number, width: number, offset: number): Value {
    const rec = this.c.computedRecord(offset, `EXT${width}(${code})`);
    this.c.add(this.c.extensions, { offset, code, evidence: rec.why, rec });
    return rec.value;
  }

  // ---- calls ---------------------------------------------------------------------------------------

  private call(fn: Value, args: Value, kwargs: Value | undefined, op: number, offset: number): Value {
    if (typeof fn === 'number') return this.indirect(fn, args, kwargs, op, offset);
    if (fn.t === T_GLOBAL) return this.callGlobal(fn.rec, args, kwargs, op, offset);
    if (fn.t === T_CALL) {
      const resolved = this.callOfCall(fn, args, kwargs, op, offset);
      if (resolved !== undefined) return resolved;
    }
    const root = this.root(fn);
    if (root === undefined || root.verdict === 'safe' || root.verdict === 'allowed') return this.indirect(fn, args, kwargs, op, offset);
    return this.recordCall(root, fn, args, kwargs, op, offset);
  }

  /** The imported name at the root of a value: `f` for `f(...)(...)`. */
  private root(v: Value): ImportRecord | undefined {
    for (let i = 0; i < 16; i++) {
      if (typeof v === 'number') return undefined;
      if (v.t === T_GLOBAL || v.t === T_INSTANCE) return v.rec;
      if (v.t !== T_CALL) return undefined;
      v = v.fn;
    }
    return undefined;
  }

  private indirect(fn: Value, args: Value, kwargs: Value | undefined, op: number, offset: number): Value {
    const call: CallValue = { t: T_CALL, fn, args, kwargs, op, offset, state: undefined };
    if (!this.o.lenient) this.c.add(this.c.computed, { offset, kind: 'indirectCall', evidence: this.c.full(this.c.computed) ? '' : this.renderCall(call), rec: undefined });
    return call;
  }

  private recordCall(rec: ImportRecord, fn: Value, args: Value, kwargs: Value | undefined, op: number, offset: number): Value {
    rec.callCount++;
    const i = typeof fn === 'number' ? -1 : rec.calls.findIndex((e) => e.value !== undefined && e.value === fn);
    if (i < 0 && rec.calls.length >= MAX_CALL_EVIDENCE) return rec.instance;
    const call: CallValue = { t: T_CALL, fn, args, kwargs, op, offset, state: undefined };
    const entry = { offset: this.c.at(offset), evidence: this.renderCall(call), value: call };
    if (i >= 0) rec.calls[i] = entry;
    else rec.calls.push(entry);
    return call;
  }

  private keep(fn: Value, args: Value, kwargs: Value | undefined, op: number, offset: number): CallValue {
    return { t: T_CALL, fn, args, kwargs, op, offset, state: undefined };
  }

  private callGlobal(rec: ImportRecord, args: Value, kwargs: Value | undefined, op: number, offset: number): Value {
    const fn = rec.value;
    const items = tupleItems(args);
    switch (rec.special) {
      case SPECIAL.getattr: {
        const base = items?.[0];
        const attr = items?.[1];
        const name = typeof attr === 'number' && this.text.kind(attr) === 'str' ? this.text.str(attr, 256) : undefined;
        if (op === OP.REDUCE && items?.length === 2 && name !== undefined && IDENTIFIER.test(name) && base !== undefined && typeof base !== 'number' && base.t === T_GLOBAL && base.rec.verdict !== 'computed') {
          rec.resolved++;
          return this.walk(base.rec, name, offset, `getattr(${displayName(base.rec)}, ${pyRepr(name)})`);
        }
        break;
      }
      case SPECIAL.ufuncReconstruct: {
        const m = this.constStr(items?.[0]);
        const n = this.constStr(items?.[1]);
        if (op === OP.REDUCE && items?.length === 2 && m !== undefined && n !== undefined) {
          rec.resolved++;
          return this.global(m, n, offset, `${displayName(rec)}(${pyRepr(m)}, ${pyRepr(n)})`);
        }
        break;
      }
      case SPECIAL.importModule: {
        const m = this.constStr(items?.[0]);
        if (m !== undefined) {
          this.recordCall(rec, fn, args, kwargs, op, offset);
          return this.global(m, '', offset, `${displayName(rec)}(${pyRepr(m)})`);
        }
        break;
      }
      case SPECIAL.resolveName: {
        const target = this.constStr(items?.[0]);
        if (target !== undefined) {
          this.recordCall(rec, fn, args, kwargs, op, offset);
          const colon = target.indexOf(':');
          const dot = target.lastIndexOf('.');
          const [m, n] = colon >= 0 ? [target.slice(0, colon), target.slice(colon + 1)] : dot > 0 ? [target.slice(0, dot), target.slice(dot + 1)] : [target, ''];
          return this.global(m, n, offset, `${displayName(rec)}(${pyRepr(target)})`);
        }
        break;
      }
      case SPECIAL.partial: {
        // partial(func, ...) via REDUCE; partial.__new__(partial, func, ...) via NEWOBJ; or the func
        // arrives with BUILD's state (see build()).
        const f = items?.[0];
        const call = this.keep(fn, args, kwargs, op, offset);
        if (f !== undefined) this.checkPartial(rec, f, call);
        else rec.resolved++;
        return call;
      }
      case SPECIAL.loader: {
        const source = items?.[0];
        const bytes = source === undefined ? undefined : this.bytesOf(source);
        // Only bytes that are a pickle (or a zip, for torch.load) are followed: a file name is not.
        if (bytes !== undefined && !this.o.lenient && (looksLikePickle(bytes, 0) || (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x504b0304))) {
          // The same bytes passed twice (a memo reference) are analysed once.
          const constant = bytes.buffer === this.d.buffer && bytes.byteOffset >= this.d.byteOffset && bytes.byteOffset + bytes.length <= this.d.byteOffset + this.d.length;
          const kept = this.c.addNested({ offset, via: displayName(rec), bytes, constant }, () => this.renderCall(this.keep(fn, args, kwargs, op, offset)));
          // pickle.dumps(tensor) writes each storage as torch.storage._load_from_bytes(<torch.save bytes>): a
          // load of bytes in torch's own format is as safe as those bytes, which are scanned as a member
          // (their findings carry its path; a nested pickle that is not scanned is reported as such).
          if (rec.conditional && isTorchSave(bytes) && kept !== 'full') {
            rec.resolved++;
            rec.callCount++;
            return this.keep(fn, args, kwargs, op, offset);
          }
        }
        break;
      }
      case SPECIAL.bytesProducer: {
        const derived = this.derive(rec, items, offset);
        if (derived !== undefined) {
          if (rec.verdict !== 'safe' && rec.verdict !== 'allowed') this.recordCall(rec, fn, args, kwargs, op, offset);
          return derived;
        }
        break;
      }
      case SPECIAL.reconstructor: {
        if (rec.verdict !== 'safe') break;
        const cls = items?.[0];
        if (cls !== undefined && typeof cls !== 'number' && cls.t === T_GLOBAL) {
          const s = cls.rec.special;
          if (s === SPECIAL.joblibArray || s === SPECIAL.joblibExternal) return this.keep(fn, args, kwargs, op, offset);
          // The instance is of `cls`: a class the pickle named (classified on its own).
          return cls.rec.verdict === 'safe' || cls.rec.verdict === 'allowed' ? cls.rec.instance : this.recordCall(cls.rec, fn, args, kwargs, op, offset);
        }
        return rec.instance;
      }
      case SPECIAL.dtype:
      case SPECIAL.joblibArray:
      case SPECIAL.joblibExternal:
      case SPECIAL.bytesIO:
      case SPECIAL.str:
        if (rec.verdict === 'safe') return this.keep(fn, args, kwargs, op, offset);
        break;
      default:
        break;
    }
    if (rec.verdict === 'safe' || rec.verdict === 'allowed') return rec.instance;
    if (rec.conditional && rec.escalated === undefined) rec.escalated = this.renderCall(this.keep(fn, args, kwargs, op, offset));
    return this.recordCall(rec, fn, args, kwargs, op, offset);
  }

  /** Calls of a call's result: `attrgetter('system')(os)`, `methodcaller('system', 'id')(os)`. */
  private callOfCall(fnCall: CallValue, args: Value, kwargs: Value | undefined, op: number, offset: number): Value | undefined {
    const maker = fnCall.fn;
    if (typeof maker === 'number' || maker.t !== T_GLOBAL) return undefined;
    const special = maker.rec.special;
    if (special !== SPECIAL.attrgetter && special !== SPECIAL.methodcaller) return undefined;
    const makerArgs = tupleItems(fnCall.args);
    const attr = this.constStr(makerArgs?.[0]);
    const target = tupleItems(args)?.[0];
    if (attr === undefined || target === undefined || typeof target === 'number' || target.t !== T_GLOBAL) return undefined;
    this.recordCall(maker.rec, fnCall, args, kwargs, op, offset);
    let reached: Value = target;
    for (const part of attr.split('.')) {
      if (typeof reached === 'number' || reached.t !== T_GLOBAL) return undefined;
      reached = this.walk(reached.rec, part, offset, `${displayName(maker.rec)}(${pyRepr(attr)})`);
    }
    if (special === SPECIAL.attrgetter) return reached;
    // methodcaller(name, *args)(obj) calls obj.name(*args).
    const callArgs: Value = makerArgs === undefined ? UNKNOWN : { t: T_CONTAINER, kind: C_TUPLE, items: makerArgs.slice(1), count: makerArgs.length - 1 };
    return this.call(reached, callArgs, fnCall.kwargs, OP.REDUCE, offset);
  }

  private checkPartial(rec: ImportRecord, f: Value, call: CallValue): void {
    const target = this.root(f);
    if (typeof f !== 'number' && f.t === T_GLOBAL && target !== undefined && target.verdict !== 'dangerous' && target.verdict !== 'computed') {
      rec.resolved++;
      return;
    }
    rec.escalated ??= this.renderCall(call);
    if (target !== undefined && target.verdict !== 'safe' && target.verdict !== 'allowed' && target.calls.length < MAX_CALL_EVIDENCE) {
      target.calls.push({ offset: this.c.at(call.offset), evidence: `${this.renderCall(call)} (a partial application, called later)`, value: undefined });
    }
  }

  private constStr(v: Value | undefined): string | undefined {
    if (typeof v !== 'number' || this.text.kind(v) !== 'str') return undefined;
    return this.text.str(v, 1024);
  }

  // ---- BUILD and container mutation ----------------------------------------------------------------

  private build(inst: Value, state: Value, offset: number): void {
    if (typeof inst === 'number') return;
    if (inst.t === T_GLOBAL) {
      if (!this.o.lenient && !this.c.full(this.c.mutations)) this.c.add(this.c.mutations, { offset, evidence: `BUILD ${displayName(inst.rec)} with ${this.render(state)}`, target: displayName(inst.rec) });
      return;
    }
    if (inst.t !== T_CALL && inst.t !== T_INSTANCE) return;
    if (inst.t === T_CALL) {
      const cls = this.instanceClass(inst);
      const s = cls?.special ?? SPECIAL.none;
      if (s === SPECIAL.dtype || s === SPECIAL.joblibArray || s === SPECIAL.joblibExternal) {
        inst.state = state;
        if (this.o.joblib && (s === SPECIAL.joblibArray || s === SPECIAL.joblibExternal) && this.joblibPending === undefined) {
          this.joblibPending = { inst, kind: s === SPECIAL.joblibArray ? 'array' : 'external', offset };
        }
        return;
      }
      if (cls?.special === SPECIAL.partial && typeof inst.fn !== 'number' && inst.fn.t === T_GLOBAL) {
        const func = tupleItems(state)?.[0];
        if (func !== undefined) this.checkPartial(cls, func, { ...inst, state });
        return;
      }
    }
    const root = inst.t === T_CALL ? (this.instanceClass(inst) ?? this.root(inst)) : this.root(inst);
    if (root === undefined || root.verdict === 'safe' || root.verdict === 'allowed') return;
    const entry = root.calls.find((e) => e.value === inst);
    if (entry !== undefined) entry.evidence = `${entry.evidence}.__setstate__(${this.render(state)})`;
    else if (root.calls.length < MAX_CALL_EVIDENCE) root.calls.push({ offset: this.c.at(offset), evidence: `${this.render(inst)}.__setstate__(${this.render(state)})`, value: undefined });
  }

  /** The class an object was made from: NEWOBJ/OBJ/INST's class, REDUCE's callee, `_reconstructor`'s first argument. */
  private instanceClass(inst: CallValue): ImportRecord | undefined {
    const fn = inst.fn;
    if (typeof fn === 'number' || fn.t !== T_GLOBAL) return undefined;
    if (fn.rec.special === SPECIAL.reconstructor) {
      const cls = tupleItems(inst.args)?.[0];
      return cls !== undefined && typeof cls !== 'number' && cls.t === T_GLOBAL ? cls.rec : undefined;
    }
    return fn.rec;
  }

  private addTo(target: Value, from: number, to: number, perItem: number, offset: number): void {
    if (typeof target === 'number') return;
    if (target.t === T_CONTAINER) {
      // Keys and values go to dicts, single items to lists and sets; CPython fails on any other pairing
      // (APPEND to a dict…), and a mutated stream must not leave a dict with an odd number of items.
      if (perItem === 2 ? target.kind === C_DICT : target.kind === C_LIST || target.kind === C_SET) {
        addItems(target, this.stack, from, to, perItem);
        this.adopt(target, from, to, offset);
      }
      return;
    }
    if (target.t === T_GLOBAL && !this.o.lenient && !this.c.full(this.c.mutations)) {
      const items: string[] = [];
      for (let i = from; i < to && i < from + 6; i++) items.push(this.render(this.stack[i]!));
      const what = perItem === 2 ? `${displayName(target.rec)}[${items[0] ?? '?'}] = ${items[1] ?? '?'}` : `${displayName(target.rec)} += [${items.join(', ')}]`;
      this.c.add(this.c.mutations, { offset, evidence: what, target: displayName(target.rec) });
    }
  }

  // ---- joblib --------------------------------------------------------------------------------------

  /**
   * Where the stream goes on after a joblib wrapper's array data, which starts at `at`; -1 when the
   * analysis cannot go on (the failure is recorded).
   */
  private joblibSkip(pending: JoblibPending, at: number): number {
    const state = pending.inst.state;
    if (pending.kind === 'external') {
      const file = dictGet(state, 'filename', this.text);
      this.c.add(this.c.joblib, { offset: pending.offset, kind: 'externalFile', detail: typeof file === 'number' ? this.text.repr(file) : 'an unnamed file' });
      return at;
    }
    const info = this.arrayInfo(state);
    if (typeof info === 'string') {
      this.c.add(this.c.joblib, { offset: pending.offset, kind: 'unknownSize', detail: info });
      this.stopped = true;
      return -1;
    }
    const d = this.d;
    if (info.hasObject) {
      if (this.o.depth + 1 > this.o.limits.maxDepth) {
        this.limit(at, 'depth', this.o.limits.maxDepth);
        return -1;
      }
      const child = analyseStream(d, at, this.c, { ...this.o, joblib: false, depth: this.o.depth + 1 });
      if (!child.complete) {
        this.stopped = true;
        return -1;
      }
      return child.end;
    }
    let q = at;
    if (info.padded) {
      if (q >= d.length) {
        this.fail(at, 'truncated', 'the data ends before the joblib array padding');
        return -1;
      }
      q += 1 + d[q]!;
    }
    if (info.bytes > d.length - q) {
      this.fail(at, 'truncated', `joblib array data (${info.bytes} bytes) runs past the end of the data`);
      return -1;
    }
    this.shadow(at, q + info.bytes);
    if (q + info.bytes > at) this.skipped = true;
    return q + info.bytes;
  }

  /** Shape × itemsize of a NumpyArrayWrapper's state, or why it cannot be known. */
  private arrayInfo(state: Value | undefined): { bytes: number; padded: boolean; hasObject: boolean } | string {
    if (state === undefined) return 'the wrapper has no state';
    const shape = dictGet(state, 'shape', this.text);
    const dims = tupleItems(shape);
    if (dims === undefined) return 'the array shape is not a tuple of constants';
    let count = 1;
    for (const dim of dims) {
      const n = typeof dim === 'number' ? this.text.int(dim) : undefined;
      if (n === undefined || n < 0) return 'an array dimension is not a non-negative integer';
      count *= n;
    }
    const dtype = dictGet(state, 'dtype', this.text);
    if (dtype === undefined || typeof dtype === 'number' || dtype.t !== T_CALL) return 'the array dtype is not a numpy.dtype(...) call';
    const typestr = this.constStr(tupleItems(dtype.args)?.[0]);
    if (typestr === undefined) return 'the dtype type string is not a constant';
    const dstate = tupleItems(dtype.state);
    const elsize = typeof dstate?.[5] === 'number' ? this.text.int(dstate[5]) : undefined;
    const flags = typeof dstate?.[7] === 'number' ? this.text.int(dstate[7]) : undefined;
    const kind = /^[<>|=]?([A-Za-z?])(\d*)/.exec(typestr);
    if (kind === null) return `unrecognised dtype ${pyRepr(typestr)}`;
    const hasObject = kind[1] === 'O' || (flags !== undefined && (flags & 1) === 1);
    const itemsize = elsize !== undefined && elsize > 0 ? elsize : kind[2] !== '' ? Number(kind[2]) : NaN;
    const bytes = count * itemsize;
    if (!hasObject && !Number.isSafeInteger(bytes)) return `the array size cannot be computed for dtype ${pyRepr(typestr)}`;
    const alignment = dictGet(state, 'numpy_array_alignment_bytes', this.text);
    const padded = dictHas(state, 'numpy_array_alignment_bytes', this.text) && !(typeof alignment === 'number' && this.text.kind(alignment) === 'none');
    return { bytes, padded, hasObject };
  }

  /**
   * Bytes joblib skips are opcodes to a loader that does not know joblib (`pickle.load` of the same
   * file). A payload hidden there is read leniently and reported.
   */
  private shadow(from: number, to: number): void {
    if (to - from < 2 || this.o.depth + 1 > this.o.limits.maxDepth) return;
    if (this.c.shadowOpcodes > SHADOW_BUDGET) {
      if (!this.c.shadowExhausted) this.c.add(this.c.limits, { offset: from, kind: 'shadow', limit: SHADOW_BUDGET });
      this.c.shadowExhausted = true;
      return;
    }
    const shadow = new PickleCollector(this.c.allow, 16);
    analyseStream(this.d.subarray(0, to), from, shadow, {
      ...this.o,
      joblib: false,
      lenient: true,
      depth: this.o.depth + 1,
      limits: { ...this.o.limits, maxOpcodes: 100_000 },
    });
    this.c.shadowOpcodes += shadow.opcodes;
    const bad = shadow.imports.filter((r) => r.verdict === 'dangerous').map(displayName);
    if (shadow.computed.some((e) => e.kind === 'stackGlobal')) bad.push('a computed import');
    if (bad.length > 0) this.c.add(this.c.joblib, { offset: from, kind: 'hiddenPayload', detail: [...new Set(bad)].slice(0, 5).join(', ') });
  }

  // ---- bytes computed at load time -----------------------------------------------------------------

  /** The bytes a value stands for, when known: a bytes/str constant, a derived bytes value, `BytesIO(b)`. */
  private bytesOf(v: Value): Buffer | undefined {
    if (typeof v === 'number') {
      const kind = this.text.kind(v);
      if (kind === 'str') return this.text.latin1(v, this.o.limits.maxDerivedBytes);
      return kind === 'bytes' || kind === 'bytearray' ? this.text.bytes(v) : undefined;
    }
    if (v.t === T_BYTES) return v.get();
    if (v.t === T_CALL && typeof v.fn !== 'number' && v.fn.t === T_GLOBAL && v.fn.rec.special === SPECIAL.bytesIO) {
      const inner = tupleItems(v.args)?.[0];
      return inner === undefined ? undefined : this.bytesOf(inner);
    }
    return undefined;
  }

  /**
   * The bytes a call computes at load time (decoding, decompression), decoded lazily when a loader
   * needs them. Output beyond maxDerivedBytes is not decoded: the payload it holds goes unread, so the
   * cut is recorded as a limit event (`derived`, at the call's offset), never passed silently.
   */
  private derive(rec: ImportRecord, items: readonly Value[] | undefined, offset: number): BytesValue | undefined {
    const x = items?.[0];
    if (items === undefined || x === undefined) return undefined;
    const name = displayName(rec);
    const encArg = this.constStr(items[1]);
    const encoding = (encArg ?? '').toLowerCase().replace(/[-_ ]/g, '');
    const max = this.o.limits.maxDerivedBytes;
    let make: (() => Buffer | undefined) | undefined;
    const input = (): Buffer | undefined => this.bytesOf(x);
    const decodeWith = (enc: string): (() => Buffer | undefined) | undefined => {
      if (enc === 'base64') return () => Buffer.from(input()?.toString('latin1') ?? '', 'base64');
      if (enc === 'hex') return () => Buffer.from(input()?.toString('latin1') ?? '', 'hex');
      if (enc === 'zlib') return () => inflateBounded(input(), max);
      if (['latin1', 'latin', 'iso88591', 'l1', 'ascii', 'utf8', 'u8', ''].includes(enc)) return input;
      return undefined;
    };
    switch (name) {
      case '_codecs.encode':
      case 'codecs.encode':
      case 'builtins.bytes':
      case 'builtins.bytearray': {
        if (typeof x !== 'number') break;
        const kind = this.text.kind(x);
        if (kind === 'str' && ['latin1', 'latin', 'iso88591', 'l1', 'ascii'].includes(encoding)) make = () => this.text.latin1(x, max);
        else if (kind === 'str' && ['utf8', 'u8', ''].includes(encoding) && name !== 'builtins.bytes') make = () => Buffer.from(this.text.str(x, max) ?? '', 'utf8');
        else if (kind === 'str' && ['utf8', 'u8'].includes(encoding)) make = () => Buffer.from(this.text.str(x, max) ?? '', 'utf8');
        else if (kind === 'bytes' || kind === 'bytearray') make = input;
        else if (name.startsWith('_codecs') || name.startsWith('codecs')) make = decodeWith(encoding);
        break;
      }
      case 'codecs.decode':
      case '_codecs.decode':
        make = decodeWith(encoding);
        break;
      case 'base64.b64decode':
      case 'base64.standard_b64decode':
      case 'base64.decodebytes':
      case 'base64.decodestring':
      case 'binascii.a2b_base64':
        make = decodeWith('base64');
        break;
      case 'base64.urlsafe_b64decode':
        make = () => Buffer.from(input()?.toString('latin1') ?? '', 'base64url');
        break;
      case 'bytes.fromhex':
      case 'binascii.unhexlify':
      case 'binascii.a2b_hex':
        make = decodeWith('hex');
        break;
      case 'zlib.decompress':
        make = () => inflateBounded(input(), max);
        break;
      case 'gzip.decompress':
        make = () => gunzipBounded(input(), max);
        break;
      default:
        break;
    }
    if (make === undefined) return undefined;
    let cached: Buffer | undefined | null = null;
    const thunk = make;
    return {
      t: T_BYTES,
      describe: () => `${name}(${items.map((i) => this.render(i)).join(', ')})`,
      get: () => {
        if (cached === null) {
          try {
            cached = thunk();
          } catch (error) {
            // Damaged input makes Python raise too (nothing loads); output past the bound is a cut.
            cached = undefined;
            if (isOutputTooLarge(error) && !this.o.lenient) this.c.add(this.c.limits, { offset, kind: 'derived', limit: max });
          }
        }
        return cached;
      },
    };
  }

  // ---- evidence ------------------------------------------------------------------------------------

  render(v: Value, depth = 0): string {
    if (typeof v === 'number') return this.text.repr(v, 120);
    if (depth > 4) return '…';
    switch (v.t) {
      case T_GLOBAL:
        return v.rec.verdict === 'computed' ? v.rec.why : displayName(v.rec);
      case T_INSTANCE:
        return `${displayName(v.rec)}(…)`;
      case T_CALL:
        return this.renderCall(v, depth);
      case T_OPAQUE:
        return v.text;
      case T_BYTES:
        return v.describe();
      case T_CONTAINER: {
        if (v.items === null) {
          const open = ['[', '(', '{', '{', 'frozenset({'][v.kind] ?? '[';
          return `${open}… ${v.count} item(s)${[']', ')', '}', '}', '})'][v.kind] ?? ']'}`;
        }
        const parts: string[] = [];
        let size = 0;
        const step = v.kind === C_DICT ? 2 : 1;
        for (let i = 0; i < v.items.length && size < 200; i += step) {
          const key = v.items[i];
          const value = v.items[i + 1];
          const part = v.kind === C_DICT ? `${key === undefined ? '?' : this.render(key, depth + 1)}: ${value === undefined ? '?' : this.render(value, depth + 1)}` : key === undefined ? '?' : this.render(key, depth + 1);
          parts.push(part);
          size += part.length;
        }
        if (parts.length * step < v.items.length) parts.push('…');
        const body = parts.join(', ');
        if (v.kind === C_LIST) return `[${body}]`;
        if (v.kind === C_TUPLE) return parts.length === 1 ? `(${body},)` : `(${body})`;
        if (v.kind === C_DICT) return `{${body}}`;
        if (v.kind === C_SET) return parts.length === 0 ? 'set()' : `{${body}}`;
        return `frozenset({${body}})`;
      }
      default:
        return '<?>';
    }
  }

  private renderCall(call: CallValue, depth = 0): string {
    const fn = this.render(call.fn, depth + 1);
    const items = tupleItems(call.args);
    let args = items === undefined ? `*${this.render(call.args, depth + 1)}` : items.map((a) => this.render(a, depth + 1)).join(', ');
    if (call.kwargs !== undefined) args += `${args === '' ? '' : ', '}**${this.render(call.kwargs, depth + 1)}`;
    const text = `${fn}(${args})`;
    return text.length > 400 ? `${text.slice(0, 399)}…` : text;
  }
}

function decodeUtf8(d: Buffer, start: number, end: number): string | undefined {
  try {
    return utf8.decode(d.subarray(start, end));
  } catch {
    return undefined;
  }
}

/** A non-negative decimal index from a text line (PUT/GET); -1 when not one. */
function parseIndex(d: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end && (d[i] === 0x20 || d[i] === 0x09)) i++;
  let e = end;
  while (e > i && (d[e - 1] === 0x20 || d[e - 1] === 0x0d || d[e - 1] === 0x4c)) e--;
  if (i === e || e - i > 15) return -1;
  let n = 0;
  for (let j = i; j < e; j++) {
    const c = d[j]! - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** node:zlib's error for output past `maxOutputLength`. */
function isOutputTooLarge(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE';
}

function inflateBounded(input: Buffer | undefined, max: number): Buffer | undefined {
  return input === undefined ? undefined : inflateSync(input, { maxOutputLength: max });
}

function gunzipBounded(input: Buffer | undefined, max: number): Buffer | undefined {
  return input === undefined ? undefined : gunzipSync(input, { maxOutputLength: max });
}
