import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import type { ByteSource } from '../../../core/byte-source.js';
import { clip } from '../../../core/redact.js';
import { defineRule } from '../../../core/rule.js';
import type { ScanContext, ScanTarget } from '../../../core/scanner.js';
import type { ModelFormat } from '../format.js';
import { ProtoMessage, WIRE, describeProtoError, malformedProto, type ProtoField } from '../protobuf/index.js';
import { ONNX_MODEL_FIELDS, sniffProtobufModel } from '../protobuf/sniff.js';

/**
 * ONNX models (onnx/onnx.proto ModelProto), recognised by content. The whole model is walked —
 * main graph, every subgraph in node attributes (If/Loop/Scan bodies), training graphs and model-local
 * functions — reading only structure: tensor payloads (`raw_data`) are skipped, never read, so a
 * multi-gigabyte model with embedded weights costs only its structure.
 */

// ------------------------------------------------------------------------------------------ rules

export const onnxExternalDataEscapeRule = defineRule<'absolute' | 'traversal' | 'notPath' | 'symlink', void>({
  id: 'models/onnx-external-data-escape',
  title: 'ONNX external data points outside the model directory',
  description:
    'ONNX tensors can keep their bytes in an external file named by a `location` relative to the model. A location that is ' +
    'absolute, climbs out with `..`, or reaches outside through a symbolic link makes the loader read any file the process can ' +
    'read (keys, /etc/passwd, cloud credentials) into a tensor, from where model outputs can leak it (CVE-2024-27318, CVE-2024-5187 and related).',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:22', 'cwe:59', 'owasp-ml:ML06', 'format:onnx'],
  remediation: 'Re-export the model with external data stored next to it (relative paths without `..`), or embed the weights.',
  messages: {
    absolute: 'Tensor {{tensor}} reads external data from the absolute path {{location}}.',
    traversal: 'Tensor {{tensor}} reads external data from {{location}}, which climbs out of the model directory with "..".',
    notPath: 'Tensor {{tensor}} names external data {{location}}, which is not a plain relative path.',
    symlink: 'Tensor {{tensor}} reads external data from {{location}}, which resolves outside the model directory ({{resolved}}).',
  },
  check: () => undefined,
});

export const onnxExternalDataRangeRule = defineRule<'outOfRange' | 'invalidNumber' | 'shortLength' | 'missing' | 'noLocation', void>({
  id: 'models/onnx-external-data-range',
  title: 'ONNX external data offset or length does not fit the referenced file',
  description:
    'An external-data reference gives an `offset` and `length` into the referenced file. Values that are not numbers, that run ' +
    'past the end of the file, or that are smaller than the tensor needs make readers fail, over-read or allocate what the header ' +
    'claims. A reference to a file that is not there cannot be checked at all.',
  severity: 'high',
  confidence: 'high',
  tags: ['cwe:125', 'cwe:20', 'format:onnx'],
  remediation: 'Re-export the model so that every external tensor lies inside its data file, and ship the data files with the model.',
  messages: {
    outOfRange: 'Tensor {{tensor}} reads bytes {{start}}–{{end}} of {{location}}, which has only {{size}} bytes.',
    invalidNumber: 'Tensor {{tensor}} has external-data {{key}} "{{value}}", which is not a non-negative integer.',
    shortLength: 'Tensor {{tensor}} reads {{length}} bytes from {{location}} but its shape and type need {{expected}}.',
    missing: 'Tensor {{tensor}} reads external data from {{location}}, which does not exist next to the model; it could not be checked.',
    noLocation: 'Tensor {{tensor}} is marked as external but names no location.',
  },
  check: () => undefined,
});

export const onnxCustomDomainRule = defineRule<'found', void>({
  id: 'models/onnx-custom-domain',
  title: 'ONNX model uses a custom operator domain',
  description:
    'Nodes in a domain other than the standard ONNX ones (and ONNX Runtime\'s own) need a custom operator library — native code — ' +
    'registered by the loader. The model only runs where that library is installed, and the library runs with the process\'s rights.',
  severity: 'medium',
  confidence: 'medium',
  tags: ['cwe:829', 'owasp-ml:ML06', 'format:onnx'],
  remediation: 'Check that the custom op library is one you build or trust and pin it; prefer models made of standard operators.',
  messages: { found: 'Operators in custom domain {{domain}} ({{count}} nodes, e.g. {{example}}) need a custom op library to load.' },
  check: () => undefined,
});

