export { ProtoMessage, sniffFields, type ProtoMessageOptions } from './message.js';
export {
  ProtoBudget,
  ProtoBuffer,
  ProtoSource,
  WIRE,
  describeProtoError,
  malformedProto,
  signedValue,
  type ProtoField,
  type ProtoLimits,
  type ProtoSourceOptions,
  type WireType,
} from './reader.js';
export { ONNX_MODEL_FIELDS, sniffOnnx, sniffProtobufModel, sniffTf, type ProtobufModelKinds, type TfKind } from './sniff.js';
