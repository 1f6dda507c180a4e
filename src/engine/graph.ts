// The quantized model graph: tensors, ops and their integer parameters.
//
// Conventions that every op relies on:
// - Activations are u8 with a zero point. Weights are i8 with zero point 0. Biases, lookup tables
//   of wide values, requantization multipliers and shifts, and token ids are i32.
// - Dimension 0 of every activation is the batch dimension. The model stores it as 1; a run may
//   use any batch size B, and no op mixes elements of different batch rows.
// - `scale` is metadata for quantizing a float input and for reading a float output. It never
//   enters the integer computation.

export type DType = 'u8' | 'i8' | 'i32';

export type TensorKind = 'input' | 'const' | 'activation';

export interface TensorInfo {
  /** Index in `Model.tensors`. */
  id: number;
  name: string;
  kind: TensorKind;
  dtype: DType;
  /** Shape with batch dimension 1 for inputs and activations. */
  shape: number[];
  zeroPoint: number;
  /** Real value = scale * (q - zeroPoint). Display metadata only. */
  scale: number;
}

export type TensorData = Uint8Array | Int8Array | Int32Array;

/** Every op kind of the interpreter. The numeric code is part of the commitment format. */
export const OP_CODES = {
  conv: 1,
  matmul: 2,
  add: 3,
  lut: 4,
  maxpool: 5,
  avgpool: 6,
  reducemean: 7,
  softmax: 8,
  layernorm: 9,
  gather: 10,
  reshape: 11,
  transpose: 12,
  concat: 13,
  mul: 14,
} as const;

export type OpType = keyof typeof OP_CODES;

interface OpBase {
  /** Node name for messages (from the source ONNX graph where there is one). */
  name: string;
}

/**
 * y[n,m,oy,ox] = clamp(zy + rq(bias[m] + Σ_{c,ky,kx} (x[n,c,iy,ix] - zx) * w[m,c,ky,kx], mult[m], shift[m]), qmin, qmax)
 * with iy = oy*strideH - padTop + ky*dilH; out-of-bounds taps contribute 0.
 * inputs: x u8 [N,C,H,W], w i8 [M,C/group,KH,KW], bias i32 [M], mult i32 [M], shift i32 [M].
 */
export interface ConvOp extends OpBase {
  type: 'conv';
  inputs: [x: number, w: number, bias: number, mult: number, shift: number];
  output: number;
  strides: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  dilations: [number, number];
  group: number;
  qmin: number;
  qmax: number;
}

/**
 * y[...,i,j] = clamp(zy + rq(bias[j] + Σ_k (a[...,i,k] - za) * (b[...,k,j] - zb), mult[j|0], shift[j|0]), qmin, qmax)
 * inputs: a u8 [...,M,K]; b i8 const [K,N] or u8 activation [...,K,N] (leading dims broadcast);
 * bias i32 [N]; mult, shift i32 [N] (per column) or [1] (per tensor).
 */
export interface MatMulOp extends OpBase {
  type: 'matmul';
  inputs: [a: number, b: number, bias: number, mult: number, shift: number];
  output: number;
  qmin: number;
  qmax: number;
}

/**
 * y = clamp(zy + rshift((a - za) * multA + (b - zb) * multB, shift), qmin, qmax), numpy broadcasting.
 * rshift(v, s) = floor((v + 2^(s-1)) / 2^s).
 */
export interface AddOp extends OpBase {
  type: 'add';
  inputs: [a: number, b: number];
  output: number;
  multA: number;
  multB: number;
  shift: number;
  qmin: number;
  qmax: number;
}

/**
 * y = clamp(zy + rq((a - za) * (b - zb), mult, shift), qmin, qmax), numpy broadcasting.
 * The product of two activations, e.g. a sigmoid gate times a feature map.
 */
export interface MulOp extends OpBase {
  type: 'mul';
  inputs: [a: number, b: number];
  output: number;
  mult: number;
  shift: number;
  qmin: number;
  qmax: number;
}

/** y = table[x]; table u8 [256]. Any elementwise function of one u8 tensor. */
export interface LutOp extends OpBase {
  type: 'lut';
  inputs: [x: number, table: number];
  output: number;
}

/** Shared window geometry of the pooling ops (over the last two axes of [N,C,H,W]). */
export interface PoolWindow {
  kernel: [number, number];
  strides: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
}

/** y = max of x over the in-bounds window taps (same quantization as x). */
export interface MaxPoolOp extends OpBase, PoolWindow {
  type: 'maxpool';
  inputs: [x: number];
  output: number;
}