export const onnxMalformedRule = defineRule<'malformed' | 'limit' | 'oversized', void>({
  id: 'models/onnx-malformed',
  title: 'ONNX model could not be fully parsed',
  description:
    'The file is recognised as an ONNX model but its protobuf structure is broken — a length that runs past its message, a ' +
    'truncated field, an invalid wire type — or it exceeds the bounds Custody reads. Parsers differ on broken input; what ' +
    'could not be read cannot be judged, so it is reported rather than passed.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:20', 'format:onnx'],
  remediation: 'Re-export the model; if it loads elsewhere, inspect it with `onnx.checker` and report the file to the Custody maintainers.',
  messages: {
    malformed: 'ONNX protobuf is malformed: {{reason}}.',
    limit: 'ONNX model exceeds a parse bound: {{reason}}; the rest was not checked.',
    oversized: 'ONNX field {{what}} is {{size}} bytes, larger than any real model needs.',
  },
  check: () => undefined,
});

// ------------------------------------------------------------------------------------------ detection

export { sniffOnnx } from '../protobuf/sniff.js';

// ------------------------------------------------------------------------------------------ analysis

export interface OnnxExternalRef {
  tensor: string;
  /** Where the tensor sits: `graph`, `graph/If:branch.then_branch`, `function local.Fn`. */
  where: string;
  location: string | undefined;
  offset: string | undefined;
  length: string | undefined;
  /** Bytes the tensor needs from its dims and type, when known. */
  expectedBytes: number | undefined;
  tagOffset: number;
}

export interface OnnxProblem {
  kind: 'malformed' | 'limit' | 'oversized';
  reason: string;
  offset: number;
  /** For `oversized`: which field, and its size. */
  what?: string;
  size?: number;
}

export interface OnnxFacts {
  irVersion: number | undefined;
  producer: string | undefined;
  nodes: number;
  graphs: number;
  external: OnnxExternalRef[];
  /** Domain → nodes using it (standard domains excluded). */
  domains: Map<string, { count: number; example: string }>;
  /** Model-local functions, `domain\0name`. */
  functions: Set<string>;
  problems: OnnxProblem[];
  /** Bytes read from the source (structure only). */
  bytesRead: number;
}

export interface OnnxAnalyzeOptions {
  deadline?: number;
  maxDepth?: number;
  /** Nested messages up to this size are read whole; larger ones are walked lazily. */
  inMemoryBytes?: number;
  /** Most external-data references kept; past it the walk records a `limit` problem. */
  maxExternalRefs?: number;
}

/** Operator domains that ship with ONNX and ONNX Runtime. */
const STANDARD_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'ai.onnx.training', 'ai.onnx.preview.training', 'com.microsoft', 'com.microsoft.nchwc', 'com.microsoft.experimental', 'com.ms.internal.nhwc', 'com.microsoft.dml']);

const MAX_NAME_BYTES = 64 * 1024;
const MAX_EXTERNAL_REFS = 100_000;
const MAX_PROTO_BYTES = 2 ** 31 - 1;

/** Bytes per element of each TensorProto.DataType (0.5 for 4-bit types). */
const ELEMENT_BYTES: Readonly<Record<number, number>> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2, 17: 1, 18: 1, 19: 1, 20: 1, 21: 0.5, 22: 0.5, 23: 0.5 };

class OnnxWalker {
  readonly facts: OnnxFacts = { irVersion: undefined, producer: undefined, nodes: 0, graphs: 0, external: [], domains: new Map(), functions: new Set(), problems: [], bytesRead: 0 };
  private readonly nodeDomains: { domain: string; op: string; name: string }[] = [];

  constructor(private readonly maxExternalRefs: number) {}

