import { classifyGlobal, type AllowConfig, type Verdict } from './classify.js';
import { T_GLOBAL, T_INSTANCE, type CallValue, type GlobalValue, type InstanceValue } from './values.js';

/**
 * What the analysis of one pickle (and the streams it pulls in inline: joblib object arrays) found.
 * The pickle rules read this and report; nothing here is a Finding yet.
 */

/** Behaviour the analyser gives a few names beyond "call it". */
export const SPECIAL = {
  none: 0,
  getattr: 1,
  partial: 2,
  ufuncReconstruct: 3,
  importModule: 4,
  attrgetter: 5,
  loader: 6,
  bytesProducer: 7,
  joblibArray: 8,
  joblibExternal: 9,
  dtype: 10,
  reconstructor: 11,
  bytesIO: 12,
  str: 13,
  resolveName: 14,
  methodcaller: 15,
} as const;

const SPECIAL_BY_NAME = new Map<string, number>([
  ['builtins.getattr', SPECIAL.getattr],
  ['functools.partial', SPECIAL.partial],
  ['numpy.core._ufunc_reconstruct', SPECIAL.ufuncReconstruct],
  ['numpy._core._ufunc_reconstruct', SPECIAL.ufuncReconstruct],
  ['importlib.import_module', SPECIAL.importModule],
  ['builtins.__import__', SPECIAL.importModule],
  ['operator.attrgetter', SPECIAL.attrgetter],
  ['_operator.attrgetter', SPECIAL.attrgetter],
  ['operator.methodcaller', SPECIAL.methodcaller],
  ['_operator.methodcaller', SPECIAL.methodcaller],
  ['pkgutil.resolve_name', SPECIAL.resolveName],
  ['numpy.dtype', SPECIAL.dtype],
  ['copyreg._reconstructor', SPECIAL.reconstructor],
  ['copyreg.__newobj__', SPECIAL.reconstructor],
  ['copyreg.__newobj_ex__', SPECIAL.reconstructor],
  ['io.BytesIO', SPECIAL.bytesIO],
  ['_io.BytesIO', SPECIAL.bytesIO],
  ['builtins.str', SPECIAL.str],
  ...['_codecs.encode', 'codecs.encode', 'builtins.bytes', 'builtins.bytearray', 'base64.b64decode', 'base64.standard_b64decode',
    'base64.urlsafe_b64decode', 'base64.decodebytes', 'base64.decodestring', 'binascii.a2b_base64', 'zlib.decompress',
    'gzip.decompress', 'codecs.decode', '_codecs.decode', 'bytes.fromhex', 'binascii.unhexlify', 'binascii.a2b_hex']
    .map((n): [string, number] => [n, SPECIAL.bytesProducer]),
  ...['joblib.numpy_pickle.NumpyArrayWrapper', 'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper']
    .map((n): [string, number] => [n, SPECIAL.joblibArray]),
  ...['joblib.numpy_pickle_compat.NDArrayWrapper', 'joblib.numpy_pickle_compat.ZNDArrayWrapper', 'joblib.numpy_pickle.NDArrayWrapper',
    'joblib.numpy_pickle.ZNDArrayWrapper', 'sklearn.externals.joblib.numpy_pickle_compat.NDArrayWrapper',
    'sklearn.externals.joblib.numpy_pickle_compat.ZNDArrayWrapper', 'sklearn.externals.joblib.numpy_pickle.NDArrayWrapper',
    'sklearn.externals.joblib.numpy_pickle.ZNDArrayWrapper'].map((n): [string, number] => [n, SPECIAL.joblibExternal]),
  // Loaders whose bytes argument is itself a pickle (or a PyTorch/joblib/numpy file).
  ...['torch.storage._load_from_bytes', 'pickle.loads', '_pickle.loads', 'pickle._loads', 'pickle.load', '_pickle.load',
    'pickle._load', 'pickle.Unpickler', '_pickle.Unpickler', 'pickle._Unpickler', 'dill.loads', 'dill.load', 'dill._dill.loads',
    'dill._dill.load', 'cloudpickle.loads', 'cloudpickle.load', 'cloudpickle.cloudpickle.loads', 'numpy.loads',
    'numpy.core.numeric.loads', 'numpy.load', 'joblib.load', 'joblib.numpy_pickle.load', 'torch.load',
    'torch.serialization.load', 'pandas.read_pickle', 'pandas.io.pickle.read_pickle']
    .map((n): [string, number] => [n, SPECIAL.loader]),
]);

