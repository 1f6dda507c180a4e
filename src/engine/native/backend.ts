// The native backend: the WebAssembly engine with its conv and matmul ops run whole by the native
// kernels (im2col or packing, GEMM, requantization), and on AVX-512 with VBMI its softmax,
// layernorm and lookup tables too; the kernels read the op's plan record and the engine's linear
// memory in place. Every other op stays in WebAssembly. The kernels compute the
// WebAssembly engine's results bit for bit (test/engine/native.test.ts,
// test/differential/native-vs-reference.test.ts).
import { createWasmBackend, type WasmBackend } from '../wasm/index.ts';
import { choosePath, loadNative, type NativePath, NativeUnavailableError } from './addon.ts';

/**
 * Ops (and GEMMs) below this many multiply-adds stay in WebAssembly: the call from WebAssembly
 * through JavaScript into the addon costs about as much as such an op itself.
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
  /** Ops and GEMMs with fewer multiply-adds stay in WebAssembly (default MIN_NATIVE_MACS). */
  minMacs?: number;
  /** false: only the GEMMs run natively, im2col and requantization stay in WebAssembly. */
  wholeOps?: boolean;
}

/** Throws NativeUnavailableError when the addon cannot load, NativePathError for a bad path. */
export async function createNativeBackend(options: CreateNativeBackendOptions = {}): Promise<NativeBackend> {
  const status = await loadNative();
  if (!status.loaded) throw new NativeUnavailableError(status.reason);
  const { path, number } = choosePath(status, options.path);
  const minMacs = options.minMacs ?? MIN_NATIVE_MACS;
  const { addon } = status;
  const wholeOps = options.wholeOps ?? true;
  const backend = createWasmBackend({
    name: 'native',
    op: (memory, code, record, macs) => {
      if (!wholeOps || macs < minMacs) return 0;
      return addon.op(memory, code, record, number) ? 1 : 0;
    },
    gemm: (memory, a, b, c, M, Kp, Np) => {
      if (M * Kp * Np < minMacs) return 0;
      addon.gemm(memory, a, b, c, M, Kp, Np, number);
      return 1;
    },
  });
  return Object.assign(backend, { name: 'native' as const, path });
}
