// npm run bench:engine [-- --json] [-- --seconds S] [-- --rounds R]
//
// Throughput (samples/s, single thread) of every exact engine against onnxruntime float32 on the
// float model. Every column runs in each of R interleaved rounds and the median round counts, so
// drift on a shared machine affects all columns alike.
// - honestPath: exact inference plus what the honest path commits (output and checkpoint roots);
// - fullTrace: inference on the fast backend plus the full trace root (disputes and audits);
// - reference: the reference interpreter.
import { resolve } from 'node:path';
import { commitTrace, rootOfTensor } from '../src/commit/traceRoot.ts';
import { type Backend, referenceBackend, runHonest } from '../src/engine/interpreter.ts';
import { backendLabel, getBackend } from '../src/sdk/backends.ts';
import { floatSession, heldOutBatches } from '../src/sdk/evaluate.ts';
import { EXAMPLES, loadOrImportExample } from '../src/sdk/examples.ts';

const json = process.argv.includes('--json');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const rounds = arg('--rounds', 5);
/** Time per column and round. */
const sliceMs = (1000 * arg('--seconds', 1.5)) / rounds;
const log = (s: string) => {
  if (!json) process.stderr.write(`${s}\n`);
};

/** Runs `fn` for about `sliceMs` (at least twice); returns the mean seconds per call. */
async function timeSlice(fn: () => Promise<unknown> | unknown): Promise<number> {
  await fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < sliceMs || calls < 2) {
    await fn();
    calls += 1;
    now = performance.now();
  }
  return (now - start) / 1000 / calls;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Row {
  model: string;
  batch: number;
  onnxruntimeFloat32: number;
  honestPath: { wasm: number; native: number | null; fast: number; ort: number };
  fullTrace: number;
  reference: number;
  peakRssMB: number;
}

const honest =
  (backend: Backend) =>
  async (model: Parameters<typeof runHonest>[1], input: Parameters<typeof runHonest>[2]) => {
    // The worker hashes the output and the checkpoint; the input root is the task's.
    const r = await runHonest(backend, model, input);
    return [rootOfTensor(r.output), rootOfTensor(r.checkpoint)];
  };

async function main(): Promise<void> {
  const wasm = await getBackend('wasm');
  const fast = await getBackend('fast');
  const ort = await getBackend('ort');
  // null where the native kernels could not be built or loaded (then fast is wasm).
  const native = await getBackend('native').catch((e: Error) => {
    log(`native: ${e.message.split('\n')[0]}`);
    return undefined;
  });
  log(`fast is ${backendLabel(fast)}${native ? `; native runs ${backendLabel(native)}` : ''}`);
  const rows: Row[] = [];
  for (const example of EXAMPLES) {
    const dir = resolve('.tmp/bench', example.name);
    const { model } = await loadOrImportExample(example, dir, () => {
      log(`importing ${example.name}…`);
      return undefined;
    });
    const session = await floatSession(example);
    for (const batch of [1, 32]) {
      const [inputs] = heldOutBatches(example, model, batch, batch);
      const q = inputs.quantized;
      const feeds = { [session.inputNames[0]]: inputs.float };
      const columns: Record<string, () => Promise<unknown> | unknown> = {
        onnxruntimeFloat32: () => session.run(feeds),
        wasm: () => honest(wasm)(model, q),
        ...(native ? { native: () => honest(native)(model, q) } : {}),
        fast: () => honest(fast)(model, q),
        ort: () => honest(ort)(model, q),
        fullTrace: async () => commitTrace(q, (await fast.run(model, q)).trace),
        reference: () => referenceBackend.run(model, q),
      };
      const times: Record<string, number[]> = Object.fromEntries(Object.keys(columns).map((k) => [k, []]));
      for (let r = 0; r < rounds; r++) {
        log(`${example.name} batch ${batch}: round ${r + 1}/${rounds}`);
        for (const [name, fn] of Object.entries(columns)) times[name].push(await timeSlice(fn));
      }
      const perSec = (name: string) => batch / median(times[name]);
      rows.push({
        model: example.name,
        batch,
        onnxruntimeFloat32: perSec('onnxruntimeFloat32'),
        honestPath: {
          wasm: perSec('wasm'),
          native: native ? perSec('native') : null,
          fast: perSec('fast'),
          ort: perSec('ort'),
        },
        fullTrace: perSec('fullTrace'),
        reference: perSec('reference'),
        peakRssMB: process.resourceUsage().maxRSS / 1024,
      });
    }
    await session.release();
  }
  if (json) {
    const engines = { fast: backendLabel(fast), native: native ? backendLabel(native) : null };
    console.log(JSON.stringify({ unit: 'samples/s', threads: 1, rounds, engines, rows }, null, 2));
    return;
  }
  const fmt = (v: number | null, base: number) =>
    v === null ? 'n/a' : `${v.toFixed(0)} (${(v / base).toFixed(2)}×)`;
  console.log(
    `\nThroughput in samples/s, single thread, median of ${rounds} interleaved rounds; ratio against onnxruntime float32 on the float model. fast = ${backendLabel(fast)}.\n`,
  );
  console.log(
    '| model | batch | onnxruntime float32 | honestPath wasm | honestPath native | honestPath fast | honestPath ort (old) | fullTrace | reference | peak RSS MB |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const b = r.onnxruntimeFloat32;
    console.log(
      `| ${r.model} | ${r.batch} | ${b.toFixed(0)} (1.00×) | ${fmt(r.honestPath.wasm, b)} | ${fmt(r.honestPath.native, b)} | ` +
        `${fmt(r.honestPath.fast, b)} | ${fmt(r.honestPath.ort, b)} | ${fmt(r.fullTrace, b)} | ${fmt(r.reference, b)} | ${r.peakRssMB.toFixed(0)} |`,
    );
  }
}

await main();
