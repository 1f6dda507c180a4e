// The native backend: the WebAssembly engine with its GEMMs (conv as im2col GEMM, matmul) run by
// the native kernels, which read and write the engine's linear memory in place. Everything else,
// im2col and requantization included, stays in WebAssembly, so the results are the WebAssembly
// engine's, bit for bit (test/engine/native.test.ts, test/differential/native-vs-reference.test.ts).
import { createWasmBackend, type WasmBackend } from '../wasm/index.ts';
import { choosePath, loadNative, type NativePath, NativeUnavailableError } from './addon.ts';

/**
 * GEMMs below this many multiply-adds stay in WebAssembly: the call from WebAssembly through
 * JavaScript into the addon costs about as much as such a GEMM itself.
 */
export const MIN_NATIVE_MACS = 4096;

export interface NativeBackend extends WasmBackend {
  readonly name: 'native';
  /** The vector path the kernels run. */
  readonly path: NativePath;
}

export interface CreateNativeBackendOptions {
  /** Force a path (default: VERINFER_NATIVE_PATH, else the fastest this CPU supports). */
  path?: NativePath;
  /** GEMMs with fewer multiply-adds stay in WebAssembly (default MIN_NATIVE_MACS). */
  minMacs?: number;
}

/** Throws NativeUnavailableError when the addon cannot load, NativePathError for a bad path. */
export async function createNativeBackend(options: CreateNativeBackendOptions = {}): Promise<NativeBackend> {
  const status = await loadNative();
  if (!status.loaded) throw new NativeUnavailableError(status.reason);
  const { path, number } = choosePath(status, options.path);
  const minMacs = options.minMacs ?? MIN_NATIVE_MACS;
  const { addon } = status;
  const backend = createWasmBackend({
    name: 'native',
    gemm: (memory, a, b, c, M, Kp, Np) => {
      if (M * Kp * Np < minMacs) return 0;
      addon.gemm(memory, a, b, c, M, Kp, Np, number);
      return 1;
    },
  });
  return Object.assign(backend, { name: 'native' as const, path });
}
