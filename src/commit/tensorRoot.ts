// Tensor commitments.
//
// bytes     = the tensor in row-major order; u8 as is, i8 as two's complement, i32 as 4 big-endian bytes.
// chunk_i   = bytes[i*1024, min((i+1)*1024, len)), the last chunk is not padded.
// leaf_i    = keccak256(chunk_i)
// dataRoot  = Merkle root of the leaves (see merkle.ts)
// tensorRoot = keccak256(0x54 ‖ dataRoot ‖ uint64be(len))   (41 bytes; 0x54 = "T")
import type { DType, TensorData } from '../engine/graph.ts';
import { wasmTensorRoot } from '../engine/wasm/hash.ts';
import { equalBytes, type Hash, keccak256, u64be } from './keccak.ts';
import { buildLevels, merkleProof, merkleRoot, rootFromProof, treeDepth } from './merkle.ts';

export const CHUNK_BYTES = 1024;
const TENSOR_TAG = new Uint8Array([0x54]);

/** The committed byte encoding of a tensor. */
export function tensorBytes(dtype: DType, data: TensorData): Uint8Array {
  if (dtype !== 'i32') return new Uint8Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setInt32(i * 4, data[i]);
  return out;
}

function chunkLeaves(bytes: Uint8Array): Hash[] {
  const n = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
  const leaves: Hash[] = new Array(n);
  for (let i = 0; i < n; i++) leaves[i] = keccak256(bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
  return leaves;
}

export function tensorRootFromDataRoot(dataRoot: Hash, byteLength: number): Hash {
  return keccak256(TENSOR_TAG, dataRoot, u64be(byteLength));
}

/** Faster implementations of tensorRoots and merkleRoot (merkle.ts over 32-byte leaves). */
export interface Hashing {
  tensorRoots(list: Uint8Array[]): Hash[];
  merkleRoot(leaves: readonly Uint8Array[]): Hash;
}

let hashing: Hashing | undefined;

/**
 * Installs faster implementations: the native addon's, where it runs AVX-512
 * (src/engine/native/addon.ts). They must compute exactly these functions.
 */
export function useHashing(h: Hashing | undefined): void {
  hashing = h;
}

/** The installed implementations, if any (src/commit/traceRoot.ts uses its merkleRoot). */
export function nativeHashing(): Hashing | undefined {
  return hashing;
}

/** Which implementation tensorRoot runs. */
export function tensorRootHasher(): 'native' | 'wasm' {
  return hashing ? 'native' : 'wasm';
}

/**
 * The root of a tensor's bytes, in one call: by the native addon's 8-lane keccak where it is
 * installed, else by the engine module's keccak256 in WebAssembly (the trace root hashes every op
 * output; either is several times faster than hashing chunk by chunk).
 */
export function tensorRoot(bytes: Uint8Array): Hash {
  return hashing ? hashing.tensorRoots([bytes])[0] : wasmTensorRoot(bytes);
}

/** tensorRoot of each entry; where the native hasher runs, the whole list in one call. */
export function tensorRoots(list: Uint8Array[]): Hash[] {
  return hashing ? hashing.tensorRoots(list) : list.map((b) => wasmTensorRoot(b));
}

/** The root of a tensor's bytes as defined above, chunk by chunk: what tensorRoot must equal. */
export function referenceTensorRoot(bytes: Uint8Array): Hash {
  return tensorRootFromDataRoot(merkleRoot(chunkLeaves(bytes)), bytes.length);
}

export interface ChunkProof {
  /** Index of the chunk; it covers bytes [index*1024, index*1024 + chunk.length). */
  index: number;
  chunk: Uint8Array;
  /** Siblings from the leaf up. */
  siblings: Hash[];
  byteLength: number;
}

/** Opens chunk `index` of a tensor's bytes. */
export function openChunkProof(bytes: Uint8Array, index: number): ChunkProof {
  const count = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`Chunk ${index} does not exist; the tensor has ${count} chunks.`);
  }
  const levels = buildLevels(chunkLeaves(bytes));
  return {
    index,
    chunk: bytes.slice(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES),
    siblings: merkleProof(levels, index),
    byteLength: bytes.length,
  };
}

/** Checks a chunk proof against a tensor root, including the chunk's length and position. */
export function verifyChunkProof(root: Hash, proof: ChunkProof): boolean {
  const count = Math.max(1, Math.ceil(proof.byteLength / CHUNK_BYTES));
  if (proof.index < 0 || proof.index >= count) return false;
  if (proof.siblings.length !== treeDepth(count)) return false;
  const expectedLength = Math.min(CHUNK_BYTES, proof.byteLength - proof.index * CHUNK_BYTES);
  if (proof.chunk.length !== Math.max(0, expectedLength)) return false;
  const dataRoot = rootFromProof(keccak256(proof.chunk), proof.index, proof.siblings);
  return equalBytes(tensorRootFromDataRoot(dataRoot, proof.byteLength), root);
}
