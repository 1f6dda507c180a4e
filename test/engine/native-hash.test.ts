// The native addon's tensor roots (keccak8.h: eight keccak lanes on AVX-512) against the
// chunk-by-chunk definition of src/commit/tensorRoot.ts and the WebAssembly implementation, on
// random bytes of every length class: around the 136-byte rate and the 1024-byte chunk, groups of
// eight chunks and the ragged groups after them, and powers of two of leaves. Where the CPU has no
// AVX-512 the addon's function is not installed and these tests skip.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { merkleRoot } from '../../src/commit/merkle.ts';
import {
  nativeHashing,
  referenceTensorRoot,
  tensorRoot,
  tensorRootHasher,
} from '../../src/commit/tensorRoot.ts';
import { traceRootFromOpRoots } from '../../src/commit/traceRoot.ts';
import { loadNative } from '../../src/engine/native/index.ts';
import { wasmTensorRoot } from '../../src/engine/wasm/index.ts';
import { mulberry32 } from '../support/randomModel.ts';

const status = await loadNative();
const native = status.loaded && status.paths.includes('vnni512') ? status.addon.tensorRoots : undefined;
const skip = native ? false : 'the addon has no AVX-512 tensorRoots here';
const hex = (b: Uint8Array | ArrayBuffer) =>
  Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');

function randomBytes(n: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(0, 255);
  return out;
}

describe('native tensor roots', { skip }, () => {
  const call = (list: unknown) =>
    (native as (list: unknown) => ArrayBuffer).call(status.loaded ? status.addon : null, list);
  const root = (b: Uint8Array) => hex(call([b]));

  test('every length class equals the definition and the WebAssembly implementation', () => {
    const lengths = [0, 1, 7, 8, 71, 72, 135, 136, 137, 271, 272, 1000, 1023, 1024, 1025, 2047, 2048];
    for (const chunks of [3, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 33, 64, 100])
      lengths.push(chunks * 1024 - 1, chunks * 1024, chunks * 1024 + 1, chunks * 1024 + 500);
    const rng = mulberry32(7);
    for (let i = 0; i < 40; i++) lengths.push(rng.int(0, 300_000));
    lengths.forEach((n, i) => {
      const bytes = randomBytes(n, 1000 + i);
      const want = hex(referenceTensorRoot(bytes));
      assert.equal(root(bytes), want, `${n} bytes`);
      assert.equal(hex(wasmTensorRoot(bytes)), want, `${n} bytes (wasm)`);
    });
  });

  test('one call over a list of every length class: each entry its own root, in order', () => {
    const rng = mulberry32(11);
    const list = Array.from({ length: 61 }, (_, i) =>
      randomBytes(i % 7 === 0 ? 0 : rng.int(0, i % 5 === 0 ? 40_000 : 3000), 500 + i),
    );
    const all = new Uint8Array(call(list));
    assert.equal(all.length, 32 * list.length);
    list.forEach((b, i) => {
      assert.equal(hex(all.subarray(32 * i, 32 * i + 32)), hex(referenceTensorRoot(b)), `entry ${i}`);
    });
    assert.equal(new Uint8Array(call([])).length, 0);
  });

  test('a view into a larger buffer hashes only its own bytes', () => {
    const big = randomBytes(50_000, 3);
    const view = big.subarray(1234, 1234 + 20_480 + 17);
    assert.equal(root(view), hex(referenceTensorRoot(view.slice())));
  });

  test('all-zero and all-0xff tensors, one differing byte changes the root', () => {
    for (const fill of [0, 0xff]) {
      const bytes = new Uint8Array(9 * 1024 + 3).fill(fill);
      assert.equal(root(bytes), hex(referenceTensorRoot(bytes)));
      const flipped = bytes.slice();
      flipped[8 * 1024 + 1] ^= 1;
      assert.notEqual(root(flipped), root(bytes));
      assert.equal(root(flipped), hex(referenceTensorRoot(flipped)));
    }
  });

  test('loading the addon installs it as tensorRoot, with the same roots', () => {
    assert.equal(tensorRootHasher(), 'native');
    const bytes = randomBytes(12_345, 9);
    assert.equal(hex(tensorRoot(bytes)), hex(referenceTensorRoot(bytes)));
  });

  test('a bad argument is a named error', () => {
    for (const bad of [
      undefined,
      'abc',
      new Uint8Array(4),
      {},
      [new Uint16Array(4)],
      [new ArrayBuffer(8)],
      [1],
    ]) {
      assert.throws(() => call(bad), /must be an array of Uint8Array|must be a Uint8Array/);
    }
  });
});

describe('native Merkle roots', { skip }, () => {
  test('equal merkle.ts on every leaf count class, and the trace root uses them', () => {
    const h = nativeHashing();
    assert.ok(h);
    for (const n of [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 257, 1000]) {
      const leaves = Array.from({ length: n }, (_, i) => randomBytes(32, 9000 + n * 7 + i));
      assert.equal(hex(h.merkleRoot(leaves)), hex(merkleRoot(leaves)), `${n} leaves`);
      assert.equal(hex(traceRootFromOpRoots(leaves)), hex(merkleRoot(leaves)));
    }
    assert.throws(() => h.merkleRoot([]), /at least one leaf/);
    assert.throws(() => h.merkleRoot([new Uint8Array(31)]), /not 32/);
  });
});
