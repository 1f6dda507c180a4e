// onnxruntime sessions for the integer sub-graphs, single-threaded.
//
// onnxruntime-node's public InferenceSession.run wraps a synchronous native call in setImmediate
// and a Promise, which costs a few microseconds per call. The fast backend makes one call per
// group of integer ops, so it talks to the native binding directly when that module is present
// (onnxruntime-node ships it as dist/binding.js) and falls back to the public API otherwise.
import * as ort from 'onnxruntime-node';

/** Session options: one thread everywhere (the benchmark and the verifier are single-threaded). */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
};

export type Feeds = Record<string, ort.Tensor>;
export type Outputs = Record<string, ort.Tensor>;

/** A loaded integer graph. `run` returns synchronously when the native binding is used; `dispose` is idempotent. */
export interface IntSession {
  run(feeds: Feeds): Outputs | Promise<Outputs>;
  dispose(): Promise<void>;
}

interface NativeSession {
  loadModel(
    buffer: ArrayBuffer,
    byteOffset: number,
    byteLength: number,
    options: ort.InferenceSession.SessionOptions,
  ): void;
  run(feeds: Feeds, fetches: Record<string, null>, options: ort.InferenceSession.RunOptions): Outputs;
  dispose(): void;
}

interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt: () => void;
}

let native: NativeBinding | null | undefined;

async function loadNative(): Promise<NativeBinding | null> {
  if (native !== undefined) return native;
  try {
    const mod = (await import('onnxruntime-node/dist/binding.js')) as unknown as NativeBinding;
    if (typeof mod.initOrt !== 'function' || typeof mod.binding?.InferenceSession !== 'function')
      throw new Error('shape');
    mod.initOrt();
    native = mod;
  } catch {
    native = null;
  }
  return native;
}

/** Creates a session from ONNX bytes. `outputNames` are fetched on every run. */
export async function createIntSession(
  bytes: Uint8Array,
  outputNames: string[],
  preferNative = true,
): Promise<IntSession> {
  const nb = preferNative ? await loadNative() : null;
  if (nb) {
    const s = new nb.binding.InferenceSession();
    s.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, SESSION_OPTIONS);
    const fetches: Record<string, null> = {};
    for (const name of outputNames) fetches[name] = null;
    const runOptions: ort.InferenceSession.RunOptions = {};
    let disposed = false;
    return {
      run: (feeds) => s.run(feeds, fetches, runOptions),
      dispose: async () => {
        if (!disposed) s.dispose();
        disposed = true;
      },
    };
  }
  const s = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  let released: Promise<void> | null = null;
  return {
    run: (feeds) => s.run(feeds, outputNames) as Promise<Outputs>,
    dispose: () => {
      released ??= s.release();
      return released;
    },
  };
}

/** Wraps a u8 buffer as an onnxruntime tensor without copying. */
export function u8Tensor(data: Uint8Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('uint8', data, dims);
}
