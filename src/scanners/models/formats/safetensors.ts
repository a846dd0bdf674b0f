import { isUtf8 } from 'node:buffer';
import { defineRule, type Report } from '../../../core/rule.js';
import type { ScanContext, ScanTarget } from '../../../core/scanner.js';
import type { ModelFormat } from '../format.js';
import { describeJsonType } from '../../../core/json.js';

/**
 * safetensors: `u64 LE` header length N, N bytes of JSON (`{name: {dtype, shape, data_offsets}}` plus
 * an optional string-to-string `__metadata__`), then the tensor bytes. Only the header is read, so a
 * 10 GB file costs one small read. Every claim the header makes is checked against the file: the
 * header length, each tensor's dtype × shape against its byte range, ranges in bounds, sorted,
 * contiguous and non-overlapping — the same conditions the reference loader enforces, plus the ones
 * that matter to readers that do not enforce them.
 */

/** The reference implementation refuses headers above 100 MB. */
const MAX_SAFETENSORS_HEADER = 100_000_000;
const MAX_JSON_DEPTH = 16;
const MAX_REPORTS_PER_KIND = 20;

/** Bits per element of every dtype the safetensors spec defines. */
const SAFETENSORS_DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};

const TAGS = ['cwe:20', 'owasp-ml:ML06', 'format:safetensors'] as const;

export const safetensorsHeaderInvalidRule = defineRule<'tooLarge' | 'beyondFile' | 'notJson' | 'notObject' | 'tooDeep' | 'duplicateKey' | 'nonInteger' | 'badEntry' | 'truncated' | 'timeout', void>({
  id: 'models/safetensors-header-invalid',
  title: 'safetensors header is malformed or oversized',
  description:
    'The safetensors header (a length prefix and a JSON object) is larger than readers accept, runs past the end of the file, ' +
    'is not valid JSON, nests too deeply, repeats a tensor name, or holds an entry without a proper dtype, shape and data_offsets. ' +
    'Readers react differently to such headers (exhaust memory, crash, or silently take one of two definitions), so a file that ' +
    'claims to be the "safe" format but is not well formed is reported rather than trusted.',
  severity: 'high',
  confidence: 'high',
  tags: [...TAGS, 'cwe:789'],
  remediation: 'Re-export the model with the safetensors library from a trusted copy of the weights; do not load this file.',
  messages: {
    tooLarge: 'Header length {{length}} exceeds the {{limit}}-byte limit of the reference loader.',
    beyondFile: 'Header length {{length}} runs past the end of the {{size}}-byte file.',
    truncated: 'File of {{size}} bytes is too short for a safetensors header.',
    notJson: 'Header is not valid JSON: {{reason}}',
    notObject: 'Header is JSON but not an object (found {{found}}).',
    tooDeep: 'Header JSON nests deeper than {{limit}} levels.',
    duplicateKey: 'Header defines "{{name}}" more than once; readers disagree on which definition wins.',
    nonInteger: 'Header writes the number {{example}} where shapes and offsets need plain integers; strict readers refuse it, lenient ones round it.',
    badEntry: 'Tensor "{{name}}": {{reason}}',
    timeout: 'The header was not fully checked within the time limit ({{checked}} of {{total}} entries).',
  },
  check: () => undefined,
});

export const safetensorsRangeInvalidRule = defineRule<'sizeMismatch' | 'outOfBounds' | 'reversed' | 'overlap' | 'overflow', void>({
  id: 'models/safetensors-range-invalid',
  title: 'safetensors tensor lies about its byte range',
  description:
    "A tensor's data_offsets do not match its dtype × shape, point outside the data section, run backwards, or overlap another " +
    "tensor's bytes. Readers that trust the header read out of bounds, allocate what the shape claims, or alias two tensors; " +
    'the reference loader refuses such files, so one that has them was made by hand.',
  severity: 'high',
  confidence: 'high',
  tags: [...TAGS, 'cwe:125', 'cwe:789'],
  remediation: 'Do not load the file; re-export the weights with the safetensors library from a trusted source.',
  messages: {
    sizeMismatch: 'Tensor "{{name}}" ({{dtype}} {{shape}}) needs {{expected}} but its range holds {{actual}} bytes.',
    outOfBounds: 'Tensor "{{name}}" range [{{begin}}, {{end}}) ends past the {{dataSize}}-byte data section.',
    reversed: 'Tensor "{{name}}" range [{{begin}}, {{end}}) ends before it begins.',
    overlap: 'Tensor "{{name}}" range [{{begin}}, {{end}}) overlaps tensor "{{other}}", which ends at {{otherEnd}}.',
    overflow: 'Tensor "{{name}}" shape {{shape}} holds more elements than any reader can address.',
  },
  check: () => undefined,
});

