import type { ByteSource } from '../../../core/byte-source.js';
import { defineRule, type Report } from '../../../core/rule.js';
import type { ScanContext, ScanTarget } from '../../../core/scanner.js';
import type { ModelFormat } from '../format.js';
import { scanJinjaTemplate, type JinjaIssue } from '../jinja/index.js';

/**
 * GGUF (llama.cpp): magic `GGUF`, version (1–3), tensor count, metadata count, the metadata
 * key/value pairs, the tensor infos, padding to `general.alignment`, then tensor data. Only the
 * header is read, through a sliding window, so a 10 GB model costs a few reads; every count, length
 * and offset is checked against the file size before anything is allocated. The chat templates in
 * the metadata (`tokenizer.chat_template`, `tokenizer.chat_template.<name>`) go through the Jinja
 * scanner, because several runtimes render them with the model's load.
 */

const TAGS = ['owasp-ml:ML06', 'format:gguf'] as const;
const MAX_REPORTS_PER_KIND = 20;
/** Longest metadata key llama.cpp writes; longer keys are malformed. */
const MAX_KEY_BYTES = 65_535;
/** Strings read into memory (chat templates, architecture); longer ones are skipped or reported. */
const MAX_TEMPLATE_BYTES = 4 * 1024 * 1024;
const MAX_ARRAY_DEPTH = 4;
const MAX_DIMS = 4;
const MAX_TENSOR_NAME = 64;
const WINDOW = 1 << 20;

/** ggml tensor types: [name, elements per block, bytes per block]. Removed types are absent. */
const GGML_TYPES: Readonly<Record<number, readonly [string, number, number]>> = {
  0: ['F32', 1, 4], 1: ['F16', 1, 2], 2: ['Q4_0', 32, 18], 3: ['Q4_1', 32, 20], 6: ['Q5_0', 32, 22], 7: ['Q5_1', 32, 24],
  8: ['Q8_0', 32, 34], 9: ['Q8_1', 32, 36], 10: ['Q2_K', 256, 84], 11: ['Q3_K', 256, 110], 12: ['Q4_K', 256, 144],
  13: ['Q5_K', 256, 176], 14: ['Q6_K', 256, 210], 15: ['Q8_K', 256, 292], 16: ['IQ2_XXS', 256, 66], 17: ['IQ2_XS', 256, 74],
  18: ['IQ3_XXS', 256, 98], 19: ['IQ1_S', 256, 50], 20: ['IQ4_NL', 32, 18], 21: ['IQ3_S', 256, 110], 22: ['IQ2_S', 256, 82],
  23: ['IQ4_XS', 256, 136], 24: ['I8', 1, 1], 25: ['I16', 1, 2], 26: ['I32', 1, 4], 27: ['I64', 1, 8], 28: ['F64', 1, 8],
  29: ['IQ1_M', 256, 56], 30: ['BF16', 1, 2], 34: ['TQ1_0', 256, 54], 35: ['TQ2_0', 256, 66], 39: ['MXFP4', 32, 17],
};

/** Metadata value types: fixed sizes in bytes (0 for string/array). */
const VALUE_SIZES: Readonly<Record<number, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 0, 9: 0, 10: 8, 11: 8, 12: 8 };
const TYPE_STRING = 8;
const TYPE_ARRAY = 9;

