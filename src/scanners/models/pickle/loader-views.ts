import { ARG, argBytes, OP, OPCODE_BY_BYTE } from './opcodes.js';
import { readU64 } from './values.js';

/**
 * The opcode streams CPython's C unpickler (`Modules/_pickle.c`, 3.8–3.13) executes when it reads a
 * pickle from a FILE, as opposed to from bytes. The two differ only around FRAME opcodes:
 *
 * - `pickle.loads(bytes)` (and the C unpickler over a peekable file whose prefetch buffer happens to
 *   hold the frame) only checks that a frame's bytes are present and then reads on sequentially: frames
 *   are ignored. The analyser's main reading is this one.
 * - When the frame's bytes are fetched with `read(n)` — always for a stream without `peek()` (the
 *   `io.BytesIO` torch.load feeds its `data.pkl` through, `open(f, 'rb', buffering=0)`), and for a
 *   regular file whenever the prefetch cannot serve the frame (frames of 128 KiB or more, or a buffer
 *   that happens to end inside the frame) — the frame becomes the unpickler's whole input buffer and the
 *   file position moves to the frame's end. A fixed-size read (`_Unpickler_Read`: opcode arguments,
 *   lengths, str/unicode/long payloads, a nested FRAME's bytes) that needs more than the frame has left
 *   DROPS what is left and is served from the frame's end; so does a line read (`_Unpickler_Readline`)
 *   with no newline left in the frame. Bytes/bytearray payloads (`_Unpickler_ReadInto`) use what is
 *   left and go on from the frame's end, which is sequential. A nested FRAME whose length fits in what
 *   is left of the buffer changes nothing.
 * - The pure-Python unpickler (`pickle._Unpickler`, joblib's) enforces frames: any such read fails
 *   ("pickle exhausted before end of frame"), so it executes a prefix of the sequential stream — except
 *   that it accepts a FRAME longer than the data, which the C unpickler refuses (see the analyser).
 *
 * Whether a given frame is fetched with `read(n)` depends on the stream and on buffer alignment, so
 * every combination is possible. This module walks a stream structurally (argument lengths only) with a
 * chosen set of "honoured" frames and produces the byte sequence that reader executes (FRAME opcodes
 * left out; they have no stack effect), with a map back to file offsets, plus the frames whose
 * honouring would change the reading from here on. The caller explores those combinations breadth
 * first and analyses each distinct stream.
 */

/** A frame whose end a fixed-size or line read crosses while bytes of the frame are left. */
export interface FrameStraddle {
  /** Offset of the FRAME opcode. */
  readonly frame: number;
  /** Where the read that crosses the frame's end starts. */
  readonly at: number;
  /** Bytes of the frame left unread when the read starts (the bytes a `read(n)`-fetched frame drops). */
  readonly left: number;
  readonly read: 'fixed' | 'line' | 'frame';
}

interface Segment {
  /** Offset in the linear stream. */
  lin: number;
  /** Offset in the data. */
  at: number;
  len: number;
}

export interface LoaderView {
  /** FRAME offsets read with `read(n)` in this view. */
  readonly honoured: readonly number[];
  /** Frames of this view that are not honoured but whose ends reads cross (ways to extend the view). */
  readonly straddles: readonly FrameStraddle[];
  /** Reads in this view that dropped the rest of an honoured frame (where it leaves the sequential reading). */
  readonly drops: readonly FrameStraddle[];
  /** The opcodes this view executes, FRAME opcodes left out (empty when the caller did not ask for them). */
  readonly bytes: Buffer;
  /** Data offset of an offset in `bytes` (offsets past the end map past the last byte). */
  toData(linear: number): number;
  /** The walk reached STOP. */
  readonly complete: boolean;
  /** Data offset after STOP, or where the walk stopped. */
  readonly end: number;
  /** Opcodes walked. */
  readonly ops: number;
}

/** Unhonoured frames whose ends are watched at a time (nested frames: the innermost ones). */
const MAX_OPEN = 8;
const STRADDLES_KEPT = 64;

/** Payloads the C unpickler reads with `_Unpickler_ReadInto` (sequential across a frame's end). */
const READ_INTO = new Set<number>([OP.BINBYTES, OP.SHORT_BINBYTES, OP.BINBYTES8, OP.BYTEARRAY8]);

class Walker {
  p: number;
  /** The honoured frame the unpickler's buffer holds: [.., end). */
  buf: { frame: number; end: number } | undefined;
  open: { frame: number; end: number }[] = [];
  readonly straddles: FrameStraddle[] = [];
  readonly drops: FrameStraddle[] = [];
  readonly segments: Segment[] = [];
  lin = 0;
  truncated = false;

  constructor(
    private readonly d: Buffer,
    start: number,
    private readonly honoured: ReadonlySet<number>,
  ) {
    this.p = start;
  }

  emit(from: number, to: number): void {
    if (to <= from) return;
    const last = this.segments[this.segments.length - 1];
    if (last !== undefined && last.at + last.len === from) last.len += to - from;
    else this.segments.push({ lin: this.lin, at: from, len: to - from });
    this.lin += to - from;
  }

  private watch(need: number, read: FrameStraddle['read'], line: boolean): void {
    // An unhonoured frame whose end this read crosses: honouring it would change the reading here.
    const p = this.p;
    for (const f of this.open) {
      if (p < f.end && (line ? need >= f.end : p + need > f.end) && this.straddles.length < STRADDLES_KEPT) {
        this.straddles.push({ frame: f.frame, at: p, left: f.end - p, read });
      }
    }
  }

