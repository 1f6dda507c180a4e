// The shipped example models (models/digits, models/spam), imported from ONNX with their
// calibration sets, and one held-out input of each.
import { readFileSync } from 'node:fs';
import type { Model } from '../../src/engine/graph.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { importOnnx, parseFloatInput, quantizeInput } from '../../src/onnx/index.ts';
import type { EXAMPLES } from '../../src/sdk/examples.ts';

export async function loadExample(ex: (typeof EXAMPLES)[number]): Promise<{ model: Model; input: Tensor }> {
  const json = (name: string) => JSON.parse(readFileSync(ex.onnx.replace(/[^/]+$/, name), 'utf8'));
  const calibration = (json('calibration.json') as unknown[]).map(parseFloatInput);
  const { model } = await importOnnx(new Uint8Array(readFileSync(ex.onnx)), calibration, {
    name: ex.name,
    version: '1',
    inputKind: ex.tokenizer ? 'tokens' : 'image',
    labels: ex.labels,
  });
  const set = json('test-set.json') as { pixels?: string[]; tokens?: number[][] };
  const input = set.pixels
    ? quantizeInput(model, {
        shape: [1, 1, 28, 28],
        data: Array.from(Buffer.from(set.pixels[0], 'base64'), (p) => p / 255),
      })
    : quantizeInput(model, { shape: [1, 64], data: set.tokens![0] });
  return { model, input };
}