export const safetensorsLayoutGapRule = defineRule<'gap' | 'trailing', void>({
  id: 'models/safetensors-layout-gap',
  title: 'safetensors data has bytes no tensor owns',
  description:
    'The tensors do not cover the data section contiguously: there is a gap between two tensors or bytes after the last one. ' +
    'The reference loader rejects such files, and the unowned bytes are a place to hide a payload (a pickle or script that a ' +
    'second-stage loader extracts).',
  severity: 'medium',
  confidence: 'high',
  tags: [...TAGS, 'cwe:506'],
  remediation: 'Re-export the weights with the safetensors library; inspect the unowned bytes if the file came from outside.',
  messages: {
    gap: '{{length}} bytes at data offset {{begin}} belong to no tensor (before "{{name}}").',
    trailing: '{{length}} bytes after the last tensor belong to no tensor.',
  },
  check: () => undefined,
});

export const safetensorsUnknownDtypeRule = defineRule<'unknown', void>({
  id: 'models/safetensors-unknown-dtype',
  title: 'safetensors tensor with an unknown dtype',
  description:
    'A tensor declares a dtype the safetensors specification does not define, so its byte size cannot be checked and readers ' +
    'either reject the file or misread it.',
  severity: 'medium',
  confidence: 'high',
  tags: [...TAGS],
  remediation: 'Re-export the tensor with a supported dtype.',
  messages: { unknown: 'Tensor "{{name}}" has unknown dtype {{dtype}}; its size could not be checked.' },
  check: () => undefined,
});

export const safetensorsMetadataInvalidRule = defineRule<'notObject' | 'nonString', void>({
  id: 'models/safetensors-metadata-invalid',
  title: 'safetensors __metadata__ is not a string-to-string map',
  description:
    'The `__metadata__` entry must map strings to strings. Anything else (numbers, nested objects, arrays) is refused by the ' +
    'reference loader and is a place to smuggle structured data past tools that only print metadata.',
  severity: 'medium',
  confidence: 'high',
  tags: [...TAGS],
  remediation: 'Store metadata values as strings.',
  messages: {
    notObject: '__metadata__ is {{found}}, not an object of strings.',
    nonString: '__metadata__ key "{{key}}" holds {{found}}, not a string.',
  },
  check: () => undefined,
});

const RULES = [safetensorsHeaderInvalidRule, safetensorsLayoutGapRule, safetensorsMetadataInvalidRule, safetensorsRangeInvalidRule, safetensorsUnknownDtypeRule] as const;

const HINTS = ['"dtype"', '"data_offsets"', '"__metadata__"'];

function isTextByte(byte: number): boolean {
  return (byte >= 0x20 && byte <= 0x7e) || (byte >= 0x09 && byte <= 0x0d);
}

/**
 * By content: a u64 length, then JSON. A length that fits the file with `{` or `[` after it is
 * safetensors-shaped; `{` followed by a quote or whitespace is too even when the length lies (that is
 * what the header rule reports), unless the "length" is itself text, as in a JSON or text file.
 */
