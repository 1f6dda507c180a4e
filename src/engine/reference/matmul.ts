import { clamp, rq } from '../arith.ts';
import type { MatMulOp } from '../graph.ts';
import { broadcastIndexMap, centered, type Tensor } from '../tensor.ts';

/**
 * matmul: y[...,i,j] = clamp(zy + rq(bias[j] + Σ_k (a[...,i,k] - za) * (b[...,k,j] - zb), mult[j|0], shift[j|0]), qmin, qmax)
 * a (...,M,K) u8 @ b (...,K,N) i8|u8 -> y (...,M,N) u8; leading dimensions broadcast.
 */
export function matmul(
  op: MatMulOp,
  [a, b, bias, mult, shift]: Tensor[],
  outShape: number[],
  zy: number,
): Uint8Array {
  const rank = outShape.length;
  const M = outShape[rank - 2];
  const N = outShape[rank - 1];
  const K = a.shape[a.shape.length - 1];
  const lead = outShape.slice(0, rank - 2);
  const batches = lead.reduce((p, d) => p * d, 1);
  const aMap = broadcastIndexMap(a.shape.slice(0, -2), lead);
  const bMap = broadcastIndexMap(b.shape.slice(0, -2), lead);
  // Subtract the zero points once, into arrays of one element type.
  const as = centered(a);
  const bs = centered(b);
  const perColumn = mult.data.length > 1;
  const y = new Uint8Array(batches * M * N);
  // The model validator proves |acc| < 2^31 for every matmul, so Int32Array holds it exactly.
  const acc = new Int32Array(N);
  for (let t = 0; t < batches; t++) {
    const aBase = aMap[t] * M * K;
    const bBase = bMap[t] * K * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) acc[j] = bias.data[j];
      for (let k = 0; k < K; k++) {
        const av = as[aBase + i * K + k];
        if (av === 0) continue;
        const row = bBase + k * N;
        for (let j = 0; j < N; j++) acc[j] += av * bs[row + j];
      }
      const yBase = (t * M + i) * N;
      for (let j = 0; j < N; j++) {
        const c = perColumn ? j : 0;
        y[yBase + j] = clamp(zy + rq(acc[j], mult.data[c], shift.data[c]), op.qmin, op.qmax);
      }
    }
  }
  return y;
}