  async model(msg: ProtoMessage): Promise<void> {
    await msg.forEach(async (field) => {
      const expected = ONNX_MODEL_FIELDS.get(field.number);
      if (expected !== undefined && expected !== field.wireType) this.fail(field, `ModelProto field ${field.number} has wire type ${field.wireType}`);
      switch (field.number) {
        case 1:
          this.facts.irVersion = field.value;
          break;
        case 2:
          this.facts.producer = await this.name(msg, field, 'producer_name');
          break;
        case 7:
          await this.graph(await msg.child(field, 1), 'graph', 1);
          break;
        case 20: {
          const info = await msg.child(field, 1);
          await info.forEach(async (f) => {
            if ((f.number === 1 || f.number === 2) && f.wireType === WIRE.LEN) await this.graph(await info.child(f, 2), f.number === 1 ? 'training_info.initialization' : 'training_info.algorithm', 2);
          });
          break;
        }
        case 25:
          await this.function(await msg.child(field, 1));
          break;
        default:
          break;
      }
    });
    for (const { domain, op, name } of this.nodeDomains) {
      if (STANDARD_DOMAINS.has(domain) || this.facts.functions.has(`${domain}\0${op}`)) continue;
      const entry = this.facts.domains.get(domain);
      if (entry) entry.count += 1;
      else this.facts.domains.set(domain, { count: 1, example: name === '' ? op : `${op} (node "${name}")` });
    }
  }

  private fail(field: ProtoField, reason: string): never {
    throw malformedProto(reason, field.tagOffset);
  }

  private oversized(what: string, size: number, offset: number): void {
    this.facts.problems.push({ kind: 'oversized', reason: `${what} of ${size} bytes`, what, size, offset });
  }

  private async name(msg: ProtoMessage, field: ProtoField, what: string): Promise<string> {
    if (field.wireType !== WIRE.LEN) this.fail(field, `${what} is not a string`);
    if (field.length > MAX_NAME_BYTES) this.oversized(what, field.length, field.tagOffset);
    return msg.string(field, 1024);
  }

  private async graph(msg: ProtoMessage, where: string, depth: number): Promise<void> {
    this.facts.graphs += 1;
    if (msg.size > MAX_PROTO_BYTES) this.oversized(`graph ${where}`, msg.size, msg.start);
    await msg.forEach(async (field) => {
      if (field.wireType !== WIRE.LEN) return;
      switch (field.number) {
        case 1:
          await this.node(await msg.child(field, depth + 1), where, depth + 1);
          break;
        case 5:
          await this.tensor(await msg.child(field, depth + 1), `${where}.initializer`);
          break;
        case 15:
          await this.sparseTensor(await msg.child(field, depth + 1), `${where}.sparse_initializer`, depth + 1);
          break;
        default:
          break;
      }
    });
  }

  private async node(msg: ProtoMessage, where: string, depth: number): Promise<void> {
    this.facts.nodes += 1;
    let op = '';
    let domain = '';
    let name = '';
    const attributes: ProtoField[] = [];
    await msg.forEach(async (field) => {
      switch (field.number) {
        case 3:
          name = await this.name(msg, field, 'node name');
          break;
        case 4:
          op = await this.name(msg, field, 'op_type');
          break;
        case 7:
          domain = await this.name(msg, field, 'domain');
          break;
        case 5:
          if (field.wireType !== WIRE.LEN) this.fail(field, 'attribute is not a message');
          attributes.push(field);
          break;
        default:
          break;
      }
    });
    this.nodeDomains.push({ domain, op, name });
    const label = `${where}/${op}${name === '' ? '' : `:${name}`}`;
    for (const field of attributes) await this.attribute(await msg.child(field, depth + 1), label, depth + 1);
  }

  private async attribute(msg: ProtoMessage, where: string, depth: number): Promise<void> {
    let attrName = '';
    await msg.forEach(async (field) => {
      if (field.wireType !== WIRE.LEN) return;
      const at = `${where}.${attrName || '?'}`;
      switch (field.number) {
        case 1:
          attrName = await this.name(msg, field, 'attribute name');
          break;
        case 5:
        case 10:
          await this.tensor(await msg.child(field, depth + 1), at);
          break;
        case 6:
        case 11:
          await this.graph(await msg.child(field, depth + 1), at, depth + 1);
          break;
        case 22:
        case 23:
          await this.sparseTensor(await msg.child(field, depth + 1), at, depth + 1);
          break;
        default:
          break;
      }
    });
  }

  private async sparseTensor(msg: ProtoMessage, where: string, depth: number): Promise<void> {
    await msg.forEach(async (field) => {
      if ((field.number === 1 || field.number === 2) && field.wireType === WIRE.LEN) await this.tensor(await msg.child(field, depth + 1), where);
    });
  }

