// The float evaluator: runs ONNX nodes on float64 tensors. Used to fold constant subgraphs, to
// learn every tensor's shape, and to collect activation ranges on the calibration samples.
import { OnnxFormatError } from '../../errors/base.ts';
import type { OnnxNode } from '../parse.ts';
import { evalElementwise } from './elementwise.ts';
import { batchNorm, conv, gemm, layerNorm, matmul, pool, reduce, softmax } from './nn.ts';
import { resize } from './resize.ts';
import {
  concat,
  constantOfShape,
  constantValue,
  expand,
  gather,
  pad,
  range,
  reshapeLikeShape,
  slice,
  split,
  tile,
  transpose,
} from './shape.ts';
import { type FTensor, intsOf } from './tensor.ts';

/** Every op type the float evaluator knows. */
export const EVALUATOR_OPS = new Set([
  'Abs',
  'Add',
  'And',
  'AveragePool',
  'BatchNormalization',
  'Cast',
  'Ceil',
  'Celu',
  'Clip',
  'Concat',
  'Constant',
  'ConstantOfShape',
  'Conv',
  'Cos',
  'Div',
  'Dropout',
  'Elu',
  'Equal',
  'Erf',
  'Exp',
  'Expand',
  'Flatten',
  'Floor',
  'Gather',
  'Gelu',
  'Gemm',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'Greater',
  'GreaterOrEqual',
  'HardSigmoid',
  'HardSwish',
  'Identity',
  'LayerNormalization',
  'LeakyRelu',
  'Less',
  'LessOrEqual',
  'Log',
  'LogSoftmax',
  'MatMul',
  'Max',
  'MaxPool',
  'Mean',
  'Min',
  'Mish',
  'Mod',
  'Mul',
  'Neg',
  'Not',
  'Or',
  'Pad',
  'Pow',
  'Range',
  'Reciprocal',
  'ReduceL2',
  'ReduceMax',
  'ReduceMean',
  'ReduceMin',
  'ReduceSum',
  'ReduceSumSquare',
  'Relu',
  'Reshape',
  'Resize',
  'Round',
  'Selu',
  'Shape',
  'Sigmoid',
  'Sign',
  'Sin',
  'Size',
  'Slice',
  'Softmax',
  'Softplus',
  'Softsign',
  'Split',
  'Sqrt',
  'Squeeze',
  'Sub',
  'Sum',
  'Tanh',
  'ThresholdedRelu',
  'Tile',
  'Transpose',
  'Unsqueeze',
  'Upsample',
  'Where',
  'Xor',
]);

function need(node: OnnxNode, ins: (FTensor | undefined)[], k: number): FTensor {
  const t = ins[k];
  if (!t) throw new OnnxFormatError(`Node "${node.name}" (${node.opType}) is missing input ${k}.`);
  return t;
}

function ints(values: number[]): FTensor {
  return { shape: [values.length], data: Float64Array.from(values), dtype: 'int' };
}

/** Evaluates one node. `ins` holds undefined for omitted optional inputs. */
export function evalNode(node: OnnxNode, ins: (FTensor | undefined)[], opset: number): FTensor[] {
  const x = () => need(node, ins, 0);
  switch (node.opType) {
    case 'Constant':
      return [constantValue(node)];
    case 'Shape': {
      const s = x().shape;
      const rank = s.length;
      const norm = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
      const start = norm(Number(node.attrs.get('start') ?? 0));
      const end = norm(Number(node.attrs.get('end') ?? rank));
      return [ints(s.slice(start, end))];
    }
    case 'Size':
      return [{ shape: [], data: Float64Array.of(x().data.length), dtype: 'int' }];
    case 'Reshape':
    case 'Flatten':
    case 'Squeeze':
    case 'Unsqueeze': {
      const t = x();
      return [{ shape: reshapeLikeShape(node, t.shape, ins[1]), data: t.data, dtype: t.dtype }];
    }
    case 'Transpose':
      return [transpose(node, x())];
    case 'Concat':
      return [
        concat(
          node,
          ins.filter((t): t is FTensor => !!t),
        ),
      ];
    case 'Gather':
      return [gather(node, x(), need(node, ins, 1))];
    case 'Slice':
      return [slice(node, x(), ins, opset)];
    case 'Split':
      return split(node, x(), opset >= 13 ? ins[1] : undefined, node.outputs.length);
    case 'Expand':
      return [expand(x(), need(node, ins, 1))];
    case 'Tile':
      return [tile(x(), need(node, ins, 1))];
    case 'Range':
      return [range(x(), need(node, ins, 1), need(node, ins, 2))];
    case 'ConstantOfShape':
      return [constantOfShape(node, x())];
    case 'Pad':
      return [pad(node, x(), ins, opset)];
    case 'Resize':
    case 'Upsample':
      return [resize(node, x(), ins, opset)];
    case 'Conv':
      return [conv(node, x(), need(node, ins, 1), ins[2])];
    case 'BatchNormalization':
      return [
        batchNorm(
          node,
          x(),
          [1, 2, 3, 4].map((k) => need(node, ins, k)),
        ),
      ];
    case 'MaxPool':
    case 'AveragePool':
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
      return [pool(node, x())];
    case 'Gemm':
      return [gemm(node, x(), need(node, ins, 1), ins[2])];
    case 'MatMul':
      return [matmul(x(), need(node, ins, 1))];
    case 'Softmax':
    case 'LogSoftmax':
      return [softmax(node, x(), opset)];
    case 'LayerNormalization':
      return [layerNorm(node, x(), need(node, ins, 1), ins[2])];
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceL2':
    case 'ReduceSumSquare':
      return [reduce(node, x(), ins[1])];
    default: {
      const y = evalElementwise(node, ins);
      if (!y) throw new OnnxFormatError(`The float evaluator has no implementation of ${node.opType}.`);
      return [y];
    }
  }
}

/** Input values of a node, looked up by name ('' = omitted optional input). */
export function gatherInputs(
  node: OnnxNode,
  lookup: (name: string) => FTensor | undefined,
): (FTensor | undefined)[] {
  return node.inputs.map((name) => {
    if (name === '') return undefined;
    const v = lookup(name);
    if (!v)
      throw new OnnxFormatError(
        `Node "${node.name}" (${node.opType}) reads "${name}", which no earlier node produces.`,
      );
    return v;
  });
}

export { intsOf };
