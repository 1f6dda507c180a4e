// Every move of an honest party in a dispute game (docs/protocol.md, "The game"), as contract
// arguments. Pure functions over TraceProviders, the model and what the worker revealed.
import type { Hex } from 'viem';
import { toHex } from '../commit/keccak.ts';
import { buildLevels, merkleProof } from '../commit/merkle.ts';
import { constRoot, modelLeaves, opAttributes } from '../commit/modelRoot.ts';
import { type Model, OP_CODES } from '../engine/graph.ts';
import type { TraceProvider } from './party.ts';
import { type DissectionTree, firstDifferingChild, type RevealedTree } from './tree.ts';
import type { Step } from './witness.ts';

const ZERO: Hex = `0x${'00'.repeat(32)}`;
const KIND_CODES = { input: 0n, const: 1n, activation: 2n } as const;
const DTYPE_CODES = { u8: 0n, i8: 1n, i32: 2n } as const;
/** SourceKind of contracts/game/GameTypes.sol. */
export const SOURCE_KIND = { producer: 0, modelInput: 1, constant: 2 } as const;

export interface OpLeafOpening {
  index: bigint;
  code: bigint;
  inputs: bigint[];
  output: bigint;
  attrs: bigint[];
  siblings: Hex[];
}

export interface TensorLeafOpening {
  id: bigint;
  kind: bigint;
  dtype: bigint;
  shape: bigint[];
  zeroPoint: bigint;
  constRoot: Hex;
  siblings: Hex[];
}

export interface InputSource {
  kind: number;
  producer: OpLeafOpening;
  producerRoot: Hex;
  traceSiblings: Hex[];
  tensor: TensorLeafOpening;
}

export const EMPTY_OP: OpLeafOpening = {
  index: 0n,
  code: 0n,
  inputs: [],
  output: 0n,
  attrs: [],
  siblings: [],
};
export const EMPTY_TENSOR: TensorLeafOpening = {
  id: 0n,
  kind: 0n,
  dtype: 0n,
  shape: [],
  zeroPoint: 0n,
  constRoot: ZERO,
  siblings: [],
};

const treeCache = new WeakMap<Model, Uint8Array[][]>();
function modelLevels(model: Model): Uint8Array[][] {
  let levels = treeCache.get(model);
  if (!levels) {
    levels = buildLevels(modelLeaves(model));
    treeCache.set(model, levels);
  }
  return levels;
}

/** The opening of op j's leaf in the model tree. */
export function openOp(model: Model, j: number): OpLeafOpening {
  const op = model.ops[j];
  return {
    index: BigInt(j),
    code: BigInt(OP_CODES[op.type]),
    inputs: op.inputs.map(BigInt),
    output: BigInt(op.output),
    attrs: opAttributes(op).map(BigInt),
    siblings: merkleProof(modelLevels(model), 1 + j).map(toHex),
  };
}

/** The opening of tensor id's leaf in the model tree. */
export function openTensorLeaf(model: Model, id: number): TensorLeafOpening {
  const t = model.tensors[id];
  const data = model.consts.get(id);
  return {
    id: BigInt(id),
    kind: KIND_CODES[t.kind],
    dtype: DTYPE_CODES[t.dtype],
    shape: t.shape.map(BigInt),
    zeroPoint: BigInt(t.zeroPoint),
    constRoot: data ? toHex(constRoot(model, id)) : ZERO,
    siblings: merkleProof(modelLevels(model), 1 + model.ops.length + id).map(toHex),
  };
}

// ---- the worker ----

/** Move 1: [batch, inputDataRoot, traceRoot, output proof, the root's first children]. */
export function revealTraceArgs(worker: TraceProvider): [bigint, Hex, Hex, Hex[], Hex[]] {
  const t = worker.traceTree;
  const children = t.height === 0 ? [] : t.children(t.height, 0);
  return [BigInt(worker.batch), worker.inputDataRoot, t.root, t.proof(worker.opRoots.length - 1), children];
}

/** Move 5: [the data root of op k's output, its first children]. */
export function revealTensorArgs(worker: TraceProvider, k: number): [Hex, Hex[]] {
  const t = worker.chunkTree(k);
  return [t.root, t.height === 0 ? [] : t.children(t.height, 0)];
}