function detectSafetensors(target: ScanTarget): boolean {
  const head = target.head;
  if (head.length < 10) return false;
  // A UTF-8 byte order mark before the JSON is still safetensors-shaped (and refused by the scan).
  const bom = head[8] === 0xef && head[9] === 0xbb && head[10] === 0xbf ? 3 : 0;
  const first = head[8 + bom] as number;
  if (first !== 0x7b && first !== 0x5b) return false;
  const length = head.readBigUInt64LE(0);
  if (length >= 2n && length <= BigInt(target.source.size) - 8n) return true;
  if (first !== 0x7b) return false;
  const next = head[9 + bom] as number;
  const jsonStart = next === 0x22 || next === 0x7d || next === 0x20 || next === 0x0a || next === 0x0d || next === 0x09;
  const prefixIsText = [...head.subarray(0, 8)].every(isTextByte);
  if (jsonStart && !prefixIsText) return true;
  const window = head.subarray(9, Math.min(head.length, 4096)).toString('latin1');
  return !prefixIsText && HINTS.some((hint) => window.includes(hint));
}

interface KeyScan {
  depth: number;
  /** Keys repeated in one object: `name` at the top level, `name.field` inside a tensor entry. */
  duplicates: string[];
  /** Number tokens that are not plain non-negative integers (`2.0`, `1e3`, `-0`), as written. */
  nonIntegers: string[];
}

const MAX_LISTED = 20;

/**
 * One linear pass over the JSON text before `JSON.parse`: measures nesting (so a deeply nested header
 * cannot exhaust the parser's stack), lists keys repeated in the top-level object and in the objects
 * directly inside it (which `JSON.parse` hides by keeping the last), and lists numbers written in a
 * form a strict integer reader refuses (`JSON.parse` turns `2.0` into 2; serde refuses it for a usize).
 */
export function scanJsonStructure(text: string, maxDepth: number): KeyScan {
  let depth = 0;
  let deepest = 0;
  const duplicates: string[] = [];
  const nonIntegers: string[] = [];
  // Per open object at depth 1 and 2: the keys seen, and the key that opened the depth-2 object.
  const keys: (Set<string> | undefined)[] = [];
  const isObject: boolean[] = [];
  let expectKey = false;
  let lastTopKey = '';
  let parentKey = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      const start = i;
      for (i++; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x5c) i++;
        else if (c === 0x22) break;
      }
      const seen = keys[depth];
      if (expectKey && seen !== undefined) {
        let key: string;
        try {
          key = JSON.parse(text.slice(start, i + 1)) as string;
        } catch {
          key = text.slice(start + 1, i);
        }
        if (depth === 1) lastTopKey = key;
        if (seen.has(key)) {
          if (duplicates.length < MAX_LISTED) duplicates.push(depth === 1 ? key : `${parentKey}.${key}`);
        } else seen.add(key);
      }
      expectKey = false;
    } else if (ch === 0x7b || ch === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > maxDepth) return { depth: deepest, duplicates, nonIntegers };
      isObject[depth] = ch === 0x7b;
      keys[depth] = ch === 0x7b && depth <= 2 ? new Set() : undefined;
      if (depth === 2) parentKey = lastTopKey;
      expectKey = ch === 0x7b;
    } else if (ch === 0x7d || ch === 0x5d) {
      keys[depth] = undefined;
      depth--;
      expectKey = false;
    } else if (ch === 0x2c) expectKey = isObject[depth] === true;
    else if (ch === 0x2d || (ch >= 0x30 && ch <= 0x39)) {
      const start = i;
      while (i + 1 < text.length && /[0-9eE.+-]/.test(text[i + 1] as string)) i++;
      const token = text.slice(start, i + 1);
      if (!/^(?:0|[1-9][0-9]*)$/.test(token) && nonIntegers.length < MAX_LISTED) nonIntegers.push(token);
    }
  }
  return { depth: deepest, duplicates, nonIntegers };
}

function clipName(name: string): string {
  let printable = '';
  for (const ch of name.slice(0, 121)) printable += ch < ' ' || ch === '\u007f' ? '?' : ch;
  return printable.length > 120 ? `${printable.slice(0, 120)}…` : printable;
}

