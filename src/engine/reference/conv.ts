import { clamp, rq } from '../arith.ts';
import type { ConvOp } from '../graph.ts';
import type { Tensor } from '../tensor.ts';

/**
 * conv: y[n,m,oy,ox] = clamp(zy + rq(bias[m] + Σ_{c,ky,kx} (x[n,g*Cg+c,iy,ix] - zx) * w[m,c,ky,kx], mult[m|0], shift[m|0]), qmin, qmax)
 * iy = oy*sh - padTop + ky*dh, ix = ox*sw - padLeft + kx*dw; taps outside the input contribute 0.
 * x (N,C,H,W) u8, w (M,C/group,KH,KW) i8 -> y (N,M,OH,OW) u8.
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
  const zx = x.zeroPoint;
  const xd = x.data;
  const wd = w.data;
  // mult and shift are per output channel, or one value for the whole tensor.
  const perChannel = mult.data.length > 1;
  const y = new Uint8Array(N * M * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = Math.floor(m / Mg);
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let acc = bias.data[m];
          for (let c = 0; c < Cg; c++) {
            const xBase = (n * C + g * Cg + c) * H;
            const wBase = (m * Cg + c) * KH;
            for (let ky = 0; ky < KH; ky++) {
              const iy = oy * sh - pt + ky * dh;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const ix = ox * sw - pl + kx * dw;
                if (ix < 0 || ix >= W) continue;
                acc += (xd[(xBase + iy) * W + ix] - zx) * wd[(wBase + ky) * KW + kx];
              }
            }
          }
          y[((n * M + m) * OH + oy) * OW + ox] = clamp(
            zy + rq(acc, mult.data[perChannel ? m : 0], shift.data[perChannel ? m : 0]),
            op.qmin,
            op.qmax,
          );
        }
      }
    }
  }
  return y;
}
