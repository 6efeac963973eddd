// The ONNX protobuf schema (IR 11+), as field tables for protobufjs.
// Field numbers and packing follow the published onnx.proto (proto2: repeated scalars are
// unpacked unless marked packed). Every field of the current IR is listed so that a decode
// followed by an encode keeps everything.

import Long from 'long';
import * as protobuf from 'protobufjs';

protobuf.util.Long = Long;
protobuf.configure();

type Rule = 'optional' | 'repeated' | 'packed';
/** [field number, name, type, rule] */
type FieldRow = [number, string, string, Rule?];

const messages: Record<string, FieldRow[]> = {
  AttributeProto: [
    [1, 'name', 'string'],
    [21, 'ref_attr_name', 'string'],
    [13, 'doc_string', 'string'],
    [20, 'type', 'int32'],
    [2, 'f', 'float'],
    [3, 'i', 'int64'],
    [4, 's', 'bytes'],
    [5, 't', 'TensorProto'],
    [6, 'g', 'GraphProto'],
    [22, 'sparse_tensor', 'SparseTensorProto'],
    [14, 'tp', 'TypeProto'],
    [7, 'floats', 'float', 'repeated'],
    [8, 'ints', 'int64', 'repeated'],
    [9, 'strings', 'bytes', 'repeated'],
    [10, 'tensors', 'TensorProto', 'repeated'],
    [11, 'graphs', 'GraphProto', 'repeated'],
    [23, 'sparse_tensors', 'SparseTensorProto', 'repeated'],
    [15, 'type_protos', 'TypeProto', 'repeated'],
  ],
  ValueInfoProto: [
    [1, 'name', 'string'],
    [2, 'type', 'TypeProto'],
    [3, 'doc_string', 'string'],
    [4, 'metadata_props', 'StringStringEntryProto', 'repeated'],
  ],
  NodeProto: [
    [1, 'input', 'string', 'repeated'],
    [2, 'output', 'string', 'repeated'],
    [3, 'name', 'string'],
    [4, 'op_type', 'string'],
    [7, 'domain', 'string'],
    [8, 'overload', 'string'],
    [5, 'attribute', 'AttributeProto', 'repeated'],
    [6, 'doc_string', 'string'],
    [9, 'metadata_props', 'StringStringEntryProto', 'repeated'],
    [10, 'device_configurations', 'NodeDeviceConfigurationProto', 'repeated'],
  ],
  IntIntListEntryProto: [
    [1, 'key', 'int64'],
    [2, 'value', 'int64', 'repeated'],
  ],
  NodeDeviceConfigurationProto: [
    [1, 'configuration_id', 'string'],
    [2, 'sharding_spec', 'ShardingSpecProto', 'repeated'],
    [3, 'pipeline_stage', 'int32'],
  ],
  ShardingSpecProto: [
    [1, 'tensor_name', 'string'],
    [2, 'device', 'int64', 'repeated'],
    [3, 'index_to_device_group_map', 'IntIntListEntryProto', 'repeated'],
    [4, 'sharded_dim', 'ShardedDimProto', 'repeated'],
  ],
  ShardedDimProto: [
    [1, 'axis', 'int64'],
    [2, 'simple_sharding', 'SimpleShardedDimProto', 'repeated'],
  ],
  SimpleShardedDimProto: [
    [1, 'dim_value', 'int64'],
    [2, 'dim_param', 'string'],
    [3, 'num_shards', 'int64'],
  ],
  TrainingInfoProto: [
    [1, 'initialization', 'GraphProto'],
    [2, 'algorithm', 'GraphProto'],
    [3, 'initialization_binding', 'StringStringEntryProto', 'repeated'],
    [4, 'update_binding', 'StringStringEntryProto', 'repeated'],
  ],
  ModelProto: [
    [1, 'ir_version', 'int64'],
    [8, 'opset_import', 'OperatorSetIdProto', 'repeated'],
    [2, 'producer_name', 'string'],
    [3, 'producer_version', 'string'],
    [4, 'domain', 'string'],
    [5, 'model_version', 'int64'],
    [6, 'doc_string', 'string'],
    [7, 'graph', 'GraphProto'],
    [14, 'metadata_props', 'StringStringEntryProto', 'repeated'],
    [20, 'training_info', 'TrainingInfoProto', 'repeated'],
    [25, 'functions', 'FunctionProto', 'repeated'],
    [26, 'configuration', 'DeviceConfigurationProto', 'repeated'],
  ],
  DeviceConfigurationProto: [
    [1, 'name', 'string'],
    [2, 'num_devices', 'int32'],
    [3, 'device', 'string', 'repeated'],
  ],
  StringStringEntryProto: [
    [1, 'key', 'string'],
    [2, 'value', 'string'],
  ],
  TensorAnnotation: [
    [1, 'tensor_name', 'string'],
    [2, 'quant_parameter_tensor_names', 'StringStringEntryProto', 'repeated'],
  ],
  GraphProto: [
    [1, 'node', 'NodeProto', 'repeated'],
    [2, 'name', 'string'],
    [5, 'initializer', 'TensorProto', 'repeated'],
    [15, 'sparse_initializer', 'SparseTensorProto', 'repeated'],
    [10, 'doc_string', 'string'],
    [11, 'input', 'ValueInfoProto', 'repeated'],
    [12, 'output', 'ValueInfoProto', 'repeated'],
    [13, 'value_info', 'ValueInfoProto', 'repeated'],
    [14, 'quantization_annotation', 'TensorAnnotation', 'repeated'],
    [16, 'metadata_props', 'StringStringEntryProto', 'repeated'],
  ],
  'TensorProto.Segment': [
    [1, 'begin', 'int64'],
    [2, 'end', 'int64'],
  ],
  TensorProto: [
    [1, 'dims', 'int64', 'repeated'],
    [2, 'data_type', 'int32'],
    [3, 'segment', 'TensorProto.Segment'],
    [4, 'float_data', 'float', 'packed'],
    [5, 'int32_data', 'int32', 'packed'],
    [6, 'string_data', 'bytes', 'repeated'],
    [7, 'int64_data', 'int64', 'packed'],
    [8, 'name', 'string'],
    [12, 'doc_string', 'string'],
    [9, 'raw_data', 'bytes'],
    [13, 'external_data', 'StringStringEntryProto', 'repeated'],
    [14, 'data_location', 'int32'],
    [10, 'double_data', 'double', 'packed'],
    [11, 'uint64_data', 'uint64', 'packed'],
    [16, 'metadata_props', 'StringStringEntryProto', 'repeated'],
  ],
  SparseTensorProto: [
    [1, 'values', 'TensorProto'],
    [2, 'indices', 'TensorProto'],
    [3, 'dims', 'int64', 'repeated'],
  ],
  'TensorShapeProto.Dimension': [
    [1, 'dim_value', 'int64'],
    [2, 'dim_param', 'string'],
    [3, 'denotation', 'string'],
  ],
  TensorShapeProto: [[1, 'dim', 'TensorShapeProto.Dimension', 'repeated']],
  'TypeProto.Tensor': [
    [1, 'elem_type', 'int32'],
    [2, 'shape', 'TensorShapeProto'],
  ],
  'TypeProto.Sequence': [[1, 'elem_type', 'TypeProto']],
  'TypeProto.Map': [
    [1, 'key_type', 'int32'],
    [2, 'value_type', 'TypeProto'],
  ],
  'TypeProto.Optional': [[1, 'elem_type', 'TypeProto']],
  'TypeProto.SparseTensor': [
    [1, 'elem_type', 'int32'],
    [2, 'shape', 'TensorShapeProto'],
  ],
  'TypeProto.Opaque': [
    [1, 'domain', 'string'],
    [2, 'name', 'string'],
  ],
  TypeProto: [
    [1, 'tensor_type', 'TypeProto.Tensor'],
    [4, 'sequence_type', 'TypeProto.Sequence'],
    [5, 'map_type', 'TypeProto.Map'],
    [9, 'optional_type', 'TypeProto.Optional'],
    [8, 'sparse_tensor_type', 'TypeProto.SparseTensor'],
    [7, 'opaque_type', 'TypeProto.Opaque'],
    [6, 'denotation', 'string'],
  ],
  OperatorSetIdProto: [
    [1, 'domain', 'string'],
    [2, 'version', 'int64'],
  ],
  FunctionProto: [
    [1, 'name', 'string'],
    [4, 'input', 'string', 'repeated'],
    [5, 'output', 'string', 'repeated'],
    [6, 'attribute', 'string', 'repeated'],
    [11, 'attribute_proto', 'AttributeProto', 'repeated'],
    [7, 'node', 'NodeProto', 'repeated'],
    [8, 'doc_string', 'string'],
    [9, 'opset_import', 'OperatorSetIdProto', 'repeated'],
    [10, 'domain', 'string'],
    [13, 'overload', 'string'],
    [12, 'value_info', 'ValueInfoProto', 'repeated'],
    [14, 'metadata_props', 'StringStringEntryProto', 'repeated'],
  ],
};