/** Moves 3 and 6: the children of the picked node. */
export function revealNodesArgs(tree: DissectionTree, height: number, position: number): Hex[] {
  return tree.children(height, position);
}

/** Move 7: chunk c of op k's output. */
export function revealChunkArgs(worker: TraceProvider, k: number, c: number): Hex {
  return toHex(worker.chunk(k, c));
}

/**
 * Move 9' (an op with a split reduction): [the element's descriptor (the final step's witness,
 * which reads no input chunk), the root of the worker's partial-sum tree, the proof of its last
 * leaf (the byte), the root's first children].
 */
export function revealPrefixArgs(
  worker: TraceProvider,
  k: number,
  element: number,
): [Step, Hex, Hex[], Hex[]] {
  const p = worker.prefix(k, element);
  if (!p) throw new RangeError(`Op ${k}'s reduction is not split into segments.`);
  const t = p.tree;
  const segments = p.sums.length;
  return [
    worker.segmentStep(k, element, segments),
    t.root,
    t.proof(segments),
    t.height === 0 ? [] : t.children(t.height, 0),
  ];
}

/**
 * Move 11: [the step of segment i, the partial sum before it (0 for i = 0), its proof in the
 * worker's tree]. `before` is the party's own sum: an honest challenger picked the first leaf that
 * differs, so every leaf before it agrees, and `workerTree` (what the worker revealed, filled from
 * the party's own tree) proves it.
 */
export function segmentStepArgs(
  party: TraceProvider,
  k: number,
  element: number,
  segment: number,
  workerTree: { proof(index: number, own: DissectionTree): Hex[] } | undefined,
): [Step, bigint, Hex[]] {
  const p = party.prefix(k, element);
  if (!p) throw new RangeError(`Op ${k}'s reduction is not split into segments.`);
  const step = party.segmentStep(k, element, segment);
  if (segment === 0) return [step, 0n, []];
  const siblings = workerTree ? workerTree.proof(segment - 1, p.tree) : p.tree.proof(segment - 1);
  return [step, BigInt(p.sums[segment - 1]), siblings];
}

// ---- the challenger ----

/** Moves 2 and 6: [the worker's children, the first that differs from the challenger's tree],
 * or undefined when they all agree. */
export function pickArgs(
  own: DissectionTree,
  height: number,
  position: number,
  workerChildren: readonly Hex[],
): [Hex[], bigint] | undefined {
  const i = firstDifferingChild(own, height, position, workerChildren);
  return i < 0 ? undefined : [[...workerChildren], BigInt(i)];
}

/**
 * Move 4: [op k's leaf, its output tensor's leaf, where each input comes from]. An earlier op's
 * output is proven as a leaf of the WORKER's trace tree: from what it revealed, and from the
 * challenger's own tree below the first disagreement (where the two agree).
 */
export function nameOpArgs(
  challenger: TraceProvider,
  k: number,
  worker: RevealedTree,
): [OpLeafOpening, TensorLeafOpening, InputSource[]] {
  const model = challenger.model;
  const op = model.ops[k];
  const sources = op.inputs.map((id): InputSource => {
    const j = model.ops.findIndex((o) => o.output === id);
    if (j >= 0) {
      return {
        kind: SOURCE_KIND.producer,
        producer: openOp(model, j),
        producerRoot: challenger.opRoots[j],
        traceSiblings: worker.proof(j, challenger.traceTree),
        tensor: EMPTY_TENSOR,
      };
    }
    const kind = id === model.input ? SOURCE_KIND.modelInput : SOURCE_KIND.constant;
    return {
      kind,
      producer: EMPTY_OP,
      producerRoot: ZERO,
      traceSiblings: [],
      tensor: openTensorLeaf(model, id),
    };
  });
  return [openOp(model, k), openTensorLeaf(model, op.output), sources];
}

/** Move 8: [the worker's chunk, the first offset where it differs from the challenger's], or
 * undefined when the chunks agree. */
export function nameElementArgs(own: Uint8Array, workerChunk: Hex): [Hex, bigint] | undefined {
  const theirs = Buffer.from(workerChunk.slice(2), 'hex');
  const n = Math.min(own.length, theirs.length);
  for (let i = 0; i < n; i++) if (own[i] !== theirs[i]) return [workerChunk, BigInt(i)];
  return undefined;
}
