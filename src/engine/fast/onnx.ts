// Minimal ONNX protobuf construction for the integer sub-graphs the fast backend hands to
// onnxruntime: MatMulInteger and ConvInteger nodes with uint8 initializers and int32 outputs.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const ONNX_UINT8 = onnx.TensorProto.DataType.UINT8;
export const ONNX_INT8 = onnx.TensorProto.DataType.INT8;
export const ONNX_INT32 = onnx.TensorProto.DataType.INT32;

/** A dimension: a fixed size, or a symbolic name (the batch dimension). */
export type Dim = number | string;

export interface NodeSpec {
  opType: 'ConvInteger' | 'MatMulInteger';
  inputs: string[];
  output: string;
  ints?: Record<string, number[]>;
  int?: Record<string, number>;
}

export interface GraphSpec {
  inputs: { name: string; elemType: number; dims: Dim[] }[];
  outputs: { name: string; elemType: number }[];
  /** uint8 (or int8) initializers: weights and zero points. An empty `dims` is a scalar. */
  initializers: { name: string; dims: number[]; data: Uint8Array | Int8Array }[];
  nodes: NodeSpec[];
}

function valueInfo(name: string, elemType: number, dims?: Dim[]): onnxProto.onnx.IValueInfoProto {
  const shape = dims && { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) };
  return { name, type: { tensorType: shape ? { elemType, shape } : { elemType } } };
}

/** Serializes a one-graph ONNX model (opset 13) to protobuf bytes. */
export function encodeModel(spec: GraphSpec): Uint8Array {
  const AttrType = onnx.AttributeProto.AttributeType;
  const nodes = spec.nodes.map((n, i) => {
    const attribute: onnxProto.onnx.IAttributeProto[] = [];
    for (const [name, ints] of Object.entries(n.ints ?? {}))
      attribute.push({ name, type: AttrType.INTS, ints });
    for (const [name, i] of Object.entries(n.int ?? {})) attribute.push({ name, type: AttrType.INT, i });
    return { name: `n${i}`, opType: n.opType, input: n.inputs, output: [n.output], attribute };
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'verinfer-fast',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'verinfer_int',
      node: nodes,
      initializer: spec.initializers.map((t) => ({
        name: t.name,
        dataType: t.data instanceof Int8Array ? ONNX_INT8 : ONNX_UINT8,
        dims: t.dims,
        rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      })),
      input: spec.inputs.map((t) => valueInfo(t.name, t.elemType, t.dims)),
      output: spec.outputs.map((t) => valueInfo(t.name, t.elemType)),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
