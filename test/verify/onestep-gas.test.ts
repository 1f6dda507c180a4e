// Gas of OneStepVerifier.computeElement on the two shipped example models, for the most expensive
// element of each op type. For every op a sample of elements (the corners, the middle and random
// ones) is run through OneStepVerifierBatch, which reports the gas of each call; per op type the
// element with the largest estimated transaction cost is then measured with eth_estimateGas (a
// transaction straight to the verifier: 21000, calldata — with the EIP-7623 floor of the chain's
// hardfork — and execution). The table is printed as test diagnostics; every step must stay within
// 1M gas.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeComputeElement, estimateComputeElementGas } from '../../src/dispute/onestep.ts';
import { buildOneStepWitness, type Step, WitnessCache } from '../../src/dispute/witness.ts';
import type { OpType } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { EXAMPLES } from '../../src/sdk/examples.ts';
import { mulberry32 } from '../support/randomModel.ts';
import { loadExample } from './examples.ts';
import { startVerifierRig, type VerifierRig } from './support.ts';

const GAS_TARGET = 1_000_000;
/** Elements sampled per op besides the corners and the middle. */
const RANDOM_PER_OP = 12;

let rig: VerifierRig;
before(async () => {
  rig = await startVerifierRig();
});
after(async () => {
  await rig?.close();
});

/** 21000 + calldata cost, and the EIP-7623 floor 21000 + 10 * (zero bytes + 4 * non-zero bytes). */
function intrinsic(data: string): { standard: number; floor: number } {
  const bytes = Buffer.from(data.slice(2), 'hex');
  let zero = 0;
  for (const b of bytes) if (b === 0) zero++;
  const nonZero = bytes.length - zero;
  return { standard: 21000 + 16 * nonZero + 4 * zero, floor: 21000 + 10 * (zero + 4 * nonZero) };
}

interface Row {
  model: string;
  type: OpType;
  k: number;
  element: number;
  chunks: string;
  calldata: number;
  exec: number;
  guess: number;
  step: Step;
}

const table: Row[] = [];

for (const ex of EXAMPLES) {
  test(`gas of the most expensive element of each op type: ${ex.name}`, async () => {
    const { model, input } = await loadExample(ex);
    const { trace } = runReference(model, input);
    const cache = new WitnessCache();
    const r = mulberry32(7);
    const candidates: { k: number; element: number; step: Step }[] = [];
    model.ops.forEach((_, k) => {
      const n = trace[k].data.length;
      const set = new Set([0, n - 1, n >> 1, (n >> 1) + 1 < n ? (n >> 1) + 1 : 0]);
      for (let i = 0; i < RANDOM_PER_OP; i++) set.add(r.int(0, n - 1));
      for (const element of set) {
        candidates.push({ k, element, step: buildOneStepWitness(model, input, trace, k, element, cache) });
      }
    });
    const results = await rig.run(candidates.map((c) => c.step));
    const best = new Map<OpType, Row>();
    candidates.forEach((c, i) => {
      const res = results[i];
      assert.ok(res.ok && res.value === trace[c.k].data[c.element], `op ${c.k} element ${c.element}`);
      const data = encodeComputeElement(c.step);
      const { standard, floor } = intrinsic(data);
      // The call frame of the batch caller costs a little more than a transaction's; close enough to rank.
      const guess = Math.max(standard + res.gas, floor);
      const type = model.ops[c.k].type;
      const cur = best.get(type);
      if (!cur || guess > cur.guess) {
        best.set(type, {
          model: ex.name,
          type,
          k: c.k,
          element: c.element,
          chunks: c.step.inputs.map((t) => t.chunks.length).join('+'),
          calldata: (data.length - 2) / 2,
          exec: res.gas,
          guess,
          step: c.step,
        });
      }
    });
    table.push(...best.values());
  });
}

test('every measured step is within the gas target', async (t) => {
  const lines = ['model   op          op#  element  chunks      calldata B  exec gas  eth_estimateGas'];
  for (const row of table) {
    const gas = await estimateComputeElementGas(
      rig.chain.publicClient,
      rig.verifier,
      row.step,
      rig.chain.accounts[0],
    );
    lines.push(
      [
        row.model.padEnd(7),
        row.type.padEnd(11),
        String(row.k).padStart(3),
        String(row.element).padStart(8),
        row.chunks.padEnd(11),
        String(row.calldata).padStart(10),
        String(row.exec).padStart(9),
        String(gas).padStart(16),
      ].join(' '),
    );
    assert.ok(gas <= GAS_TARGET, `${row.model} ${row.type} op ${row.k} element ${row.element}: ${gas} gas`);
  }
  for (const line of lines) t.diagnostic(line);
  assert.ok(table.length >= 8);
});
