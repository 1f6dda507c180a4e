import type { Backend } from '../engine/interpreter.ts';
import { referenceBackend } from '../engine/interpreter.ts';
import { InputError } from '../errors/base.ts';

export const BACKEND_NAMES = ['reference', 'fast'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** The reference interpreter (the specification) or the fast backend (bit-identical, onnxruntime integer kernels). */
export async function getBackend(name: string): Promise<Backend> {
  if (name === 'reference') return referenceBackend;
  if (name === 'fast') {
    const { createFastBackend } = await import('../engine/fast/index.ts');
    return createFastBackend();
  }
  throw new InputError(`Unknown backend "${name}". Use one of: ${BACKEND_NAMES.join(', ')}.`);
}
