import type { ByteSource } from '../../../core/byte-source.js';
import { CustodyError, isCustodyError } from '../../../core/errors.js';
import { clip } from '../../../core/redact.js';

/**
 * A small, bounded reader of the protobuf wire format (no schema, no code generation). It walks the
 * fields of a message and hands each one to the caller, who decides what to decode; payloads it is not
 * asked for are skipped without being read, so a multi-gigabyte ONNX file with embedded weights costs
 * only the bytes of its structure.
 *
 * Two readers share one field shape: `ProtoBuffer` for bytes already in memory (synchronous), and
 * `ProtoSource` for a `ByteSource` read lazily through a window. Both are bounded by a `ProtoBudget`
 * (fields visited, nesting depth, wall clock) and throw a `CustodyError` (`PARSE_ERROR` for malformed
 * input, `INPUT_LIMIT` for bounds) — never a RangeError or a hang.
 */

export const WIRE = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;
export type WireType = (typeof WIRE)[keyof typeof WIRE];

const MAX_FIELD_NUMBER = 2 ** 29 - 1;

export interface ProtoField {
  readonly number: number;
  readonly wireType: WireType;
  /** Absolute offset of the field's tag. */
  readonly tagOffset: number;
  /** Absolute offset of the value (the payload for LEN fields). */
  readonly offset: number;
  /** Bytes of the value: the payload for LEN, 8 or 4 for fixed, the varint's own bytes for VARINT. */
  readonly length: number;
  /** VARINT and fixed values (exact up to 2^53; see `bigValue` beyond). 0 for LEN and groups. */
  readonly value: number;
  /** VARINT values above 2^53 - 1, exactly. */
  readonly bigValue?: bigint;
}

export interface ProtoLimits {
  /** Deepest message nesting a walker may enter. */
  maxDepth: number;
  /** Most fields visited in one parse. */
  maxFields: number;
  /** Epoch ms after which the parse stops with INPUT_LIMIT. */
  deadline?: number;
  /** Groups (wire types 3/4) are obsolete and unused by ONNX and TensorFlow: reject them, or skip them. */
  groups: 'reject' | 'skip';
}

const DEFAULT_PROTO_LIMITS: ProtoLimits = { maxDepth: 64, maxFields: 20_000_000, groups: 'reject' };

/** Counts work across one whole parse (every reader and walker of one file shares one budget). */
export class ProtoBudget {
  fields = 0;
  readonly limits: ProtoLimits;
  constructor(limits: Partial<ProtoLimits> = {}) {
    this.limits = { ...DEFAULT_PROTO_LIMITS, ...limits };
  }
  /** Called for every field. */
  tick(offset: number): void {
    this.fields += 1;
    if (this.fields > this.limits.maxFields) {
      throw new CustodyError('INPUT_LIMIT', `more than ${this.limits.maxFields} protobuf fields`, { details: { offset, limit: 'fields' } });
    }
    if ((this.fields & 0xfff) === 0) this.checkTime(offset);
  }
  checkTime(offset: number): void {
    if (this.limits.deadline !== undefined && Date.now() > this.limits.deadline) {
      throw new CustodyError('INPUT_LIMIT', 'the time budget for this file ran out while reading protobuf', { details: { offset, limit: 'time' } });
    }
  }
  /** Throws when a walker goes deeper than allowed. */
  enter(depth: number, offset: number): void {
    if (depth > this.limits.maxDepth) {
      throw new CustodyError('INPUT_LIMIT', `protobuf messages nested deeper than ${this.limits.maxDepth}`, { details: { offset, limit: 'depth' } });
    }
  }
}

export function malformedProto(message: string, offset: number): CustodyError {
  return new CustodyError('PARSE_ERROR', `${message} (at byte ${offset})`, { details: { offset } });
}

