import type { ByteSource } from '../../../core/byte-source.js';
import { clip } from '../../../core/redact.js';
import { defineRule, type Report } from '../../../core/rule.js';
import type { ScanContext, ScanTarget } from '../../../core/scanner.js';
import { severityRank } from '../../../core/severity.js';
import type { ModelFormat } from '../format.js';
import { analyzeKerasConfig, classifyTfNode, kerasRules, reportKerasIssues, TF_ATTRS_OF_INTEREST, TF_CHECKPOINT_OPS, type KerasIssue, type TfOpCategory, type TfOpInfo } from '../keras/index.js';
import { ProtoMessage, WIRE, describeProtoError, malformedProto, type ProtoField } from '../protobuf/index.js';
import { sniffProtobufModel, type TfKind } from '../protobuf/sniff.js';
import { analyzeOnnx, onnxFormat, reportOnnx } from './onnx.js';

/**
 * TensorFlow SavedModel (`saved_model.pb`), frozen GraphDef (`.pb`) and tf.keras `keras_metadata.pb`,
 * recognised by content. The main graph of every meta graph and every function of the library are
 * walked; call edges (a node whose op is a library function, `PartitionedCall`/`StatefulPartitionedCall`
 * `f`, `If`/`While`/`Case` branches and any other function-valued attribute) are followed, so an op
 * hidden in a function called from a function is reported with the path that reaches it. Keras
 * configs stored in the object graph (or keras_metadata.pb) go through the Keras config walker.
 * Tensor constants are skipped without being read.
 */

// ------------------------------------------------------------------------------------------ rules

type OpMessages = 'found';

function opRule(id: `models/${string}`, title: string, description: string, severity: 'critical' | 'high', tags: readonly `${string}:${string}`[], remediation: string) {
  return defineRule<OpMessages, void>({
    id,
    title,
    description,
    severity,
    confidence: 'high',
    tags,
    remediation,
    messages: { found: '{{op}} {{reason}}, reached by {{path}}.' },
    check: () => undefined,
  });
}

export const tfFileWriteRule = opRule(
  'models/tf-file-write',
  'TensorFlow graph writes files',
  'The graph (or a function in its library) contains ops that write files at paths the graph chooses — `WriteFile`, `Save`/`SaveV2`, ' +
    'summary writers, `PrintV2` to a file, debug dumps. Running the model can overwrite startup scripts, keys or code.',
  'critical',
  ['cwe:73', 'cwe:502', 'owasp-ml:ML06', 'format:tensorflow'],
  'Do not serve this model. Re-export it from reviewed code without file-writing ops; load untrusted SavedModels only in a sandbox.',
);

export const tfPythonOpRule = opRule(
  'models/tf-python-op',
  'TensorFlow graph calls Python',
  '`PyFunc`, `PyFuncStateless` and `EagerPyFunc` call back into Python functions registered in the loading process, and ' +
    '`load_op_library` style hooks load native code. A model that needs them runs code outside the graph.',
  'critical',
  ['cwe:94', 'cwe:502', 'owasp-ml:ML06', 'format:tensorflow'],
  'Do not load this model; rebuild it without py_function/numpy_function so that the graph is self-contained.',
);

export const tfFileReadRule = opRule(
  'models/tf-file-read',
  'TensorFlow graph reads files',
  'The graph contains ops that read files or list directories at paths the graph chooses — `ReadFile`, `MatchingFiles`, ' +
    '`ImmutableConst` with a memory-mapped path, dataset and reader ops, `Restore*` — or an asset path that leaves the model ' +
    'directory. Model outputs can then leak the contents of files on the serving host.',
  'high',
  ['cwe:22', 'cwe:200', 'owasp-ml:ML06', 'format:tensorflow'],
  'Check why the model reads files; re-export it so that it reads only its own assets and variables.',
);

export const tfSystemOpRule = opRule(
  'models/tf-system-op',
  'TensorFlow graph reaches the network or the process',
  'The graph contains ops that open network connections (RPC ops, tf.data service, debug URLs, remote storage configuration) or ' +
    'abort the process. A served model should compute on its inputs, not talk to other hosts.',
  'high',
  ['cwe:918', 'owasp-ml:ML06', 'format:tensorflow'],
  'Check why the model talks to the network; re-export it without these ops.',
);

