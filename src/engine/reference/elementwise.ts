import { clamp, rq, rshift } from '../arith.ts';
import type { AddOp, MulOp } from '../graph.ts';
import { broadcastIndexMap, type Tensor } from '../tensor.ts';

/**
 * add: y = clamp(zy + rshift((a - za) * multA + (b - zb) * multB, shift), qmin, qmax), numpy broadcasting.
 * |(a - za) * multA + (b - zb) * multB| <= 2 * 255 * 2^15 < 2^24.
 */
export function add(op: AddOp, [a, b]: Tensor[], outShape: number[], zy: number): Uint8Array {
  const aMap = broadcastIndexMap(a.shape, outShape);
  const bMap = broadcastIndexMap(b.shape, outShape);
  const y = new Uint8Array(aMap.length);
  for (let i = 0; i < y.length; i++) {
    const v = (a.data[aMap[i]] - a.zeroPoint) * op.multA + (b.data[bMap[i]] - b.zeroPoint) * op.multB;
    y[i] = clamp(zy + rshift(v, op.shift), op.qmin, op.qmax);
  }
  return y;
}

/**
 * mul: y = clamp(zy + rq((a - za) * (b - zb), mult, shift), qmin, qmax), numpy broadcasting.
 * |(a - za) * (b - zb)| <= 255 * 255 < 2^16.
 */
export function mul(op: MulOp, [a, b]: Tensor[], outShape: number[], zy: number): Uint8Array {
  const aMap = broadcastIndexMap(a.shape, outShape);
  const bMap = broadcastIndexMap(b.shape, outShape);
  const y = new Uint8Array(aMap.length);
  for (let i = 0; i < y.length; i++) {
    const p = (a.data[aMap[i]] - a.zeroPoint) * (b.data[bMap[i]] - b.zeroPoint);
    y[i] = clamp(zy + rq(p, op.mult, op.shift), op.qmin, op.qmax);
  }
  return y;
}

/** lut: y = table[x]; table (256,) u8. */
export function lut([x, table]: Tensor[]): Uint8Array {
  const y = new Uint8Array(x.data.length);
  for (let i = 0; i < y.length; i++) y[i] = table.data[x.data[i]];
  return y;
}