export const ggufHeaderInvalidRule = defineRule<'badVersion' | 'countTooLarge' | 'truncated' | 'lengthBeyondFile' | 'badValueType' | 'keyTooLong' | 'duplicateKey' | 'arrayTooDeep' | 'badAlignment' | 'timeout', void>({
  id: 'models/gguf-header-invalid',
  title: 'GGUF header or metadata is malformed',
  description:
    'The GGUF header, metadata or tensor-info section claims counts, lengths or types that the file cannot hold: a tensor or ' +
    'metadata count larger than the file, a string or array that runs past the end, an unknown value type, a repeated key, ' +
    'an alignment that is not a power of two. Readers that trust these numbers allocate without bound, read out of bounds or ' +
    'crash (several llama.cpp and gguf-py CVEs), so a GGUF file that does not parse is reported rather than passed.',
  severity: 'high',
  confidence: 'high',
  tags: [...TAGS, 'cwe:20', 'cwe:789'],
  remediation: 'Do not load the file; obtain the model from a trusted source or re-convert it from trusted weights.',
  messages: {
    badVersion: 'GGUF version {{version}} is not one this scanner (or llama.cpp) reads (expected 1, 2 or 3).',
    countTooLarge: '{{what}} count {{count}} cannot fit in a {{size}}-byte file.',
    truncated: 'The header ends early: {{what}} at byte {{offset}} needs {{need}} bytes, beyond the end of the file.',
    lengthBeyondFile: '{{what}} of {{length}} bytes at byte {{offset}} runs past the end of the {{size}}-byte file.',
    badValueType: 'Metadata key "{{key}}" has unknown value type {{type}}.',
    keyTooLong: 'A metadata key of {{length}} bytes exceeds the {{limit}}-byte limit.',
    duplicateKey: 'Metadata key "{{key}}" appears more than once; readers disagree on which value wins.',
    arrayTooDeep: 'Metadata key "{{key}}" nests arrays deeper than {{limit}} levels.',
    badAlignment: 'general.alignment {{alignment}} is not a positive power of two.',
    timeout: 'The header was not fully read within the time limit ({{read}} of {{total}} entries).',
  },
  check: () => undefined,
});

export const ggufTensorInvalidRule = defineRule<'outOfBounds' | 'overlap' | 'misaligned' | 'badDims' | 'overflow' | 'notBlockMultiple' | 'unknownType' | 'duplicateName' | 'nameTooLong' | 'gap', void>({
  id: 'models/gguf-tensor-invalid',
  title: 'GGUF tensor info lies about its data',
  description:
    "A tensor's data range (offset plus type size × dimensions, with quantised block sizes) falls outside the file, overlaps another " +
    "tensor, is misaligned, or its dimensions are invalid (more than four, zero-sized blocks, products that overflow). Readers that " +
    'map tensors by these numbers read out of bounds or alias memory. Unknown tensor types and unowned bytes between tensors are ' +
    'reported at medium severity: the first cannot be size-checked, the second can hide a payload.',
  severity: 'high',
  confidence: 'high',
  tags: [...TAGS, 'cwe:125', 'cwe:20'],
  remediation: 'Do not load the file; re-convert the model from trusted weights with llama.cpp tools.',
  messages: {
    outOfBounds: 'Tensor "{{name}}" ({{type}} {{dims}}) occupies bytes {{begin}}–{{end}}, past the end of the {{size}}-byte file.',
    overlap: 'Tensor "{{name}}" at data offset {{begin}} overlaps tensor "{{other}}", which ends at {{otherEnd}}.',
    misaligned: 'Tensor "{{name}}" data offset {{offset}} is not a multiple of the alignment {{alignment}}.',
    badDims: 'Tensor "{{name}}" has {{count}} dimensions (at most {{limit}} are allowed).',
    overflow: 'Tensor "{{name}}" dimensions {{dims}} hold more elements than any reader can address.',
    notBlockMultiple: 'Tensor "{{name}}" first dimension {{first}} is not a multiple of the {{type}} block size {{block}}.',
    unknownType: 'Tensor "{{name}}" has unknown ggml type {{type}}; its size could not be checked.',
    duplicateName: 'Tensor name "{{name}}" appears more than once.',
    nameTooLong: 'Tensor name of {{length}} bytes exceeds the {{limit}}-byte limit of ggml.',
    gap: '{{length}} bytes at data offset {{begin}} belong to no tensor.',
  },
  check: () => undefined,
});