export const tfMalformedRule = defineRule<'malformed' | 'limit', void>({
  id: 'models/tf-malformed',
  title: 'TensorFlow model could not be fully parsed',
  description:
    'The file is recognised as a SavedModel, GraphDef or Keras metadata protobuf, but its structure is broken (lengths past the ' +
    'end of a message, truncated fields, invalid wire types) or it exceeds the bounds Custody reads. What could not be read cannot ' +
    'be judged, so it is reported rather than passed.',
  severity: 'high',
  confidence: 'medium',
  tags: ['cwe:20', 'format:tensorflow'],
  remediation: 'Re-export the model; if it loads in TensorFlow, report the file to the Custody maintainers.',
  messages: {
    malformed: 'TensorFlow protobuf is malformed: {{reason}}.',
    limit: 'TensorFlow model exceeds a parse bound: {{reason}}; the rest was not checked.',
  },
  check: () => undefined,
});

const RULE_BY_CATEGORY: Readonly<Record<TfOpCategory, typeof tfFileWriteRule>> = {
  python: tfPythonOpRule,
  'file-write': tfFileWriteRule,
  'file-read': tfFileReadRule,
  network: tfSystemOpRule,
  process: tfSystemOpRule,
};

// ------------------------------------------------------------------------------------------ detection

export { sniffTf, type TfKind } from '../protobuf/sniff.js';

// ------------------------------------------------------------------------------------------ analysis

export interface TfOpHit {
  op: string;
  node: string;
  info: TfOpInfo & { detail?: string };
  offset: number;
}

interface FunctionInfo {
  name: string;
  /** Function names referenced by attributes (f, then_branch, body…). */
  calls: Set<string>;
  /** Ops used by nodes (some may be library functions). */
  ops: Set<string>;
  hits: TfOpHit[];
  /** A main graph (of a meta graph or GraphDef), not a library function. */
  root: boolean;
}

export interface TfHitWithPath extends TfOpHit {
  /** `(graph) → serving_default → inner_fn`. */
  path: string[];
}

export interface TfFacts {
  kind: TfKind;
  hits: TfHitWithPath[];
  functions: number;
  nodes: number;
  keras: KerasIssue[];
  assets: { filename: string; offset: number }[];
  problems: { kind: 'malformed' | 'limit'; reason: string; offset: number }[];
  bytesRead: number;
}

export interface TfAnalyzeOptions {
  deadline?: number;
  inMemoryBytes?: number;
}

const MAX_METADATA_BYTES = 64 * 1024 * 1024;
/** TF1 `tf.train.Saver` scope in a main graph: `save/SaveV2`, `save_1/RestoreV2`. */
const SAVER_SCOPE = /^save(_\d+)?\//;
/** TF2 SavedModel checkpoint functions, called by the loader with the variables path. */
const TRACED_CHECKPOINT_FUNCTION = /^__inference__traced_(save|restore)_\d+$/;
const MAX_STRING_ATTR = 4096;

class TfWalker {
  readonly functions = new Map<string, FunctionInfo>();
  readonly graphs: FunctionInfo[] = [];
  readonly keras: KerasIssue[] = [];
  readonly assets: { filename: string; offset: number }[] = [];
  nodes = 0;

  async savedModel(msg: ProtoMessage): Promise<void> {
    let index = 0;
    await msg.forEach(async (field) => {
      if (field.number === 2) {
        expectLen(field, 'meta_graphs');
        await this.metaGraph(await msg.child(field, 1), index);
        index += 1;
      }
    });
  }

  private async metaGraph(msg: ProtoMessage, index: number): Promise<void> {
    const label = index === 0 ? '(graph)' : `(meta graph ${index + 1})`;
    await msg.forEach(async (field) => {
      switch (field.number) {
        case 2:
          expectLen(field, 'graph_def');
          await this.graphDef(await msg.child(field, 2), label);
          break;
        case 6: {
          expectLen(field, 'asset_file_def');
          const asset = await msg.child(field, 2);
          await asset.forEach(async (f) => {
            if (f.number === 2 && f.wireType === WIRE.LEN) this.assets.push({ filename: await asset.string(f, MAX_STRING_ATTR), offset: f.tagOffset });
          });
          break;
        }
        case 7:
          expectLen(field, 'object_graph_def');
          await this.objectGraph(await msg.child(field, 2));
          break;
        default:
          break;
      }
    });
  }

