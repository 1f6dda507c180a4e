// The blocks of the benchmark transformer, each quantized from the real statistics it predicts.
//
// Every block quantizes a float block that is never built, the way the ONNX importer would:
// a real weight column has unit norm (real weight = q / ‖column‖), layernorm gains lie within
// 1 ± 0.1, and an activation's scale is its predicted real rms / 32, so that it spreads over
// about ±4 rms = ±128 codes around zero point 128. The predictions assume that random weights
// make features independent. Tokens are not independent: biases, layernorm betas, the mean of
// GELU and attention's averaging give every token a common part, which attention (p·v) and mean
// pooling keep while they average the rest away. Each activation therefore carries the rms of
// that common part too.
import { LAYERNORM_FRAC_BITS } from '../../src/engine/arith.ts';
import { quantizeMultiplier, quantizePair, roundHalfAway } from '../../src/onnx/quantize/params.ts';
import type { GraphBuilder, Quant } from './graphBuilder.ts';
import { expNegRounded, geluSigmoidRounded, type SeededInts } from './seeded.ts';

/** Codes per real rms unit of a centered activation. */
export const CODES_PER_RMS = 32;
/** The layernorm gain code for a real gain of 1 (gains stay within ±10% of it, below 2^15). */
const GAIN_ONE = 2 ** 14;
/** Variance of a real bias uniform in ±0.1 (per unit rms): common to all tokens. */
const BIAS_VAR = 0.01 / 3;
/** GELU in its sigmoid form x·σ(1.702x): it needs only exp, which has an exact integer table. */
const GELU_C = { num: 1702, den: 1000 };
/** GELU output codes: 64 per unit from zero point 16, i.e. [-0.25, 3.73] ⊃ [min gelu = -0.164, 3.7]. */
const GELU_OUT = { perUnit: 64, zeroPoint: 16 };
/** √E[gelu(z)²] and E[gelu(z)] for z ~ N(0, 1) (numerical integrals of the sigmoid form). */
const GELU_RMS = 0.65;
const GELU_MEAN = 0.28;

/** An activation and its predicted real statistics. */
export interface Act {
  id: number;
  /** rms of the real value. */
  rms: number;
  /** rms of the part common to all tokens (the mean over tokens, per feature). */
  shared: number;
}

/**
 * √(a² + b²). Math.sqrt is correctly rounded by the spec while Math.hypot is left to the engine,
 * and these values reach the scales and multipliers that the model root commits.
 */
function norm2(a: number, b: number): number {
  return Math.sqrt(a * a + b * b);
}

export function centered(rms: number): Quant {
  return { zeroPoint: 128, scale: rms / CODES_PER_RMS };
}

/** Zero bias and one multiplier and shift for an op whose real output is acc · factor. */
function perTensor(g: GraphBuilder, name: string, factor: number, n: number): [number, number, number] {
  const r = quantizeMultiplier(factor, name);
  return [
    g.i32(`${name}.bias`, new Int32Array(n)),
    g.i32(`${name}.mult`, [r.mult]),
    g.i32(`${name}.shift`, [r.shift]),
  ];
}

/**
 * y = x·W + b: W i8 [K,N] uniform in [-127, 127], per-column requantization. Unit-norm columns
 * keep rms(y) = rms(x); the bias (uniform in ±0.1·rms(x)) adds 0.3% to the variance, ignored,
 * but it is common to all tokens, and so is the image of a non-zero input mean.
 */
