// The fast backend: bit-identical to the reference interpreter (../interpreter.ts), several
// hundred times faster on conv nets.
//
// Design
// - The integer dot products of conv and matmul (constant weights, and activation x activation)
//   run in onnxruntime's CPU kernels ConvInteger and MatMulInteger, with int32 outputs. Each group
//   of such ops that do not depend on one another (for example the Q, K and V projections, or two
//   branches reading one tensor) becomes one small ONNX graph with one session call, because a
//   call costs about 10 µs whatever it computes. Sessions are built at first use, cached per model
//   and shared by all batch sizes (the batch dimension is symbolic).
// - Weights are fed as uint8 (w + 128) with weight zero point 128, so onnxruntime picks its
//   u8 x u8 GEMM. Its u8 x s8 GEMM on AVX2 multiplies with VPMADDUBSW, which saturates each
//   pairwise sum to int16: with activation 255 and weight 127, 2 * 255 * 127 > 32767, and
//   MatMulInteger returns 4194176 instead of 8290560 for 256 such taps. The u8 x u8 kernel widens
//   to int16 and multiplies with VPMADDWD, whose pairwise sums (<= 2 * 255 * 255) fit in int32.
//   (x - zx) * ((w + 128) - 128) = (x - zx) * w, so the products are the reference's, and the
//   validator bounds |bias + Σ| below 2^31, so the int32 sums are exact (wrap-around inside the
//   kernel cancels out because the final value fits).
// - Bias, requantization and clamp run in TypeScript on the int32 accumulators, with the integer
//   arithmetic of arith.ts (intops.ts explains why its inlined form is the same). No floating-point
//   tensor enters onnxruntime.
// - Convs and matmuls below `minOrtMacs` multiply-accumulates, and convs with at most `maxTsTaps`
//   taps per output (depthwise convs, where ConvInteger runs one tiny GEMM per channel), run as
//   direct TypeScript loops instead. Every other op (add, lut, pools, reducemean, softmax,
//   layernorm, gather, reshape, transpose, concat) runs in TypeScript with its index arithmetic
//   precomputed per (model, batch size); see kernels.ts.
// - One run allocates one buffer for all op outputs; the trace tensors are views into it.
import { batchedShape, elementCount, type Model, type TensorData } from '../graph.ts';
import type { Backend, RunResult } from '../interpreter.ts';
import type { Tensor } from '../tensor.ts';
import { checkInput } from '../validate.ts';
import { type IntOpPlan, inputName, planConv, planMatMul, type WeightEncoding } from './intops.ts';
import {
  addTable,
  compileAdd,
  compileAvgPool,
  compileConcat,
  compileGather,
  compileLayerNorm,
  compileLut,
  compileMaxPool,
  compileReduceMean,
  compileSoftmax,
  compileTranspose,
  type Exec,
} from './kernels.ts';
import { encodeModel, type GraphSpec, ONNX_INT32, ONNX_UINT8 } from './onnx.ts';
import { createIntSession, type IntSession, u8Tensor } from './ort.ts';

export interface FastBackendOptions {
  /** Convs and matmuls with fewer multiply-accumulates (at the run's batch size) run in TypeScript. Default 16384. */
  minOrtMacs?: number;
  /** Convs with at most this many taps per output run in TypeScript. Default 16. */
  maxTsTaps?: number;
  /** Put independent integer ops into one onnxruntime call. Default true. */
  groupCalls?: boolean;
  /** Call onnxruntime's native binding synchronously instead of the Promise API. Default true. */
  nativeBinding?: boolean;
  /** How int8 weights reach onnxruntime. Default 'u8'; 's8' is NOT exact on AVX2 and exists for tests. */
  weightEncoding?: WeightEncoding;
}

export interface FastBackend extends Backend {
  /** Frees the onnxruntime sessions and plans of one model. */
  release(model: Model): Promise<void>;
  /** Frees every session. The backend stays usable. */
  dispose(): Promise<void>;
  /** Number of live onnxruntime sessions (for tests and benchmarks). */
  readonly sessionCount: number;
}

type Step =
  | { kind: 'ts'; op: number; exec: Exec }
  | { kind: 'alias'; op: number; from: number }
  | { kind: 'int'; plan: IntOpPlan; acc: Int32Array }
  | { kind: 'ort'; session: IntSession; feeds: { id: number; name: string }[]; plans: IntOpPlan[] };

interface BatchPlan {
  steps: Step[];
  /** Batched shape of every tensor (constant shapes as stored). */
  shapes: number[][];
  outOffsets: number[];
  totalBytes: number;
}

