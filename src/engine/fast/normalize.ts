// Fast kernels of the row reductions softmax and layernorm. Each division and square root takes a
// double-precision first guess and corrects it with exact integer comparisons, so the result is
// the reference's floorDiv / isqrt value (property-tested in test/differential).
import { clamp, floorDiv, LAYERNORM_FRAC_BITS, pow2 } from '../arith.ts';
import type { LayerNormOp } from '../graph.ts';
import type { Exec } from './kernels.ts';

/**
 * FLOOR_RECIP: for integers |a| < 2^40 and 0 < b < 2^40, q = Math.floor(a * (1 / b)) is within 1
 * of floor(a / b) (a * fl(1/b) has relative error below 2^-51, so absolute error below 2^-11), and
 * one exact comparison of q*b and (q+1)*b (both below 2^53) with a corrects it. The result is
 * floor(a / b), arith.floorDiv's value, without a division (about 15 cycles, a multiply is 4).
 * (Property-tested in test/differential/fast-vs-reference.test.ts.)
 */

/**
 * ISQRT_EST: floor(sqrt(v)) for 0 <= v < 2^52 from the double square root, corrected by exact
 * integer comparisons (r*r and (r+1)^2 stay below 2^53): the value of arith.isqrt, whose Newton
 * iteration takes up to ~60 steps.
 */
export function isqrtEst(v: number): number {
  let r = Math.floor(Math.sqrt(v));
  while (r * r > v) r -= 1;
  while ((r + 1) * (r + 1) <= v) r += 1;
  return r;
}

export function compileSoftmax(xShape: number[], xId: number, tableId: number): Exec {
  const L = xShape[xShape.length - 1];
  const e = new Int32Array(L);
  return (values, y) => {
    const x = values[xId] as Uint8Array;
    const table = values[tableId] as Int32Array;
    const rows = x.length / L;
    for (let r = 0; r < rows; r++) {
      const base = r * L;
      let m = 0;
      for (let i = 0; i < L; i++) {
        const v = x[base + i];
        m -= (m - v) & ((m - v) >> 31);
      }
      let S = 0;
      for (let i = 0; i < L; i++) {
        const v = table[m - x[base + i]];
        e[i] = v;
        S += v;
      }
      // divRound(255 e, S) = floor((510 e + S) / 2S), by reciprocal and exact correction (FLOOR_RECIP).
      const S2 = 2 * S;
      const inv = 1 / S2;
      for (let i = 0; i < L; i++) {
        const a = 510 * e[i] + S;
        let q = Math.floor(a * inv);
        if (q * S2 > a) q -= 1;
        else if ((q + 1) * S2 <= a) q += 1;
        y[base + i] = q;
      }
    }
  };
}

export function compileLayerNorm(op: LayerNormOp, xShape: number[], zx: number, zy: number): Exec {
  const D = xShape[xShape.length - 1];
  const one = pow2(LAYERNORM_FRAC_BITS);
  const c = new Int32Array(D);
  const [xId, gId, bId] = op.inputs;
  const { eps, mult, shift, qmin, qmax } = op;
  const half = shift === 0 ? 0 : 2 ** (shift - 1);
  const scale = 2 ** -shift;
  return (values, y) => {
    const x = values[xId] as Uint8Array;
    const gamma = values[gId] as Int32Array;
    const beta = values[bId] as Int32Array;
    const rows = x.length / D;
    for (let r = 0; r < rows; r++) {
      const base = r * D;
      let S = 0;
      for (let i = 0; i < D; i++) S += x[base + i] - zx;
      let Q = 0;
      for (let i = 0; i < D; i++) {
        const ci = D * (x[base + i] - zx) - S;
        c[i] = ci;
        Q += ci * ci;
      }
      const sigma = isqrtEst(floorDiv(Q, D) + eps);
      // n = divRound(c * 2^10, sigma) = floor((2^11 c + sigma) / 2 sigma), with |2^11 c| <=
      // 2^11 * 2 * 255 * 2048 < 2^31 and sigma < 2^21, by FLOOR_RECIP. Then rq(n * gamma + beta)
      // with the reference's double operations (* 2^-s gives the same double as / 2^s).
      const s2 = 2 * sigma;
      const inv = 1 / s2;
      for (let i = 0; i < D; i++) {
        let n = 0;
        if (sigma > 0) {
          const a = 2 * one * c[i] + sigma;
          n = Math.floor(a * inv);
          if (n * s2 > a) n -= 1;
          else if ((n + 1) * s2 <= a) n += 1;
        }
        const r = Math.floor(((n * gamma[i] + beta[i]) * mult + half) * scale);
        y[base + i] = clamp(zy + r, qmin, qmax);
      }
    }
  };
}