export function dense(g: GraphBuilder, rng: SeededInts, name: string, x: Act, n: number): Act {
  const shape = g.shape(x.id);
  const k = shape[shape.length - 1];
  const w = Int8Array.from({ length: k * n }, () => rng.int(-127, 127));
  const sumSq = new Float64Array(n);
  for (let i = 0; i < k * n; i++) sumSq[i % n] += w[i] * w[i];
  const sx = g.quant(x.id).scale;
  const out = centered(x.rms);
  const mult = new Int32Array(n);
  const shift = new Int32Array(n);
  const bias = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    // The real value of one accumulator unit of column j: sx / ‖column j‖.
    const unitAcc = sx / Math.sqrt(sumSq[j]);
    const r = quantizeMultiplier(unitAcc / out.scale, `${name} column ${j}`);
    mult[j] = r.mult;
    shift[j] = r.shift;
    bias[j] = roundHalfAway(((rng.int(-100, 100) / 1000) * x.rms) / unitAcc);
  }
  const inputs: [number, number, number, number, number] = [
    x.id,
    g.constant(`${name}.weight`, w, [k, n]),
    g.constant(`${name}.bias`, bias, [n]),
    g.constant(`${name}.mult`, mult, [n]),
    g.constant(`${name}.shift`, shift, [n]),
  ];
  const id = g.op({ type: 'matmul', name, inputs, qmin: 0, qmax: 255 }, out);
  return { id, rms: x.rms, shared: Math.sqrt(x.shared ** 2 + BIAS_VAR * x.rms ** 2) };
}

/** Layernorm over the last axis, gains within 1 ± 0.1, biases within ±0.1: real rms 1. */
export function layerNorm(g: GraphBuilder, rng: SeededInts, name: string, x: Act): Act {
  const shape = g.shape(x.id);
  const D = shape[shape.length - 1];
  const sx = g.quant(x.id).scale;
  const spread = Math.floor(GAIN_ONE / 10);
  const gamma = Int32Array.from({ length: D }, () => GAIN_ONE + rng.int(-spread, spread));
  // n_i·γ_i counts in units of 2^-10 / GAIN_ONE, so a real bias b is b · 2^10 · GAIN_ONE.
  const accPerUnit = 2 ** LAYERNORM_FRAC_BITS * GAIN_ONE;
  const beta = Int32Array.from({ length: D }, () => roundHalfAway((rng.int(-100, 100) * accPerUnit) / 1000));
  const out = centered(1);
  const r = quantizeMultiplier(1 / (accPerUnit * out.scale), name);
  // sigma² is D² · var(x − zx) in codes, so a real epsilon of 1e-5 is 1e-5 · D² / sx².
  const eps = roundHalfAway((1e-5 * D * D) / (sx * sx));
  const inputs: [number, number, number] = [
    x.id,
    g.constant(`${name}.gamma`, gamma, [D]),
    g.constant(`${name}.beta`, beta, [D]),
  ];
  const id = g.op({ type: 'layernorm', name, inputs, eps, ...r, qmin: 0, qmax: 255 }, out);
  return { id, rms: 1, shared: Math.sqrt((x.shared / x.rms) ** 2 + BIAS_VAR) };
}

/** a + b, requantized to the rms of a sum of independent parts. */
export function residual(g: GraphBuilder, name: string, a: Act, b: Act): Act {
  const rms = norm2(a.rms, b.rms);
  const out = centered(rms);
  const r = quantizePair(g.quant(a.id).scale / out.scale, g.quant(b.id).scale / out.scale, name);
  const id = g.op({ type: 'add', name, inputs: [a.id, b.id], ...r, qmin: 0, qmax: 255 }, out);
  return { id, rms, shared: norm2(a.shared, b.shared) };
}

/** GELU as a 256-entry table. Its input must have unit rms (scale 1/32), the output of a projection of a layernorm. */
export function gelu(g: GraphBuilder, name: string, x: Act): Act {
  const q = g.quant(x.id);
  if (q.zeroPoint !== 128 || q.scale !== 1 / CODES_PER_RMS) {
    throw new Error(
      `${name}: the GELU table needs an input with zero point 128 and scale 1/${CODES_PER_RMS}.`,
    );
  }
  const table = Uint8Array.from({ length: 256 }, (_, i) => {
    const y = geluSigmoidRounded(i - 128, CODES_PER_RMS, GELU_C.num, GELU_C.den, GELU_OUT.perUnit);
    return Math.min(255, Math.max(0, GELU_OUT.zeroPoint + y));
  });
  const out = { zeroPoint: GELU_OUT.zeroPoint, scale: 1 / GELU_OUT.perUnit };
  const id = g.op({ type: 'lut', name, inputs: [x.id, g.constant(`${name}.table`, table, [256])] }, out);
  // The mean of GELU is common to all tokens; its slope near 0 (1/2) passes on half the input's common part.
  return { id, rms: GELU_RMS, shared: norm2(GELU_MEAN, x.shared / 2) };
}