/** What stopped a walk: a bound (`limit`) or broken input (`malformed`), and the offset the error names. */
export function describeProtoError(error: unknown): { kind: 'limit' | 'malformed'; reason: string; offset: number } {
  const offset = isCustodyError(error) ? Number(error.details?.['offset'] ?? 0) : 0;
  const reason = clip(error instanceof Error ? error.message : String(error), 200);
  if (isCustodyError(error, 'INPUT_LIMIT')) return { kind: 'limit', reason, offset };
  if (isCustodyError(error, 'PARSE_ERROR') || error instanceof RangeError) return { kind: 'malformed', reason, offset };
  return { kind: 'malformed', reason: `unexpected: ${reason}`, offset };
}

interface Varint {
  value: number;
  big?: bigint;
  next: number;
}

/** Decodes a varint from `buf` at `pos` (relative), not past `end` (relative). */
function readVarint(buf: Buffer, pos: number, end: number, base: number): Varint {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i += 1) {
    if (pos + i >= end) throw malformedProto('truncated varint', base + pos + i);
    const byte = buf[pos + i] as number;
    if (i === 9 && byte > 1) throw malformedProto('varint longer than 64 bits', base + pos);
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) {
      const next = pos + i + 1;
      if (value > Number.MAX_SAFE_INTEGER) {
        let big = 0n;
        for (let j = i; j >= 0; j -= 1) big = (big << 7n) | BigInt((buf[pos + j] as number) & 0x7f);
        return { value, big, next };
      }
      return { value, next };
    }
  }
  throw malformedProto('varint longer than 10 bytes', base + pos);
}

/**
 * Reads one field header (and fixed/varint values) from `buf` at relative `pos`, within relative
 * `end`. `limitEnd` is the absolute end of the enclosing message, which LEN payloads may not pass.
 */
export function readFieldHeader(buf: Buffer, pos: number, end: number, base: number, limitEnd: number): { field: ProtoField; next: number } {
  const tagOffset = base + pos;
  const tag = readVarint(buf, pos, end, base);
  if (tag.value > 0xffffffff) throw malformedProto('field tag larger than 32 bits', tagOffset);
  const number = Math.floor(tag.value / 8);
  const wireType = tag.value % 8;
  if (number === 0 || number > MAX_FIELD_NUMBER) throw malformedProto(`invalid field number ${number}`, tagOffset);
  let p = tag.next;
  switch (wireType) {
    case WIRE.VARINT: {
      const v = readVarint(buf, p, end, base);
      const field: ProtoField = v.big === undefined
        ? { number, wireType, tagOffset, offset: base + p, length: v.next - p, value: v.value }
        : { number, wireType, tagOffset, offset: base + p, length: v.next - p, value: v.value, bigValue: v.big };
      return { field, next: v.next };
    }
    case WIRE.I64:
      if (base + p + 8 > limitEnd) throw malformedProto(`field ${number}: fixed64 runs past the end of its message`, tagOffset);
      if (p + 8 > end) throw malformedProto('truncated fixed64', tagOffset);
      return { field: { number, wireType, tagOffset, offset: base + p, length: 8, value: Number(buf.readBigUInt64LE(p)) }, next: p + 8 };
    case WIRE.I32:
      if (base + p + 4 > limitEnd) throw malformedProto(`field ${number}: fixed32 runs past the end of its message`, tagOffset);
      if (p + 4 > end) throw malformedProto('truncated fixed32', tagOffset);
      return { field: { number, wireType, tagOffset, offset: base + p, length: 4, value: buf.readUInt32LE(p) }, next: p + 4 };
    case WIRE.LEN: {
      const len = readVarint(buf, p, end, base);
      p = len.next;
      if (len.big !== undefined || base + p + len.value > limitEnd) {
        throw malformedProto(`field ${number}: length ${len.big ?? len.value} runs past the end of its message (${limitEnd - base - p} bytes left)`, tagOffset);
      }
      return { field: { number, wireType, tagOffset, offset: base + p, length: len.value, value: 0 }, next: p };
    }
    case WIRE.SGROUP:
    case WIRE.EGROUP:
      return { field: { number, wireType, tagOffset, offset: base + p, length: 0, value: 0 }, next: p };
    default:
      throw malformedProto(`invalid wire type ${wireType} for field ${number}`, tagOffset);
  }
}

