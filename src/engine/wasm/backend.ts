// The WebAssembly engine as a backend: bit-identical to the reference interpreter (every op
// output, byte for byte; test/differential/wasm-vs-reference.test.ts), one WebAssembly call per
// inference of a whole batch.
//
// - Each model gets its own instance and linear memory. Its constants, and its weights packed for
//   the GEMM, are copied in once; each batch size gets a plan (op records, op outputs, scratch)
//   laid out after them (plan.ts). Changing the batch size lays the plan out again.
// - `run` returns every op's output (the dispute path: one copy of the whole activation region,
//   with a view per op). `runHonest` copies out only the output and the checkpoint that the
//   result commitment hashes (src/commit/traceRoot.ts).
import { checkpointIndex } from '../../commit/traceRoot.ts';
import type { Model } from '../graph.ts';
import type { Backend, HonestRunResult, RunResult } from '../interpreter.ts';
import { TokenOutOfRangeError } from '../reference/shape.ts';
import type { Tensor } from '../tensor.ts';
import { checkInput } from '../validate.ts';
import { engineModule } from './module.ts';
import { type BatchLayout, type ConstLayout, layoutBatch, layoutConstants } from './plan.ts';

interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  run(plan: number, count: number): number;
}

interface ModelState {
  exports: Exports;
  consts: ConstLayout;
  layout?: BatchLayout;
}

export interface WasmBackend extends Backend {
  /** The output and the checkpoint only (the honest path). */
  runHonest(model: Model, input: Tensor): Promise<HonestRunResult>;
  /** Synchronous `run`. */
  runSync(model: Model, input: Tensor): RunResult;
  /** Synchronous `runHonest`. */
  runHonestSync(model: Model, input: Tensor): HonestRunResult;
  /** Frees the instance and memory of one model. */
  release(model: Model): Promise<void>;
  dispose(): Promise<void>;
}

function ensureMemory(memory: WebAssembly.Memory, end: number): void {
  const have = memory.buffer.byteLength;
  if (end > have) memory.grow(Math.ceil((end - have) / 65536));
}

function write(memory: WebAssembly.Memory, blobs: { at: number; bytes: Uint8Array }[]): void {
  const heap = new Uint8Array(memory.buffer);
  for (const b of blobs) heap.set(b.bytes, b.at);
}

/**
 * Computes one GEMM of the engine (layout in assembly/gemm.ts) in `memory`, the engine's linear
 * memory, at the byte offsets a, b and c; returns 1 when it wrote C, 0 to let the engine do it.
 */
export type GemmHook = (
  memory: ArrayBuffer,
  a: number,
  b: number,
  c: number,
  M: number,
  Kp: number,
  Np: number,
) => number;

/**
 * Runs one whole conv (code 1) or matmul (code 2) of the engine from its plan record at byte
 * offset `record` of `memory` (layout: plan.ts, assembly/conv.ts, assembly/gemm.ts); `macs` is
 * its number of multiply-adds. Returns 1 when it wrote the op's output, 0 to let the engine run it.
 */
export type OpHook = (memory: ArrayBuffer, code: number, record: number, macs: number) => number;

export interface CreateWasmBackendOptions {
  /** The backend's name (default `wasm`). */
  name?: string;
  /** Runs the engine's GEMMs elsewhere (the native kernels); without it they run in WebAssembly. */
  gemm?: GemmHook;
  /** Runs whole conv and matmul ops elsewhere (tried before `gemm`, which serves the rest). */
  op?: OpHook;
}