  async graphDef(msg: ProtoMessage, label: string): Promise<void> {
    const graph: FunctionInfo = { name: label, calls: new Set(), ops: new Set(), hits: [], root: true };
    this.graphs.push(graph);
    await msg.forEach(async (field) => {
      if (field.number === 1) {
        expectLen(field, 'node');
        await this.node(await msg.child(field, 4), graph, 4);
      } else if (field.number === 2) {
        expectLen(field, 'library');
        const library = await msg.child(field, 3);
        await library.forEach(async (f) => {
          if (f.number === 1) {
            expectLen(f, 'function');
            await this.function(await library.child(f, 4));
          }
        });
      }
    });
  }

  private async function(msg: ProtoMessage): Promise<void> {
    let name = '';
    const nodes: ProtoField[] = [];
    await msg.forEach(async (field) => {
      if (field.number === 1) {
        expectLen(field, 'signature');
        const signature = await msg.child(field, 5);
        await signature.forEach(async (f) => {
          if (f.number === 1 && f.wireType === WIRE.LEN) name = await signature.string(f, 1024);
        });
      } else if (field.number === 3) {
        expectLen(field, 'node_def');
        nodes.push(field);
      }
    });
    const info: FunctionInfo = this.functions.get(name) ?? { name, calls: new Set(), ops: new Set(), hits: [], root: false };
    this.functions.set(name, info);
    for (const field of nodes) await this.node(await msg.child(field, 5), info, 5);
  }

  private async node(msg: ProtoMessage, owner: FunctionInfo, depth: number): Promise<void> {
    this.nodes += 1;
    let name = '';
    let op = '';
    const attrs = new Map<string, string[]>();
    await msg.forEach(async (field) => {
      switch (field.number) {
        case 1:
          expectLen(field, 'node name');
          name = await msg.string(field, 1024);
          break;
        case 2:
          expectLen(field, 'op');
          op = await msg.string(field, 1024);
          break;
        case 5: {
          expectLen(field, 'attr');
          // A map entry's key may come after its value (protobuf accepts any field order): read the
          // key first, then the values.
          const entry = await msg.child(field, depth + 1);
          let key = '';
          const values: ProtoField[] = [];
          await entry.forEach(async (f) => {
            if (f.wireType !== WIRE.LEN) return;
            if (f.number === 1) key = await entry.string(f, 256);
            else if (f.number === 2) values.push(f);
          });
          for (const f of values) await this.attrValue(await entry.child(f, depth + 2), key, attrs, owner, depth + 2);
          break;
        }
        default:
          break;
      }
    });
    if (op !== '') owner.ops.add(op);
    const info = classifyTfNode(op, attrs);
    if (info) owner.hits.push({ op, node: name, info, offset: msg.start });
  }

  /** Reads the parts of an AttrValue that matter: function references and interesting strings. */
  private async attrValue(msg: ProtoMessage, key: string, attrs: Map<string, string[]>, owner: FunctionInfo, depth: number): Promise<void> {
    const interesting = TF_ATTRS_OF_INTEREST.has(key);
    const push = (value: string): void => {
      const list = attrs.get(key);
      if (list) list.push(value);
      else attrs.set(key, [value]);
    };
    await msg.forEach(async (field) => {
      if (field.wireType !== WIRE.LEN) return;
      if (field.number === 2 && interesting) push(await msg.string(field, MAX_STRING_ATTR));
      else if (field.number === 10) await this.nameAttrList(await msg.child(field, depth + 1), owner, depth + 1);
      else if (field.number === 1) {
        const list = await msg.child(field, depth + 1);
        await list.forEach(async (f) => {
          if (f.wireType !== WIRE.LEN) return;
          if (f.number === 2 && interesting) push(await list.string(f, MAX_STRING_ATTR));
          else if (f.number === 9) await this.nameAttrList(await list.child(f, depth + 2), owner, depth + 2);
        });
      }
    });
  }

