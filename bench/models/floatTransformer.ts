// The benchmark transformer as a float ONNX graph with seeded weights (the float twin of the
// integer-IR model in ./transformer.ts, with the same default sizes), in the node layout of a
// PyTorch export at opset 17:
//
//   x = Gather(tokEmb, ids) + posEmb                                   [N,T,d]
//   per layer (pre-norm):
//     h = LayerNormalization(x)
//     q, k, v = MatMul(h, W) + b; Reshape [N,T,H,dh]; Transpose to
//               q, v [N,H,T,dh] and k [N,H,dh,T]
//     p = Softmax(MatMul(q, k) · 1/√dh)                                [N,H,T,T]
//     x = x + MatMul(Reshape(Transpose(MatMul(p, v))), Wo) + bo
//     x = x + MatMul(gelu(MatMul(LayerNormalization(x), W1) + b1), W2) + b2
//         gelu(f) = f · (1 + Erf(f / √2)) · 0.5
//   logits = Gemm(ReduceMean_T(Transpose(LayerNormalization(x))), Wc, bc) [N,classes]

import { bellFloats, heFloats, invSqrt, uniformFloats } from './floatInit.ts';
import { ONNX_FLOAT, ONNX_INT64, OnnxGraphWriter } from './onnxWriter.ts';
import { seededInts } from './seeded.ts';
import { BENCH_TRANSFORMER_DEFAULTS, type BenchTransformerOptions } from './transformer.ts';

export type FloatTransformerOptions = BenchTransformerOptions;

export function floatTransformerOptions(
  options: FloatTransformerOptions = {},
): Required<BenchTransformerOptions> {
  const o = { ...BENCH_TRANSFORMER_DEFAULTS, ...options };
  for (const [k, v] of Object.entries(o)) {
    if (!Number.isInteger(v) || (k !== 'seed' && v < 1))
      throw new RangeError(`${k} ${v} must be a positive integer.`);
  }
  if (o.d % o.heads !== 0) throw new RangeError(`d ${o.d} must be a multiple of heads ${o.heads}.`);
  return o;
}

/** The float ONNX bytes of the transformer with these options (the same options, the same bytes). */
export function buildFloatTransformerOnnx(options: FloatTransformerOptions = {}): Uint8Array {
  const o = floatTransformerOptions(options);
  const { d, tokens: T, heads: H } = o;
  const dh = d / H;
  const rng = seededInts(o.seed);
  const g = new OnnxGraphWriter(17);
  const ids = g.input('ids', ONNX_INT64, ['N', T]);
  const one = g.scalar('one', 1);
  const half = g.scalar('half', 0.5);
  const sqrt2 = g.scalar('sqrt2', Math.fround(Math.SQRT2));
  const scale = g.scalar('attn_scale', invSqrt(dh));
  const toHeads = g.int64s('heads_shape', [4], [-1, T, H, dh]);
  const toModel = g.int64s('model_shape', [3], [-1, T, d]);

  const linear = (x: string, din: number, dout: number, gainNum: number, gainDen = 1) => {
    const w = g.floats(g.fresh('w'), [din, dout], heFloats(rng, din * dout, din, gainNum, gainDen));
    const b = g.floats(g.fresh('b'), [dout], uniformFloats(rng, dout, -512, 512));
    return g.op('Add', [g.op('MatMul', [x, w]), b]);
  };
  const layerNorm = (x: string) => {
    // Folded-in affine parameters near 1 and 0, as after training.
    const gamma = uniformFloats(rng, d, 14336, 18432);
    const beta = uniformFloats(rng, d, -1024, 1024);
    const gn = g.floats(g.fresh('ln_g'), [d], gamma);
    const bn = g.floats(g.fresh('ln_b'), [d], beta);
    return g.op('LayerNormalization', [x, gn, bn], { axis: -1, epsilon: { float: 1e-5 } });
  };

  const emb = g.floats('tok_emb', [o.vocab, d], bellFloats(rng, o.vocab * d, 1, 1));
  const pos = g.floats('pos_emb', [T, d], bellFloats(rng, T * d, 1, 16));
  let x = g.op('Add', [g.op('Gather', [emb, ids], { axis: 0 }), pos]);
  for (let l = 0; l < o.layers; l++) {
    const h = layerNorm(x);
    const split = (v: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [v, toHeads])], { perm });
    const q = split(linear(h, d, d, 1), [0, 2, 1, 3]);
    const k = split(linear(h, d, d, 1), [0, 2, 3, 1]);
    const v = split(linear(h, d, d, 1), [0, 2, 1, 3]);
    const p = g.op('Softmax', [g.op('Mul', [g.op('MatMul', [q, k]), scale])], { axis: -1 });
    const ctx = g.op('Reshape', [
      g.op('Transpose', [g.op('MatMul', [p, v])], { perm: [0, 2, 1, 3] }),
      toModel,
    ]);
    // Residual branches at half gain, so the stream grows slowly over the layers.
    x = g.op('Add', [x, linear(ctx, d, d, 1, 2)]);
    const f = linear(layerNorm(x), d, o.ffn, 2);
    const gelu = g.op('Mul', [
      g.op('Mul', [f, g.op('Add', [g.op('Erf', [g.op('Div', [f, sqrt2])]), one])]),
      half,
    ]);
    x = g.op('Add', [x, linear(gelu, o.ffn, d, 1, 2)]);
  }
  // Mean over the tokens of the transposed [N,d,T] tensor: a mean over axis 1 of [N,T,d] reads one
  // element per 256 bytes, 33 chunks for one output at T = 128, past the one-step gas limit.
  const byFeature = g.op('Transpose', [layerNorm(x)], { perm: [0, 2, 1] });
  const pooled = g.op('ReduceMean', [byFeature], { axes: [2], keepdims: 0 });
  const wc = g.floats('head_w', [d, o.classes], heFloats(rng, d * o.classes, d, 1));
  const bc = g.floats('head_b', [o.classes], bellFloats(rng, o.classes, 1, 1024));
  const logits = g.op('Gemm', [pooled, wc, bc], { alpha: { float: 1 }, beta: { float: 1 } }, 'logits');
  g.output(logits, ONNX_FLOAT, ['N', o.classes]);
  return g.encode();
}

/** `count` seeded token sequences [T] with ids in [0, vocab). */
export function floatTransformerInputs(
  seed: number,
  count: number,
  options: FloatTransformerOptions = {},
): number[][] {
  const o = floatTransformerOptions(options);
  const rng = seededInts(seed);
  return Array.from({ length: count }, () => Array.from({ length: o.tokens }, () => rng.int(0, o.vocab - 1)));
}