  /** The honoured buffer drops what it has left; reading goes on at the frame's end. */
  private drop(read: FrameStraddle['read']): void {
    const b = this.buf!;
    this.drops.push({ frame: b.frame, at: this.p, left: b.end - this.p, read });
    this.p = b.end;
    this.buf = undefined;
  }

  private settle(): void {
    if (this.buf !== undefined && this.p >= this.buf.end) this.buf = undefined;
    if (this.open.length > 0) this.open = this.open.filter((f) => f.end > this.p);
  }

  /** `_Unpickler_Read(n)`: a fixed-size read. Returns the data offset of the bytes, or -1 when they are not there. */
  fixed(n: number, emit = true): number {
    this.settle();
    if (this.buf !== undefined && this.p + n > this.buf.end) this.drop('fixed');
    this.watch(n, 'fixed', false);
    if (n > this.d.length - this.p) {
      this.truncated = true;
      return -1;
    }
    const at = this.p;
    if (emit) this.emit(at, at + n);
    this.p += n;
    return at;
  }

  /** `_Unpickler_ReadInto(n)`: what is left of the buffer, then the file: sequential. */
  into(n: number): boolean {
    this.settle();
    if (n > this.d.length - this.p) {
      this.truncated = true;
      return false;
    }
    this.emit(this.p, this.p + n);
    this.p += n;
    return true;
  }

  /** `_Unpickler_Readline`: a line from the buffer, or from the file once the buffer has no newline left. */
  line(): boolean {
    this.settle();
    const d = this.d;
    if (this.buf !== undefined) {
      const nl = d.subarray(0, this.buf.end).indexOf(10, this.p);
      if (nl < 0) this.drop('line');
    }
    const nl = d.indexOf(10, this.p);
    if (nl < 0) {
      this.truncated = true;
      return false;
    }
    this.watch(nl, 'line', true);
    this.emit(this.p, nl + 1);
    this.p = nl + 1;
    return true;
  }

  /** FRAME: its 8-byte length, then `_Unpickler_Read(length)` and a rewind. */
  frame(opAt: number): boolean {
    const at = this.fixed(8, false);
    if (at < 0) return false;
    const n = readU64(this.d, at);
    this.settle();
    if (this.buf !== undefined && this.buf.end - this.p >= n) return true; // served from the honoured buffer
    if (this.buf !== undefined) this.drop('frame');
    this.watch(n, 'frame', false);
    if (n > this.d.length - this.p) {
      this.truncated = true;
      return false;
    }
    if (this.honoured.has(opAt)) this.buf = { frame: opAt, end: this.p + n };
    else {
      this.open.push({ frame: opAt, end: this.p + n });
      if (this.open.length > MAX_OPEN) this.open.shift();
    }
    return true;
  }
}

/**
 * Walks one stream from `start` as a C unpickler reading a file in which the frames in `honoured` are
 * fetched with `read(n)`. Stops at STOP, at an invalid opcode, when data runs out, after `maxOps`
 * opcodes or at `deadline`.
 */
export function walkLoaderView(data: Buffer, start: number, honoured: ReadonlySet<number>, maxOps: number, deadline: number, wantBytes = true): LoaderView {
  const w = new Walker(data, start, honoured);
  let complete = false;
  let ops = 0;
  loop: while (ops < maxOps) {
    if ((++ops & 0xffff) === 0 && Date.now() > deadline) break;
    const opAt = w.fixed(1, false);
    if (opAt < 0) break;
    const op = data[opAt]!;
    const info = OPCODE_BY_BYTE[op];
    if (info === undefined) break;
    if (op === OP.FRAME) {
      if (!w.frame(opAt)) break;
      continue;
    }
    w.emit(opAt, opAt + 1);
    switch (info.arg) {
      case ARG.none:
        if (op === OP.STOP) {
          complete = true;
          break loop;
        }
        break;
      case ARG.u1:
      case ARG.u2:
      case ARG.u4:
      case ARG.u8:
      case ARG.f8: {
        const n = argBytes(info.arg);
        if (w.fixed(n) < 0) break loop;
        break;
      }
      case ARG.line:
        if (!w.line()) break loop;
        break;
      case ARG.twoLines:
        if (!w.line() || !w.line()) break loop;
        break;
      case ARG.len1:
      case ARG.len4:
      case ARG.len8: {
        const width = argBytes(info.arg);
        const at = w.fixed(width);
        if (at < 0) break loop;
        const n = width === 1 ? data[at]! : width === 4 ? (op === OP.BINSTRING || op === OP.LONG4 ? data.readInt32LE(at) : data.readUInt32LE(at)) : readU64(data, at);
        if (n < 0) break loop;
        if (n === 0) break;
        if (READ_INTO.has(op) ? !w.into(n) : w.fixed(n) < 0) break loop;
        break;
      }
      default:
        break;
    }
  }
  const segments = w.segments;
  // The linear stream is a copy only when the reading skips or drops bytes (and the caller wants it).
  const bytes = !wantBytes ? Buffer.alloc(0) : segments.length === 1 ? data.subarray(segments[0]!.at, segments[0]!.at + segments[0]!.len) : Buffer.concat(segments.map((s) => data.subarray(s.at, s.at + s.len)));
  return {
    honoured: [...honoured].sort((a, b) => a - b),
    straddles: w.straddles,
    drops: w.drops,
    bytes,
    complete,
    end: w.p,
    ops,
    toData(linear: number): number {
      let lo = 0;
      let hi = segments.length - 1;
      if (hi < 0) return start;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (segments[mid]!.lin <= linear) lo = mid;
        else hi = mid - 1;
      }
      const s = segments[lo]!;
      return s.at + Math.min(linear - s.lin, s.len);
    },
  };
}
