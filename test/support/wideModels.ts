// Wide single-op models for one-step bounds: the shapes that real models' largest steps have.
import type { Model } from '../../src/engine/graph.ts';
import { ModelBuilder, mulberry32 } from './randomModel.ts';

/** x [1, M, K] @ w [K, N] with small constant weights (a classifier head's shape). */
export function weightMatmul(M: number, K: number, N: number): Model {
  const r = mulberry32(K * N);
  const b = new ModelBuilder();
  const x = b.input('u8', [1, M, K], 3);
  const w = b.constant(
    Int8Array.from({ length: K * N }, () => r.int(-2, 2)),
    [K, N],
  );
  b.op(
    {
      type: 'matmul',
      inputs: [
        x,
        w,
        b.constant(new Int32Array(N), [N]),
        b.constant(Int32Array.of(300), [1]),
        b.constant(Int32Array.of(14), [1]),
      ],
      qmin: 0,
      qmax: 255,
    },
    100,
  );
  return b.build(`matmul ${K}x${N}`);
}