/** Oneof groups: at most one member is written. */
const oneofs: Record<string, Record<string, string[]>> = {
  'TensorShapeProto.Dimension': { value: ['dim_value', 'dim_param'] },
  SimpleShardedDimProto: { dim: ['dim_value', 'dim_param'] },
  TypeProto: {
    value: ['tensor_type', 'sequence_type', 'map_type', 'optional_type', 'sparse_tensor_type', 'opaque_type'],
  },
};

function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const ns = root.define('onnx');
  // Define outer messages first, then nested ones inside them.
  const names = Object.keys(messages).sort((a, b) => a.split('.').length - b.split('.').length);
  for (const fullName of names) {
    const parts = fullName.split('.');
    const type = new protobuf.Type(parts[parts.length - 1]);
    for (const [id, name, fieldType, rule] of messages[fullName]) {
      const repeated = rule === 'repeated' || rule === 'packed';
      const field = new protobuf.Field(name, id, fieldType, repeated ? 'repeated' : 'optional', undefined, {
        packed: rule === 'packed',
      });
      type.add(field);
    }
    for (const [oneofName, members] of Object.entries(oneofs[fullName] ?? {})) {
      type.add(new protobuf.OneOf(oneofName, members));
    }
    const parent = parts.length === 1 ? ns : ns.lookupType(parts.slice(0, -1).join('.'));
    parent.add(type);
  }
  root.resolveAll();
  return root;
}

export const onnxRoot = buildRoot();
export const ModelProtoType = onnxRoot.lookupType('onnx.ModelProto');
export const TensorProtoType = onnxRoot.lookupType('onnx.TensorProto');
export const FunctionProtoType = onnxRoot.lookupType('onnx.FunctionProto');