export const ggufChatTemplateInjectionRule = defineRule<'construct', void>({
  id: 'models/gguf-chat-template-injection',
  title: 'GGUF chat template reaches Python internals',
  description:
    'The chat template stored in the model (`tokenizer.chat_template`) is a Jinja template that runtimes render when the model is ' +
    'loaded or used. This one contains template-injection constructs — dunder attribute walks such as `__class__`, ' +
    '`__subclasses__`, `__globals__`, the `attr` filter, names hidden by escapes or concatenation, or template globals such as ' +
    '`cycler`, `joiner` and `lipsum` whose attributes lead to module globals. Rendered without a sandbox (llama-cpp-python, ' +
    'CVE-2024-34359) it runs commands as the user; sandboxed renderers still leak data or can be escaped.',
  severity: 'critical',
  confidence: 'high',
  tags: [...TAGS, 'cwe:1336', 'cwe:94'],
  remediation:
    'Do not load the model with a runtime that renders its template. Replace the chat template with a known-good one (the base ' +
    "model's) and re-export; keep runtimes updated so they render templates in a sandbox.",
  messages: { construct: '{{key}} at line {{line}}, column {{column}}: {{construct}} — {{detail}}' },
  check: () => undefined,
});

export const ggufChatTemplateUnreadableRule = defineRule<'tooLarge' | 'unterminated' | 'truncated' | 'notString', void>({
  id: 'models/gguf-chat-template-unreadable',
  title: 'GGUF chat template could not be fully analysed',
  description:
    'A chat template in the GGUF metadata is too large, not a string, or does not tokenize to the end (an unterminated tag or ' +
    'string), so the template scanner could not check all of it. What it did not read is unknown, so it is reported.',
  severity: 'medium',
  confidence: 'medium',
  tags: [...TAGS, 'cwe:1336'],
  remediation: 'Inspect the template by hand (`gguf-dump` prints it) or replace it with a known-good template.',
  messages: {
    tooLarge: '{{key}} is {{length}} bytes, more than the {{limit}} bytes this scanner reads.',
    unterminated: '{{key}}: {{reason}} at line {{line}}, column {{column}}; the rest was not analysed.',
    truncated: '{{key}}: the scan stopped at a limit; part of the template was not analysed.',
    notString: '{{key}} holds a value of GGUF type {{type}}, not a string.',
  },
  check: () => undefined,
});

const RULES = [ggufChatTemplateInjectionRule, ggufChatTemplateUnreadableRule, ggufHeaderInvalidRule, ggufTensorInvalidRule] as const;

class HeaderError extends Error {
  constructor(readonly report: () => void) {
    super('header error');
  }
}

/** Sequential reader over a ByteSource with a sliding window; every read is bounds-checked. */
class Cursor {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;
  pos: number;

  constructor(
    private readonly source: ByteSource,
    head: Buffer,
    readonly littleEndian: boolean,
    readonly wide: boolean,
    private readonly onTruncated: (what: string, offset: number, need: number) => never,
  ) {
    this.window = head;
    this.pos = 0;
  }

  get size(): number {
    return this.source.size;
  }

  private async ensure(n: number, what: string): Promise<void> {
    if (this.pos + n > this.source.size) this.onTruncated(what, this.pos, n);
    if (this.pos >= this.windowStart && this.pos + n <= this.windowStart + this.window.length) return;
    this.windowStart = this.pos;
    this.window = await this.source.read(this.pos, Math.max(n, WINDOW));
    if (this.window.length < n) this.onTruncated(what, this.pos, n);
  }

  async u32(what: string): Promise<number> {
    await this.ensure(4, what);
    const at = this.pos - this.windowStart;
    this.pos += 4;
    return this.littleEndian ? this.window.readUInt32LE(at) : this.window.readUInt32BE(at);
  }

  async u64(what: string): Promise<bigint> {
    await this.ensure(8, what);
    const at = this.pos - this.windowStart;
    this.pos += 8;
    return this.littleEndian ? this.window.readBigUInt64LE(at) : this.window.readBigUInt64BE(at);
  }

  /** A count or length: u64 in v2+, u32 in v1. */
  async size_t(what: string): Promise<bigint> {
    return this.wide ? this.u64(what) : BigInt(await this.u32(what));
  }

  async bytes(n: number, what: string): Promise<Buffer> {
    await this.ensure(n, what);
    const at = this.pos - this.windowStart;
    this.pos += n;
    return Buffer.from(this.window.subarray(at, at + n));
  }

