// Decodes ONNX protobuf bytes into a plain graph description. Any decoding problem becomes an
// OnnxFormatError; nothing from protobufjs escapes.
import onnxProto from 'onnx-proto';
import { OnnxFormatError } from '../errors/base.ts';
import { type FDType, type FTensor, sizeOf } from './float/tensor.ts';

const { onnx } = onnxProto;

export type AttrValue = number | string | number[] | string[] | FTensor | FTensor[] | null;

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttrValue>;
}

/** ONNX TensorProto data types. */
export const ELEM = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  /** Dimension sizes; null for symbolic or missing dimensions. null shape if unknown. */
  dims: (number | null)[] | null;
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  initializers: Map<string, FTensor>;
  /** Graph inputs that are not initializers. */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  opset: number;
  producer: string;
}

type LongLike = number | { toNumber(): number };

function num(v: LongLike | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

function elemDType(t: number): FDType {
  if (t === ELEM.FLOAT || t === ELEM.DOUBLE || t === ELEM.FLOAT16) return 'float';
  if (t === ELEM.BOOL) return 'bool';
  return 'int';
}

function half(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const f = bits & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function fromRaw(raw: Uint8Array, type: number, n: number, name: string): Float64Array {
  const width: Record<number, number> = {
    1: 4,
    2: 1,
    3: 1,
    4: 2,
    5: 2,
    6: 4,
    7: 8,
    9: 1,
    10: 2,
    11: 8,
    12: 4,
    13: 8,
  };
  const w = width[type];
  if (!w) throw new OnnxFormatError(`Tensor "${name}" has unsupported data type ${type}.`);
  if (raw.length !== w * n) {
    throw new OnnxFormatError(
      `Tensor "${name}" has ${raw.length} bytes of raw data; ${n} values of type ${type} need ${w * n}.`,
    );
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * w;
    switch (type) {
      case 1:
        out[i] = dv.getFloat32(o, true);
        break;
      case 2:
      case 9:
        out[i] = dv.getUint8(o);
        break;
      case 3:
        out[i] = dv.getInt8(o);
        break;
      case 4:
        out[i] = dv.getUint16(o, true);
        break;
      case 5:
        out[i] = dv.getInt16(o, true);
        break;
      case 6:
        out[i] = dv.getInt32(o, true);
        break;
      case 7:
        out[i] = Number(dv.getBigInt64(o, true));
        break;
      case 10:
        out[i] = half(dv.getUint16(o, true));
        break;
      case 11:
        out[i] = dv.getFloat64(o, true);
        break;
      case 12:
        out[i] = dv.getUint32(o, true);
        break;
      case 13:
        out[i] = Number(dv.getBigUint64(o, true));
        break;
    }
  }
  return out;
}

/** Converts a TensorProto to a float64 tensor (ints and bools keep their integer values). */
export function tensorFromProto(p: onnxProto.onnx.ITensorProto, fallbackName = ''): FTensor {
  const name = p.name || fallbackName;
  if (p.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new OnnxFormatError(
      `Tensor "${name}" stores its data in an external file, which is not supported. Save the model with all data embedded.`,
    );
  }
  const shape = (p.dims ?? []).map((d) => num(d as LongLike));
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new OnnxFormatError(`Tensor "${name}" has an invalid shape [${shape.join(',')}].`);
  }
  const n = sizeOf(shape);
  const type = p.dataType ?? 0;
  let data: Float64Array;
  if (p.rawData && p.rawData.length > 0) {
    data = fromRaw(p.rawData, type, n, name);
  } else {
    let src: ArrayLike<LongLike> = [];
    if (type === ELEM.FLOAT) src = p.floatData ?? [];
    else if (type === ELEM.DOUBLE) src = p.doubleData ?? [];
    else if (type === ELEM.INT64) src = (p.int64Data ?? []) as LongLike[];
    else if (type === 12 || type === 13) src = (p.uint64Data ?? []) as LongLike[];
    else if ([2, 3, 4, 5, 6, 9, 10].includes(type)) src = p.int32Data ?? [];
    else throw new OnnxFormatError(`Tensor "${name}" has unsupported data type ${type}.`);
    if (src.length !== n) {
      throw new OnnxFormatError(
        `Tensor "${name}" of shape [${shape.join(',')}] holds ${src.length} values instead of ${n}.`,
      );
    }
    data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = type === ELEM.FLOAT16 ? half(num(src[i])) : num(src[i]);
  }
  return { shape, data, dtype: elemDType(type) };
}

function attrValue(a: onnxProto.onnx.IAttributeProto, node: string): AttrValue {
  const T = onnx.AttributeProto.AttributeType;
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  switch (a.type) {
    case T.FLOAT:
      return a.f ?? 0;
    case T.INT:
      return num(a.i as LongLike);
    case T.STRING:
      return dec(a.s ?? new Uint8Array());
    case T.TENSOR:
      return a.t ? tensorFromProto(a.t, `${node}.${a.name}`) : null;
    case T.FLOATS:
      return [...(a.floats ?? [])];
    case T.INTS:
      return (a.ints ?? []).map((v) => num(v as LongLike));
    case T.STRINGS:
      return (a.strings ?? []).map(dec);
    case T.TENSORS:
      return (a.tensors ?? []).map((t) => tensorFromProto(t, `${node}.${a.name}`));
    default:
      // Graphs (If/Loop bodies) and other kinds: the op using them is rejected later.
      return null;
  }
}

function valueInfo(v: onnxProto.onnx.IValueInfoProto): OnnxValueInfo {
  const tt = v.type?.tensorType;
  const dims = tt?.shape?.dim
    ? tt.shape.dim.map((d) => {
        const value = num(d.dimValue as LongLike);
        return d.dimParam || value <= 0 ? null : value;
      })
    : null;
  return { name: v.name ?? '', elemType: tt?.elemType ?? 0, dims };
}

/** Decodes an ONNX model. Throws OnnxFormatError for bytes that are not a usable ONNX model. */
export function parseOnnx(bytes: Uint8Array): OnnxGraph {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0)
    throw new OnnxFormatError('The ONNX file is empty.');
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new OnnxFormatError(
      'The file is not a valid ONNX model: its protobuf encoding is damaged or truncated.',
      {
        details: why,
      },
    );
  }
  const g = model.graph;
  if (!g?.node || g.node.length === 0 || !g.output || g.output.length === 0) {
    throw new OnnxFormatError('The file is not a valid ONNX model: it has no graph, no nodes or no outputs.');
  }
  try {
    const opsets = model.opsetImport ?? [];
    const main = opsets.find((o) => !o.domain || o.domain === 'ai.onnx');
    const opset = main ? num(main.version as LongLike) : 0;
    if (!main || opset < 1 || opset > 30) {
      throw new OnnxFormatError(`The model declares no usable ONNX opset (found ${main ? opset : 'none'}).`);
    }
    const initializers = new Map<string, FTensor>();
    for (const t of g.initializer ?? []) {
      if (!t.name) throw new OnnxFormatError('An initializer has no name.');
      initializers.set(t.name, tensorFromProto(t));
    }
    if ((g.sparseInitializer ?? []).length > 0)
      throw new OnnxFormatError('Sparse initializers are not supported.');
    const nodes: OnnxNode[] = g.node.map((n, i) => {
      const opType = n.opType ?? '';
      if (!opType) throw new OnnxFormatError(`Node ${i} has no op type.`);
      const name = n.name || `${opType}_${i}`;
      const attrs = new Map<string, AttrValue>();
      for (const a of n.attribute ?? []) attrs.set(a.name ?? '', attrValue(a, name));
      return {
        name,
        opType,
        domain: n.domain ?? '',
        inputs: [...(n.input ?? [])],
        outputs: [...(n.output ?? [])],
        attrs,
      };
    });
    const inputs = (g.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(valueInfo);
    const outputs = (g.output ?? []).map(valueInfo);
    return { nodes, initializers, inputs, outputs, opset, producer: model.producerName ?? '' };
  } catch (err) {
    if (err instanceof OnnxFormatError) throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw new OnnxFormatError('The ONNX model could not be read.', { details: why });
  }
}
