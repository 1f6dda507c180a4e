// npm run bench:engine [-- --json] [-- --seconds S] [-- --rounds R] [-- --models a,b] [-- --no-reference]
//
// Throughput (samples/s, single thread) of every exact engine against onnxruntime float32 on the
// float model. Every column runs in each of R interleaved rounds and the median round counts, so
// drift on a shared machine affects all columns alike. Models: the examples (digits, spam) and the
// seeded float models of bench/models/benchOnnx.ts (mobilenetv2-224, transformer-d256).
//
// Slow rows are measured more coarsely so the whole run stays within minutes: a column whose
// warm-up call takes longer than its time slice is timed over one further call, and a row whose
// first round takes longer than SLOW_ROUND_S seconds stops after that round. --no-reference skips
// the reference column (its warm-up call alone is then not paid either).
// - honestPath: exact inference plus what the honest path commits (output and checkpoint roots);
// - fullTrace: inference on the fast backend plus the full trace root (disputes and audits);
// - reference: the reference interpreter.
import { resolve } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { commitTrace, rootOfTensor } from '../src/commit/traceRoot.ts';
import type { Model } from '../src/engine/graph.ts';
import { type Backend, referenceBackend, runHonest } from '../src/engine/interpreter.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { backendLabel, getBackend } from '../src/sdk/backends.ts';
import { floatSession, heldOutBatches } from '../src/sdk/evaluate.ts';
import { EXAMPLES, loadOrImportExample } from '../src/sdk/examples.ts';
import { BENCH_ONNX_MODELS, benchBatch, loadOrImportBenchOnnx } from './models/benchOnnx.ts';

const json = process.argv.includes('--json');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const rounds = arg('--rounds', 5);
const withReference = !process.argv.includes('--no-reference');
const modelsArg = process.argv.indexOf('--models');
const only = modelsArg > 0 ? new Set(process.argv[modelsArg + 1].split(',')) : null;
/** A row whose first round takes longer than this (seconds) is not measured again. */
const SLOW_ROUND_S = 30;
/** Time per column and round. */
const sliceMs = (1000 * arg('--seconds', 1.5)) / rounds;
const log = (s: string) => {
  if (!json) process.stderr.write(`${s}\n`);
};

/**
 * Runs `fn` for about `sliceMs` (at least twice) after a warm-up call; returns the mean seconds per
 * call. A warm-up longer than the slice is followed by one timed call only.
 */
async function timeSlice(fn: () => Promise<unknown> | unknown): Promise<number> {
  const warm = performance.now();
  await fn();
  const start = performance.now();
  if (start - warm > sliceMs) {
    await fn();
    return (performance.now() - start) / 1000;
  }
  let calls = 0;
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
  honestPath: { wasm: number; native: number | null; fast: number };
  fullTrace: number;
  reference: number | null;
  /** Rounds measured (fewer than asked for a slow row). */
  rounds: number;
  peakRssMB: number;
}

const honest =
  (backend: Backend) =>
  async (model: Parameters<typeof runHonest>[1], input: Parameters<typeof runHonest>[2]) => {
    // The worker hashes the output and the checkpoint; the input root is the task's.
    const r = await runHonest(backend, model, input);
    return [rootOfTensor(r.output), rootOfTensor(r.checkpoint)];
  };

/** One benchmarked model: its integer model, its float session, and inputs per batch size. */
interface BenchCase {
  name: string;
  model: Model;
  session: ortNode.InferenceSession;
  batch(size: number): { feeds: Record<string, ortNode.Tensor>; quantized: Tensor };
}

const SESSION_OPTIONS: ortNode.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