  async scalar(type: number, what: string): Promise<number | bigint> {
    const size = VALUE_SIZES[type] as number;
    await this.ensure(size, what);
    const at = this.pos - this.windowStart;
    this.pos += size;
    const w = this.window;
    const le = this.littleEndian;
    switch (type) {
      case 0: case 7: return w.readUInt8(at);
      case 1: return w.readInt8(at);
      case 2: return le ? w.readUInt16LE(at) : w.readUInt16BE(at);
      case 3: return le ? w.readInt16LE(at) : w.readInt16BE(at);
      case 4: return le ? w.readUInt32LE(at) : w.readUInt32BE(at);
      case 5: return le ? w.readInt32LE(at) : w.readInt32BE(at);
      case 6: return le ? w.readFloatLE(at) : w.readFloatBE(at);
      case 10: return le ? w.readBigUInt64LE(at) : w.readBigUInt64BE(at);
      case 11: return le ? w.readBigInt64LE(at) : w.readBigInt64BE(at);
      default: return le ? w.readDoubleLE(at) : w.readDoubleBE(at);
    }
  }

  skip(n: bigint, what: string): void {
    if (BigInt(this.pos) + n > BigInt(this.source.size)) this.onTruncated(what, this.pos, Number(n));
    this.pos += Number(n);
  }
}

