// The shipped example models (models/digits, models/spam), when present: quantized top-1 agreement
// with the float model on their held-out test sets must reach 99%.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateModel } from '../../src/engine/validate.ts';
import { type FloatTensor, importOnnx, parseFloatInput } from '../../src/onnx/index.ts';

const path = (p: string) => fileURLToPath(new URL(`../../models/${p}`, import.meta.url));
const json = (p: string) => JSON.parse(readFileSync(path(p), 'utf8'));

/** Every `step`-th held-out sample keeps the test fast while covering the whole set. */
const STEP = 4;

const EXAMPLES = [
  {
    name: 'digits',
    inputKind: 'image' as const,
    heldOut: (): FloatTensor[] => {
      const t = json('digits/test-set.json') as { pixels: string[] };
      return t.pixels
        .filter((_, i) => i % STEP === 0)
        .map((b64) => ({
          shape: [1, 1, 28, 28],
          data: Array.from(Buffer.from(b64, 'base64'), (p) => p / 255),
        }));
    },
  },
  {
    name: 'spam',
    inputKind: 'tokens' as const,
    heldOut: (): FloatTensor[] => {
      const t = json('spam/test-set.json') as { tokens: number[][] };
      return t.tokens.filter((_, i) => i % STEP === 0).map((ids) => ({ shape: [1, ids.length], data: ids }));
    },
  },
];

describe('example models', () => {
  for (const ex of EXAMPLES) {
    const files = [`${ex.name}/${ex.name}.onnx`, `${ex.name}/calibration.json`, `${ex.name}/test-set.json`];
    const missing = files.filter((f) => !existsSync(path(f)));
    test(`${ex.name}: top-1 agreement with the float model >= 99%`, {
      skip: missing.length ? `missing ${missing.join(', ')}` : false,
    }, async () => {
      const bytes = new Uint8Array(readFileSync(path(files[0])));
      const calibration = (json(files[1]) as unknown[]).map(parseFloatInput);
      const { model, report } = await importOnnx(bytes, calibration, {
        name: ex.name,
        inputKind: ex.inputKind,
        evaluation: ex.heldOut(),
      });
      validateModel(model);
      assert.ok(report.agreement.top1Agreement >= 0.99, `calibration: ${JSON.stringify(report.agreement)}`);
      assert.ok(
        (report.evaluation?.top1Agreement ?? 0) >= 0.99,
        `held-out: ${JSON.stringify(report.evaluation)}`,
      );
    });
  }
});
