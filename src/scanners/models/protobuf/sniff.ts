import { headBytes, sniffFields } from './message.js';
import { WIRE, type ProtoField } from './reader.js';

/**
 * Content sniffing for the protobuf model formats (ONNX ModelProto, TensorFlow SavedModel, GraphDef,
 * tf.keras SavedMetadata). Protobuf has no magic number, so a file is recognised by the shape of its
 * first fields. Some shapes fit more than one format (a SavedModel starts like an ONNX model whose
 * producer name is binary; a GraphDef whose library comes first looks like a SavedModel); rather
 * than guess, every interpretation that fits is returned and the scanner reads the file each way —
 * otherwise a crafted file could pick the interpretation that hides it.
 */

export type TfKind = 'saved-model' | 'graph-def' | 'keras-metadata';

export interface ProtobufModelKinds {
  /** `strict`: unmistakably ONNX (ir_version, ModelProto fields, a graph or opset in view); `loose`: could be. */
  onnx: 'strict' | 'loose' | undefined;
  /** TensorFlow interpretations that fit, most likely first. */
  tf: TfKind[];
}

/** ONNX ModelProto field → wire type. */
export const ONNX_MODEL_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, WIRE.VARINT], [2, WIRE.LEN], [3, WIRE.LEN], [4, WIRE.LEN], [5, WIRE.VARINT], [6, WIRE.LEN], [7, WIRE.LEN], [8, WIRE.LEN],
  [14, WIRE.LEN], [20, WIRE.LEN], [21, WIRE.LEN], [25, WIRE.LEN], [26, WIRE.LEN], [30, WIRE.LEN],
]);
const SAVED_MODEL_FIELDS: ReadonlyMap<number, number> = new Map([[1, WIRE.VARINT], [2, WIRE.LEN]]);
const KERAS_METADATA_FIELDS: ReadonlyMap<number, number> = new Map([[1, WIRE.LEN]]);
const GRAPH_DEF_FIELDS: ReadonlyMap<number, number> = new Map([[1, WIRE.LEN], [2, WIRE.LEN], [3, WIRE.VARINT], [4, WIRE.LEN], [5, WIRE.LEN]]);

const NODE_NAME = /^[A-Za-z0-9._][A-Za-z0-9_./>-]*$/;
const OP_NAME = /^[A-Za-z_][A-Za-z0-9_>.]*$/;

export function sniffProtobufModel(head: Buffer, size: number): ProtobufModelKinds {
  const fields = sniffFields(head, size, 16);
  if (!fields || fields.length === 0) return { onnx: undefined, tf: [] };
  return { onnx: onnxShape(head, fields), tf: tfShapes(head, fields) };
}

/** True when the head is unmistakably an ONNX model. */
export function sniffOnnx(head: Buffer, size: number): boolean {
  return sniffProtobufModel(head, size).onnx === 'strict';
}

/** The most likely TensorFlow interpretation, if any. */
export function sniffTf(head: Buffer, size: number): TfKind | undefined {
  return sniffProtobufModel(head, size).tf[0];
}

function onnxShape(head: Buffer, fields: readonly ProtoField[]): 'strict' | 'loose' | undefined {
  for (const field of fields) if (ONNX_MODEL_FIELDS.get(field.number) !== field.wireType) return undefined;
  const first = fields[0] as ProtoField;
  const irVersion = (f: ProtoField): boolean => f.number === 1 && f.value >= 1 && f.value <= 64;
  if (!irVersion(first)) {
    // Writers put ir_version first, but readers accept any order: a model reordered to dodge this
    // check still counts when an ir_version is in view or its first field is a graph of ONNX nodes.
    // Likewise a graph in view (after opset_import or producer fields) whose first field is a node or an initializer.
    if (fields.some(irVersion) || fields.some((f) => f.number === 7 && looksLikeOnnxGraph(payloadPrefix(head, f), f.length))) return 'loose';
    return undefined;
  }
  if (fields.length < 2) return undefined;
  let textual = true;
  for (const field of fields) {
    if (field.number !== 2 && field.number !== 3 && field.number !== 4) continue;
    const text = headBytes(head, field) ?? head.subarray(field.offset, Math.min(head.length, field.offset + 64));
    if (!isText(text)) textual = false;
  }
  return textual && fields.some((f) => f.number === 7 || f.number === 8) ? 'strict' : 'loose';
}

