// npm run eval:examples: float and quantized accuracy of both example models on their held-out
// sets, and top-1 agreement between the float model and the integer model.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBackend } from '../src/sdk/backends.ts';
import { evaluateExample } from '../src/sdk/evaluate.ts';
import { EXAMPLES, importExampleModel } from '../src/sdk/examples.ts';
import { loadModelDir } from '../src/store/modelDir.ts';

const fast = await getBackend('fast');
const work = await mkdtemp(join(tmpdir(), 'verinfer-eval-'));
console.log('| model | held-out samples | float accuracy | quantized accuracy | top-1 agreement |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const example of EXAMPLES) {
  await importExampleModel(example, join(work, example.name));
  const { model } = await loadModelDir(join(work, example.name));
  const e = await evaluateExample(example, model, fast);
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  console.log(
    `| ${example.name} | ${e.samples} | ${pct(e.floatAccuracy)} | ${pct(e.quantizedAccuracy)} | ${pct(e.agreement)} |`,
  );
}
