// The whole-graph WebAssembly engine (see backend.ts).
export {
  type CreateWasmBackendOptions,
  createWasmBackend,
  engineBytes,
  engineModule,
  type GemmHook,
  type WasmBackend,
  wasmBackend,
} from './backend.ts';
