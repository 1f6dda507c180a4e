// The engine module's keccak256 and tensor roots against their definitions: hash-wasm's keccak256
// and the chunk-by-chunk Merkle root of src/commit/tensorRoot.ts, on random bytes of every length
// class (around the 136-byte rate and the 1024-byte chunk, powers of two of chunks) and on every
// op output of the two example models at batch 1 and 3.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { keccak256 } from '../../src/commit/keccak.ts';
import { merkleRoot } from '../../src/commit/merkle.ts';
import { referenceTensorRoot, tensorBytes, tensorRoot } from '../../src/commit/tensorRoot.ts';
import { commitTrace } from '../../src/commit/traceRoot.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import {
  createWasmBackend,
  wasmKeccak256,
  wasmMerkleRoot,
  wasmTensorRoot,
} from '../../src/engine/wasm/index.ts';
import { heldOutBatches } from '../../src/sdk/evaluate.ts';
import { EXAMPLES, importExampleModel } from '../../src/sdk/examples.ts';
import { loadModelDir } from '../../src/store/modelDir.ts';
import { mulberry32 } from '../support/randomModel.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function randomBytes(n: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(0, 255);
  return out;
}

describe('keccak256 in the engine module', () => {
  test('known answers: the empty string and "abc"', () => {
    assert.equal(
      hex(wasmKeccak256(new Uint8Array())),
      'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
    );
    assert.equal(
      hex(wasmKeccak256(new TextEncoder().encode('abc'))),
      '4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45',
    );
  });

  test('every length from 0 to 700 (all padding cases across five blocks)', () => {
    for (let n = 0; n <= 700; n++) {
      const b = randomBytes(n, n);
      assert.equal(hex(wasmKeccak256(b)), hex(keccak256(b)), `length ${n}`);
    }
  });

  test('random messages (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (b) => hex(wasmKeccak256(b)) === hex(keccak256(b))),
      { numRuns: 300 },
    );
  });
});

describe('tensor roots in the engine module', () => {
  test('lengths around the chunk size and powers of two of chunks', () => {
    const lengths = [
      0, 1, 41, 1023, 1024, 1025, 2047, 2048, 2049, 3072, 4096, 4097, 8191, 8193, 65536, 100001,
    ];
    for (const [i, n] of lengths.entries()) {
      const b = randomBytes(n, 1000 + i);
      assert.equal(hex(tensorRoot(b)), hex(referenceTensorRoot(b)), `length ${n}`);
      assert.equal(hex(wasmTensorRoot(b)), hex(referenceTensorRoot(b)), `length ${n}`);
    }
  });

  test('random tensors of u8, i8 and i32 (fast-check)', () => {
    const tensors = fc.oneof(
      fc.uint8Array({ maxLength: 20000 }).map((d) => tensorBytes('u8', d)),
      fc.int8Array({ maxLength: 20000 }).map((d) => tensorBytes('i8', d)),
      fc.int32Array({ maxLength: 5000 }).map((d) => tensorBytes('i32', d)),
    );
    fc.assert(
      fc.property(tensors, (b) => hex(wasmTensorRoot(b)) === hex(referenceTensorRoot(b))),
      { numRuns: 300 },
    );
  });

  test('a view into a larger buffer hashes only its own bytes', () => {
    const big = randomBytes(5000, 7);
    const view = big.subarray(13, 13 + 3000);
    assert.equal(hex(wasmTensorRoot(view)), hex(referenceTensorRoot(view.slice())));
  });
});

describe('Merkle roots in the engine module', () => {
  test('every leaf count from 1 to 70 (odd levels, pairs and padding) equals merkle.ts', () => {
    for (let n = 1; n <= 70; n++) {
      const leaves = Array.from({ length: n }, (_, i) => randomBytes(32, 1000 * n + i));
      assert.equal(hex(wasmMerkleRoot(leaves)), hex(merkleRoot(leaves)), `${n} leaves`);
    }
  });

  test('a leaf that is not 32 bytes and an empty tree are refused', () => {
    assert.throws(() => wasmMerkleRoot([new Uint8Array(31)]), RangeError);
    assert.throws(() => wasmMerkleRoot([]), RangeError);
  });
});

describe('trace roots of the example models', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  for (const example of EXAMPLES) {
    test(`${example.name}: every op root and the trace root equal the definition`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'verinfer-hash-'));
      dirs.push(dir);
      await importExampleModel(example, join(dir, example.name));
      const { model } = await loadModelDir(join(dir, example.name));
      const wasm = createWasmBackend();
      for (const batch of [1, 3]) {
        const [{ quantized }] = heldOutBatches(example, model, batch, batch);
        const run = wasm.runSync(model, quantized);
        const c = commitTrace(quantized, run.trace);
        run.trace.forEach((t, k) => {
          assert.equal(hex(c.opRoots[k]), hex(referenceTensorRoot(tensorBytes(t.dtype, t.data))), `op ${k}`);
        });
        // The roots do not depend on the backend that produced the trace.
        const ref = commitTrace(quantized, runReference(model, quantized).trace);
        assert.equal(hex(c.traceRoot), hex(ref.traceRoot));
        assert.equal(
          hex(c.inputRoot),
          hex(referenceTensorRoot(tensorBytes(quantized.dtype, quantized.data))),
        );
      }
    });
  }
});