interface ModelState {
  plans: Map<number, Promise<BatchPlan>>;
  sessions: Map<string, Promise<IntSession>>;
  addTables: Map<number, Uint8Array>;
}

const DEFAULTS: Required<FastBackendOptions> = {
  minOrtMacs: 16384,
  maxTsTaps: 16,
  groupCalls: true,
  nativeBinding: true,
  weightEncoding: 'u8',
};

export function createFastBackend(options: FastBackendOptions = {}): FastBackend {
  const opts = { ...DEFAULTS, ...options };
  let states = new WeakMap<Model, ModelState>();
  const live = new Set<Promise<IntSession>>();
  let queue: Promise<unknown> = Promise.resolve();

  const stateOf = (model: Model): ModelState => {
    let s = states.get(model);
    if (!s) {
      s = { plans: new Map(), sessions: new Map(), addTables: new Map() };
      states.set(model, s);
    }
    return s;
  };

  const sessionFor = (state: ModelState, plans: IntOpPlan[]): Promise<IntSession> => {
    const key = plans.map((p) => p.opIndex).join(',');
    let s = state.sessions.get(key);
    if (!s) {
      s = createIntSession(
        encodeModel(waveGraph(plans)),
        plans.map((p) => p.ort!.output),
        opts.nativeBinding,
      );
      state.sessions.set(key, s);
      live.add(s);
    }
    return s;
  };

  const compile = async (model: Model, state: ModelState, batch: number): Promise<BatchPlan> => {
    const shapes = model.tensors.map((t) => batchedShape(t, batch));
    const steps: Step[] = [];
    let wave: IntOpPlan[] = [];
    const waveOutputs = new Set<number>();
    const waves: { at: number; plans: IntOpPlan[] }[] = [];
    const flush = () => {
      if (wave.length === 0) return;
      waves.push({ at: steps.length, plans: wave });
      steps.push({ kind: 'ts', op: -1, exec: () => {} }); // placeholder, replaced below
      wave = [];
      waveOutputs.clear();
    };
    model.ops.forEach((op, i) => {
      if (op.inputs.some((id) => waveOutputs.has(id))) flush();
      const ins = op.inputs.map((id) => shapes[id]);
      const zin = (k: number) => model.tensors[op.inputs[k]].zeroPoint;
      const zy = model.tensors[op.output].zeroPoint;
      const out = shapes[op.output];
      let exec: Exec;
      switch (op.type) {
        case 'conv':
        case 'matmul': {
          const plan =
            op.type === 'conv'
              ? planConv(model, i, ins[0], out, opts.weightEncoding)
              : planMatMul(model, i, ins[0], ins[1], out, opts.weightEncoding);
          const small = plan.macs < opts.minOrtMacs || (op.type === 'conv' && plan.taps <= opts.maxTsTaps);
          if (plan.ort && !small) {
            wave.push(plan);
            waveOutputs.add(op.output);
            if (!opts.groupCalls) flush();
          } else {
            steps.push({ kind: 'int', plan, acc: new Int32Array(plan.accLength) });
          }
          return;
        }
        case 'reshape':
          steps.push({ kind: 'alias', op: i, from: op.inputs[0] });
          return;
        case 'add': {
          let table = state.addTables.get(i);
          if (!table) {
            table = addTable(op, zin(0), zin(1), zy);
            state.addTables.set(i, table);
          }
          exec = compileAdd(op, table, ins[0], ins[1], out);
          break;
        }
        case 'lut':
          exec = compileLut(op.inputs[0], op.inputs[1]);
          break;
        case 'maxpool':
          exec = compileMaxPool(op, ins[0], out);
          break;
        case 'avgpool':
          exec = compileAvgPool(op, ins[0], out, zin(0), zy);
          break;
        case 'reducemean':
          exec = compileReduceMean(op, ins[0], zin(0), zy);
          break;
        case 'softmax':
          exec = compileSoftmax(ins[0], op.inputs[0], op.inputs[1]);
          break;
        case 'layernorm':
          exec = compileLayerNorm(op, ins[0], zin(0), zy);
          break;
        case 'gather':
          exec = compileGather(ins[0], op.inputs[0], op.inputs[1]);
          break;
        case 'transpose':
          exec = compileTranspose(op, ins[0], out);
          break;
        case 'concat':
          exec = compileConcat(op, ins, out);
          break;
      }
      steps.push({ kind: 'ts', op: i, exec });
    });
    flush();
    for (const w of waves) {
      const feeds = new Map<number, string>();
      for (const p of w.plans) for (const inp of p.ort!.inputs) feeds.set(inp.id, inputName(inp.id));
      steps[w.at] = {
        kind: 'ort',
        session: await sessionFor(state, w.plans),
        feeds: [...feeds].map(([id, name]) => ({ id, name })),
        plans: w.plans,
      };
    }
    const outOffsets: number[] = [];
    let totalBytes = 0;
    for (const op of model.ops) {
      outOffsets.push(totalBytes);
      if (op.type !== 'reshape') totalBytes += elementCount(shapes[op.output]);
    }
    return { steps, shapes, outOffsets, totalBytes };
  };

  const execute = async (model: Model, input: Tensor): Promise<RunResult> => {
    const batch = checkInput(model, input);
    const state = stateOf(model);
    let planP = state.plans.get(batch);
    if (!planP) {
      planP = compile(model, state, batch);
      state.plans.set(batch, planP);
    }
    const plan = await planP;
    const { ops, tensors } = model;
    const values: TensorData[] = new Array(tensors.length);
    for (const [id, data] of model.consts) values[id] = data;
    values[model.input] = input.data;
    const buffer = new Uint8Array(plan.totalBytes);
    const outs: Uint8Array[] = new Array(ops.length);
    const outOf = (i: number): Uint8Array => {
      const o = buffer.subarray(
        plan.outOffsets[i],
        plan.outOffsets[i] + elementCount(plan.shapes[ops[i].output]),
      );
      outs[i] = o;
      values[ops[i].output] = o;
      return o;
    };
    for (const step of plan.steps) {
      const t0 = performance.now();
      await runStep(step);
      const k = step.kind === 'ort' ? 'ort:' + step.plans.map((p) => p.opIndex).join(',') : step.kind === 'int' ? 'int:' + step.plan.opIndex : step.kind + ':' + step.op;
      (globalThis as any).PROF[k] = ((globalThis as any).PROF[k] ?? 0) + performance.now() - t0;
    }
    async function runStep(step: Step) {
      switch (step.kind) {
        case 'ts':
          step.exec(values, outOf(step.op));
          break;
        case 'alias': {
          const d = values[step.from] as Uint8Array;
          outs[step.op] = d;
          values[ops[step.op].output] = d;
          break;
        }
        case 'int':
          step.plan.dot(values, step.acc);
          step.plan.requant(step.acc, outOf(step.plan.opIndex));
          break;
        case 'ort': {
          const feeds: Record<string, ReturnType<typeof u8Tensor>> = {};
          for (const f of step.feeds) feeds[f.name] = u8Tensor(values[f.id] as Uint8Array, plan.shapes[f.id]);
          const res = await step.session.run(feeds);
          for (const p of step.plans) p.requant(res[p.ort!.output].data as Int32Array, outOf(p.opIndex));
          break;
        }
      }
    }
    const trace: Tensor[] = ops.map((op, i) => ({
      dtype: 'u8',
      shape: [...plan.shapes[op.output]],
      data: outs[i],
      zeroPoint: tensors[op.output].zeroPoint,
    }));
    return { output: trace[trace.length - 1], trace };
  };

  const disposeState = async (state: ModelState) => {
    const all = [...state.sessions.values()];
    state.sessions.clear();
    state.plans.clear();
    for (const s of all) live.delete(s);
    await Promise.all(all.map(async (s) => (await s).dispose()));
  };

  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const r = queue.then(f, f);
    queue = r.catch(() => undefined);
    return r;
  };

  return {
    name: 'fast',
    run: (model, input) => serial(() => execute(model, input)),
    release: (model) =>
      serial(async () => {
        const s = states.get(model);
        if (s) {
          states.delete(model);
          await disposeState(s);
        }
      }),
    dispose: () =>
      serial(async () => {
        const all = [...live];
        live.clear();
        states = new WeakMap();
        await Promise.all(all.map(async (s) => (await s).dispose()));
      }),
    get sessionCount() {
      return live.size;
    },
  };
}

/** One ONNX graph computing the int32 accumulators of a group of independent convs and matmuls. */
function waveGraph(plans: IntOpPlan[]): GraphSpec {
  const spec: GraphSpec = { inputs: [], outputs: [], initializers: [], nodes: [] };
  const seen = new Set<number>();
  for (const p of plans) {
    const part = p.ort!;
    for (const inp of part.inputs) {
      if (seen.has(inp.id)) continue;
      seen.add(inp.id);
      spec.inputs.push({ name: inputName(inp.id), elemType: ONNX_UINT8, dims: inp.dims });
    }
    spec.initializers.push(...part.initializers);
    spec.nodes.push(part.node);
    spec.outputs.push({ name: part.output, elemType: ONNX_INT32 });
  }
  return spec;
}

/** A shared fast backend with the default options. */
export const fastBackend: FastBackend = createFastBackend();
