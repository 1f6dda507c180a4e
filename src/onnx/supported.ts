// The ONNX ops the importer accepts, for error messages and documentation.
import { UnsupportedOpError } from '../errors/base.ts';
import type { OnnxNode } from './parse.ts';

const words = (s: string) => s.trim().split(/\s+/);

/** Ops that may process activations (they are lowered to integer ops). */
export const LOWERED_OPS = words(`
  Abs Add AveragePool BatchNormalization Cast Celu Clip Concat Constant Conv Cos Div Dropout Elu Erf Exp Expand Flatten
  Gather Gelu Gemm GlobalAveragePool GlobalMaxPool HardSigmoid HardSwish Identity LayerNormalization LeakyRelu Log
  MatMul Max MaxPool Mean Min Mish Mul Neg Pad Pow Reciprocal ReduceMax ReduceMean ReduceSum Relu Reshape Resize Selu Sigmoid Sign Sin
  Slice Softmax Softplus Softsign Split Sqrt Squeeze Sub Sum Tanh ThresholdedRelu Tile Transpose Unsqueeze Upsample`);

/** Ops accepted on activations only inside an elementwise function of one activation (a lookup table). */
export const ELEMENTWISE_ONLY_OPS = words('Equal Greater GreaterOrEqual Less LessOrEqual Not Where');

/** Ops accepted only on constants and shapes (folded away before quantization). */
export const FOLDED_OPS = words(`
  And Ceil ConstantOfShape Floor LogSoftmax Mod Or Range ReduceL2 ReduceMin ReduceSumSquare Round
  Shape Size Xor`);

export function supportedOpsText(): string {
  return (
    `Supported ops: ${LOWERED_OPS.join(', ')}. ` +
    `Supported only as part of an elementwise function of a single activation: ${ELEMENTWISE_ONLY_OPS.join(', ')}. ` +
    `Supported only on constants and shape computations (constant-folded): ${FOLDED_OPS.join(', ')}.`
  );
}

/**
 * Why ArgMax stays out: its output is an index, not a code of any quantization, and no op of the
 * integer IR computes one. The logits carry the same answer and more.
 */
const ARG_REDUCE_WHY =
  'its output is an index, which no op of the exact integer model computes. Export the model without the final ' +
  'ArgMax/ArgMin so that it outputs the logits (or scores): the CLI and the SDK report the top classes from them.';

/** The error for a node the importer cannot handle; names the op, the node and the supported ops. */
export function unsupportedNode(node: OnnxNode, why?: string): UnsupportedOpError {
  if (!why && (node.opType === 'ArgMax' || node.opType === 'ArgMin')) why = ARG_REDUCE_WHY;
  const where = node.domain && node.domain !== 'ai.onnx' ? ` from domain "${node.domain}"` : '';
  const head = `Unsupported ONNX op ${node.opType}${where} at node "${node.name}"${why ? `: ${why}` : '.'}`;
  return new UnsupportedOpError(head, { metaMessages: [supportedOpsText()] });
}