/** A message held in memory. Offsets in fields are absolute (`base` + position in `buf`). */
export class ProtoBuffer {
  constructor(
    readonly buf: Buffer,
    readonly base: number,
    readonly budget: ProtoBudget,
  ) {}

  static of(buf: Buffer, budget: ProtoBudget = new ProtoBudget(), base = 0): ProtoBuffer {
    return new ProtoBuffer(buf, base, budget);
  }

  /** Every field of this message, in order. Groups are rejected or skipped per the budget's limits. */
  *fields(): Generator<ProtoField> {
    const { buf, base, budget } = this;
    const end = buf.length;
    let pos = 0;
    while (pos < end) {
      budget.tick(base + pos);
      const { field, next } = readFieldHeader(buf, pos, end, base, base + end);
      pos = field.wireType === WIRE.LEN ? next + field.length : next;
      if (field.wireType === WIRE.SGROUP || field.wireType === WIRE.EGROUP) {
        if (budget.limits.groups === 'reject' || field.wireType === WIRE.EGROUP) throw malformedProto(`field ${field.number}: groups are not allowed here`, field.tagOffset);
        pos = this.skipGroup(field.number, pos, 1);
        continue;
      }
      yield field;
    }
  }

  private skipGroup(number: number, pos: number, depth: number): number {
    const { buf, base, budget } = this;
    budget.enter(depth, base + pos);
    while (pos < buf.length) {
      budget.tick(base + pos);
      const { field, next } = readFieldHeader(buf, pos, buf.length, base, base + buf.length);
      pos = field.wireType === WIRE.LEN ? next + field.length : next;
      if (field.wireType === WIRE.EGROUP) {
        if (field.number !== number) throw malformedProto(`group ${number} closed by end-group ${field.number}`, field.tagOffset);
        return pos;
      }
      if (field.wireType === WIRE.SGROUP) pos = this.skipGroup(field.number, pos, depth + 1);
    }
    throw malformedProto(`group ${number} is not closed`, base + pos);
  }

  /** The payload of a LEN field of this message. */
  bytes(field: ProtoField): Buffer {
    const start = field.offset - this.base;
    return this.buf.subarray(start, start + field.length);
  }

  /** The payload of a LEN field as UTF-8, clipped to `max` bytes. */
  string(field: ProtoField, max = 4096): string {
    const bytes = this.bytes(field);
    return (bytes.length > max ? bytes.subarray(0, max) : bytes).toString('utf8');
  }

  /** The nested message in a LEN field. */
  message(field: ProtoField): ProtoBuffer {
    return new ProtoBuffer(this.bytes(field), field.offset, this.budget);
  }

  /** Packed or single varints of a repeated scalar field (wire type VARINT or LEN). */
  varints(field: ProtoField): number[] {
    if (field.wireType === WIRE.VARINT) return [field.value];
    if (field.wireType !== WIRE.LEN) throw malformedProto(`field ${field.number}: expected varints`, field.tagOffset);
    const bytes = this.bytes(field);
    const out: number[] = [];
    let pos = 0;
    while (pos < bytes.length) {
      this.budget.tick(field.offset + pos);
      const v = readVarint(bytes, pos, bytes.length, field.offset);
      out.push(v.value);
      pos = v.next;
    }
    return out;
  }
}

export interface ProtoSourceOptions {
  /** Bytes read per window (the most held in memory for structure). */
  windowBytes?: number;
}

/**
 * A message tree read lazily from a ByteSource: only field headers are read for fields the caller
 * skips. Offsets are absolute in the source.
 */
export class ProtoSource {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;
  private readonly windowBytes: number;
  /** Bytes read from the source, for tests and benchmarks. */
  bytesRead = 0;

  constructor(
    readonly source: ByteSource,
    readonly budget: ProtoBudget = new ProtoBudget(),
    options: ProtoSourceOptions = {},
  ) {
    this.windowBytes = Math.max(64, options.windowBytes ?? 256 * 1024);
  }

  private has(pos: number, n: number): boolean {
    return pos >= this.windowStart && pos + n <= this.windowStart + this.window.length;
  }

