// Loads the native kernels (kernels.cc, built by scripts/buildNative.mjs) once per process.
// The addon is optional: when it is missing it is built lazily, and when that fails the status
// says why and the WebAssembly kernels run instead. Node only (a browser never imports this).
//
// VERINFER_NATIVE_PATH=vnni512|avxvnni|avx2|scalar   the vector path to use (default: the fastest
//                                                    this CPU supports)
// VERINFER_NATIVE_ADDON=<file>                        load this addon file instead (no build)

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { useHashing } from '../../commit/tensorRoot.ts';
import { VerinferError } from '../../errors/base.ts';
import { packLeaves } from '../wasm/hash.ts';

/** The kernels' paths, the fastest first; the index is the addon's path number. */
export const NATIVE_PATHS = ['vnni512', 'avxvnni', 'avx2', 'scalar'] as const;
export type NativePath = (typeof NATIVE_PATHS)[number];
const PATH_NUMBER: Record<NativePath, number> = { vnni512: 3, avxvnni: 2, avx2: 1, scalar: 0 };

export interface NativeAddon {
  /** C = A · B in `memory` at byte offsets a, b, c (layout: src/engine/wasm/assembly/gemm.ts). */
  gemm(
    memory: ArrayBuffer,
    a: number,
    b: number,
    c: number,
    M: number,
    Kp: number,
    Np: number,
    path: number,
  ): void;
  /**
   * Runs the whole op whose plan record starts at byte offset `record` of `memory`
   * (src/engine/wasm/plan.ts): conv (code 1) and matmul (2) on every path, lut (4), softmax (8)
   * and layernorm (9) on vnni512 with VBMI. Returns false where it leaves the op to WebAssembly;
   * throws VERINFER_NATIVE_ARGUMENT for a bad record.
   */
  op(memory: ArrayBuffer, code: number, record: number, path: number): boolean;
  /** The paths this CPU supports, the fastest first. */
  paths(): string[];
  /**
   * tensorRoot (src/commit/tensorRoot.ts) of each entry, 32 bytes each, eight keccak lanes at a
   * time across the list; AVX-512 only.
   */
  tensorRoots?(list: Uint8Array[]): ArrayBuffer;
  /** The Merkle root (src/commit/merkle.ts) of 32-byte leaves, concatenated; AVX-512 only. */
  merkleRoot?(leaves: Uint8Array): ArrayBuffer;
}

export type NativeStatus =
  | { loaded: true; file: string; addon: NativeAddon; paths: NativePath[] }
  | { loaded: false; reason: string };

/** The native backend was asked for, and cannot run here. */
export class NativeUnavailableError extends VerinferError {
  override name = 'NativeUnavailableError' as const;
  constructor(reason: string) {
    super(`The native backend is unavailable: ${reason}.`, {
      metaMessages: [
        'Build it with `npm run build:native` (needs g++ and the npm package node-api-headers),',
        'or use `--backend fast`, which falls back to the WebAssembly engine.',
      ],
    });
  }
}

/** A VERINFER_NATIVE_PATH that names no path, or one this CPU lacks. */
export class NativePathError extends VerinferError {
  override name = 'NativePathError' as const;
  constructor(path: string, supported: readonly string[]) {
    super(
      `The native path "${path}" is not available on this CPU. Use one of: ${supported.join(', ')} (or unset VERINFER_NATIVE_PATH).`,
    );
  }
}

interface BuildScript {
  buildNative(): { file?: string; error?: string };
  nativeAddonFile(): string | undefined;
}

let loading: Promise<NativeStatus> | undefined;

/** Loads (building it first if needed) the addon; the result is cached for the process. */
export function loadNative(env: NodeJS.ProcessEnv = process.env): Promise<NativeStatus> {
  loading ??= load(env);
  return loading;
}

async function load(env: NodeJS.ProcessEnv): Promise<NativeStatus> {
  let file = env.VERINFER_NATIVE_ADDON;
  if (!file) {
    // The script sits at the package root's scripts/ folder, from src/ and from dist/ alike.
    let script: BuildScript;
    try {
      script = await import(new URL('../../../scripts/buildNative.mjs', import.meta.url).href);
    } catch {
      return { loaded: false, reason: 'scripts/buildNative.mjs is not installed' };
    }
    file = script.nativeAddonFile();
    if (!file) return { loaded: false, reason: 'the kernel source is not installed' };
    if (!existsSync(file)) {
      const built = script.buildNative();
      if (!built.file) return { loaded: false, reason: `the build failed: ${built.error}` };
    }
  }
  if (!existsSync(file)) return { loaded: false, reason: `no addon at ${file}` };
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    const paths = addon
      .paths()
      .filter((p): p is NativePath => (NATIVE_PATHS as readonly string[]).includes(p));
    // Where AVX-512 runs, the addon's 8-lane keccak computes every tensor root from now on: the
    // same roots (test/engine/native-hash.test.ts), several times faster than WebAssembly's.
    const { tensorRoots, merkleRoot } = addon;
    if (
      paths.includes('vnni512') &&
      typeof tensorRoots === 'function' &&
      typeof merkleRoot === 'function' &&
      !env.VERINFER_WASM_HASH
    )
      useHashing({
        tensorRoots: (list) => {
          const all = new Uint8Array(tensorRoots.call(addon, list));
          return list.map((_, i) => all.slice(32 * i, 32 * i + 32));
        },
        merkleRoot: (leaves) => new Uint8Array(merkleRoot.call(addon, packLeaves(leaves))),
      });
    return { loaded: true, file, addon, paths };
  } catch (e) {
    return { loaded: false, reason: `loading ${file} failed: ${e instanceof Error ? e.message : e}` };
  }
}

/**
 * The path to run: `wanted` (or VERINFER_NATIVE_PATH) when given, else the fastest supported.
 * Throws NativePathError for a path that is unknown or not supported here.
 */
export function choosePath(
  status: Extract<NativeStatus, { loaded: true }>,
  wanted: string | undefined = process.env.VERINFER_NATIVE_PATH || undefined,
): { path: NativePath; number: number } {
  const path = (wanted ?? status.paths[0]) as NativePath;
  if (!status.paths.includes(path)) throw new NativePathError(String(wanted), status.paths);
  return { path, number: PATH_NUMBER[path] };
}
