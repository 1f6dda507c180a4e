// The engine's compiled WebAssembly module, shared by the inference backend and the hasher.
import { ENGINE_WASM_BASE64 } from './binary.ts';

let compiled: WebAssembly.Module | undefined;

/** The engine's compiled module (decoded and compiled once per process). */
export function engineModule(): WebAssembly.Module {
  if (!compiled) compiled = new WebAssembly.Module(engineBytes());
  return compiled;
}

/** The engine's .wasm bytes. */
export function engineBytes(): Uint8Array<ArrayBuffer> {
  const s = atob(ENGINE_WASM_BASE64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}
