import { clamp, divRound, pow2 } from '../arith.ts';
import type { AvgPoolOp, MaxPoolOp, ReduceMeanOp } from '../graph.ts';
import type { Tensor } from '../tensor.ts';

/**
 * maxpool: y[n,c,oy,ox] = max_{ky,kx in bounds} x[n,c,oy*sh-pt+ky, ox*sw-pl+kx].
 * x (N,C,H,W) u8 -> y (N,C,OH,OW) u8, same quantization.
 */
export function maxpool(op: MaxPoolOp, [x]: Tensor[], outShape: number[]): Uint8Array {
  const [N, C, H, W] = x.shape;
  const [, , OH, OW] = outShape;
  const y = new Uint8Array(N * C * OH * OW);
  forEachWindow(op, N * C, H, W, OH, OW, (plane, oy, ox, y0, y1, x0, x1) => {
    let m = 0;
    for (let iy = y0; iy < y1; iy++) {
      for (let ix = x0; ix < x1; ix++) {
        const v = x.data[(plane * H + iy) * W + ix];
        if (v > m) m = v;
      }
    }
    y[(plane * OH + oy) * OW + ox] = m;
  });
  return y;
}

/**
 * avgpool: y = clamp(zy + divRound(Σ_{in-bounds} (x - zx) * mult, count * 2^shift), 0, 255),
 * count = KH*KW if countIncludePad, else the number of in-bounds taps.
 */
export function avgpool(op: AvgPoolOp, [x]: Tensor[], outShape: number[], zy: number): Uint8Array {
  const [N, C, H, W] = x.shape;
  const [, , OH, OW] = outShape;
  const zx = x.zeroPoint;
  const full = op.kernel[0] * op.kernel[1];
  const y = new Uint8Array(N * C * OH * OW);
  forEachWindow(op, N * C, H, W, OH, OW, (plane, oy, ox, y0, y1, x0, x1) => {
    let sum = 0;
    for (let iy = y0; iy < y1; iy++) {
      for (let ix = x0; ix < x1; ix++) sum += x.data[(plane * H + iy) * W + ix] - zx;
    }
    const count = op.countIncludePad ? full : (y1 - y0) * (x1 - x0);
    y[(plane * OH + oy) * OW + ox] = clamp(zy + divRound(sum * op.mult, count * pow2(op.shift)), 0, 255);
  });
  return y;
}

type WindowVisitor = (
  plane: number,
  oy: number,
  ox: number,
  y0: number,
  y1: number,
  x0: number,
  x1: number,
) => void;

/** Calls `visit` with the in-bounds row range [y0,y1) and column range [x0,x1) of each output window. */
function forEachWindow(
  op: MaxPoolOp | AvgPoolOp,
  planes: number,
  H: number,
  W: number,
  OH: number,
  OW: number,
  visit: WindowVisitor,
): void {
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.strides;
  const [pt, pl] = op.pads;
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = Math.max(0, oy * sh - pt);
      const y1 = Math.min(H, oy * sh - pt + kh);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = Math.max(0, ox * sw - pl);
        const x1 = Math.min(W, ox * sw - pl + kw);
        visit(p, oy, ox, y0, y1, x0, x1);
      }
    }
  }
}

/**
 * reducemean: y = clamp(zy + divRound(Σ_axis (x - zx) * mult, len(axis) * 2^shift), 0, 255).
 */
export function reducemean(op: ReduceMeanOp, [x]: Tensor[], zy: number): Uint8Array {
  const outer = x.shape.slice(0, op.axis).reduce((p, d) => p * d, 1);
  const len = x.shape[op.axis];
  const inner = x.shape.slice(op.axis + 1).reduce((p, d) => p * d, 1);
  const zx = x.zeroPoint;
  const divisor = len * pow2(op.shift);
  const y = new Uint8Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let sum = 0;
      for (let r = 0; r < len; r++) sum += x.data[(o * len + r) * inner + i] - zx;
      y[o * inner + i] = clamp(zy + divRound(sum * op.mult, divisor), 0, 255);
    }
  }
  return y;
}
