// Byte-for-byte comparison of two runs' traces, naming the first op and byte that differ.
import assert from 'node:assert/strict';
import type { Model } from '../../src/engine/graph.ts';
import type { Tensor } from '../../src/engine/tensor.ts';

export function tensorBuffer(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Fails with "<context>, op i (type): byte k is got, not want" at the first difference. */
export function assertSameTrace(model: Model, want: Tensor[], got: Tensor[], context: string): void {
  assert.equal(got.length, want.length, `${context}: trace length`);
  for (let i = 0; i < want.length; i++) {
    const a = tensorBuffer(want[i]);
    const b = tensorBuffer(got[i]);
    if (!a.equals(b)) {
      let k = 0;
      while (a[k] === b[k]) k++;
      assert.fail(`${context}, op ${i} (${model.ops[i].type}): byte ${k} is ${b[k]}, not ${a[k]}`);
    }
  }
}