  private async tensor(msg: ProtoMessage, where: string): Promise<void> {
    let name = '';
    let external = false;
    let dataType: number | undefined;
    const dims: number[] = [];
    // Every value of a repeated key counts: onnx and onnxruntime keep the last, other readers the first.
    const entries = new Map<string, string[]>();
    let tagOffset = msg.start;
    await msg.forEach(async (field) => {
      switch (field.number) {
        case 1:
          for (const d of await msg.varints(field)) dims.push(d);
          break;
        case 2:
          dataType = field.value;
          break;
        case 8:
          name = await this.name(msg, field, 'tensor name');
          break;
        case 13: {
          if (field.wireType !== WIRE.LEN) this.fail(field, 'external_data is not a message');
          tagOffset = field.tagOffset;
          const entry = await msg.child(field, 0);
          let k = '';
          let v = '';
          await entry.forEach(async (f) => {
            if (f.wireType !== WIRE.LEN) return;
            if (f.length > MAX_NAME_BYTES) this.oversized('external_data entry', f.length, f.tagOffset);
            if (f.number === 1) k = await entry.string(f, 256);
            else if (f.number === 2) v = await entry.string(f, 4096);
          });
          const list = entries.get(k);
          if (list === undefined) entries.set(k, [v]);
          else if (list.length < 16) list.push(v);
          break;
        }
        case 14:
          external = external || field.value === 1;
          break;
        default:
          break;
      }
    });
    if (!external && entries.size === 0) return;
    if (this.facts.external.length >= this.maxExternalRefs) {
      // What is not kept is not checked: say so (once) rather than pass it.
      if (!this.facts.problems.some((p) => p.kind === 'limit')) {
        this.facts.problems.push({ kind: 'limit', reason: `more than ${this.maxExternalRefs} external-data tensors`, offset: tagOffset });
      }
      return;
    }
    let expectedBytes: number | undefined;
    const per = dataType === undefined ? undefined : ELEMENT_BYTES[dataType];
    if (per !== undefined && dims.every((d) => d >= 0)) {
      const count = dims.reduce((a, b) => a * b, 1);
      expectedBytes = Number.isSafeInteger(count) ? Math.ceil(count * per) : undefined;
    }
    const locations = entries.get('location') ?? [undefined];
    const offset = entries.get('offset')?.at(-1);
    const length = entries.get('length')?.at(-1);
    for (const location of new Set(locations)) this.facts.external.push({ tensor: name, where, location, offset, length, expectedBytes, tagOffset });
  }

  private async function(msg: ProtoMessage): Promise<void> {
    let name = '';
    let domain = '';
    const nodes: ProtoField[] = [];
    const defaults: ProtoField[] = [];
    await msg.forEach(async (field) => {
      if (field.number === 1) name = await this.name(msg, field, 'function name');
      else if (field.number === 10) domain = await this.name(msg, field, 'function domain');
      else if (field.number === 7 && field.wireType === WIRE.LEN) nodes.push(field);
      else if (field.number === 11 && field.wireType === WIRE.LEN) defaults.push(field);
    });
    this.facts.functions.add(`${domain}\0${name}`);
    for (const field of nodes) await this.node(await msg.child(field, 2), `function ${domain}.${name}`, 2);
    // attribute_proto: default attribute values (tensors and graphs) used when a call omits them.
    for (const field of defaults) await this.attribute(await msg.child(field, 2), `function ${domain}.${name}.default`, 2);
  }
}

/** Walks an ONNX model's structure. Never throws: broken input becomes `problems`. */
export async function analyzeOnnx(source: ByteSource, options: OnnxAnalyzeOptions = {}): Promise<OnnxFacts> {
  const limits = { maxDepth: options.maxDepth ?? 64, ...(options.deadline === undefined ? {} : { deadline: options.deadline }) };
  const { root, reader } = ProtoMessage.fromSource(source, limits, options.inMemoryBytes === undefined ? {} : { inMemoryBytes: options.inMemoryBytes });
  const walker = new OnnxWalker(options.maxExternalRefs ?? MAX_EXTERNAL_REFS);
  try {
    await walker.model(root);
  } catch (error) {
    walker.facts.problems.push(describeProtoError(error));
  }
  walker.facts.bytesRead = reader.bytesRead;
  return walker.facts;
}

// ------------------------------------------------------------------------------------------ external data

