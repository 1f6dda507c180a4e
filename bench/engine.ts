// npm run bench:engine [-- --json] [-- --seconds N]
// Throughput of the example models, single-threaded, measured side by side in one run:
// onnxruntime float32 on the float model (the baseline), our fast backend, the fast backend plus
// the full trace commitment, and the reference interpreter. Batch 1 and batch 32.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { commitTrace } from '../src/commit/traceRoot.ts';
import { type Backend, referenceBackend } from '../src/engine/interpreter.ts';
import { getBackend } from '../src/sdk/backends.ts';
import { floatSession, heldOutBatches } from '../src/sdk/evaluate.ts';
import { EXAMPLES, importExampleModel } from '../src/sdk/examples.ts';
import { loadModelDir } from '../src/store/modelDir.ts';

const json = process.argv.includes('--json');
const secondsArg = process.argv.indexOf('--seconds');
const budgetMs = 1000 * (secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 1.5);
const log = (s: string) => {
  if (!json) process.stderr.write(`${s}\n`);
};

/** Runs `fn` repeatedly for about `budgetMs` after a warm-up; returns the mean seconds per call. */
async function timeIt(fn: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < budgetMs || calls < 5) {
    await fn();
    calls += 1;
    now = performance.now();
  }
  return (now - start) / 1000 / calls;
}

interface Row {
  model: string;
  batch: number;
  onnxruntimeFloat32: number;
  fast: number;
  fastWithCommitment: number;
  reference: number;
}

async function main(): Promise<void> {
  const fast: Backend = await getBackend('fast');
  const rows: Row[] = [];
  for (const example of EXAMPLES) {
    const dir = resolve('.tmp/bench', example.name);
    if (!existsSync(resolve(dir, 'model.vrnf'))) {
      log(`importing ${example.name}…`);
      await importExampleModel(example, dir);
    }
    const { model } = await loadModelDir(dir);
    const session = await floatSession(example);
    for (const batch of [1, 32]) {
      const [inputs] = heldOutBatches(example, model, batch, batch);
      const feeds = { [session.inputNames[0]]: inputs.float };
      log(`${example.name} batch ${batch}: onnxruntime float32…`);
      const base = await timeIt(() => session.run(feeds));
      log(`${example.name} batch ${batch}: fast…`);
      const tFast = await timeIt(() => fast.run(model, inputs.quantized));
      const tCommit = await timeIt(async () => {
        const r = await fast.run(model, inputs.quantized);
        return commitTrace(inputs.quantized, r.trace);
      });
      log(`${example.name} batch ${batch}: reference…`);
      const tRef = await timeIt(() => referenceBackend.run(model, inputs.quantized));
      const perSec = (t: number) => batch / t;
      rows.push({
        model: example.name,
        batch,
        onnxruntimeFloat32: perSec(base),
        fast: perSec(tFast),
        fastWithCommitment: perSec(tCommit),
        reference: perSec(tRef),
      });
    }
    await session.release();
  }
  if (json) {
    console.log(JSON.stringify({ unit: 'samples/s', threads: 1, rows }, null, 2));
    return;
  }
  const fmt = (v: number, base: number) => `${v.toFixed(0).padStart(8)} (${(v / base).toFixed(2)}×)`;
  console.log(
    '\nThroughput in samples/s, single thread; ratio against onnxruntime float32 on the float model.\n',
  );
  console.log(
    '| model | batch | onnxruntime float32 | fast | fast + trace commitment | reference | commitment overhead |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const overhead = (r.fast / r.fastWithCommitment - 1) * 100;
    console.log(
      `| ${r.model} | ${r.batch} | ${r.onnxruntimeFloat32.toFixed(0)} (1.00×) | ${fmt(r.fast, r.onnxruntimeFloat32)} | ` +
        `${fmt(r.fastWithCommitment, r.onnxruntimeFloat32)} | ${fmt(r.reference, r.onnxruntimeFloat32)} | ${overhead.toFixed(1)}% |`,
    );
  }
}

await main();
