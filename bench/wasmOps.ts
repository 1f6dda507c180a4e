// node bench/wasmOps.ts [--model digits|spam|mobilenetv2-224|transformer-d256] [--batch B] [--ms T] [--verbose] [--native]
//
// Where the WebAssembly engine spends its time: compiles the model's plan as the backend does,
// runs it once, then times every plan record alone (each for about T ms of repeated calls, CPU
// time) and prints the total per op type; --verbose lists every record with its shapes. The
// records read the outputs of the full run, so each is timed on the inputs it really sees.
import { resolve } from 'node:path';
import type { Model } from '../src/engine/graph.ts';
import { choosePath, loadNative } from '../src/engine/native/addon.ts';
import { MIN_NATIVE_MACS } from '../src/engine/native/backend.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { engineModule } from '../src/engine/wasm/module.ts';
import { type Blob, layoutBatch, layoutConstants } from '../src/engine/wasm/plan.ts';
import { heldOutBatches } from '../src/sdk/evaluate.ts';
import { EXAMPLES, loadOrImportExample } from '../src/sdk/examples.ts';
import { BENCH_ONNX_MODELS, benchBatch, loadOrImportBenchOnnx } from './models/benchOnnx.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const name = arg('--model', 'spam');
const batch = Number(arg('--batch', '1'));
const sliceMs = Number(arg('--ms', '40'));

async function load(): Promise<{ model: Model; input: Tensor }> {
  const example = EXAMPLES.find((e) => e.name === name);
  if (example) {
    const { model } = await loadOrImportExample(example, resolve('.tmp/bench', name));
    return { model, input: heldOutBatches(example, model, batch, batch)[0].quantized };
  }
  const spec = BENCH_ONNX_MODELS.find((s) => s.name === name);
  if (!spec) throw new Error(`Unknown model "${name}": use an example or a bench:engine model.`);
  const { model } = await loadOrImportBenchOnnx(spec, resolve('.tmp/bench', name));
  return { model, input: benchBatch(spec, model, batch).quantized };
}

interface Engine {
  memory: WebAssembly.Memory;
  heapBase(): number;
  run(plan: number, count: number): number;
}

const { model, input } = await load();
// --native: conv and matmul records run by the native addon, as the native backend runs them.
const hooks = { gemmHook: () => 0, opHook: (_code: number, _record: number, _macs: number) => 0 };
if (process.argv.includes('--native')) {
  const status = await loadNative();
  if (!status.loaded) throw new Error(`The native kernels cannot load: ${status.reason}`);
  const { number } = choosePath(status);
  hooks.opHook = (code, record, macs) => {
    if (macs < MIN_NATIVE_MACS) return 0;
    return status.addon.op(engine.memory.buffer, code, record >>> 0, number) ? 1 : 0;
  };
}
const engine = new WebAssembly.Instance(engineModule(), { env: hooks }).exports as unknown as Engine;
const place = (end: number, blobs: Blob[]) => {
  const have = engine.memory.buffer.byteLength;
  if (end > have) engine.memory.grow(Math.ceil((end - have) / 65536));
  const heap = new Uint8Array(engine.memory.buffer);
  for (const b of blobs) heap.set(b.bytes, b.at);
};
const consts = layoutConstants(model, engine.heapBase());
place(consts.end, consts.blobs);
const layout = layoutBatch(model, consts, batch);
place(layout.end, layout.blobs);
new Uint8Array(engine.memory.buffer).set(
  new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength),
  layout.tensorAt.get(model.input)!,
);
if (engine.run(layout.plan, layout.records) >= 0)
  throw new Error('The run failed (a token id out of range).');

const view = new DataView(engine.memory.buffer);
const byType = new Map<string, number>();
let total = 0;
let at = layout.plan;
for (let r = 0; r < layout.records; r++) {
  const words = view.getInt32(at, true);
  const op = model.ops[view.getInt32(at + 8, true)];
  let calls = 0;
  const cpu = process.cpuUsage().user;
  const start = performance.now();
  while (calls < 1 || performance.now() - start < sliceMs) {
    engine.run(at, 1);
    calls += 1;
  }
  const us = (process.cpuUsage().user - cpu) / calls;
  total += us;
  byType.set(op.type, (byType.get(op.type) ?? 0) + us);
  if (process.argv.includes('--verbose')) {
    const shapes = op.inputs.map((id) => layout.shapes[id].join('x')).join(', ');
    console.log(`${op.name.padEnd(24)} ${op.type.padEnd(11)} ${us.toFixed(1).padStart(9)} us  ${shapes}`);
  }
  at += 4 * words;
}
console.log(
  `${name}, batch ${batch}: ${total.toFixed(0)} us of CPU per run, ${(total / batch).toFixed(1)} per sample`,
);
for (const [type, us] of [...byType].sort((a, b) => b[1] - a[1])) {
  console.log(
    `  ${type.padEnd(11)} ${us.toFixed(0).padStart(8)} us  ${((100 * us) / total).toFixed(1).padStart(5)}%`,
  );
}
