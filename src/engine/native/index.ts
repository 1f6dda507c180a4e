// Optional native kernels behind the WebAssembly engine: whole conv and matmul ops and their GEMMs
// (see backend.ts, kernels.cc and ops.h).
export {
  choosePath,
  loadNative,
  NATIVE_PATHS,
  type NativeAddon,
  type NativePath,
  NativePathError,
  type NativeStatus,
  NativeUnavailableError,
} from './addon.ts';
export {
  type CreateNativeBackendOptions,
  createNativeBackend,
  MIN_NATIVE_MACS,
  type NativeBackend,
} from './backend.ts';
