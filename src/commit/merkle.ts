// Binary keccak256 Merkle trees, laid out so that Solidity can check a proof with one loop:
// leaves padded with zero hashes to a power of two; parent = keccak256(left ‖ right).
import { equalBytes, type Hash, keccak256, ZERO_HASH } from './keccak.ts';

/** The number of levels above the leaves for `n` leaves (0 for a single leaf). */
export function treeDepth(n: number): number {
  let depth = 0;
  while (2 ** depth < n) depth += 1;
  return depth;
}

/** All levels of the tree: levels[0] are the leaves (padded), the last level is [root]. */
export function buildLevels(leaves: Hash[]): Hash[][] {
  if (leaves.length === 0) throw new Error('A Merkle tree needs at least one leaf.');
  const width = 2 ** treeDepth(leaves.length);
  let level = leaves.slice();
  while (level.length < width) level.push(ZERO_HASH);
  const levels = [level];
  while (level.length > 1) {
    const next: Hash[] = new Array(level.length / 2);
    for (let i = 0; i < next.length; i++) next[i] = keccak256(level[2 * i], level[2 * i + 1]);
    levels.push(next);
    level = next;
  }
  return levels;
}

export function merkleRoot(leaves: Hash[]): Hash {
  // Same result as buildLevels(...).at(-1)[0] without keeping the levels.
  const width = 2 ** treeDepth(leaves.length);
  let level = leaves.slice();
  while (level.length < width) level.push(ZERO_HASH);
  while (level.length > 1) {
    const next: Hash[] = new Array(level.length / 2);
    for (let i = 0; i < next.length; i++) next[i] = keccak256(level[2 * i], level[2 * i + 1]);
    level = next;
  }
  return level[0];
}

/** Sibling hashes from the leaf up to the root. Bit k of `index` says whether the node is a right child at level k. */
export function merkleProof(levels: Hash[][], index: number): Hash[] {
  if (index < 0 || index >= levels[0].length)
    throw new RangeError(`Leaf index ${index} is outside the tree.`);
  const siblings: Hash[] = [];
  let i = index;
  for (let k = 0; k < levels.length - 1; k++) {
    siblings.push(levels[k][i ^ 1]);
    i >>= 1;
  }
  return siblings;
}

/** Recomputes the root from a leaf, its index and its siblings. */
export function rootFromProof(leaf: Hash, index: number, siblings: Hash[]): Hash {
  let node = leaf;
  let i = index;
  for (const s of siblings) {
    node = i & 1 ? keccak256(s, node) : keccak256(node, s);
    i >>= 1;
  }
  return node;
}

export function verifyMerkleProof(root: Hash, leaf: Hash, index: number, siblings: Hash[]): boolean {
  if (index < 0 || index >= 2 ** siblings.length) return false;
  return equalBytes(rootFromProof(leaf, index, siblings), root);
}
