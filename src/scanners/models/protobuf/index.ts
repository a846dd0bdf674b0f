export { ProtoMessage, headBytes, sniffFields, type ProtoMessageOptions } from './message.js';
export {
  DEFAULT_PROTO_LIMITS,
  ProtoBudget,
  ProtoBuffer,
  ProtoSource,
  WIRE,
  describeProtoError,
  malformedProto,
  readFieldHeader,
  signedValue,
  type ProtoField,
  type ProtoLimits,
  type ProtoSourceOptions,
  type WireType,
} from './reader.js';
export { ONNX_MODEL_FIELDS, sniffOnnx, sniffProtobufModel, sniffTf, type ProtobufModelKinds, type TfKind } from './sniff.js';
