import type { Severity } from '../../../core/severity.js';

/**
 * TensorFlow operations and Python API functions that reach beyond tensor maths: files, Python, the
 * network, the process. Shared by the SavedModel/GraphDef scanner (graph ops) and the Keras config
 * walker (`TFOpLambda` layers name TF Python API functions).
 */
export type TfOpCategory = 'python' | 'file-write' | 'file-read' | 'network' | 'process';

export interface TfOpInfo {
  readonly category: TfOpCategory;
  readonly severity: Severity;
  readonly reason: string;
}

const SEVERITY: Readonly<Record<TfOpCategory, Severity>> = {
  python: 'critical',
  'file-write': 'critical',
  'file-read': 'high',
  network: 'high',
  process: 'medium',
};

function table(category: TfOpCategory, reason: string, names: readonly string[]): [string, TfOpInfo][] {
  return names.map((name) => [name, { category, severity: SEVERITY[category], reason }]);
}

/**
 * Graph ops by name. Ops whose danger depends on an attribute (PrintV2 to a file, Debug* ops with
 * debug URLs, DecodeProtoV2 with a descriptor file) are judged by `classifyTfNode`.
 */
const TF_OPS: ReadonlyMap<string, TfOpInfo> = new Map([
  ...table('python', 'calls back into Python code registered by the process that loads the model', ['PyFunc', 'PyFuncStateless', 'EagerPyFunc']),
  ...table('file-write', 'writes a file at a path chosen by the graph', [
    'WriteFile', 'Save', 'SaveV2', 'SaveSlices', 'MergeV2Checkpoints', 'DatasetToTFRecord', 'ExperimentalDatasetToTFRecord',
    'SaveDataset', 'SaveDatasetV2', 'SnapshotDataset', 'SnapshotDatasetV2', 'DistributedSave', 'CreateSummaryFileWriter',
    'CreateSummaryDbWriter', 'WriteSummary', 'WriteRawProtoSummary', 'WriteScalarSummary', 'WriteHistogramSummary',
    'WriteImageSummary', 'WriteAudioSummary', 'WriteGraphSummary', 'ImportEvent', 'DebugIdentityV2',
  ]),
  ...table('file-read', 'reads files or lists directories at a path chosen by the graph', [
    'ReadFile', 'MatchingFiles', 'MatchingFilesDataset', 'ExperimentalMatchingFilesDataset', 'Restore', 'RestoreV2', 'RestoreSlice',
    'ImmutableConst', 'FixedLengthRecordDataset', 'FixedLengthRecordDatasetV2', 'TFRecordDataset', 'TFRecordDatasetV2',
    'TextLineDataset', 'CSVDataset', 'CSVDatasetV2', 'ExperimentalCSVDataset', 'LMDBDataset', 'ExperimentalLMDBDataset',
    'SqlDataset', 'ExperimentalSqlDataset', 'LoadDataset', 'SnapshotChunkDataset', 'SnapshotDatasetReader', 'ListSnapshotChunksDataset',
    'FixedLengthRecordReader', 'FixedLengthRecordReaderV2', 'TFRecordReader', 'TFRecordReaderV2', 'TextLineReader',
    'TextLineReaderV2', 'WholeFileReader', 'WholeFileReaderV2', 'LMDBReader', 'GenerateVocabRemapping', 'LoadAndRemapMatrix', 'RecordInput',
  ]),
  // Lookup tables read vocabularies, normally the model's own assets: worth a look, rarely an attack.
  ...table('file-read', 'reads a vocabulary file into a lookup table (normally one of the model\'s own assets)', ['InitializeTableFromTextFile', 'InitializeTableFromTextFileV2']).map(
    ([name, info]): [string, TfOpInfo] => [name, { ...info, severity: 'medium' }],
  ),
  ...table('network', 'opens network connections or changes how remote storage is reached', [
    'Rpc', 'TryRpc', 'RpcClient', 'RpcServer', 'RpcServerStart', 'RpcServerRegister', 'RpcCall', 'DataServiceDataset',
    'DataServiceDatasetV2', 'DataServiceDatasetV3', 'DataServiceDatasetV4', 'RegisterDataset', 'RegisterDatasetV2',
    'GcsConfigureCredentials', 'GcsConfigureBlockCache', 'BigQueryReader', 'FileSystemSetConfiguration',
  ]),
  ...table('process', 'aborts the process that runs the graph', ['Abort']),
]);

/** Ops that write or read checkpoints: expected inside the checkpoint machinery of a SavedModel. */
export const TF_CHECKPOINT_OPS: ReadonlySet<string> = new Set(['Save', 'SaveV2', 'SaveSlices', 'MergeV2Checkpoints', 'Restore', 'RestoreV2', 'RestoreSlice']);

/** Ops whose danger is decided by an attribute value. */
const DEBUG_URL_OPS = new Set(['DebugIdentity', 'DebugIdentityV3', 'DebugNanCount', 'DebugNumericSummary', 'CopyHost', 'Copy']);
const PROTO_DESCRIPTOR_OPS = new Set(['DecodeProtoV2', 'EncodeProto']);

