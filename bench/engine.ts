import { resolve } from 'node:path';
import { checkpointIndex, commitTrace, rootOfTensor } from '../src/commit/traceRoot.ts';
import { type Backend, referenceBackend } from '../src/engine/interpreter.ts';
import { getBackend } from '../src/sdk/backends.ts';
import { floatSession, heldOutBatches } from '../src/sdk/evaluate.ts';
import { EXAMPLES, loadOrImportExample } from '../src/sdk/examples.ts';

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
  /** The honest path: the output and checkpoint roots of the result commitment. */
  fastWithCommitment: number;
  /** The full trace root, built when a result is disputed or audited. */
  fastWithTrace: number;
  reference: number;
}

async function main(): Promise<void> {
  const fast: Backend = await getBackend('fast');
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
      const feeds = { [session.inputNames[0]]: inputs.float };
      log(`${example.name} batch ${batch}: onnxruntime float32…`);
      const base = await timeIt(() => session.run(feeds));
      log(`${example.name} batch ${batch}: fast…`);
      const tFast = await timeIt(() => fast.run(model, inputs.quantized));
      // The worker hashes the output and the checkpoint; the input root is the task's, checked
      // once when the input is fetched (and computed by the requester in the first place).
      const tCommit = await timeIt(async () => {
        const r = await fast.run(model, inputs.quantized);
        return [
          rootOfTensor(r.trace[r.trace.length - 1]),
          rootOfTensor(r.trace[checkpointIndex(r.trace.length)]),
        ];
      });
      const tTrace = await timeIt(async () => {
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
        fastWithTrace: perSec(tTrace),
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
    '| model | batch | onnxruntime float32 | fast | fast + output & checkpoint roots | fast + full trace (on dispute) | reference | commitment overhead | trace overhead |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const overhead = (r.fast / r.fastWithCommitment - 1) * 100;
    const traceOverhead = (r.fast / r.fastWithTrace - 1) * 100;
    console.log(
      `| ${r.model} | ${r.batch} | ${r.onnxruntimeFloat32.toFixed(0)} (1.00×) | ${fmt(r.fast, r.onnxruntimeFloat32)} | ` +
        `${fmt(r.fastWithCommitment, r.onnxruntimeFloat32)} | ${fmt(r.fastWithTrace, r.onnxruntimeFloat32)} | ` +
        `${fmt(r.reference, r.onnxruntimeFloat32)} | ${overhead.toFixed(1)}% | ${traceOverhead.toFixed(1)}% |`,
    );
  }
}

await main();