  private async nameAttrList(msg: ProtoMessage, owner: FunctionInfo, depth: number): Promise<void> {
    await msg.forEach(async (field) => {
      if (field.wireType !== WIRE.LEN) return;
      if (field.number === 1) owner.calls.add(await msg.string(field, 1024));
      else if (field.number === 2) {
        // Nested attrs of a function reference may name further functions.
        const entry = await msg.child(field, depth + 1);
        await entry.forEach(async (f) => {
          if (f.number === 2 && f.wireType === WIRE.LEN) await this.attrValue(await entry.child(f, depth + 2), '', new Map(), owner, depth + 2);
        });
      }
    });
  }

  private async objectGraph(msg: ProtoMessage): Promise<void> {
    let index = 0;
    await msg.forEach(async (field) => {
      if (field.number !== 1) return;
      expectLen(field, 'nodes');
      const node = index;
      index += 1;
      const object = await msg.child(field, 3);
      await object.forEach(async (f) => {
        if (f.number !== 4 || f.wireType !== WIRE.LEN) return;
        const user = await object.child(f, 4);
        await user.forEach(async (u) => {
          if (u.number === 3 && u.wireType === WIRE.LEN) await this.kerasMetadata(user, u, `object_graph.nodes[${node}].metadata`);
        });
      });
    });
  }

  async kerasMetadataFile(msg: ProtoMessage): Promise<void> {
    let index = 0;
    await msg.forEach(async (field) => {
      if (field.number !== 1) return;
      expectLen(field, 'nodes');
      const node = index;
      index += 1;
      const object = await msg.child(field, 1);
      let path = `nodes[${node}]`;
      await object.forEach(async (f) => {
        if (f.wireType !== WIRE.LEN) return;
        if (f.number === 3) path = await object.string(f, 256);
        else if (f.number === 5) await this.kerasMetadata(object, f, `${path}.metadata`);
      });
    });
  }

  private async kerasMetadata(msg: ProtoMessage, field: ProtoField, where: string): Promise<void> {
    if (field.length === 0) return;
    if (field.length > MAX_METADATA_BYTES) {
      this.keras.push({ kind: 'malformed', severity: 'high', path: where, subject: 'metadata', reason: `${field.length} bytes of Keras metadata exceed the ${MAX_METADATA_BYTES}-byte limit` });
      return;
    }
    const text = (await msg.bytes(field, MAX_METADATA_BYTES)).toString('utf8');
    if (!text.trimStart().startsWith('{')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      this.keras.push({ kind: 'malformed', severity: 'high', path: where, subject: 'metadata', reason: `not valid JSON: ${clip((error as Error).message, 100)}` });
      return;
    }
    for (const issue of analyzeKerasConfig(parsed)) this.keras.push({ ...issue, path: issue.path === '' ? where : `${where}:${issue.path}` });
  }