  private async load(pos: number, n: number): Promise<void> {
    const want = Math.min(Math.max(this.windowBytes, n), this.source.size - pos);
    this.window = await this.source.read(pos, want);
    this.windowStart = pos;
    this.bytesRead += this.window.length;
    this.budget.checkTime(pos);
  }

  /** The field whose header is at `pos` in a message ending at `end`, and the position just past the field. */
  private async fieldAt(pos: number, end: number): Promise<{ field: ProtoField; next: number }> {
    this.budget.tick(pos);
    // A header (tag and length varints) takes at most 20 bytes.
    const need = Math.min(20, end - pos);
    if (!this.has(pos, need)) await this.load(pos, need);
    const rel = pos - this.windowStart;
    const { field, next } = readFieldHeader(this.window, rel, rel + need, this.windowStart, end);
    return { field, next: this.windowStart + (field.wireType === WIRE.LEN ? next + field.length : next) };
  }

  /**
   * Calls `visit` for every field of the message in [start, end). `visit` may be async (to descend
   * lazily); LEN payloads it does not read are never loaded.
   */
  async forEachField(start: number, end: number, visit: (field: ProtoField) => void | Promise<void>): Promise<void> {
    if (end > this.source.size) throw malformedProto(`message ends at ${end}, past the end of the data (${this.source.size})`, start);
    let pos = start;
    while (pos < end) {
      const { field, next } = await this.fieldAt(pos, end);
      pos = next;
      if (field.wireType === WIRE.SGROUP || field.wireType === WIRE.EGROUP) {
        if (this.budget.limits.groups === 'reject' || field.wireType === WIRE.EGROUP) throw malformedProto(`field ${field.number}: groups are not allowed here`, field.tagOffset);
        pos = await this.skipGroup(field.number, pos, end, 1);
        continue;
      }
      const result = visit(field);
      if (result instanceof Promise) await result;
    }
  }

  private async skipGroup(number: number, pos: number, end: number, depth: number): Promise<number> {
    this.budget.enter(depth, pos);
    while (pos < end) {
      const { field, next } = await this.fieldAt(pos, end);
      pos = next;
      if (field.wireType === WIRE.EGROUP) {
        if (field.number !== number) throw malformedProto(`group ${number} closed by end-group ${field.number}`, field.tagOffset);
        return pos;
      }
      if (field.wireType === WIRE.SGROUP) pos = await this.skipGroup(field.number, pos, end, depth + 1);
    }
    throw malformedProto(`group ${number} is not closed`, pos);
  }

  /** Reads the payload of a LEN field; INPUT_LIMIT when it is longer than `max`. */
  async bytes(field: ProtoField, max: number): Promise<Buffer> {
    if (field.length > max) {
      throw new CustodyError('INPUT_LIMIT', `field ${field.number} of ${field.length} bytes is larger than the ${max}-byte limit`, { details: { offset: field.tagOffset, limit: 'field' } });
    }
    if (this.has(field.offset, field.length)) {
      const rel = field.offset - this.windowStart;
      return this.window.subarray(rel, rel + field.length);
    }
    const data = await this.source.read(field.offset, field.length);
    this.bytesRead += data.length;
    if (data.length !== field.length) throw malformedProto(`field ${field.number} is truncated`, field.tagOffset);
    return data;
  }

  /** A LEN field's payload as UTF-8, reading at most `max` bytes of it. */
  async string(field: ProtoField, max = 4096): Promise<string> {
    const clipped: ProtoField = field.length > max ? { ...field, length: max } : field;
    return (await this.bytes(clipped, max)).toString('utf8');
  }

  /** The nested message of a LEN field in memory (bounded by `max`). */
  async message(field: ProtoField, max: number): Promise<ProtoBuffer> {
    return new ProtoBuffer(await this.bytes(field, max), field.offset, this.budget);
  }
}

/** A field's varint as a signed 64-bit number (int64 fields store negatives as 10-byte varints). */
export function signedValue(field: ProtoField): number {
  if (field.bigValue !== undefined) return Number(BigInt.asIntN(64, field.bigValue));
  return field.value;
}
