// The lowered graph: integer-IR-shaped ops that still carry float parameters. The quantizer turns
// each into integer ops once activation ranges are known.
import type { FTensor } from '../float/tensor.ts';

/** How a value's quantization is chosen. */
export type QuantSpec =
  /** u8 asymmetric over the calibrated range of probe `probe`. */
  | { kind: 'calib'; probe: number }
  /** Exactly the quantization of another value (data movement, max pooling). */
  | { kind: 'same'; as: string }
  /** The negation of another value: same scale, zero point 255 - z (exact). */
  | { kind: 'negated'; of: string }
  /** Softmax output: scale 1/255, zero point 0. */
  | { kind: 'softmax' }
  /** u8 asymmetric over the range of a constant table (embedding lookups). */
  | { kind: 'table'; data: Float64Array }
  /** i32 token ids. */
  | { kind: 'tokens' }
  /**
   * An additive mask (scores + mask, read by a softmax): the calibrated range of the unmasked
   * operand `probe`, widened by the unmasked table values [lo, hi] and by `margin` below, so that a
   * masked entry saturates to code 0 where the softmax's exponential table is exactly 0.
   */
  | { kind: 'masked'; probe: number; lo: number; hi: number; margin: number }
  /**
   * A token table that is an additive mask: its masked entries (at most MASKED_AT_MOST, or -inf)
   * become its lowest code, low enough to saturate every add listed (operand `a`, output `out`).
   */
  | { kind: 'maskTable'; data: Float64Array; adds: { a: string; out: string }[] };

export interface Probe {
  /** ONNX tensor whose calibration values are observed. */
  tensor: string;
  /** Optional transform of each observed value (e.g. 1/x for a reciprocal). */
  fn?: (v: number) => number;
}

export interface AValue {
  name: string;
  /** Shape with batch dimension 1. */
  shape: number[];
  quant: QuantSpec;
}

/** A float clamp fused into the producing op (Relu, Clip). */
export interface Act {
  lo: number;
  hi: number;
}

interface Base {
  name: string;
  out: string;
}

export type AOp =
  | (Base & {
      kind: 'conv';
      x: string;
      /** [M, C/group, KH, KW] */
      w: FTensor;
      bias: Float64Array;
      strides: [number, number];
      pads: [number, number, number, number];
      dilations: [number, number];
      group: number;
      act: Act | null;
    })
  /** y = x @ w + bias, w [K, N] constant. */
  | (Base & { kind: 'dense'; x: string; w: FTensor; bias: Float64Array; act: Act | null })
  /** y = alpha * (a @ b) + bias, both activations; alpha > 0. */
  | (Base & {
      kind: 'matmul';
      a: string;
      b: string;
      alpha: number;
      bias: Float64Array | null;
      act: Act | null;
    })
  /** y = a + b (activations or a constant b), numpy broadcasting. */
  | (Base & { kind: 'add'; a: string; b: string | FTensor; act: Act | null })
  /** y = fn(x) elementwise, as a 256-entry table. */
  | (Base & { kind: 'lut'; x: string; fn: (v: number) => number })
  | (Base & {
      kind: 'maxpool';
      x: string;
      kernel: [number, number];
      strides: [number, number];
      pads: [number, number, number, number];
    })
  | (Base & {
      kind: 'avgpool';
      x: string;
      kernel: [number, number];
      strides: [number, number];
      pads: [number, number, number, number];
      countIncludePad: boolean;
    })
  /** Mean (or sum if `sum`) over one axis. */
  | (Base & { kind: 'reducemean'; x: string; axis: number; keepDims: boolean; sum: boolean })
  | (Base & { kind: 'softmax'; x: string })
  | (Base & {
      kind: 'layernorm';
      x: string;
      gamma: Float64Array;
      beta: Float64Array;
      eps: number;
      act: Act | null;
    })
  | (Base & { kind: 'gather'; table: FTensor; ids: string })
  /** `shape` excludes the batch dimension. */
  | (Base & { kind: 'reshape'; x: string; shape: number[] })
  | (Base & { kind: 'transpose'; x: string; perm: number[] })
  | (Base & { kind: 'concat'; xs: string[]; axis: number })
  /**
   * out[..., j] = x[..., src[j]] over the last axis, or the float `pad` where src[j] = -1, in x's
   * quantization (Slice, Split, Pad, Expand, Tile). Quantized as a matmul by a 0/1 matrix.
   */
  | (Base & { kind: 'select'; x: string; src: Int32Array; pad: number });

export interface Lowered {
  ops: AOp[];
  values: Map<string, AValue>;
  probes: Probe[];
  input: string;
  output: string;
  /** Source ONNX op type of each lowered op's node, for reporting. */
  warnings: string[];
}
