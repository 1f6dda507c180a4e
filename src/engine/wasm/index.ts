// The whole-graph WebAssembly engine (see backend.ts).
export {
  type CreateWasmBackendOptions,
  createWasmBackend,
  type GemmHook,
  type WasmBackend,
  wasmBackend,
} from './backend.ts';
export { wasmKeccak256, wasmMerkleRoot, wasmTensorRoot } from './hash.ts';
export { engineBytes, engineModule } from './module.ts';
