// The fast backend: bit-identical to the reference interpreter (../interpreter.ts), every op's
// output byte for byte (test/differential/fast-vs-reference.test.ts), 7-70x faster than it.
//
// Design
// - The integer dot products of conv and matmul (constant weights, and activation x activation)
//   run in onnxruntime's CPU kernels ConvInteger and MatMulInteger with int32 outputs, built as
//   small ONNX graphs at run time (onnx.ts) and run single-threaded. ConvInteger handles every
//   conv the format allows (groups, depthwise, dilations, asymmetric and oversized pads; it pads
//   with the input zero point, i.e. out-of-bounds taps contribute 0, as in the reference).
// - A session call costs about 10 µs whatever it computes, so convs and matmuls that do not depend
//   on one another (the Q, K and V projections, two branches reading one tensor) share one graph
//   and one call, ops below `minOrtMacs` multiply-accumulates run as TypeScript loops, and the
//   native binding is called synchronously (ort.ts). Sessions are built at first use, cached per
//   model and shared by all batch sizes (the batch dimension is symbolic).
// - Weights are fed as uint8 (w + 128) with weight zero point 128, so onnxruntime uses its
//   u8 x u8 GEMM: (x - zx) * ((w + 128) - 128) = (x - zx) * w. Its u8 x s8 GEMM on AVX2 (without
//   VNNI) multiplies with VPMADDUBSW, which saturates each pair of products to int16: with
//   activation 255 and weight 127, 2 * 255 * 127 > 32767, and MatMulInteger returns 4194176
//   instead of 8290560 for 256 such taps (`weightEncoding: 's8'` reproduces it; the extreme tests
//   catch it). The u8 x u8 path has no such limit, and the validator bounds |bias + Σ| below 2^31,
//   so the int32 results are exact.
// - Bias, requantization and clamp run in TypeScript on the int32 accumulators in exact int32
//   arithmetic equal to arith.ts (requant.ts has the proof; no floating-point tensor enters
//   onnxruntime). matmuls with K = 1 (broadcast products) are 64 KiB lookup tables instead.
// - Every other op runs in TypeScript (kernels.ts) with its index arithmetic precomputed per
//   (model, batch size): add and mul as 256x256 tables, average pools and means as tables of
//   the window sum, 2x2 pools unrolled, softmax and layernorm with the reference's formulas.
// - One run allocates one buffer for all op outputs; the trace tensors are views into it.
import { batchedShape, elementCount, type Model, type TensorData } from '../graph.ts';
import type { Backend, RunResult } from '../interpreter.ts';
import type { Tensor } from '../tensor.ts';
import { checkInput } from '../validate.ts';
import { type IntOpPlan, type OrtInput, planConv, planMatMul, type WeightEncoding } from './intops.ts';
import {
  addTable,
  compileAvgPool,
  compileBinary,
  compileLut,
  compileMaxPool,
  compileReduceMean,
  type Exec,
  mulTable,
} from './kernels.ts';
import { compileConcat, compileGather, compileTranspose } from './movement.ts';
import { compileLayerNorm, compileSoftmax } from './normalize.ts';
import { encodeModel, type GraphSpec, ONNX_INT32, ONNX_UINT8 } from './onnx.ts';
import { createIntSession, type IntSession, u8Tensor } from './ort.ts';

export interface FastBackendOptions {
  /** Convs and matmuls with fewer multiply-accumulates (at the run's batch size) run in TypeScript. Default 4096. */
  minOrtMacs?: number;
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
  | { kind: 'ort'; session: IntSession; feeds: OrtInput[]; plans: IntOpPlan[] };

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
  /** 64 KiB tables of the add and mul ops, by op index. */
  tables: Map<number, Uint8Array>;
}

const DEFAULTS: Required<FastBackendOptions> = {
  minOrtMacs: 4096,
  groupCalls: true,
  nativeBinding: true,
  weightEncoding: 'u8',
};