  /** Every hit with the shortest call path from a main graph (or an uncalled function) to it. */
  resolveHits(): TfHitWithPath[] {
    const all = [...this.graphs, ...this.functions.values()];
    // Library functions each graph or function calls: by attribute, or by using the function as an op.
    const calleesOf = new Map<FunctionInfo, string[]>();
    for (const fn of all) {
      const out = new Set<string>([...fn.calls, ...fn.ops]);
      out.delete(fn.name);
      calleesOf.set(fn, [...out].filter((name) => this.functions.has(name)));
    }
    const callees = (fn: FunctionInfo): string[] => calleesOf.get(fn) ?? [];
    const called = new Set<string>();
    for (const fn of all) for (const name of callees(fn)) called.add(name);
    const roots = [...this.graphs, ...[...this.functions.values()].filter((fn) => !called.has(fn.name))];
    const parent = new Map<FunctionInfo, FunctionInfo | undefined>();
    const queue: FunctionInfo[] = [];
    for (const root of roots) {
      parent.set(root, undefined);
      queue.push(root);
    }
    for (let i = 0; i < queue.length; i += 1) {
      const fn = queue[i] as FunctionInfo;
      for (const name of callees(fn)) {
        const next = this.functions.get(name) as FunctionInfo;
        if (parent.has(next)) continue;
        parent.set(next, fn);
        queue.push(next);
      }
    }
    const pathTo = (fn: FunctionInfo): string[] => {
      const path: string[] = [];
      const seen = new Set<FunctionInfo>();
      for (let at: FunctionInfo | undefined = fn; at !== undefined && !seen.has(at); at = parent.get(at)) {
        seen.add(at);
        path.unshift(at.name);
      }
      return path;
    };
    // Checkpoint ops are expected in the checkpoint machinery: the TF1 saver scope of a main graph, and
    // TF2's traced save/restore functions called from the main graph only. Elsewhere they are reported.
    const calledByFunctions = new Set<string>();
    for (const fn of this.functions.values()) for (const name of callees(fn)) calledByFunctions.add(name);
    const isCheckpointMachinery = (fn: FunctionInfo, hit: TfOpHit): boolean => {
      if (!TF_CHECKPOINT_OPS.has(hit.op)) return false;
      if (fn.root) return SAVER_SCOPE.test(hit.node);
      return TRACED_CHECKPOINT_FUNCTION.test(fn.name) && !calledByFunctions.has(fn.name);
    };
    const hits: TfHitWithPath[] = [];
    for (const fn of all) {
      for (const hit of fn.hits) if (!isCheckpointMachinery(fn, hit)) hits.push({ ...hit, path: pathTo(fn) });
    }
    return hits;
  }
}

function expectLen(field: ProtoField, what: string): void {
  if (field.wireType !== WIRE.LEN) throw malformedProto(`${what} (field ${field.number}) has wire type ${field.wireType}, expected a message`, field.tagOffset);
}

/** Walks a TF protobuf of the given kind. Never throws: broken input becomes `problems`. */
export async function analyzeTf(source: ByteSource, kind: TfKind, options: TfAnalyzeOptions = {}): Promise<TfFacts> {
  const limits = { maxDepth: 64, ...(options.deadline === undefined ? {} : { deadline: options.deadline }) };
  const { root, reader } = ProtoMessage.fromSource(source, limits, options.inMemoryBytes === undefined ? {} : { inMemoryBytes: options.inMemoryBytes });
  const walker = new TfWalker();
  const problems: TfFacts['problems'] = [];
  try {
    if (kind === 'saved-model') await walker.savedModel(root);
    else if (kind === 'graph-def') await walker.graphDef(root, '(graph)');
    else await walker.kerasMetadataFile(root);
  } catch (error) {
    problems.push(describeProtoError(error));
  }
  return {
    kind,
    hits: walker.resolveHits(),
    functions: walker.functions.size,
    nodes: walker.nodes,
    keras: dedupeKeras(walker.keras),
    assets: walker.assets,
    problems,
    bytesRead: reader.bytesRead,
  };
}

