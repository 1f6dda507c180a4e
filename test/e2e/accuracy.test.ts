// The example models on their whole held-out sets: digits >= 97% accurate once quantized, and the
// integer models agree with their float models on >= 99% of top-1 answers.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { getBackend } from '../../src/sdk/backends.ts';
import { evaluateExample } from '../../src/sdk/evaluate.ts';
import { EXAMPLES, importExampleModel } from '../../src/sdk/examples.ts';
import { loadModelDir } from '../../src/store/modelDir.ts';

for (const example of EXAMPLES) {
  test(`${example.name}: held-out accuracy and agreement with the float model`, async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'verinfer-acc-')), example.name);
    await importExampleModel(example, dir);
    const { model } = await loadModelDir(dir);
    const e = await evaluateExample(example, model, await getBackend('fast'));
    assert.ok(e.samples > 700, `only ${e.samples} held-out samples`);
    assert.ok(e.agreement >= 0.99, `top-1 agreement ${e.agreement}`);
    assert.ok(
      e.quantizedAccuracy >= (example.name === 'digits' ? 0.97 : 0.95),
      `quantized accuracy ${e.quantizedAccuracy}`,
    );
    assert.ok(
      e.floatAccuracy - e.quantizedAccuracy <= 0.01,
      `quantization costs ${e.floatAccuracy - e.quantizedAccuracy}`,
    );
  });
}