/**
 * y = clamp(zy + divRound(Σ_{in-bounds} (x - zx) * mult, count * 2^shift), 0, 255),
 * count = kh*kw if countIncludePad else the number of in-bounds taps.
 * divRound(p, q) = floor((2p + q) / (2q)).
 */
export interface AvgPoolOp extends OpBase, PoolWindow {
  type: 'avgpool';
  inputs: [x: number];
  output: number;
  countIncludePad: boolean;
  mult: number;
  shift: number;
}

/** y = clamp(zy + divRound(Σ_axis (x - zx) * mult, len(axis) * 2^shift), 0, 255). Keeps the axis as size 1 if keepDims. */
export interface ReduceMeanOp extends OpBase {
  type: 'reducemean';
  inputs: [x: number];
  output: number;
  axis: number;
  keepDims: boolean;
  mult: number;
  shift: number;
}

/**
 * Over the last axis: m = max(x); e_i = expTable[m - x_i]; S = Σ e_i;
 * y_i = divRound(255 * e_i, S). Output scale 1/255, zero point 0.
 * expTable i32 [256], expTable[d] ≈ 2^16 * exp(-d * scale_x), expTable[0] = 2^16.
 */
export interface SoftmaxOp extends OpBase {
  type: 'softmax';
  inputs: [x: number, expTable: number];
  output: number;
}

/**
 * Over the last axis of length D: v_i = x_i - zx; S = Σ v_i; c_i = D*v_i - S;
 * sigma = isqrt(floor(Σ c_i² / D) + eps); n_i = sigma ? divRound(c_i * 2^10, sigma) : 0;
 * y_i = clamp(zy + rq(n_i * gamma_i + beta_i, mult, shift), qmin, qmax).
 * gamma, beta i32 [D].
 */
export interface LayerNormOp extends OpBase {
  type: 'layernorm';
  inputs: [x: number, gamma: number, beta: number];
  output: number;
  eps: number;
  mult: number;
  shift: number;
  qmin: number;
  qmax: number;
}

/** y[...ids, d] = table[ids[...], d]; table u8 const [V, D]; ids i32. An id outside [0, V) is an input error. */
export interface GatherOp extends OpBase {
  type: 'gather';
  inputs: [table: number, ids: number];
  output: number;
}

/** Same bytes, new shape. `shape` excludes the batch dimension. */
export interface ReshapeOp extends OpBase {
  type: 'reshape';
  inputs: [x: number];
  output: number;
  shape: number[];
}

/** y = x with axes permuted; perm[0] must be 0 (batch stays first). */
export interface TransposeOp extends OpBase {
  type: 'transpose';
  inputs: [x: number];
  output: number;
  perm: number[];
}

/** Concatenation along `axis` (> 0). All inputs share the output's zero point and scale. */
export interface ConcatOp extends OpBase {
  type: 'concat';
  inputs: number[];
  output: number;
  axis: number;
}

export type Op =
  | ConvOp
  | MatMulOp
  | AddOp
  | MulOp
  | LutOp
  | MaxPoolOp
  | AvgPoolOp
  | ReduceMeanOp
  | SoftmaxOp
  | LayerNormOp
  | GatherOp
  | ReshapeOp
  | TransposeOp
  | ConcatOp;

export interface ModelMeta {
  name: string;
  version: string;
  /** Free-form description of how the input is prepared (for example a tokenizer file name). */
  inputKind: 'tensor' | 'image' | 'tokens';
  /** Optional class labels for the output's last axis. */
  labels?: string[];
  /** keccak256 of the tokenizer file shipped with the model, so the tokenizer is part of the model ID. */
  tokenizerHash?: string;
}

export interface Model {
  meta: ModelMeta;
  tensors: TensorInfo[];
  /** Topological order. */
  ops: Op[];
  /** Constant tensor data, by tensor id. */
  consts: Map<number, TensorData>;
  input: number;
  output: number;
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function dtypeBytes(dtype: DType): number {
  return dtype === 'i32' ? 4 : 1;
}

export function allocTensor(dtype: DType, n: number): TensorData {
  if (dtype === 'u8') return new Uint8Array(n);
  if (dtype === 'i8') return new Int8Array(n);
  return new Int32Array(n);
}

/** The shape of a tensor when the model runs with batch size `batch`. */
export function batchedShape(info: TensorInfo, batch: number): number[] {
  if (info.kind === 'const') return info.shape;
  return [batch, ...info.shape.slice(1)];
}