interface Tensor {
  name: string;
  begin: bigint;
  end: bigint;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

async function scanSafetensors(target: ScanTarget, context: ScanContext): Promise<void> {
  const header = context.reporter(safetensorsHeaderInvalidRule, target);
  const size = target.source.size;
  if (size < 10) {
    header({ message: 'truncated', data: { size } });
    return;
  }
  const prefix = target.head.length >= 8 ? target.head : await target.source.read(0, 8);
  const length = prefix.readBigUInt64LE(0);
  const limit = Math.min(MAX_SAFETENSORS_HEADER, context.limits.maxMemberBytes);
  if (length > BigInt(limit)) {
    header({ message: 'tooLarge', offset: 0, data: { length: length.toString(), limit } });
    return;
  }
  if (length > BigInt(size - 8)) {
    header({ message: 'beyondFile', offset: 0, data: { length: length.toString(), size } });
    return;
  }
  const n = Number(length);
  const bytes = 8 + n <= target.head.length ? target.head.subarray(8, 8 + n) : await target.source.read(8, n);
  // The reference loader reads the header as strict UTF-8 JSON: a byte order mark or invalid UTF-8
  // is refused there and read differently elsewhere.
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    header({ message: 'notJson', offset: 8, data: { reason: 'the header starts with a UTF-8 byte order mark' } });
    return;
  }
  if (!isUtf8(bytes)) {
    header({ message: 'notJson', offset: 8, data: { reason: 'the header is not valid UTF-8' } });
    return;
  }
  const text = bytes.toString('utf8');
  const structure = scanJsonStructure(text, MAX_JSON_DEPTH);
  if (structure.depth > MAX_JSON_DEPTH) {
    header({ message: 'tooDeep', offset: 8, data: { limit: MAX_JSON_DEPTH } });
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    header({ message: 'notJson', offset: 8, data: { reason: (error as Error).message.slice(0, 120) } });
    return;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    header({ message: 'notObject', offset: 8, data: { found: describeJsonType(parsed) } });
    return;
  }
  for (const name of structure.duplicates.slice(0, MAX_REPORTS_PER_KIND)) header({ message: 'duplicateKey', offset: 8, data: { name: clipName(name) }, key: `dup:${name}` });
  const nonInteger = structure.nonIntegers[0];
  if (nonInteger !== undefined) header({ message: 'nonInteger', offset: 8, data: { example: clipName(nonInteger) }, key: 'non-integer' });

  const dataSize = BigInt(size) - 8n - length;
  const range = capped(context.reporter(safetensorsRangeInvalidRule, target));
  const unknownDtype = capped(context.reporter(safetensorsUnknownDtypeRule, target));
  const badEntry = capped(header);
  const tensors: Tensor[] = [];
  let checked = 0;
  const entries = Object.entries(parsed as Record<string, unknown>);
  for (const [name, entry] of entries) {
    if ((checked++ & 0x3ff) === 0 && Date.now() > context.deadline) {
      header({ message: 'timeout', data: { checked: checked - 1, total: entries.length } });
      return;
    }
    const shown = clipName(name);
    if (name === '__metadata__') {
      checkMetadata(entry, target, context);
      continue;
    }
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      badEntry({ message: 'badEntry', offset: 8, data: { name: shown, reason: `entry is ${describeJsonType(entry)}, not an object` }, key: `entry:${name}` });
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string') {
      badEntry({ message: 'badEntry', offset: 8, data: { name: shown, reason: 'dtype is missing or not a string' }, key: `entry:${name}` });
      continue;
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
      badEntry({ message: 'badEntry', offset: 8, data: { name: shown, reason: 'shape is not a list of non-negative integers' }, key: `entry:${name}` });
      continue;
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
      badEntry({ message: 'badEntry', offset: 8, data: { name: shown, reason: 'data_offsets is not [begin, end] of non-negative integers' }, key: `entry:${name}` });
      continue;
    }
    const begin = BigInt(offsets[0] as number);
    const end = BigInt(offsets[1] as number);
    const where = { offset: 8 + n + Number(begin) };
    const shapeText = `[${shape.join(', ')}]`;
    if (end < begin) {
      range({ message: 'reversed', ...where, data: { name: shown, begin: begin.toString(), end: end.toString() }, key: `rev:${name}` });
      continue;
    }
    if (end > dataSize) range({ message: 'outOfBounds', ...where, data: { name: shown, begin: begin.toString(), end: end.toString(), dataSize: dataSize.toString() }, key: `oob:${name}` });
    const bits = SAFETENSORS_DTYPE_BITS[dtype];
    if (bits === undefined) unknownDtype({ message: 'unknown', ...where, data: { name: shown, dtype: clipName(dtype) }, key: `dtype:${name}` });
    else {
      const elements = shape.reduce<bigint>((product, dim) => product * BigInt(dim as number), 1n);
      if (elements > 1n << 62n) range({ message: 'overflow', ...where, data: { name: shown, shape: shapeText }, key: `overflow:${name}` });
      else {
        const totalBits = elements * BigInt(bits);
        const expected = totalBits % 8n === 0n ? `${totalBits / 8n} bytes` : `${totalBits} bits (not a whole number of bytes)`;
        if (totalBits % 8n !== 0n || totalBits / 8n !== end - begin) {
          range({ message: 'sizeMismatch', ...where, data: { name: shown, dtype, shape: shapeText, expected, actual: (end - begin).toString() }, key: `size:${name}` });
        }
      }
    }
    tensors.push({ name, begin, end });
  }
  checkLayout(tensors, dataSize, n, target, context, range);
}

