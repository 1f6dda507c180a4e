import { clamp, divRound, floorDiv, isqrt, LAYERNORM_FRAC_BITS, pow2, rq } from '../arith.ts';
import type { LayerNormOp } from '../graph.ts';
import type { Tensor } from '../tensor.ts';

/**
 * softmax over the last axis (length L): m = max_i x_i; e_i = expTable[m - x_i]; S = Σ e_i;
 * y_i = divRound(255 * e_i, S). Output scale 1/255, zero point 0.
 * e_i <= 2^16 and S <= L * 2^16, so every product stays below 2^53 for L < 2^20.
 */
export function softmax([x, expTable]: Tensor[]): Uint8Array {
  const L = x.shape[x.shape.length - 1];
  const rows = x.data.length / L;
  const y = new Uint8Array(x.data.length);
  const e = new Int32Array(L);
  for (let r = 0; r < rows; r++) {
    const base = r * L;
    let m = 0;
    for (let i = 0; i < L; i++) if (x.data[base + i] > m) m = x.data[base + i];
    let S = 0;
    for (let i = 0; i < L; i++) {
      e[i] = expTable.data[m - x.data[base + i]];
      S += e[i];
    }
    for (let i = 0; i < L; i++) y[base + i] = divRound(255 * e[i], S);
  }
  return y;
}

/**
 * layernorm over the last axis (length D): v_i = x_i - zx; S = Σ v_i; c_i = D*v_i - S;
 * sigma = isqrt(floor(Σ c_i^2 / D) + eps); n_i = sigma > 0 ? divRound(c_i * 2^10, sigma) : 0;
 * y_i = clamp(zy + rq(n_i * gamma_i + beta_i, mult, shift), qmin, qmax).
 * |c_i| <= 255*D and Σ c_i^2 <= 255^2 * D^3 < 2^52 for D <= 2^12.
 */
export function layernorm(op: LayerNormOp, [x, gamma, beta]: Tensor[], zy: number): Uint8Array {
  const D = x.shape[x.shape.length - 1];
  const rows = x.data.length / D;
  const zx = x.zeroPoint;
  const one = pow2(LAYERNORM_FRAC_BITS);
  const y = new Uint8Array(x.data.length);
  const c = new Int32Array(D);
  for (let r = 0; r < rows; r++) {
    const base = r * D;
    let S = 0;
    for (let i = 0; i < D; i++) S += x.data[base + i] - zx;
    let Q = 0;
    for (let i = 0; i < D; i++) {
      c[i] = D * (x.data[base + i] - zx) - S;
      Q += c[i] * c[i];
    }
    const sigma = isqrt(floorDiv(Q, D) + op.eps);
    for (let i = 0; i < D; i++) {
      const n = sigma > 0 ? divRound(c[i] * one, sigma) : 0;
      y[base + i] = clamp(zy + rq(n * gamma.data[i] + beta.data[i], op.mult, op.shift), op.qmin, op.qmax);
    }
  }
  return y;
}