async function* cases(): AsyncGenerator<BenchCase> {
  const wanted = (name: string) => !only || only.has(name);
  for (const example of EXAMPLES.filter((e) => wanted(e.name))) {
    const dir = resolve('.tmp/bench', example.name);
    const { model } = await loadOrImportExample(example, dir, () => {
      log(`importing ${example.name}…`);
      return undefined;
    });
    const session = await floatSession(example);
    yield {
      name: example.name,
      model,
      session,
      batch: (size) => {
        const [inputs] = heldOutBatches(example, model, size, size);
        return { feeds: { [session.inputNames[0]]: inputs.float }, quantized: inputs.quantized };
      },
    };
  }
  for (const spec of BENCH_ONNX_MODELS.filter((s) => wanted(s.name))) {
    const { model, onnx } = await loadOrImportBenchOnnx(spec, resolve('.tmp/bench', spec.name), () =>
      log(`building and importing ${spec.name} (once; cached under .tmp/bench)…`),
    );
    const session = await ortNode.InferenceSession.create(onnx, SESSION_OPTIONS);
    yield {
      name: spec.name,
      model,
      session,
      batch: (size) => {
        const b = benchBatch(spec, model, size);
        const type = b.float instanceof BigInt64Array ? 'int64' : 'float32';
        return {
          feeds: { [session.inputNames[0]]: new ortNode.Tensor(type, b.float, b.shape) },
          quantized: b.quantized,
        };
      },
    };
  }
}

async function main(): Promise<void> {
  const wasm = await getBackend('wasm');
  const fast = await getBackend('fast');
  // null where the native kernels could not be built or loaded (then fast is wasm).
  const native = await getBackend('native').catch((e: Error) => {
    log(`native: ${e.message.split('\n')[0]}`);
    return undefined;
  });
  log(`fast is ${backendLabel(fast)}${native ? `; native runs ${backendLabel(native)}` : ''}`);
  const rows: Row[] = [];
  for await (const c of cases()) {
    const { model, session } = c;
    for (const batch of [1, 32]) {
      const { feeds, quantized: q } = c.batch(batch);
      const columns: Record<string, () => Promise<unknown> | unknown> = {
        onnxruntimeFloat32: () => session.run(feeds),
        wasm: () => honest(wasm)(model, q),
        ...(native ? { native: () => honest(native)(model, q) } : {}),
        fast: () => honest(fast)(model, q),
        fullTrace: async () => commitTrace(q, (await fast.run(model, q)).trace),
        ...(withReference ? { reference: () => referenceBackend.run(model, q) } : {}),
      };
      const times: Record<string, number[]> = Object.fromEntries(Object.keys(columns).map((k) => [k, []]));
      let done = 0;
      for (let r = 0; r < rounds; r++) {
        log(`${c.name} batch ${batch}: round ${r + 1}/${rounds}`);
        const start = performance.now();
        for (const [name, fn] of Object.entries(columns)) times[name].push(await timeSlice(fn));
        done += 1;
        if (performance.now() - start > 1000 * SLOW_ROUND_S) break;
      }
      const perSec = (name: string) => batch / median(times[name]);
      rows.push({
        model: c.name,
        batch,
        onnxruntimeFloat32: perSec('onnxruntimeFloat32'),
        honestPath: {
          wasm: perSec('wasm'),
          native: native ? perSec('native') : null,
          fast: perSec('fast'),
        },
        fullTrace: perSec('fullTrace'),
        reference: withReference ? perSec('reference') : null,
        rounds: done,
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
  // Two significant digits at least, so the slow rows of the large models do not read 0.
  const num = (v: number) => (v >= 100 ? v.toFixed(0) : v.toPrecision(2));
  const fmt = (v: number | null, base: number) =>
    v === null ? 'n/a' : `${num(v)} (${(v / base).toFixed(v / base >= 0.01 ? 2 : 4)}×)`;
  console.log(
    `\nThroughput in samples/s, single thread, median of ${rounds} interleaved rounds; ratio against onnxruntime float32 on the float model. fast = ${backendLabel(fast)}.\n`,
  );
  console.log(
    '| model | batch | onnxruntime float32 | honestPath wasm | honestPath native | honestPath fast | fullTrace | reference | rounds | peak RSS MB |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const b = r.onnxruntimeFloat32;
    console.log(
      `| ${r.model} | ${r.batch} | ${num(b)} (1.00×) | ${fmt(r.honestPath.wasm, b)} | ${fmt(r.honestPath.native, b)} | ` +
        `${fmt(r.honestPath.fast, b)} | ${fmt(r.fullTrace, b)} | ${fmt(r.reference, b)} | ${r.rounds} | ${r.peakRssMB.toFixed(0)} |`,
    );
  }
}

await main();
