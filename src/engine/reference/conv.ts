import { clamp, rq } from '../arith.ts';
import type { ConvOp } from '../graph.ts';
import { centered, type Tensor } from '../tensor.ts';

/**
 * conv: y[n,m,oy,ox] = clamp(zy + rq(bias[m] + Σ_{c,ky,kx} (x[n,g*Cg+c,iy,ix] - zx) * w[m,c,ky,kx], mult[m|0], shift[m|0]), qmin, qmax)
 * iy = oy*sh - padTop + ky*dh, ix = ox*sw - padLeft + kx*dw; taps outside the input contribute 0.
 * x (N,C,H,W) u8, w (M,C/group,KH,KW) i8 -> y (N,M,OH,OW) u8.
 *
 * The sum is accumulated weight by weight over a whole output plane (one weight times a shifted
 * input row segment), which visits the same taps as the formula, in a cache-friendly order.
 */
export function conv(
  op: ConvOp,
  [x, w, bias, mult, shift]: Tensor[],
  outShape: number[],
  zy: number,
): Uint8Array {
  const [N, C, H, W] = x.shape;
  const [M, Cg, KH, KW] = w.shape;
  const [, , OH, OW] = outShape;
  const [sh, sw] = op.strides;
  const [pt, pl] = op.pads;
  const [dh, dw] = op.dilations;
  const Mg = M / op.group;
  // x - zx once, so that padding (which contributes 0) and real taps need no further correction.
  const xs = centered(x);
  const wd = centered(w);
  // mult and shift are per output channel, or one value for the whole tensor.
  const perChannel = mult.data.length > 1;
  const y = new Uint8Array(N * M * OH * OW);
  // The validator proves |acc| < 2^31, so Int32Array holds it exactly.
  const acc = new Int32Array(OH * OW);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = Math.floor(m / Mg);
      acc.fill(bias.data[m]);
      for (let c = 0; c < Cg; c++) {
        const plane = (n * C + g * Cg + c) * H * W;
        for (let ky = 0; ky < KH; ky++) {
          for (let kx = 0; kx < KW; kx++) {
            const wv = wd[((m * Cg + c) * KH + ky) * KW + kx];
            if (wv === 0) continue;
            // Output columns whose tap ix = ox*sw - pl + kx*dw lies inside [0, W).
            const off = kx * dw - pl;
            const ox0 = Math.max(0, Math.ceil(-off / sw));
            const ox1 = Math.min(OW, Math.floor((W - 1 - off) / sw) + 1);
            for (let oy = 0; oy < OH; oy++) {
              const iy = oy * sh - pt + ky * dh;
              if (iy < 0 || iy >= H) continue;
              const row = plane + iy * W + off;
              const out = oy * OW;
              for (let ox = ox0; ox < ox1; ox++) acc[out + ox] += wv * xs[row + ox * sw];
            }
          }
        }
      }
      const c = perChannel ? m : 0;
      const base = (n * M + m) * OH * OW;
      for (let i = 0; i < OH * OW; i++) {
        y[base + i] = clamp(zy + rq(acc[i], mult.data[c], shift.data[c]), op.qmin, op.qmax);
      }
    }
  }
  return y;
}
