// Optional native GEMM kernels behind the WebAssembly engine (see backend.ts and kernels.cc).
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