function tfShapes(head: Buffer, fields: readonly ProtoField[]): TfKind[] {
  const kinds: TfKind[] = [];
  const numbers = new Set(fields.map((f) => f.number));
  const only = (allowed: ReadonlyMap<number, number>): boolean => fields.every((f) => allowed.get(f.number) === f.wireType);
  const first = fields[0] as ProtoField;

  if (only(SAVED_MODEL_FIELDS) && numbers.has(2)) {
    const version = fields.find((f) => f.number === 1);
    const meta = fields.find((f) => f.number === 2) as ProtoField;
    const inner = head[meta.offset];
    if ((version === undefined || (version.value >= 1 && version.value <= 16)) && meta.length > 0 && (inner === 0x0a || inner === 0x12)) kinds.push('saved-model');
  }
  if (only(GRAPH_DEF_FIELDS) && (numbers.has(1) || numbers.has(2))) {
    const prefix = payloadPrefix(head, first);
    if (first.number === 1 && looksLikeNode(prefix, first.length)) kinds.push('graph-def');
    else if (first.number === 2 && looksLikeLibrary(prefix, first.length)) kinds.push('graph-def');
    // A library first (legal, though writers put nodes first) reads like a SavedModel: try both.
    else if (first.number === 2 && kinds.includes('saved-model')) kinds.push('graph-def');
  }
  if (only(KERAS_METADATA_FIELDS) && head.includes('_tf_keras_')) {
    const inner = head[first.offset];
    if (inner === 0x10 || inner === 0x1a || inner === 0x22) kinds.push('keras-metadata');
  }
  return kinds;
}

/**
 * GraphProto whose first field is a node (NodeProto: inputs, outputs, name, op_type… as strings,
 * attributes) or an initializer (TensorProto: dims and data_type varints, a name, data).
 */
function looksLikeOnnxGraph(prefix: Buffer, size: number): boolean {
  const [node] = sniffFields(prefix, size, 1) ?? [];
  if (node !== undefined && node.number === 5 && node.wireType === WIRE.LEN) return looksLikeOnnxTensor(payloadPrefix(prefix, node), node.length);
  if (node === undefined || node.number !== 1 || node.wireType !== WIRE.LEN) return false;
  const fields = sniffFields(payloadPrefix(prefix, node), node.length, 16);
  if (!fields || fields.length === 0) return false;
  let opType = false;
  for (const field of fields) {
    if (field.number < 1 || field.number > 10 || field.wireType !== WIRE.LEN) return false;
    if (field.number === 4) {
      const text = headBytes(payloadPrefix(prefix, node), field);
      opType = text !== undefined && OP_NAME.test(text.toString('latin1'));
    }
  }
  return opType;
}

/** TensorProto: dims (1) and data_type (2) as varints, then a textual name (8), all in view. */
function looksLikeOnnxTensor(prefix: Buffer, size: number): boolean {
  const fields = sniffFields(prefix, size, 8);
  if (!fields || fields.length < 2) return false;
  let dataType = false;
  let named = false;
  for (const field of fields) {
    if (field.number === 1 && (field.wireType === WIRE.VARINT || field.wireType === WIRE.LEN)) continue;
    if (field.number === 2 && field.wireType === WIRE.VARINT && field.value >= 1 && field.value <= 30) dataType = true;
    else if (field.number === 8 && field.wireType === WIRE.LEN) {
      const text = headBytes(prefix, field);
      named = text !== undefined && text.length > 0 && isText(text);
      break;
    } else return false;
  }
  return dataType && named;
}

function payloadPrefix(head: Buffer, field: ProtoField): Buffer {
  return head.subarray(field.offset, Math.min(head.length, field.offset + field.length));
}

function looksLikeNode(prefix: Buffer, size: number): boolean {
  const fields = sniffFields(prefix, size, 2);
  if (!fields || fields.length < 2) return false;
  const [name, op] = fields as [ProtoField, ProtoField];
  if (name.number !== 1 || name.wireType !== WIRE.LEN || op.number !== 2 || op.wireType !== WIRE.LEN) return false;
  const nameText = headBytes(prefix, name);
  const opText = headBytes(prefix, op);
  return nameText !== undefined && opText !== undefined && NODE_NAME.test(nameText.toString('latin1')) && OP_NAME.test(opText.toString('latin1'));
}

/** FunctionDefLibrary → FunctionDef → OpDef → name. */
function looksLikeLibrary(prefix: Buffer, size: number): boolean {
  let bytes = prefix;
  let total = size;
  for (let level = 0; level < 3; level += 1) {
    const [field] = sniffFields(bytes, total, 1) ?? [];
    if (field === undefined || field.number !== 1 || field.wireType !== WIRE.LEN) return false;
    if (level === 2) {
      const name = headBytes(bytes, field);
      return name !== undefined && OP_NAME.test(name.toString('latin1'));
    }
    bytes = payloadPrefix(bytes, field);
    total = field.length;
  }
  return false;
}

function isText(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte < 0x20 && byte !== 0x09) return false;
  return true;
}
