import type { Backend } from '../engine/interpreter.ts';
import { referenceBackend } from '../engine/interpreter.ts';
import { InputError } from '../errors/base.ts';

export const BACKEND_NAMES = ['reference', 'wasm', 'fast', 'ort'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * Every backend is bit-identical to the reference interpreter (the specification):
 * - `reference`: the interpreter itself;
 * - `wasm`: the whole-graph WebAssembly engine (src/engine/wasm), one call per batch;
 * - `fast`: the best one available, today `wasm`;
 * - `ort`: the older engine on onnxruntime's integer kernels plus TypeScript (src/engine/fast).
 */
export async function getBackend(name: string): Promise<Backend> {
  if (name === 'reference') return referenceBackend;
  if (name === 'wasm' || name === 'fast') {
    const { wasmBackend } = await import('../engine/wasm/index.ts');
    return wasmBackend;
  }
  if (name === 'ort') {
    const { createFastBackend } = await import('../engine/fast/index.ts');
    return createFastBackend();
  }
  throw new InputError(`Unknown backend "${name}". Use one of: ${BACKEND_NAMES.join(', ')}.`);
}
