import type { ByteSource } from '../../../core/byte-source.js';
import { CustodyError } from '../../../core/errors.js';
import { ProtoBudget, ProtoBuffer, ProtoSource, WIRE, malformedProto, readFieldHeader, type ProtoField, type ProtoLimits } from './reader.js';

export interface ProtoMessageOptions {
  /** Nested messages up to this size are read into memory in one go; larger ones stay lazy. */
  inMemoryBytes?: number;
  /** Window of the lazy reader. */
  windowBytes?: number;
}

const DEFAULT_IN_MEMORY = 1024 * 1024;

/**
 * One message, either in memory or a lazy range of a ByteSource, behind one async interface, so a
 * walker is written once: small sub-messages (nodes, attributes) are read whole and walked
 * synchronously; large ones (a graph with embedded weights, a 500 MB constant) are walked field by
 * field, and payloads nobody asks for are never read.
 */
export class ProtoMessage {
  private constructor(
    private readonly lazy: ProtoSource | undefined,
    private readonly memory: ProtoBuffer | undefined,
    readonly start: number,
    readonly end: number,
    private readonly inMemoryBytes: number,
  ) {}

  /** The whole source as one message. */
  static fromSource(source: ByteSource, limits: Partial<ProtoLimits> = {}, options: ProtoMessageOptions = {}): { root: ProtoMessage; reader: ProtoSource } {
    const budget = new ProtoBudget(limits);
    const reader = new ProtoSource(source, budget, options.windowBytes === undefined ? {} : { windowBytes: options.windowBytes });
    return { root: new ProtoMessage(reader, undefined, 0, source.size, options.inMemoryBytes ?? DEFAULT_IN_MEMORY), reader };
  }

  /** A message held in memory. */
  static fromBuffer(buf: Buffer, limits: Partial<ProtoLimits> = {}): ProtoMessage {
    return new ProtoMessage(undefined, ProtoBuffer.of(buf, new ProtoBudget(limits)), 0, buf.length, DEFAULT_IN_MEMORY);
  }

  get budget(): ProtoBudget {
    return (this.memory?.budget ?? this.lazy?.budget) as ProtoBudget;
  }

  get size(): number {
    return this.end - this.start;
  }

  /** Calls `visit` for every field in order; awaits `visit` only when it returns a promise. */
  async forEach(visit: (field: ProtoField) => void | Promise<void>): Promise<void> {
    if (this.memory) {
      for (const field of this.memory.fields()) {
        const result = visit(field);
        if (result instanceof Promise) await result;
      }
      return;
    }
    await (this.lazy as ProtoSource).forEachField(this.start, this.end, visit);
  }

  /** A LEN field's payload as UTF-8, at most `max` bytes of it. */
  async string(field: ProtoField, max = 4096): Promise<string> {
    expectLen(field);
    if (this.memory) return this.memory.string(field, max);
    return (this.lazy as ProtoSource).string(field, max);
  }

  /** A LEN field's payload; INPUT_LIMIT when longer than `max`. */
  async bytes(field: ProtoField, max: number): Promise<Buffer> {
    expectLen(field);
    if (field.length > max) {
      throw new CustodyError('INPUT_LIMIT', `field ${field.number} of ${field.length} bytes is larger than the ${max}-byte limit`, { details: { offset: field.tagOffset, limit: 'field' } });
    }
    if (this.memory) return this.memory.bytes(field);
    return (this.lazy as ProtoSource).bytes(field, max);
  }

  /** The nested message in a LEN field: in memory when small, lazy otherwise. */
  async child(field: ProtoField, depth: number): Promise<ProtoMessage> {
    expectLen(field);
    this.budget.enter(depth, field.tagOffset);
    if (this.memory) {
      return new ProtoMessage(undefined, this.memory.message(field), field.offset, field.offset + field.length, this.inMemoryBytes);
    }
    const lazy = this.lazy as ProtoSource;
    if (field.length <= this.inMemoryBytes) {
      return new ProtoMessage(undefined, await lazy.message(field, this.inMemoryBytes), field.offset, field.offset + field.length, this.inMemoryBytes);
    }
    return new ProtoMessage(lazy, undefined, field.offset, field.offset + field.length, this.inMemoryBytes);
  }

  /** Values of a repeated varint field, packed or not (bounded by `max` bytes of packed data). */
  async varints(field: ProtoField, max = 1024 * 1024): Promise<number[]> {
    if (field.wireType === WIRE.VARINT) return [field.value];
    const bytes = await this.bytes(field, max);
    return ProtoBuffer.of(bytes, this.budget, field.offset).varints(field);
  }
}

function expectLen(field: ProtoField): void {
  if (field.wireType !== WIRE.LEN) throw malformedProto(`field ${field.number}: expected a length-delimited value, found wire type ${field.wireType}`, field.tagOffset);
}

/**
 * Reads the top-level field headers visible in `head` (the first bytes of a file of `size` bytes),
 * for content sniffing. Stops after the first field whose payload runs past `head` (that field is
 * included, so a truncated or lying file is still recognised, then reported by the full parse).
 * Returns undefined when the bytes are not valid protobuf as far as they go.
 */
export function sniffFields(head: Buffer, size: number, maxFields = 32): ProtoField[] | undefined {
  const fields: ProtoField[] = [];
  let pos = 0;
  try {
    while (pos < head.length && fields.length < maxFields) {
      const { field, next } = readFieldHeader(head, pos, head.length, 0, Number.MAX_SAFE_INTEGER);
      if (field.wireType === WIRE.SGROUP || field.wireType === WIRE.EGROUP) return undefined;
      fields.push(field);
      pos = field.wireType === WIRE.LEN ? next + field.length : next;
      if (pos > head.length) break;
    }
  } catch {
    // A length too large to represent (above 2^53) is a lie the full parse reports: keep the field.
    const lying = lyingLengthField(head, pos);
    if (lying !== undefined && fields.length > 0) {
      fields.push(lying);
      return fields;
    }
    // A header cut by the end of `head` is fine when the file goes on; a bad byte inside is not.
    if (fields.length === 0 || head.length >= size || pos < head.length - 20) return undefined;
  }
  return fields;
}

/** A LEN field at `pos` whose length varint is complete but larger than 2^53, as a field of maximal length. */
function lyingLengthField(head: Buffer, pos: number): ProtoField | undefined {
  let tag = 0;
  let p = pos;
  for (let shift = 0; shift < 35 && p < head.length; shift += 7) {
    const byte = head[p++] as number;
    tag += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      if (tag % 8 !== WIRE.LEN || tag < 8 || tag > 0xffffffff) return undefined;
      const start = p;
      let bytes = 0;
      while (p < head.length && (head[p] as number) >= 0x80 && bytes < 10) {
        p++;
        bytes++;
      }
      if (p >= head.length || bytes >= 10 || p - start < 7) return undefined;
      return { number: Math.floor(tag / 8), wireType: WIRE.LEN, tagOffset: pos, offset: p + 1, length: Number.MAX_SAFE_INTEGER, value: 0 };
    }
  }
  return undefined;
}

/** A field's payload when it lies fully inside `head`. */
export function headBytes(head: Buffer, field: ProtoField): Buffer | undefined {
  if (field.wireType !== WIRE.LEN || field.offset + field.length > head.length) return undefined;
  return head.subarray(field.offset, field.offset + field.length);
}
