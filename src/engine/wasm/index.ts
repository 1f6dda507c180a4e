// The whole-graph WebAssembly engine (see backend.ts).
export { createWasmBackend, engineBytes, engineModule, type WasmBackend, wasmBackend } from './backend.ts';