function checkLayout(tensors: Tensor[], dataSize: bigint, headerLength: number, target: ScanTarget, context: ScanContext, range: Report<'sizeMismatch' | 'outOfBounds' | 'reversed' | 'overlap' | 'overflow'>): void {
  const gap = capped(context.reporter(safetensorsLayoutGapRule, target));
  tensors.sort((a, b) => (a.begin < b.begin ? -1 : a.begin > b.begin ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : 0));
  let covered = 0n;
  let last: Tensor | undefined;
  for (const tensor of tensors) {
    if (tensor.begin === tensor.end && tensor.begin <= covered) continue;
    if (last !== undefined && tensor.begin < covered) {
      range({
        message: 'overlap',
        offset: 8 + headerLength + Number(tensor.begin),
        data: { name: clipName(tensor.name), begin: tensor.begin.toString(), end: tensor.end.toString(), other: clipName(last.name), otherEnd: covered.toString() },
        key: `overlap:${tensor.name}`,
      });
    } else if (tensor.begin > covered) {
      gap({ message: 'gap', offset: 8 + headerLength + Number(covered), data: { length: (tensor.begin - covered).toString(), begin: covered.toString(), name: clipName(tensor.name) }, key: `gap:${covered}` });
    }
    if (tensor.end > covered) {
      covered = tensor.end;
      last = tensor;
    }
  }
  if (covered < dataSize) gap({ message: 'trailing', offset: 8 + headerLength + Number(covered), data: { length: (dataSize - covered).toString() }, key: 'trailing' });
}

function checkMetadata(entry: unknown, target: ScanTarget, context: ScanContext): void {
  const report = capped(context.reporter(safetensorsMetadataInvalidRule, target));
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    report({ message: 'notObject', offset: 8, data: { found: describeJsonType(entry) } });
    return;
  }
  for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
    if (typeof value !== 'string') report({ message: 'nonString', offset: 8, data: { key: clipName(key), found: describeJsonType(value) }, key: `meta:${key}` });
  }
}

/**
 * Wraps a report function so that one file yields at most MAX_REPORTS_PER_KIND findings of each message
 * kind (a count shared by all kinds would let one kind crowd out the others).
 */
function capped<M extends string>(report: Report<M>): Report<M> {
  const counts = new Map<M, number>();
  return (input) => {
    const count = (counts.get(input.message) ?? 0) + 1;
    counts.set(input.message, count);
    if (count <= MAX_REPORTS_PER_KIND) report(input);
  };
}

export const safetensorsFormat: ModelFormat = {
  name: 'safetensors',
  rules: RULES,
  detect: detectSafetensors,
  scan: scanSafetensors,
};
