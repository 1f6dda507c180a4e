// Builds small ONNX models in memory for unit tests (no python needed).
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export interface TensorSpec {
  name: string;
  dims: number[];
  /** float32 values, or int64 values if `int64`. */
  values: number[];
  int64?: boolean;
  /** Store as raw_data instead of the typed field. */
  raw?: boolean;
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, number | number[] | string | TensorSpec>;
}

export interface GraphSpec {
  input: { name: string; dims: (number | string)[]; int64?: boolean };
  /** More graph inputs after `input` (a many-input export). */
  extraInputs?: { name: string; dims: (number | string)[]; int64?: boolean }[];
  output: string;
  nodes: NodeSpec[];
  initializers?: TensorSpec[];
  opset?: number;
}

function tensor(t: TensorSpec): onnxProto.onnx.ITensorProto {
  const p: onnxProto.onnx.ITensorProto = { name: t.name, dims: t.dims, dataType: t.int64 ? 7 : 1 };
  if (t.raw) {
    const buf = t.int64 ? new BigInt64Array(t.values.map((v) => BigInt(v))) : new Float32Array(t.values);
    p.rawData = new Uint8Array(buf.buffer);
  } else if (t.int64) p.int64Data = t.values;
  else p.floatData = t.values;
  return p;
}

function attr(name: string, v: number | number[] | string | TensorSpec): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) {
    return v.every(Number.isInteger) ? { name, type: T.INTS, ints: v } : { name, type: T.FLOATS, floats: v };
  }
  if (typeof v === 'number')
    return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  return { name, type: T.TENSOR, t: tensor(v) };
}

export function buildOnnx(spec: GraphSpec): Uint8Array {
  const valueInfo = (name: string, dims: (number | string)[], int64 = false) => ({
    name,
    type: {
      tensorType: {
        elemType: int64 ? 7 : 1,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    producerName: 'verinfer-test',
    graph: {
      name: 'test',
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `${n.op}_${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attr(k, v)),
      })),
      initializer: (spec.initializers ?? []).map(tensor),
      input: [spec.input, ...(spec.extraInputs ?? [])].map((i) => valueInfo(i.name, i.dims, i.int64)),
      output: [{ name: spec.output, type: { tensorType: { elemType: 1 } } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Deterministic pseudo-random weights in [-scale, scale]. */
export function weights(n: number, seed: number, scale = 0.5): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s / 2 ** 32) * 2 - 1) * scale;
  });
}