export function createFastBackend(options: FastBackendOptions = {}): FastBackend {
  const opts = { ...DEFAULTS, ...options };
  let states = new WeakMap<Model, ModelState>();
  const live = new Set<Promise<IntSession>>();
  let queue: Promise<unknown> = Promise.resolve();

  // Sessions hold native memory: free them when their model is garbage-collected (or on release).
  const finalizer = new FinalizationRegistry<ModelState>((state) => void disposeState(state));

  const stateOf = (model: Model): ModelState => {
    let s = states.get(model);
    if (!s) {
      s = { plans: new Map(), sessions: new Map(), tables: new Map() };
      states.set(model, s);
      finalizer.register(model, s, model);
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
      const created = s;
      created.catch(() => {
        if (state.sessions.get(key) === created) state.sessions.delete(key);
        live.delete(created);
      });
    }
    return s;
  };

  const compile = async (model: Model, state: ModelState, batch: number): Promise<BatchPlan> => {
    const shapes = model.tensors.map((t) => batchedShape(t, batch));
    // 1. A kernel per op: a TypeScript step, or an onnxruntime node (plan) to be grouped.
    const kernels: (Step | IntOpPlan)[] = model.ops.map((op, i) => {
      const ins = op.inputs.map((id) => shapes[id]);
      // `| 0` turns a -0 zero point (which importers can produce) into 0: same bytes, but V8 keeps
      // the arithmetic in int32 instead of falling back to doubles.
      const zin = (k: number) => model.tensors[op.inputs[k]].zeroPoint | 0;
      const zy = model.tensors[op.output].zeroPoint | 0;
      const out = shapes[op.output];
      let exec: Exec;
      switch (op.type) {
        case 'conv':
        case 'matmul': {
          const plan =
            op.type === 'conv'
              ? planConv(model, i, ins[0], out, opts.weightEncoding)
              : planMatMul(model, i, ins[0], ins[1], out, opts.weightEncoding);
          if (plan.direct) return { kind: 'ts', op: i, exec: plan.direct };
          if (plan.ort && plan.macs >= opts.minOrtMacs) return plan;
          return { kind: 'int', plan, acc: new Int32Array(plan.accLength) };
        }
        case 'reshape':
          return { kind: 'alias', op: i, from: op.inputs[0] };
        case 'add':
        case 'mul': {
          let table = state.tables.get(i);
          if (!table) {
            table = op.type === 'add' ? addTable(op, zin(0), zin(1), zy) : mulTable(op, zin(0), zin(1), zy);
            state.tables.set(i, table);
          }
          exec = compileBinary(op.inputs, table, ins[0], ins[1], out);
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
      return { kind: 'ts', op: i, exec };
    });
    // 2. Schedule: run every TypeScript step that is ready (in model order), then every ready
    // onnxruntime node as one group (one session call), and repeat. Each op still runs after all
    // of its inputs, so the trace is the same; only the order of independent ops changes.
    const available = new Set<number>([model.input]);
    for (const t of model.tensors) if (t.kind === 'const') available.add(t.id);
    const ready = (i: number) => model.ops[i].inputs.every((id) => available.has(id));
    let remaining = model.ops.map((_, i) => i);
    const steps: Step[] = [];
    while (remaining.length > 0) {
      for (let progress = true; progress; ) {
        progress = false;
        for (const i of remaining) {
          const k = kernels[i];
          if ('kind' in k && ready(i)) {
            steps.push(k);
            available.add(model.ops[i].output);
            progress = true;
          }
        }
        if (progress) remaining = remaining.filter((i) => !available.has(model.ops[i].output));
      }
      const group = remaining
        .filter((i) => !('kind' in kernels[i]) && ready(i))
        .map((i) => kernels[i] as IntOpPlan);
      if (group.length === 0 && remaining.length > 0)
        throw new Error('fast backend: the model is not in topological order');
      for (const part of opts.groupCalls ? [group] : group.map((p) => [p])) {
        if (part.length === 0) continue;
        const feeds = new Map<string, OrtInput>();
        for (const p of part) for (const inp of p.ort!.inputs) feeds.set(inp.name, inp);
        steps.push({
          kind: 'ort',
          session: await sessionFor(state, part),
          feeds: [...feeds.values()],
          plans: part,
        });
      }
      for (const p of group) available.add(model.ops[p.opIndex].output);
      remaining = remaining.filter((i) => !available.has(model.ops[i].output));
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
      // Do not cache a failure (for example an onnxruntime error): the next run tries again.
      planP.catch(() => state.plans.get(batch) === planP && state.plans.delete(batch));
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
          for (const f of step.feeds) feeds[f.name] = u8Tensor(values[f.id] as Uint8Array, f.shape);
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

  const disposeSession = async (s: Promise<IntSession>) => {
    try {
      await (await s).dispose();
    } catch {
      // A session that failed to load has nothing to free.
    }
  };

  const disposeState = async (state: ModelState) => {
    const all = [...state.sessions.values()];
    state.sessions.clear();
    state.plans.clear();
    for (const s of all) live.delete(s);
    await Promise.all(all.map(disposeSession));
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
          finalizer.unregister(model);
          await disposeState(s);
        }
      }),
    dispose: () =>
      serial(async () => {
        const all = [...live];
        live.clear();
        states = new WeakMap();
        await Promise.all(all.map(disposeSession));
      }),
    get sessionCount() {
      return live.size;
    },
  };
}

/** One ONNX graph computing the int32 accumulators of a group of independent convs and matmuls. */
function waveGraph(plans: IntOpPlan[]): GraphSpec {
  const spec: GraphSpec = { inputs: [], outputs: [], initializers: [], nodes: [] };
  const seen = new Set<string>();
  for (const p of plans) {
    const part = p.ort!;
    for (const inp of part.inputs) {
      if (seen.has(inp.name)) continue;
      seen.add(inp.name);
      spec.inputs.push({ name: inp.name, elemType: ONNX_UINT8, dims: inp.dims });
    }
    spec.initializers.push(...part.initializers);
    spec.nodes.push(part.node);
    spec.outputs.push({ name: part.output, elemType: ONNX_INT32 });
  }
  return spec;
}

/** A shared fast backend with the default options. */
export const fastBackend: FastBackend = createFastBackend();
