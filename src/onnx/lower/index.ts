// Lowering: turns the dynamic ONNX graph into ops of the integer IR with float parameters.
import { UnsupportedOpError } from '../../errors/base.ts';
import type { DynGraph } from '../fold.ts';
import type { OnnxNode } from '../parse.ts';
import { canonicalizeBatch } from './batch.ts';
import { lowerBinary } from './binary.ts';
import { Lowering } from './context.ts';
import { lowerBatchNorm, lowerConv, lowerGemm, lowerMatMul } from './linear.ts';
import { lowerConcat, lowerGather, lowerPad, lowerPool, lowerReshape, lowerTranspose } from './movement.ts';
import { lowerLayerNorm, lowerReduce, lowerSoftmax, tryDecomposedLayerNorm } from './norm.ts';
import { lowerReduceMax } from './reducemax.ts';
import { lowerSelect } from './select.ts';
import type { Lowered } from './types.ts';
import { lowerWhere } from './where.ts';

type Handler = (L: Lowering, node: OnnxNode) => void;

const HANDLERS: Record<string, Handler> = {
  Conv: lowerConv,
  BatchNormalization: lowerBatchNorm,
  Gemm: lowerGemm,
  MatMul: lowerMatMul,
  Add: lowerBinary,
  Sub: lowerBinary,
  Mul: lowerBinary,
  Div: lowerBinary,
  Sum: lowerBinary,
  Softmax: lowerSoftmax,
  LayerNormalization: lowerLayerNorm,
  ReduceMean: (L, node) => {
    if (!tryDecomposedLayerNorm(L, node)) lowerReduce(L, node);
  },
  ReduceSum: lowerReduce,
  ReduceMax: lowerReduceMax,
  MaxPool: lowerPool,
  AveragePool: lowerPool,
  GlobalAveragePool: lowerPool,
  GlobalMaxPool: lowerPool,
  Pad: lowerPad,
  Flatten: lowerReshape,
  Reshape: lowerReshape,
  Squeeze: lowerReshape,
  Unsqueeze: lowerReshape,
  Transpose: lowerTranspose,
  Concat: lowerConcat,
  Gather: lowerGather,
  Slice: lowerSelect,
  Split: lowerSelect,
  Expand: lowerSelect,
  Tile: lowerSelect,
  Resize: lowerSelect,
  Upsample: lowerSelect,
  Where: lowerWhere,
};

function lowerNode(L: Lowering, node: OnnxNode): void {
  // Gather takes token ids as indices and Where as a condition (lower/where.ts checks its branches).
  if (
    node.opType !== 'Gather' &&
    node.opType !== 'Where' &&
    L.dynInputs(node).some((i) => L.g.intTensors.has(i))
  ) {
    L.fail(
      node,
      'it computes on integer values (token ids) at run time; token ids may only index an embedding table (Gather).',
    );
  }
  const handler = HANDLERS[node.opType];
  if (!handler) {
    L.fail(
      node,
      'it cannot be applied to activations here (it is supported only on constants or shapes, or as an elementwise function with scalar constants).',
    );
  }
  handler(L, node);
}

export function lowerGraph(g: DynGraph): Lowered {
  const L = new Lowering(g);
  const input = g.input.name;
  L.define('the model input', input, g.input.shape, g.input.isInt ? { kind: 'tokens' } : L.probe(input));
  for (const node of g.nodes) {
    if (L.claimed.has(node) || L.tryTokenRegion(node) || L.tryRegion(node)) continue;
    lowerNode(L, node);
  }
  const output = L.use(g.output);
  const last = L.ops[L.ops.length - 1];
  if (!last || last.out !== output) {
    throw new UnsupportedOpError(
      'The model output is not computed by any op (the graph only renames its input).',
    );
  }
  if (L.values.get(output)?.quant.kind === 'tokens')
    throw new UnsupportedOpError('The model output must not be token ids.');
  return canonicalizeBatch({
    ops: L.ops,
    values: L.values,
    probes: L.probes,
    input,
    output,
    warnings: L.warnings,
  });
}