export interface CallEvidence {
  offset: number;
  evidence: string;
  /** The call value, so that a later call of its result can replace this entry with the fuller call. */
  value: CallValue | undefined;
}

export interface ImportRecord {
  readonly key: string;
  /** As Python 3 imports it (after fix_imports renames). */
  readonly module: string;
  /** May be dotted (an attribute walk) or empty (the module object itself). */
  readonly name: string;
  /** The name as written in the pickle, when fix_imports renamed it. */
  readonly written: string | undefined;
  verdict: Verdict | 'computed';
  why: string;
  source: string | undefined;
  confidence: 'high' | 'medium';
  /** A gadget the analyser may prove harmless by resolving every use (see `pushes`/`resolved`). */
  readonly conditional: boolean;
  readonly special: number;
  /** How it was reached: GLOBAL, INST, STACK_GLOBAL, EXT, getattr, import_module… */
  readonly op: string;
  readonly offset: number;
  count: number;
  calls: CallEvidence[];
  callCount: number;
  /** Times the value was put on the stack, and times a use was proven harmless (conditional gadgets). */
  pushes: number;
  resolved: number;
  /** Set when a conditional gadget was used in a way that is dangerous after all (evidence of it). */
  escalated: string | undefined;
  /** Severity other than the dangerous-global rule's default (security tooling: high). */
  severity: 'high' | undefined;
  /** The value GLOBAL pushes, and the one shared instance allowlisted calls of it return. */
  value: GlobalValue;
  instance: InstanceValue;
}

function makeRecord(
  key: string, module: string, name: string, written: string | undefined, verdict: ImportRecord['verdict'], why: string,
  source: string | undefined, confidence: 'high' | 'medium', conditional: boolean, special: number, op: string, offset: number,
): ImportRecord {
  const rec: Omit<ImportRecord, 'value' | 'instance'> & Partial<Pick<ImportRecord, 'value' | 'instance'>> = {
    key, module, name, written, verdict, why, source, confidence, conditional, special, op, offset,
    count: 1, calls: [], callCount: 0, pushes: 0, resolved: 0, escalated: undefined, severity: undefined,
  };
  rec.value = { t: T_GLOBAL, rec: rec as ImportRecord };
  rec.instance = { t: T_INSTANCE, rec: rec as ImportRecord };
  return rec as ImportRecord;
}

export function displayName(rec: Pick<ImportRecord, 'module' | 'name'>): string {
  return rec.name === '' ? rec.module : `${rec.module}.${rec.name}`;
}

export interface OffsetEvent {
  offset: number;
}
export interface ComputedEvent extends OffsetEvent {
  kind: 'stackGlobal' | 'indirectCall';
  evidence: string;
  /** For STACK_GLOBAL: the record calls through the computed name are attached to. */
  rec: ImportRecord | undefined;
}
export interface ExtensionEvent extends OffsetEvent {
  code: number;
  evidence: string;
  rec: ImportRecord;
}
export interface MutationEvent extends OffsetEvent {
  evidence: string;
  target: string;
}
export interface NestedBlob extends OffsetEvent {
  via: string;
  bytes: Buffer;
  evidence: string;
  /** The bytes are a constant of the stream (a slice of it), not computed at load time (zlib, base64…). */
  constant: boolean;
}

