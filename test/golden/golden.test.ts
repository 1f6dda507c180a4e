import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { toHex } from '../../src/commit/keccak.ts';
import { commitTrace, rootOfTensor } from '../../src/commit/traceRoot.ts';
import { runHonest } from '../../src/engine/interpreter.ts';
import { BACKEND_NAMES, getBackend } from '../../src/sdk/backends.ts';
import { handInput, handModel } from '../support/handModel.ts';
import { handVectors } from './vectors.ts';

const stored = JSON.parse(readFileSync(new URL('./hand.json', import.meta.url), 'utf8'));

test('the hand-built model reproduces its checked-in output bytes and roots', () => {
  assert.deepEqual(handVectors(), stored);
});

test('every backend reproduces the checked-in output bytes and trace roots of the hand-built model', async () => {
  const model = handModel();
  for (const name of BACKEND_NAMES) {
    const backend = await getBackend(name);
    for (const v of stored.vectors) {
      const input = handInput(v.batch);
      const run = await backend.run(model, input);
      const c = commitTrace(input, run.trace);
      assert.deepEqual([...run.output.data], v.output, `${name}, batch ${v.batch}: output`);
      assert.equal(toHex(c.traceRoot), v.traceRoot, `${name}, batch ${v.batch}: trace root`);
      assert.deepEqual(c.opRoots.map(toHex), v.opRoots, `${name}, batch ${v.batch}: op roots`);
      const honest = await runHonest(backend, model, input);
      assert.equal(
        toHex(rootOfTensor(honest.output)),
        v.outputRoot,
        `${name}, batch ${v.batch}: honest output`,
      );
      assert.equal(
        toHex(rootOfTensor(honest.checkpoint)),
        v.opRoots[honest.checkpointIndex],
        `${name}, batch ${v.batch}: honest checkpoint`,
      );
    }
  }
});