/** What the scanner read of a node's attributes: string values (and string lists) by attribute name. */
export type TfNodeAttrs = ReadonlyMap<string, readonly string[]>;

/** Attribute names whose string values `classifyTfNode` needs. */
export const TF_ATTRS_OF_INTEREST: ReadonlySet<string> = new Set(['debug_urls', 'output_stream', 'descriptor_source', 'memory_region_name', 'dump_root', 'file_pattern']);

/** Classifies one graph node; undefined when the op is ordinary tensor maths. */
export function classifyTfNode(op: string, attrs: TfNodeAttrs): (TfOpInfo & { detail?: string }) | undefined {
  const known = TF_OPS.get(op);
  if (known) {
    const detail = firstValue(attrs, ['memory_region_name', 'dump_root', 'file_pattern']);
    return detail === undefined ? known : { ...known, detail };
  }
  if (op === 'PrintV2') {
    // Every value counts: a repeated attribute or map entry keeps its last value when TensorFlow parses it.
    const stream = attrs.get('output_stream')?.find((v) => /^file:\/\//i.test(v));
    if (stream !== undefined) return { category: 'file-write', severity: 'critical', reason: 'prints tensors into a file', detail: stream };
    return undefined;
  }
  if (DEBUG_URL_OPS.has(op)) {
    const urls = attrs.get('debug_urls') ?? [];
    const file = urls.find((u) => /^file:\/\//i.test(u));
    if (file !== undefined) return { category: 'file-write', severity: 'critical', reason: 'dumps tensors into files (debug_urls)', detail: file };
    const remote = urls.find((u) => u.trim() !== '');
    if (remote !== undefined) return { category: 'network', severity: 'high', reason: 'streams tensors to a debug server (debug_urls)', detail: remote };
    return undefined;
  }
  if (PROTO_DESCRIPTOR_OPS.has(op)) {
    const source = attrs.get('descriptor_source')?.find((v) => v !== '' && v !== 'local://');
    if (source !== undefined) return { category: 'file-read', severity: 'high', reason: 'reads a protobuf descriptor file', detail: source };
  }
  return undefined;
}

function firstValue(attrs: TfNodeAttrs, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = attrs.get(name)?.find((v) => v !== '');
    if (value !== undefined) return value;
  }
  return undefined;
}

/** TF Python API functions (as `TFOpLambda` layers name them, without the `tf.` prefix). */
const TF_FUNCTIONS: ReadonlyMap<string, TfOpInfo> = new Map([
  ...table('python', 'runs arbitrary Python code inside the graph', ['py_function', 'numpy_function', 'py_func', 'compat.v1.py_func', 'compat.v1.py_function', 'compat.v1.numpy_function', 'experimental.numpy_function']),
  ...table('file-write', 'writes files at load or call time', [
    'io.write_file', 'write_file', 'io.gfile.copy', 'io.gfile.makedirs', 'io.gfile.mkdir', 'io.gfile.remove', 'io.gfile.rename',
    'io.gfile.rmtree', 'io.gfile.GFile', 'saved_model.save', 'data.experimental.save', 'debugging.experimental.enable_dump_debug_info',
    'summary.create_file_writer', 'summary.write', 'summary.scalar', 'summary.text', 'summary.trace_export', 'keras.utils.get_file',
    'compat.v1.summary.FileWriter', 'train.write_graph', 'io.write_graph',
  ]),
  ...table('file-read', 'reads files or lists directories', [
    'io.read_file', 'read_file', 'io.matching_files', 'matching_files', 'io.gfile.exists', 'io.gfile.glob', 'io.gfile.isdir',
    'io.gfile.listdir', 'io.gfile.walk', 'io.gfile.stat', 'data.TextLineDataset', 'data.TFRecordDataset', 'data.FixedLengthRecordDataset',
    'data.experimental.load', 'data.Dataset.load', 'data.Dataset.list_files', 'train.load_checkpoint', 'train.load_variable', 'train.list_variables',
    'saved_model.load', 'keras.models.load_model', 'lookup.TextFileInitializer', 'io.decode_proto',
  ]),
  ...table('python', 'loads a native library into the process', ['load_op_library', 'load_library', 'experimental.register_filesystem_plugin']),
]);

/** Classifies a TF Python API name (`io.write_file`, `tf.raw_ops.PyFunc`, `compat.v1.py_func`). */
export function classifyTfFunction(name: string): TfOpInfo | undefined {
  let key = name.trim().replace(/^(tensorflow|tf)\./, '');
  const direct = TF_FUNCTIONS.get(key);
  if (direct) return direct;
  key = key.replace(/^compat\.v[12]\./, '');
  const compat = TF_FUNCTIONS.get(key);
  if (compat) return compat;
  const raw = /^raw_ops\.([A-Za-z0-9_]+)$/.exec(key);
  if (raw?.[1] !== undefined) return classifyTfNode(raw[1], new Map());
  return undefined;
}