export function createWasmBackend(options: CreateWasmBackendOptions = {}): WasmBackend {
  let states = new WeakMap<Model, ModelState>();
  const hook = options.gemm;
  const opHookOf = options.op;

  const instantiate = (): Exports => {
    let memory: WebAssembly.Memory | undefined;
    // wasm passes addresses as i32: >>> 0 reads them as the unsigned offsets they are. The buffer
    // is fetched on every call, since memory.grow replaces it.
    const gemmHook = hook
      ? (a: number, b: number, c: number, M: number, Kp: number, Np: number) =>
          hook((memory as WebAssembly.Memory).buffer, a >>> 0, b >>> 0, c >>> 0, M, Kp, Np)
      : () => 0;
    const opHook = opHookOf
      ? (code: number, r: number, macs: number) =>
          opHookOf((memory as WebAssembly.Memory).buffer, code, r >>> 0, macs)
      : () => 0;
    const exports = new WebAssembly.Instance(engineModule(), { env: { gemmHook, opHook } })
      .exports as unknown as Exports;
    memory = exports.memory;
    return exports;
  };

  const stateOf = (model: Model): ModelState => {
    let s = states.get(model);
    if (!s) {
      const exports = instantiate();
      const consts = layoutConstants(model, exports.heapBase());
      ensureMemory(exports.memory, consts.end);
      write(exports.memory, consts.blobs);
      s = { exports, consts };
      states.set(model, s);
    }
    return s;
  };

  /** Runs the whole model; returns the state and the batch layout whose tensors hold the run. */
  const execute = (model: Model, input: Tensor): { s: ModelState; layout: BatchLayout } => {
    const batch = checkInput(model, input);
    const s = stateOf(model);
    let layout = s.layout;
    if (layout?.batch !== batch) {
      layout = layoutBatch(model, s.consts, batch);
      ensureMemory(s.exports.memory, layout.end);
      write(s.exports.memory, layout.blobs);
      s.layout = layout;
    }
    const mem = s.exports.memory;
    const inAt = layout.tensorAt.get(model.input)!;
    new Uint8Array(mem.buffer).set(
      new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength),
      inAt,
    );
    const failed = s.exports.run(layout.plan, layout.records);
    if (failed >= 0) {
      const op = model.ops[failed];
      const view = new DataView(mem.buffer);
      const position = view.getInt32(layout.err, true);
      const id = view.getInt32(layout.tensorAt.get((op.inputs as number[])[1])! + 4 * position, true);
      throw new TokenOutOfRangeError(id, model.tensors[(op.inputs as number[])[0]].shape[0], position);
    }
    return { s, layout };
  };

  const tensorOf = (model: Model, layout: BatchLayout, k: number, data: Uint8Array): Tensor => {
    const id = model.ops[k].output;
    return { dtype: 'u8', shape: layout.shapes[id], data, zeroPoint: model.tensors[id].zeroPoint };
  };

  const runSync = (model: Model, input: Tensor): RunResult => {
    const { s, layout } = execute(model, input);
    // One copy of every op output, then a view per op (a reshape shares its input's bytes).
    const starts = model.ops.map((op) => layout.tensorAt.get(op.output)!);
    const lo = Math.min(...starts);
    const hi = Math.max(...starts.map((at, k) => at + layout.outBytes[k]));
    const copy = new Uint8Array(s.exports.memory.buffer, lo, hi - lo).slice();
    const trace = model.ops.map((_, k) =>
      tensorOf(model, layout, k, copy.subarray(starts[k] - lo, starts[k] - lo + layout.outBytes[k])),
    );
    return { output: trace[trace.length - 1], trace };
  };

  const runHonestSync = (model: Model, input: Tensor): HonestRunResult => {
    const { s, layout } = execute(model, input);
    const read = (k: number) => {
      const at = layout.tensorAt.get(model.ops[k].output)!;
      return tensorOf(
        model,
        layout,
        k,
        new Uint8Array(s.exports.memory.buffer, at, layout.outBytes[k]).slice(),
      );
    };
    const last = model.ops.length - 1;
    const k = checkpointIndex(model.ops.length);
    const output = read(last);
    return { output, checkpoint: k === last ? output : read(k), checkpointIndex: k };
  };

  return {
    name: options.name ?? 'wasm',
    run: async (model, input) => runSync(model, input),
    runHonest: async (model, input) => runHonestSync(model, input),
    runSync,
    runHonestSync,
    release: async (model) => {
      states.delete(model);
    },
    dispose: async () => {
      states = new WeakMap();
    },
  };
}

export const wasmBackend: WasmBackend = createWasmBackend();
