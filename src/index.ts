// The package entry: the client, the commitments, the engine and the model store. The embedded
// chain and deployment (which load Hardhat) are not here, so that importing the client stays light.
export { abis, type VerinferAbis, verinferErrorsAbi } from './chain/bindings/systemAbis.ts';
export {
  DEFAULT_PARAMS,
  NATIVE,
  type TaskArgs,
  type TaskResultArgs,
  ZERO_BYTES32,
} from './chain/bindings/types.ts';
export * from './client/index.ts';
export { modelRoot } from './commit/modelRoot.ts';
export { tensorBytes, tensorRoot } from './commit/tensorRoot.ts';
export { commitResult, commitTrace, type ResultRoots, resultCommitment } from './commit/traceRoot.ts';
export type { DType, Model, Op, TensorData, TensorInfo } from './engine/graph.ts';
export { type Backend, type RunResult, referenceBackend, runReference } from './engine/interpreter.ts';
export type { Tensor } from './engine/tensor.ts';
export { checkInput, checkSettleableInput, validateModel } from './engine/validate.ts';
export {
  InputError,
  ModelFormatError,
  OnnxFormatError,
  UnsupportedOpError,
  VerinferError,
  type VerinferErrorOptions,
} from './errors/base.ts';
export { loadModelDir, type ModelPackage, saveModelDir } from './store/modelDir.ts';
