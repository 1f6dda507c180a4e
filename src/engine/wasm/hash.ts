// Tensor roots (src/commit/tensorRoot.ts) computed by the engine module's keccak256: one
// WebAssembly call per tensor, on an instance of its own that holds nothing but the bytes being
// hashed and the Merkle levels. test/engine/wasm-hash.test.ts checks it against the definition.
import { engineModule } from './module.ts';

interface HashExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  keccak256(src: number, len: number, out: number): void;
  tensorRoot(src: number, len: number, out: number, scratch: number): void;
  merkleRoot(nodes: number, leaves: number): void;
}

let hasher: HashExports | undefined;

function instance(): HashExports {
  if (!hasher)
    hasher = new WebAssembly.Instance(engineModule(), { env: { gemmHook: () => 0, opHook: () => 0 } })
      .exports as unknown as HashExports;
  return hasher;
}

const align = (n: number) => Math.ceil(n / 16) * 16;

/** Places `bytes` in the hasher's memory after `extra` bytes of room; returns the addresses. */
function place(
  bytes: Uint8Array,
  extra: number,
): { h: HashExports; out: number; src: number; scratch: number } {
  const h = instance();
  const out = align(h.heapBase());
  const src = out + 32;
  const scratch = align(src + bytes.length);
  const end = scratch + extra;
  const have = h.memory.buffer.byteLength;
  if (end > have) h.memory.grow(Math.ceil((end - have) / 65536));
  new Uint8Array(h.memory.buffer).set(bytes, src);
  return { h, out, src, scratch };
}

/** Merkle scratch for `len` bytes: 32 bytes per leaf, the leaf count rounded up to a power of two. */
export function treeScratchBytes(len: number): number {
  const leaves = Math.max(1, Math.ceil(len / 1024));
  return 32 * 2 ** Math.ceil(Math.log2(leaves));
}

/** keccak256 of `bytes`. */
export function wasmKeccak256(bytes: Uint8Array): Uint8Array {
  const { h, out, src } = place(bytes, 0);
  h.keccak256(src, bytes.length, out);
  return new Uint8Array(h.memory.buffer, out, 32).slice();
}

/** tensorRoot of a tensor's committed bytes. */
export function wasmTensorRoot(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 2 ** 31)
    throw new RangeError(`A tensor of ${bytes.length} bytes is too large to hash.`);
  const { h, out, src, scratch } = place(bytes, treeScratchBytes(bytes.length));
  h.tensorRoot(src, bytes.length, out, scratch);
  return new Uint8Array(h.memory.buffer, out, 32).slice();
}

/** Merkle leaves (1 to 2^24 hashes of 32 bytes each) side by side, checked. */
export function packLeaves(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) throw new RangeError('A Merkle tree needs at least one leaf.');
  if (leaves.length > 2 ** 24) throw new RangeError(`${leaves.length} leaves are too many to hash at once.`);
  const nodes = new Uint8Array(32 * leaves.length);
  leaves.forEach((leaf, i) => {
    if (leaf.length !== 32) throw new RangeError(`Leaf ${i} has ${leaf.length} bytes, not 32.`);
    nodes.set(leaf, 32 * i);
  });
  return nodes;
}

/**
 * The Merkle root of 32-byte hashes as src/commit/merkle.ts defines it (zero-padded to a power of
 * two, parent = keccak256(left ‖ right)), in one WebAssembly call.
 */
export function wasmMerkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  const nodes = packLeaves(leaves);
  // The padding's zero hashes follow the leaves: place puts its extra room right after them.
  const { h, src } = place(nodes, treeScratchBytes(1024 * leaves.length) - nodes.length);
  h.merkleRoot(src, leaves.length);
  return new Uint8Array(h.memory.buffer, src, 32).slice();
}