type Escape = 'absolute' | 'traversal' | 'notPath';

/** Lexical checks on an external-data location (no file system access). */
export function classifyLocation(location: string): Escape | undefined {
  if (location.includes('\0') || /^[a-z][a-z0-9+.-]*:\/\//i.test(location) || location.startsWith('~')) return 'notPath';
  if (location.startsWith('/') || location.startsWith('\\') || /^[A-Za-z]:/.test(location) || isAbsolute(location)) return 'absolute';
  if (location.split(/[\\/]+/).includes('..') && escapesLexically(location)) return 'traversal';
  return undefined;
}

/** True when a relative path with `..` climbs above its start at some point. */
function escapesLexically(location: string): boolean {
  let level = 0;
  for (const part of location.split(/[\\/]+/)) {
    if (part === '..') level -= 1;
    else if (part !== '.' && part !== '') level += 1;
    if (level < 0) return true;
  }
  return false;
}

const NUMBER = /^\d{1,19}$/;
const MAX_RANGE_REPORTS = 50;

async function checkExternal(facts: OnnxFacts, target: ScanTarget, context: ScanContext): Promise<void> {
  const escape = context.reporter(onnxExternalDataEscapeRule, target);
  const range = context.reporter(onnxExternalDataRangeRule, target);
  const onDisk = target.absPath !== undefined && target.depth === 0 ? dirname(target.absPath) : undefined;
  const files = new Map<string, { size: number } | { error: 'missing' } | { escape: string }>();
  const reportedLocations = new Set<string>();
  let rangeReports = 0;
  const rangeReport = (input: Parameters<typeof range>[0]): void => {
    if (rangeReports++ < MAX_RANGE_REPORTS) range(input);
  };

  let realDir: string | undefined;
  if (onDisk !== undefined) {
    try {
      realDir = await realpath(onDisk);
    } catch {
      realDir = undefined;
    }
  }

  for (const ref of facts.external) {
    const tensor = JSON.stringify(clip(ref.tensor || '(unnamed)', 80));
    if (ref.location === undefined || ref.location === '') {
      rangeReport({ message: 'noLocation', data: { tensor }, offset: ref.tagOffset, evidence: `${ref.where}: ${tensor}`, key: `${ref.where}\0${ref.tensor}` });
      continue;
    }
    const location = clip(ref.location, 200);
    const shown = JSON.stringify(location);
    const lexical = classifyLocation(ref.location);
    if (lexical !== undefined) {
      if (!reportedLocations.has(ref.location)) {
        reportedLocations.add(ref.location);
        escape({ message: lexical, data: { tensor, location: shown }, offset: ref.tagOffset, evidence: `${ref.where}: ${tensor} → ${shown}`, key: ref.location });
      }
      continue;
    }
    for (const key of ['offset', 'length'] as const) {
      const value = ref[key];
      if (value !== undefined && !NUMBER.test(value.trim())) {
        rangeReport({ message: 'invalidNumber', data: { tensor, key, value: clip(value, 40) }, offset: ref.tagOffset, evidence: `${ref.where}: ${tensor} ${key}=${clip(value, 40)}`, key: `${ref.tensor}\0${key}` });
      }
    }
    if (onDisk === undefined || realDir === undefined) continue;
    let file = files.get(ref.location);
    if (file === undefined) {
      if (Date.now() > context.deadline) {
        // Lexical checks go on for every reference (they are cheap); looking at files on disk stops here.
        context.reporter(onnxMalformedRule, target)({ message: 'limit', data: { reason: 'the time budget ran out while checking external-data files on disk' }, key: 'external-timeout' });
        realDir = undefined;
        continue;
      }
      file = await inspectFile(realDir, resolve(onDisk, ref.location));
      files.set(ref.location, file);
    }
    if ('escape' in file) {
      if (!reportedLocations.has(ref.location)) {
        reportedLocations.add(ref.location);
        escape({ message: 'symlink', data: { tensor, location: shown, resolved: JSON.stringify(clip(file.escape, 200)) }, offset: ref.tagOffset, evidence: `${ref.where}: ${tensor} → ${shown} → ${file.escape}`, key: ref.location });
      }
      continue;
    }
    if ('error' in file) {
      if (!reportedLocations.has(ref.location)) {
        reportedLocations.add(ref.location);
        rangeReport({ message: 'missing', data: { tensor, location: shown }, severity: 'medium', offset: ref.tagOffset, evidence: `${ref.where}: ${tensor} → ${shown}`, key: `${ref.location}\0missing` });
      }
      continue;
    }
    const offset = ref.offset !== undefined && NUMBER.test(ref.offset.trim()) ? Number(ref.offset.trim()) : ref.offset === undefined ? 0 : undefined;
    const lengthText = ref.length?.trim();
    const length = lengthText !== undefined && NUMBER.test(lengthText) ? Number(lengthText) : undefined;
    if (offset === undefined || (lengthText !== undefined && length === undefined)) continue;
    const want = length ?? ref.expectedBytes ?? 0;
    if (offset > file.size || offset + want > file.size) {
      rangeReport({
        message: 'outOfRange',
        data: { tensor, location: shown, start: offset, end: offset + want, size: file.size },
        offset: ref.tagOffset,
        evidence: `${ref.where}: ${tensor} → ${shown} [${offset}, ${offset + want}) of ${file.size} bytes`,
        key: `${ref.tensor}\0range`,
      });
    } else if (length !== undefined && ref.expectedBytes !== undefined && length < ref.expectedBytes) {
      rangeReport({
        message: 'shortLength',
        data: { tensor, location: shown, length, expected: ref.expectedBytes },
        severity: 'medium',
        offset: ref.tagOffset,
        evidence: `${ref.where}: ${tensor} length ${length} < ${ref.expectedBytes}`,
        key: `${ref.tensor}\0short`,
      });
    }
  }
}

async function inspectFile(realDir: string, path: string): Promise<{ size: number } | { error: 'missing' } | { escape: string }> {
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    return { error: 'missing' };
  }
  if (real !== realDir && !real.startsWith(realDir + sep)) return { escape: real };
  try {
    const info = await stat(real);
    if (!info.isFile()) return { error: 'missing' };
    return { size: info.size };
  } catch {
    return { error: 'missing' };
  }
}

