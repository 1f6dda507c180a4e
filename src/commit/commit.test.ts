import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { keccak256 as viemKeccak } from 'viem';
import { fromHex, keccak256, toHex } from './keccak.ts';
import { buildLevels, merkleProof, merkleRoot, verifyMerkleProof } from './merkle.ts';
import { CHUNK_BYTES, openChunkProof, tensorBytes, tensorRoot, verifyChunkProof } from './tensorRoot.ts';
import { commitTrace, rootOfTensor } from './traceRoot.ts';

test('keccak256 matches an independent implementation', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
      assert.equal(toHex(keccak256(bytes)), viemKeccak(bytes));
    }),
    { numRuns: 300 },
  );
  assert.equal(
    toHex(keccak256(new Uint8Array())),
    '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
  );
});

test('merkle proofs verify for every leaf and fail for tampered ones', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.nat(), (n, pick) => {
      const leaves = Array.from({ length: n }, (_, i) => keccak256(new Uint8Array([i, n])));
      const levels = buildLevels(leaves);
      const root = merkleRoot(leaves);
      assert.deepEqual(levels.at(-1)![0], root);
      const i = pick % n;
      const proof = merkleProof(levels, i);
      assert.ok(verifyMerkleProof(root, leaves[i], i, proof));
      const other = keccak256(new Uint8Array([255, i]));
      assert.ok(!verifyMerkleProof(root, other, i, proof));
      if (n > 1) assert.ok(!verifyMerkleProof(root, leaves[i], i ^ 1, proof));
    }),
    { numRuns: 200 },
  );
});

test('chunk proofs open every chunk, and reject wrong chunks, lengths and positions', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 5 * CHUNK_BYTES + 7 }),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      (len, pick, seed) => {
        const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 31 + (i >> 8) * 7 + seed) & 255);
        const root = tensorRoot(bytes);
        const count = Math.max(1, Math.ceil(len / CHUNK_BYTES));
        const index = pick % count;
        const proof = openChunkProof(bytes, index);
        assert.ok(verifyChunkProof(root, proof));
        if (proof.chunk.length > 0) {
          const tampered = proof.chunk.slice();
          tampered[pick % tampered.length] ^= 1;
          assert.ok(!verifyChunkProof(root, { ...proof, chunk: tampered }));
          assert.ok(!verifyChunkProof(root, { ...proof, chunk: proof.chunk.subarray(1) }));
        }
        assert.ok(!verifyChunkProof(root, { ...proof, byteLength: len + 1 }));
        assert.ok(!verifyChunkProof(root, { ...proof, index: index + 1 }));
      },
    ),
    { numRuns: 150 },
  );
});

test('tensor roots bind the length: trailing zeros change the root', () => {
  const a = new Uint8Array(100);
  const b = new Uint8Array(101);
  assert.notDeepEqual(tensorRoot(a), tensorRoot(b));
});

test('i32 tensors are committed as big-endian bytes', () => {
  const bytes = tensorBytes('i32', Int32Array.from([1, -2]));
  assert.deepEqual([...bytes], [0, 0, 0, 1, 255, 255, 255, 254]);
  assert.deepEqual([...tensorBytes('i8', Int8Array.from([-1, 5]))], [255, 5]);
});

test('hex helpers round-trip and reject bad input', () => {
  assert.deepEqual([...fromHex('0x00ff')], [0, 255]);
  assert.throws(() => fromHex('0x0'), /even number/);
  assert.throws(() => fromHex('zz'), /hex/);
});

test('commitTrace hashes a shared buffer once and still gives every op its own root', () => {
  const buffer = new Uint8Array(3000).map((_, i) => (i * 7) & 255);
  const a = { dtype: 'u8' as const, shape: [1, 3000], data: buffer, zeroPoint: 0 };
  const reshaped = { ...a, shape: [1, 30, 100] };
  const tail = { ...a, shape: [1, 1000], data: buffer.subarray(2000) };
  const c = commitTrace(a, [a, reshaped, tail]);
  assert.deepEqual(c.opRoots, [a, reshaped, tail].map(rootOfTensor));
  assert.notDeepEqual(c.opRoots[2], c.opRoots[0]);
});
