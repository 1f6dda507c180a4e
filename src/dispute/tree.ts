// The dissection trees of the game (contracts/game/DisputeGame.sol): a binary keccak tree whose
// leaves [0, leafLimit) are real and the rest zero, walked down NODE_BITS levels per move. The
// trace tree has one leaf per op (its output root); a chunk tree one leaf per 1 KiB chunk.
import type { Hex } from 'viem';
import { fromHex, type Hash, keccak256, toHex, ZERO_HASH } from '../commit/keccak.ts';
import { buildLevels, treeDepth } from '../commit/merkle.ts';

/** Children per reveal: 2^NODE_BITS (DisputeGame.NODE_BITS). */
export const NODE_BITS = 6;

/** The hash of an empty subtree of height h (DisputeGame.zeroHash). */
export function zeroHash(h: number): Hash {
  let z = ZERO_HASH;
  for (let i = 0; i < h; i++) z = keccak256(z, z);
  return z;
}

/** The levels a move descends from a node at `height`. */
export function stepBits(height: number): number {
  return Math.min(NODE_BITS, height);
}

/** A padded tree with every level kept, so any node can be revealed or proven. */
export class DissectionTree {
  readonly levels: Hash[][];
  readonly height: number;
  readonly leafLimit: number;

  constructor(leaves: Hash[]) {
    this.levels = buildLevels(leaves);
    this.height = treeDepth(leaves.length);
    this.leafLimit = leaves.length;
  }

  get root(): Hex {
    return toHex(this.levels[this.height][0]);
  }

  node(height: number, index: number): Hex {
    return toHex(this.levels[height][index]);
  }

  /** The 2^bits children, `bits` levels below the node at (height, position). */
  children(height: number, position: number): Hex[] {
    const bits = stepBits(height);
    const below = height - bits;
    const first = position * 2 ** bits;
    return Array.from({ length: 2 ** bits }, (_, i) => this.node(below, first + i));
  }

  /** Siblings of leaf `index`, from the leaf up. */
  proof(index: number): Hex[] {
    const out: Hex[] = [];
    for (let h = 0, i = index; h < this.height; h++, i >>= 1) out.push(this.node(h, i ^ 1));
    return out;
  }
}

/**
 * What a challenger knows of the worker's tree: the nodes the worker revealed, and every node they
 * imply (hashing up inside each reveal). Nodes it has not seen it takes from its own tree: for the
 * leaves before the first disagreement that is exact, because the challenger walked into the first
 * child that differs at every level.
 */
export class RevealedTree {
  private readonly known = new Map<string, Hex>();
  readonly height: number;

  constructor(height: number, root: Hex) {
    this.height = height;
    this.known.set(`${height}:0`, root);
  }

  /** Records the children revealed under the node at (height, position). */
  reveal(height: number, position: number, children: readonly Hex[]): void {
    const bits = stepBits(height);
    if (children.length !== 2 ** bits) {
      throw new RangeError(`A node at height ${height} has ${2 ** bits} children, not ${children.length}.`);
    }
    let level = children.map((c) => c);
    let h = height - bits;
    let first = position * 2 ** bits;
    while (level.length >= 1) {
      for (let i = 0; i < level.length; i++) this.known.set(`${h}:${first + i}`, level[i]);
      if (level.length === 1) break;
      const next: Hex[] = [];
      for (let i = 0; i < level.length; i += 2) {
        next.push(toHex(keccak256(fromHex(level[i]), fromHex(level[i + 1]))));
      }
      level = next;
      h += 1;
      first >>= 1;
    }
  }

  get(height: number, index: number): Hex | undefined {
    return this.known.get(`${height}:${index}`);
  }

  /** Siblings of leaf `index` in the worker's tree, filled from `own` where nothing was revealed. */
  proof(index: number, own: DissectionTree): Hex[] {
    const out: Hex[] = [];
    for (let h = 0, i = index; h < this.height; h++, i >>= 1)
      out.push(this.get(h, i ^ 1) ?? own.node(h, i ^ 1));
    return out;
  }
}

/**
 * The child an honest challenger picks: the first one that differs from its own tree and covers a
 * real leaf. -1 when every child agrees (the challenger has nothing to point at).
 */
export function firstDifferingChild(
  own: DissectionTree,
  height: number,
  position: number,
  workerChildren: readonly Hex[],
): number {
  const mine = own.children(height, position);
  const below = height - stepBits(height);
  const first = position * 2 ** stepBits(height);
  for (let i = 0; i < mine.length; i++) {
    if ((first + i) * 2 ** below >= own.leafLimit) break;
    if (mine[i] !== workerChildren[i]) return i;
  }
  return -1;
}