function printable(text: string, max = 120): string {
  let out = '';
  for (const ch of text.slice(0, max + 1)) out += ch < ' ' || ch === '\u007f' ? '?' : ch;
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

/**
 * At most MAX_REPORTS_PER_KIND findings of each message kind: a count shared by all kinds would let
 * many medium findings (long names, unknown types) crowd out a high one that comes later.
 */
function capped<M extends string>(report: Report<M>): Report<M> {
  const counts = new Map<M, number>();
  return (input) => {
    const count = (counts.get(input.message) ?? 0) + 1;
    counts.set(input.message, count);
    if (count <= MAX_REPORTS_PER_KIND) report(input);
  };
}

function detectGguf(target: ScanTarget): boolean {
  const head = target.head;
  return head.length >= 8 && head[0] === 0x47 && head[1] === 0x47 && head[2] === 0x55 && head[3] === 0x46;
}

interface TemplateValue {
  key: string;
  offset: number;
  text?: string;
  length?: bigint;
  type?: number;
}

interface TensorInfo {
  name: string;
  type: number;
  dims: bigint[];
  offset: bigint;
  at: number;
}

async function scanGguf(target: ScanTarget, context: ScanContext): Promise<void> {
  const header = context.reporter(ggufHeaderInvalidRule, target);
  const size = target.source.size;
  try {
    if (size < 8 + 8 + 8) throw new HeaderError(() => header({ message: 'truncated', data: { what: 'the fixed header', offset: 0, need: 24 } }));
    const head = target.head;
    const versionLe = head.readUInt32LE(4);
    const versionBe = head.readUInt32BE(4);
    const littleEndian = versionLe >= 1 && versionLe <= 3 ? true : versionBe >= 1 && versionBe <= 3 ? false : undefined;
    if (littleEndian === undefined) throw new HeaderError(() => header({ message: 'badVersion', offset: 4, data: { version: versionLe } }));
    const version = littleEndian ? versionLe : versionBe;
    const onTruncated = (what: string, offset: number, need: number): never => {
      throw new HeaderError(() => header({ message: 'truncated', offset, data: { what, offset, need } }));
    };
    const cursor = new Cursor(target.source, head, littleEndian === true, version >= 2, onTruncated);
    cursor.pos = 8;
    const tensorCount = await cursor.size_t('tensor count');
    const kvCount = await cursor.size_t('metadata count');
    // Smallest possible entries: a KV is key length + 1-byte key + type + 1-byte value; a tensor
    // info is name length + n_dims + type + offset.
    const lengthBytes = version >= 2 ? 8n : 4n;
    const minKv = lengthBytes + 1n + 4n + 1n;
    const minTensor = lengthBytes + 4n + 4n + 8n;
    if (kvCount * minKv > BigInt(size)) throw new HeaderError(() => header({ message: 'countTooLarge', offset: 8, data: { what: 'Metadata', count: kvCount.toString(), size } }));
    if (tensorCount * minTensor > BigInt(size)) throw new HeaderError(() => header({ message: 'countTooLarge', offset: 8, data: { what: 'Tensor', count: tensorCount.toString(), size } }));

    const keys = new Set<string>();
    const templates: TemplateValue[] = [];
    let alignment = 32;
    const duplicates = capped(header);
    for (let i = 0n; i < kvCount; i++) {
      if ((i & 0xffn) === 0n && Date.now() > context.deadline) {
        header({ message: 'timeout', data: { read: i.toString(), total: kvCount.toString() } });
        return;
      }
      const keyAt = cursor.pos;
      const keyLength = await cursor.size_t('metadata key length');
      if (keyLength > BigInt(MAX_KEY_BYTES)) throw new HeaderError(() => header({ message: 'keyTooLong', offset: keyAt, data: { length: keyLength.toString(), limit: MAX_KEY_BYTES } }));
      const key = (await cursor.bytes(Number(keyLength), 'metadata key')).toString('utf8');
      if (keys.has(key)) duplicates({ message: 'duplicateKey', offset: keyAt, data: { key: printable(key) }, key: `dup:${key}` });
      keys.add(key);
      const type = await cursor.u32('metadata value type');
      if (VALUE_SIZES[type] === undefined) throw new HeaderError(() => header({ message: 'badValueType', offset: cursor.pos - 4, data: { key: printable(key), type } }));
      const isTemplate = key === 'tokenizer.chat_template' || key.startsWith('tokenizer.chat_template.');
      if (isTemplate) {
        const valueAt = cursor.pos;
        if (type !== TYPE_STRING) {
          templates.push({ key, offset: valueAt, type });
          await skipValue(cursor, type, key, 0, header, context.deadline);
          continue;
        }
        const length = await cursor.size_t('chat template length');
        const dataAt = cursor.pos;
        if (length > BigInt(MAX_TEMPLATE_BYTES)) {
          cursor.skip(length, 'chat template');
          templates.push({ key, offset: dataAt, length });
          continue;
        }
        templates.push({ key, offset: dataAt, text: (await cursor.bytes(Number(length), 'chat template')).toString('utf8') });
        continue;
      }
      if (key === 'general.alignment' && (type === 4 || type === 10 || type === 5 || type === 11)) {
        const valueAt = cursor.pos;
        const value = BigInt(await cursor.scalar(type, 'general.alignment'));
        if (value <= 0n || (value & (value - 1n)) !== 0n || value > 1n << 30n) throw new HeaderError(() => header({ message: 'badAlignment', offset: valueAt, data: { alignment: value.toString() } }));
        alignment = Number(value);
        continue;
      }
      await skipValue(cursor, type, key, 0, header, context.deadline);
    }

    const tensors: TensorInfo[] = [];
    for (let i = 0n; i < tensorCount; i++) {
      if ((i & 0xffn) === 0n && Date.now() > context.deadline) {
        header({ message: 'timeout', data: { read: (kvCount + i).toString(), total: (kvCount + tensorCount).toString() } });
        return;
      }
      const at = cursor.pos;
      const nameLength = await cursor.size_t('tensor name length');
      if (nameLength > BigInt(MAX_KEY_BYTES)) throw new HeaderError(() => header({ message: 'lengthBeyondFile', offset: at, data: { what: 'Tensor name', length: nameLength.toString(), offset: at, size } }));
      const name = (await cursor.bytes(Number(nameLength), 'tensor name')).toString('utf8');
      const nDims = await cursor.u32('tensor dimension count');
      if (nDims > 64) throw new HeaderError(() => header({ message: 'countTooLarge', offset: cursor.pos - 4, data: { what: `Tensor "${printable(name)}" dimension`, count: nDims, size } }));
      const dims: bigint[] = [];
      for (let d = 0; d < nDims; d++) dims.push(await cursor.size_t('tensor dimension'));
      const type = await cursor.u32('tensor type');
      const offset = await cursor.u64('tensor offset');
      tensors.push({ name, type, dims, offset, at });
    }
    const dataStart = Math.ceil(cursor.pos / alignment) * alignment;
    reportTemplates(templates, target, context);
    checkTensors(tensors, dataStart, alignment, size, target, context);
  } catch (error) {
    if (error instanceof HeaderError) {
      error.report();
      return;
    }
    throw error;
  }
}

async function skipValue(cursor: Cursor, type: number, key: string, depth: number, header: Report<'arrayTooDeep' | 'badValueType' | 'lengthBeyondFile' | 'timeout'>, deadline: number): Promise<void> {
  if (type === TYPE_STRING) {
    const at = cursor.pos;
    const length = await cursor.size_t('string length');
    if (BigInt(cursor.pos) + length > BigInt(cursor.size)) {
      throw new HeaderError(() => header({ message: 'lengthBeyondFile', offset: at, data: { what: `String value of "${printable(key)}"`, length: length.toString(), offset: at, size: cursor.size } }));
    }
    cursor.skip(length, 'string');
    return;
  }
  if (type === TYPE_ARRAY) {
    if (depth >= MAX_ARRAY_DEPTH) throw new HeaderError(() => header({ message: 'arrayTooDeep', offset: cursor.pos, data: { key: printable(key), limit: MAX_ARRAY_DEPTH } }));
    const itemType = await cursor.u32('array item type');
    if (VALUE_SIZES[itemType] === undefined) throw new HeaderError(() => header({ message: 'badValueType', offset: cursor.pos - 4, data: { key: printable(key), type: itemType } }));
    const at = cursor.pos;
    const count = await cursor.size_t('array length');
    const itemSize = VALUE_SIZES[itemType] as number;
    // Strings take at least their length prefix, arrays at least type + count.
    const minItem = BigInt(itemSize > 0 ? itemSize : cursor.wide ? 8 : 4);
    if (BigInt(cursor.pos) + count * minItem > BigInt(cursor.size)) {
      throw new HeaderError(() => header({ message: 'lengthBeyondFile', offset: at, data: { what: `Array "${printable(key)}" (${count} items)`, length: (count * minItem).toString(), offset: at, size: cursor.size } }));
    }
    if (itemSize > 0) {
      cursor.skip(count * BigInt(itemSize), 'array');
      return;
    }
    for (let i = 0n; i < count; i++) {
      if ((i & 0xffffn) === 0xffffn && Date.now() > deadline) {
        throw new HeaderError(() => header({ message: 'timeout', data: { read: `${i} items of "${printable(key)}"`, total: count.toString() } }));
      }
      await skipValue(cursor, itemType, key, depth + 1, header, deadline);
    }
    return;
  }
  cursor.skip(BigInt(VALUE_SIZES[type] as number), 'value');
}

function reportTemplates(templates: readonly TemplateValue[], target: ScanTarget, context: ScanContext): void {
  const injection = context.reporter(ggufChatTemplateInjectionRule, target);
  const unreadable = context.reporter(ggufChatTemplateUnreadableRule, target);
  for (const template of templates) {
    const key = printable(template.key);
    if (template.type !== undefined) {
      unreadable({ message: 'notString', offset: template.offset, data: { key, type: template.type }, key });
      continue;
    }
    if (template.text === undefined) {
      // Real chat templates are a few KB; one past the scan limits is padding around something (high).
      unreadable({ message: 'tooLarge', severity: 'high', offset: template.offset, data: { key, length: (template.length ?? 0n).toString(), limit: MAX_TEMPLATE_BYTES }, key });
      continue;
    }
    const result = scanJinjaTemplate(template.text);
    for (const issue of result.issues) {
      injection({
        message: 'construct',
        severity: issue.severity,
        offset: template.offset + Buffer.byteLength(template.text.slice(0, issue.index), 'utf8'),
        data: { key, line: issue.line, column: issue.column, construct: issue.construct, detail: issue.detail },
        evidence: issue.construct,
        key: `${template.key}:${issue.kind}:${issue.line}:${issue.column}`,
        properties: templateProperties(template.key, issue),
      });
    }
    if (result.error) unreadable({ message: 'unterminated', offset: template.offset, data: { key, reason: result.error.message, line: result.error.line, column: result.error.column }, key });
    else if (result.truncated) unreadable({ message: 'truncated', severity: 'high', offset: template.offset, data: { key }, key });
  }
}

function templateProperties(key: string, issue: JinjaIssue): Record<string, unknown> {
  return { templateKey: key, templateLine: issue.line, templateColumn: issue.column, construct: issue.kind };
}

function checkTensors(tensors: TensorInfo[], dataStart: number, alignment: number, size: number, target: ScanTarget, context: ScanContext): void {
  const report = capped(context.reporter(ggufTensorInvalidRule, target));
  const names = new Set<string>();
  const ranges: { name: string; begin: bigint; end: bigint }[] = [];
  const fileSize = BigInt(size);
  for (const tensor of tensors) {
    const name = printable(tensor.name);
    const dims = `[${tensor.dims.join(', ')}]`;
    if (names.has(tensor.name)) report({ message: 'duplicateName', offset: tensor.at, data: { name }, key: `dup:${tensor.name}` });
    names.add(tensor.name);
    const nameBytes = Buffer.byteLength(tensor.name, 'utf8');
    if (nameBytes >= MAX_TENSOR_NAME) report({ message: 'nameTooLong', offset: tensor.at, data: { length: nameBytes, limit: MAX_TENSOR_NAME - 1 }, key: `name:${tensor.name}`, severity: 'medium' });
    if (tensor.dims.length > MAX_DIMS) {
      report({ message: 'badDims', offset: tensor.at, data: { name, count: tensor.dims.length, limit: MAX_DIMS }, key: `dims:${tensor.name}` });
      continue;
    }
    if (tensor.offset % BigInt(alignment) !== 0n) report({ message: 'misaligned', offset: tensor.at, data: { name, offset: tensor.offset.toString(), alignment }, key: `align:${tensor.name}` });
    const info = GGML_TYPES[tensor.type];
    if (info === undefined) {
      report({ message: 'unknownType', offset: tensor.at, severity: 'medium', data: { name, type: tensor.type }, key: `type:${tensor.name}` });
      continue;
    }
    const [typeName, block, typeSize] = info;
    const elements = tensor.dims.reduce((product, d) => product * d, 1n);
    if (elements > 1n << 62n) {
      report({ message: 'overflow', offset: tensor.at, data: { name, dims }, key: `overflow:${tensor.name}` });
      continue;
    }
    const first = tensor.dims[0] ?? 1n;
    if (first % BigInt(block) !== 0n) {
      report({ message: 'notBlockMultiple', offset: tensor.at, data: { name, first: first.toString(), type: typeName, block }, key: `block:${tensor.name}` });
      continue;
    }
    const bytes = (elements / BigInt(block)) * BigInt(typeSize);
    const begin = BigInt(dataStart) + tensor.offset;
    const end = begin + bytes;
    if (end > fileSize) {
      report({ message: 'outOfBounds', offset: tensor.at, data: { name, type: typeName, dims, begin: begin.toString(), end: end.toString(), size }, key: `oob:${tensor.name}` });
      continue;
    }
    ranges.push({ name: tensor.name, begin: tensor.offset, end: tensor.offset + bytes });
  }
  ranges.sort((a, b) => (a.begin < b.begin ? -1 : a.begin > b.begin ? 1 : 0));
  let covered = 0n;
  let last: (typeof ranges)[number] | undefined;
  for (const range of ranges) {
    if (range.begin === range.end) continue;
    if (last !== undefined && range.begin < covered) {
      report({ message: 'overlap', data: { name: printable(range.name), begin: range.begin.toString(), other: printable(last.name), otherEnd: covered.toString() }, key: `overlap:${range.name}` });
    } else {
      const padded = ((covered + BigInt(alignment) - 1n) / BigInt(alignment)) * BigInt(alignment);
      if (range.begin > padded) report({ message: 'gap', severity: 'medium', offset: dataStart + Number(covered), data: { length: (range.begin - covered).toString(), begin: covered.toString() }, key: `gap:${covered}` });
    }
    if (range.end > covered) {
      covered = range.end;
      last = range;
    }
  }
}

export const ggufFormat: ModelFormat = {
  name: 'gguf',
  rules: RULES,
  detect: detectGguf,
  scan: scanGguf,
};
