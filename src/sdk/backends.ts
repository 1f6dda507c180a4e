import type { Backend } from '../engine/interpreter.ts';
import { referenceBackend } from '../engine/interpreter.ts';
import { InputError } from '../errors/base.ts';

export const BACKEND_NAMES = ['reference', 'wasm', 'native', 'fast'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * Every backend is bit-identical to the reference interpreter (the specification):
 * - `reference`: the interpreter itself;
 * - `wasm`: the whole-graph WebAssembly engine (src/engine/wasm), one call per batch;
 * - `native`: the same engine with its GEMMs on native kernels (src/engine/native); throws
 *   NativeUnavailableError where the addon could not be built or loaded;
 * - `fast`: the best one available: `native` where it runs a vector path, else `wasm`, silently.
 * onnxruntime is not on the exact path: it serves import, calibration and the float baseline.
 */
export async function getBackend(name: string): Promise<Backend> {
  if (name === 'reference') return referenceBackend;
  if (name === 'wasm') return wasm();
  if (name === 'native') {
    const { createNativeBackend } = await import('../engine/native/index.ts');
    native ??= createNativeBackend();
    return native;
  }
  if (name === 'fast') {
    const { loadNative, choosePath } = await import('../engine/native/index.ts');
    const status = await loadNative();
    if (!status.loaded) return wasm();
    try {
      // Unforced, the scalar path (a CPU without AVX2) is slower than WebAssembly SIMD.
      if (choosePath(status).path === 'scalar' && !process.env.VERINFER_NATIVE_PATH) return wasm();
    } catch {
      return wasm();
    }
    return getBackend('native');
  }
  throw new InputError(`Unknown backend "${name}". Use one of: ${BACKEND_NAMES.join(', ')}.`);
}

let native: Promise<Backend> | undefined;

async function wasm(): Promise<Backend> {
  const { wasmBackend } = await import('../engine/wasm/index.ts');
  return wasmBackend;
}

/** The backend's name, with the native path where it has one: `native (vnni512)`. */
export function backendLabel(backend: Backend): string {
  const path = (backend as { path?: unknown }).path;
  return typeof path === 'string' ? `${backend.name} (${path})` : backend.name;
}