/** Nested blobs kept per analysis (pickle.dumps of a large state dict holds one per tensor storage). */
const MAX_NESTED_BLOBS = 100_000;
/** Blobs beyond this many keep no rendered evidence. */
const NESTED_EVIDENCE = 100;
export interface FrameEvent extends OffsetEvent {
  kind: 'span' | 'overlap' | 'trailing' | 'joblib';
  detail: string;
}
export interface JoblibEvent extends OffsetEvent {
  kind: 'unknownSize' | 'externalFile' | 'hiddenPayload';
  detail: string;
}
export interface StreamError extends OffsetEvent {
  kind: 'truncated' | 'invalidOpcode' | 'underflow' | 'badArgument' | 'memo' | 'protocol' | 'noMark';
  detail: string;
  /** Names reached before the error (they ran before the load failed). */
  reached: number;
}
export interface LimitEvent extends OffsetEvent {
  kind: 'opcodes' | 'memo' | 'stack' | 'marks' | 'deadline' | 'depth' | 'streams' | 'shadow' | 'globals' | 'views' | 'derived';
  limit: number;
}
interface TrailingEvent extends OffsetEvent {
  bytes: number;
  /** Pickles found (and analysed) in them. */
  found: number;
}
/**
 * Loaders read the stream differently (see loader-views.ts): `drop` — a C unpickler that fetched a frame
 * with read(n) drops its rest and executes other opcodes than a sequential reading (`reached`: names
 * only that reading imports); `pastEnd` — a FRAME longer than the data, which the C unpickler refuses and
 * the pure-Python one (joblib's) reads on from; `nextStream` — a frame still open at STOP, so a second
 * load from the same file starts at the frame's end.
 */
export interface DivergenceEvent extends OffsetEvent {
  kind: 'drop' | 'pastEnd' | 'nextStream';
  /** Offset of the FRAME opcode. */
  frame: number;
  /** Bytes of the frame left (dropped) at the divergence; for pastEnd, the bytes there are. */
  left: number;
  /** pastEnd: the length the frame declares. */
  declared?: number;
  /** Non-allowlisted names that reading reaches. */
  reached: string[];
}
/** Memory-exhaustion shapes (expansion.ts): a tree walk of the loaded object visiting `count` nodes, or a container holding `count` back-references. */
export interface ExpansionEvent extends OffsetEvent {
  kind: 'walk' | 'cycle';
  count: number;
  /** Opcodes of the stream. */
  opcodes: number;
}
export interface LeftoverEvent extends OffsetEvent {
  items: number;
  marks: number;
}

/** Distinct globals classified one by one per analysis. */
const MAX_RECORDS = 100_000;

export class PickleCollector {
  readonly records = new Map<string, ImportRecord>();
  private overflow: ImportRecord | undefined;
  readonly imports: ImportRecord[] = [];
  readonly computed: ComputedEvent[] = [];
  readonly extensions: ExtensionEvent[] = [];
  readonly mutations: MutationEvent[] = [];
  readonly nested: NestedBlob[] = [];
  private readonly nestedKeys = new Map<string, ArrayBufferLike>();
  readonly frames: FrameEvent[] = [];
  readonly joblib: JoblibEvent[] = [];
  readonly errors: StreamError[] = [];
  readonly limits: LimitEvent[] = [];
  readonly leftovers: LeftoverEvent[] = [];
  readonly trailing: TrailingEvent[] = [];
  readonly divergences: DivergenceEvent[] = [];
  readonly expansions: ExpansionEvent[] = [];
  /**
   * Set while another loader's reading is analysed from a linear copy of its opcodes: maps offsets in
   * that copy back to offsets in the data, for everything recorded meanwhile.
   */
  mapOffset: ((offset: number) => number) | undefined;
  /** Events not kept because a list was full. */
  dropped = 0;
  /** Total opcodes read, across the main stream and inline streams. */
  opcodes = 0;
  /** Opcodes spent reading joblib array bytes as opcodes, and whether that budget ran out. */
  shadowOpcodes = 0;
  shadowExhausted = false;

