// Size figures of a model that the dispute benchmarks scale with: ops, trace bytes, dot lengths.
import { elementCount, type Model } from '../../src/engine/graph.ts';

export interface ModelStats {
  ops: number;
  /** Op count by type. */
  opTypes: Record<string, number>;
  tensors: number;
  /** Elements of weights, biases, embeddings and normalization constants. */
  params: number;
  /** Bytes of every op output for one sample: the trace a dispute bisects over. */
  activationBytes: number;
  /** The largest single op output, in bytes. */
  largestActivation: number;
  /** Taps of the longest dot product (the K of a matmul, Cg·KH·KW of a conv). */
  maxDotLength: number;
  /** Multiply-accumulates of the matmuls and convs for one sample. */
  macs: number;
}

export function modelStats(model: Model): ModelStats {
  const shape = (id: number) => model.tensors[id].shape;
  const parameterIds = new Set<number>();
  const opTypes: Record<string, number> = {};
  let activationBytes = 0;
  let largestActivation = 0;
  let maxDotLength = 0;
  let macs = 0;
  for (const op of model.ops) {
    opTypes[op.type] = (opTypes[op.type] ?? 0) + 1;
    const out = elementCount(shape(op.output));
    activationBytes += out;
    largestActivation = Math.max(largestActivation, out);
    // Tables, exp tables, multipliers and shifts are derived from the parameters, not counted.
    const params: number[] =
      op.type === 'matmul' || op.type === 'conv'
        ? [op.inputs[1], op.inputs[2]]
        : op.type === 'layernorm'
          ? [op.inputs[1], op.inputs[2]]
          : op.type === 'gather'
            ? [op.inputs[0]]
            : op.type === 'add' || op.type === 'mul'
              ? [...op.inputs]
              : [];
    for (const id of params) if (model.tensors[id].kind === 'const') parameterIds.add(id);
    if (op.type === 'matmul') {
      const a = shape(op.inputs[0]);
      const k = a[a.length - 1];
      maxDotLength = Math.max(maxDotLength, k);
      macs += out * k;
    } else if (op.type === 'conv') {
      const [, cg, kh, kw] = shape(op.inputs[1]);
      maxDotLength = Math.max(maxDotLength, cg * kh * kw);
      macs += out * cg * kh * kw;
    }
  }
  let params = 0;
  for (const id of parameterIds) params += elementCount(shape(id));
  return {
    ops: model.ops.length,
    opTypes,
    tensors: model.tensors.length,
    params,
    activationBytes,
    largestActivation,
    maxDotLength,
    macs,
  };
}