/** The average over tokens of the real value of an activation [T,...]. */
export function tokenMeanRms(x: Act, tokens: number): number {
  return Math.sqrt(x.shared ** 2 + (x.rms ** 2 - x.shared ** 2) / tokens);
}

/** Multi-head self-attention of a layernorm output h [T,d], with its output projection. */
export function attention(g: GraphBuilder, rng: SeededInts, prefix: string, h: Act, heads: number): Act {
  const [, T, d] = g.shape(h.id);
  const dh = d / heads;
  const project = (what: string) => dense(g, rng, `${prefix}/attn/${what}`, h, d);
  // [T,d] -> [T,H,dh] -> [H,T,dh] for q and v, [H,dh,T] for k.
  const split = (a: Act, what: string, perm: number[]) => {
    const name = `${prefix}/attn/${what}`;
    const shape = [T, heads, dh];
    const r = g.op({ type: 'reshape', name: `${name}/split`, inputs: [a.id], shape }, g.quant(a.id));
    return g.op({ type: 'transpose', name: `${name}/heads`, inputs: [r], perm }, g.quant(a.id));
  };
  const q = project('q');
  const k = project('k');
  const v = project('v');
  const qh = split(q, 'q', [0, 2, 1, 3]);
  const kh = split(k, 'k', [0, 2, 3, 1]);
  const vh = split(v, 'v', [0, 2, 1, 3]);

  // Real logits q·k / √dh have rms rms(q)·rms(k) = 1: the scale 1/32 that the exp table assumes.
  const scoresName = `${prefix}/attn/scores`;
  const scoresQuant = { zeroPoint: 128, scale: 1 / CODES_PER_RMS };
  const accUnit = (g.quant(q.id).scale * g.quant(k.id).scale) / Math.sqrt(dh);
  const scores = g.op(
    {
      type: 'matmul',
      name: scoresName,
      inputs: [qh, kh, ...perTensor(g, scoresName, accUnit / scoresQuant.scale, T)],
      qmin: 0,
      qmax: 255,
    },
    scoresQuant,
  );
  // expTable[d] = round(2^16 · exp(−d / 32)).
  const expTable = Int32Array.from({ length: 256 }, (_, i) => expNegRounded(i, CODES_PER_RMS, 16));
  const probsName = `${prefix}/attn/softmax`;
  const probs = g.op(
    {
      type: 'softmax',
      name: probsName,
      inputs: [scores, g.constant(`${probsName}.expTable`, expTable, [256])],
    },
    { zeroPoint: 0, scale: 1 / 255 },
  );

  // p·v keeps the common part of v and averages the rest: with unit-rms logits Σp² ≈ e / T, and
  // the uniform share 1 / T of that is the same for every query.
  const own = v.rms ** 2 - v.shared ** 2;
  const ctxRms = Math.sqrt(v.shared ** 2 + (own * Math.E) / T);
  const ctxName = `${prefix}/attn/context`;
  const ctxQuant = centered(ctxRms);
  const ctx = g.op(
    {
      type: 'matmul',
      name: ctxName,
      inputs: [probs, vh, ...perTensor(g, ctxName, g.quant(v.id).scale / 255 / ctxQuant.scale, dh)],
      qmin: 0,
      qmax: 255,
    },
    ctxQuant,
  );
  const perm = [0, 2, 1, 3];
  const t = g.op({ type: 'transpose', name: `${ctxName}/tokens`, inputs: [ctx], perm }, ctxQuant);
  const merged = g.op({ type: 'reshape', name: `${ctxName}/merge`, inputs: [t], shape: [T, d] }, ctxQuant);
  const shared = Math.sqrt(v.shared ** 2 + own / T);
  return dense(g, rng, `${prefix}/attn/out`, { id: merged, rms: ctxRms, shared }, d);
}