  constructor(
    readonly allow: AllowConfig,
    readonly maxEvents = 100,
    readonly maxRecords = MAX_RECORDS,
  ) {}

  add<T>(list: T[], event: T): void {
    if (list.length < this.maxEvents) {
      if (this.mapOffset !== undefined) {
        const e = event as Partial<OffsetEvent>;
        if (typeof e.offset === 'number') e.offset = this.mapOffset(e.offset);
      }
      list.push(event);
    } else this.dropped += 1;
  }

  /** An offset as reported: mapped back to the data while another loader's reading is analysed. */
  at(offset: number): number {
    return this.mapOffset === undefined ? offset : this.mapOffset(offset);
  }

  full(list: readonly unknown[]): boolean {
    return list.length >= this.maxEvents;
  }

  /**
   * Keeps a blob passed to a loader; false when it is already kept (the same bytes through a memo
   * reference) or the list is full (counted in `dropped`).
   */
  addNested(blob: Omit<NestedBlob, 'evidence'>, evidence: () => string): 'added' | 'seen' | 'full' {
    const key = `${blob.bytes.byteOffset}:${blob.bytes.length}`;
    if (this.nestedKeys.get(key) === blob.bytes.buffer) return 'seen';
    if (this.nested.length >= MAX_NESTED_BLOBS) {
      this.dropped += 1;
      return 'full';
    }
    this.nestedKeys.set(key, blob.bytes.buffer);
    this.nested.push({ ...blob, offset: this.at(blob.offset), evidence: this.nested.length < NESTED_EVIDENCE ? evidence() : '' });
    return 'added';
  }

  /** The record for a global, created and classified on first sight. */
  record(module: string, name: string, offset: number, op: string): ImportRecord {
    const key = `${module}\n${name}`;
    const existing = this.records.get(key);
    if (existing !== undefined) {
      existing.count += 1;
      return existing;
    }
    if (this.records.size >= this.maxRecords) {
      // Beyond this many distinct names, new ones share one record, classified by the worst case.
      if (this.overflow === undefined) {
        const why = `stands for globals beyond the first ${this.maxRecords} distinct ones, which were not classified one by one`;
        this.overflow = makeRecord('overflow', '<further globals>', '', undefined, 'dangerous', why, undefined, 'medium', false, SPECIAL.none, op, this.at(offset));
        this.imports.push(this.overflow);
        this.add(this.limits, { offset, kind: 'globals', limit: this.maxRecords });
      }
      this.overflow.count += 1;
      return this.overflow;
    }
    const c = classifyGlobal(module, name, this.allow);
    const { module: m, name: n } = c.normalized;
    const written = m !== module || n !== name ? (name === '' ? module : `${module}.${name}`) : undefined;
    const rec = makeRecord(key, m, n, written, c.verdict, c.why, c.source, c.confidence, c.conditional, SPECIAL_BY_NAME.get(n === '' ? m : `${m}.${n}`) ?? SPECIAL.none, op, this.at(offset));
    if (c.severity !== undefined) rec.severity = c.severity;
    this.records.set(key, rec);
    this.imports.push(rec);
    return rec;
  }

  /** A record for a STACK_GLOBAL whose operands are computed at load time (never shared). */
  computedRecord(offset: number, evidence: string): ImportRecord {
    return makeRecord(`computed@${this.at(offset)}`, '?', '?', undefined, 'computed', evidence, undefined, 'high', false, SPECIAL.none, 'STACK_GLOBAL', this.at(offset));
  }

  /** Number of names reached so far that are not plain data. */
  reachedCount(): number {
    let n = 0;
    for (const r of this.imports) if (r.verdict !== 'safe' && r.verdict !== 'allowed') n += 1;
    return n + this.computed.length + this.extensions.length;
  }
}