/** The same layer appears in the model's config and in its own node's metadata: report it once. */
function dedupeKeras(issues: KerasIssue[]): KerasIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.kind}\0${issue.subject}\0${issue.layer ?? ''}\0${issue.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ------------------------------------------------------------------------------------------ format

/** Most findings per op rule; the most severe hits are reported first, so a flood of medium ones cannot hide a critical one. */
const MAX_HIT_REPORTS = 200;

function assetEscapes(filename: string): boolean {
  return filename.startsWith('/') || filename.startsWith('\\') || /^[A-Za-z]:/.test(filename) || filename.includes('\0') || filename.split(/[\\/]+/).includes('..');
}

function reportTf(facts: TfFacts, target: ScanTarget, context: ScanContext, options: { problems: boolean }): void {
  const reporters = new Map<typeof tfFileWriteRule, Report<OpMessages>>();
  const reporterFor = (rule: typeof tfFileWriteRule): Report<OpMessages> => {
    let report = reporters.get(rule);
    if (report === undefined) {
      report = context.reporter(rule, target);
      reporters.set(rule, report);
    }
    return report;
  };
  const reported = new Map<typeof tfFileWriteRule, number>();
  const bySeverity = [...facts.hits].sort((a, b) => severityRank(b.info.severity) - severityRank(a.info.severity));
  for (const hit of bySeverity) {
    const rule = RULE_BY_CATEGORY[hit.info.category];
    const count = reported.get(rule) ?? 0;
    if (count >= MAX_HIT_REPORTS) continue;
    reported.set(rule, count + 1);
    const chain = [...hit.path, `${hit.op} (node "${clip(hit.node, 60)}")`].map((p) => clip(p, 80)).join(' → ');
    const detail = hit.info.detail === undefined ? '' : ` [${clip(hit.info.detail, 100)}]`;
    reporterFor(rule)({
      message: 'found',
      data: { op: hit.op, reason: hit.info.reason, path: hit.path.map((p) => clip(p, 60)).join(' → ') },
      severity: hit.info.severity,
      offset: hit.offset,
      evidence: `${chain}${detail}`,
      key: `${hit.path.at(-1) ?? ''}\0${hit.node}\0${hit.op}`,
      properties: { op: hit.op, node: hit.node, callPath: hit.path },
    });
  }
  const read = reporterFor(tfFileReadRule);
  for (const asset of facts.assets) {
    if (!assetEscapes(asset.filename)) continue;
    read({
      message: 'found',
      data: { op: 'Asset', reason: `names the file ${JSON.stringify(clip(asset.filename, 100))} outside the assets directory`, path: 'asset_file_def' },
      offset: asset.offset,
      evidence: `asset_file_def filename ${JSON.stringify(clip(asset.filename, 200))}`,
      key: `asset\0${asset.filename}`,
    });
  }
  reportKerasIssues(facts.keras, target, context);
  if (!options.problems) return;
  const malformed = context.reporter(tfMalformedRule, target);
  for (const problem of facts.problems) {
    malformed({ message: problem.kind, data: { reason: problem.reason }, offset: problem.offset, evidence: problem.reason, key: problem.kind });
  }
}

/**
 * Reads the file as every protobuf model format its first fields fit (see protobuf/sniff.ts) and
 * reports what each reading finds. Parse problems are reported only when no reading parsed cleanly,
 * through the first reading's rule: a file that is valid as one format is not malformed.
 */
async function scanProtobufModel(target: ScanTarget, context: ScanContext): Promise<void> {
  const kinds = sniffProtobufModel(target.head, target.source.size);
  const tf: TfFacts[] = [];
  for (const kind of kinds.tf) tf.push(await analyzeTf(target.source, kind, { deadline: context.deadline }));
  const onnx = kinds.onnx === undefined ? undefined : await analyzeOnnx(target.source, { deadline: context.deadline });
  // A reading counts as clean when it parsed and found the structure its format needs; the first clean
  // reading (or, when none is, the most likely one) reports its parse problems, the others do not.
  const tfClean = (f: TfFacts): boolean => f.problems.length === 0 && (f.kind === 'keras-metadata' || f.nodes > 0 || f.functions > 0);
  const onnxClean = onnx !== undefined && onnx.graphs > 0 && onnx.problems.every((p) => p.kind === 'oversized');
  const cleanTf = tf.findIndex(tfClean);
  const winner = cleanTf >= 0 ? cleanTf : onnxClean || tf.length === 0 ? 'onnx' : 0;
  tf.forEach((facts, i) => reportTf(facts, target, context, { problems: winner === i }));
  if (onnx !== undefined) await reportOnnx(onnx, target, context, { problems: winner === 'onnx' });
}

export const tfSavedModelFormat: ModelFormat = {
  name: 'tf-saved-model',
  rules: [tfFileReadRule, tfFileWriteRule, tfMalformedRule, tfPythonOpRule, tfSystemOpRule, ...kerasRules, ...onnxFormat.rules],
  detect: (target) => sniffProtobufModel(target.head, target.source.size).tf.length > 0,
  scan: async (target, context) => {
    try {
      await scanProtobufModel(target, context);
    } catch (error) {
      context.reporter(tfMalformedRule, target)({ message: 'malformed', data: { reason: `unexpected: ${clip(String(error), 160)}` }, key: 'unexpected' });
    }
  },
};
