// Golden vectors: fixed model, fixed input -> expected output bytes and roots.
// `node test/golden/vectors.ts --write` regenerates test/golden/hand.json; the test only reads it.
import { writeFileSync } from 'node:fs';
import { toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import { commitTrace } from '../../src/commit/traceRoot.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { handInput, handModel } from '../support/handModel.ts';

export interface GoldenVector {
  batch: number;
  output: number[];
  outputRoot: string;
  traceRoot: string;
  opRoots: string[];
}

export function handVectors(): { modelRoot: string; vectors: GoldenVector[] } {
  const model = handModel();
  const vectors = [1, 3].map((batch) => {
    const input = handInput(batch);
    const run = runReference(model, input);
    const c = commitTrace(input, run.trace);
    return {
      batch,
      output: [...run.output.data],
      outputRoot: toHex(c.outputRoot),
      traceRoot: toHex(c.traceRoot),
      opRoots: c.opRoots.map(toHex),
    };
  });
  return { modelRoot: toHex(modelRoot(model)), vectors };
}

if (process.argv.includes('--write')) {
  writeFileSync(new URL('./hand.json', import.meta.url), `${JSON.stringify(handVectors(), null, 2)}\n`);
}