// ------------------------------------------------------------------------------------------ format

/**
 * Reports what `analyzeOnnx` found. `problems: false` leaves parse problems out — used when the file
 * was also read as another protobuf format that parsed (see protobuf/sniff.ts).
 */
export async function reportOnnx(facts: OnnxFacts, target: ScanTarget, context: ScanContext, options: { problems: boolean } = { problems: true }): Promise<void> {
  if (options.problems) {
    const malformed = context.reporter(onnxMalformedRule, target);
    for (const problem of facts.problems) {
      if (problem.kind === 'oversized') {
        malformed({ message: 'oversized', data: { what: problem.what ?? 'field', size: problem.size ?? 0 }, offset: problem.offset, key: `oversized\0${problem.offset}` });
      } else {
        malformed({ message: problem.kind, data: { reason: problem.reason }, offset: problem.offset, evidence: problem.reason, key: problem.kind });
      }
    }
    if (target.source.size > MAX_PROTO_BYTES) {
      malformed({ message: 'oversized', data: { what: 'ModelProto', size: target.source.size }, key: 'model-size' });
    }
  }
  await checkExternal(facts, target, context);
  const domains = context.reporter(onnxCustomDomainRule, target);
  for (const [domain, { count, example }] of facts.domains) {
    domains({ message: 'found', data: { domain: JSON.stringify(clip(domain, 80)), count, example: clip(example, 80) }, evidence: `domain ${clip(domain, 80)}: ${clip(example, 80)}`, key: domain });
  }
}

export const onnxFormat: ModelFormat = {
  name: 'onnx',
  rules: [onnxCustomDomainRule, onnxExternalDataEscapeRule, onnxExternalDataRangeRule, onnxMalformedRule],
  // Files that could also be TensorFlow protobufs are read both ways by the tf-saved-model format.
  detect: (target) => {
    const kinds = sniffProtobufModel(target.head, target.source.size);
    return kinds.onnx !== undefined && kinds.tf.length === 0;
  },
  scan: async (target, context) => {
    try {
      await reportOnnx(await analyzeOnnx(target.source, { deadline: context.deadline }), target, context);
    } catch (error) {
      context.reporter(onnxMalformedRule, target)({ message: 'malformed', data: { reason: `unexpected: ${clip(String(error), 160)}` }, key: 'unexpected' });
    }
  },
};
