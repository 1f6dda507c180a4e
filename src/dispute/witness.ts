// The witness of one disputed output element: the Step struct of contracts/verify/IOneStepVerifier.sol,
// viem-ready (bigint numbers, 0x hex bytes), with the minimal chunks of every input.
//
// Layouts are those of docs/commitments.md: op and tensor leaves of the model tree (modelRoot.ts),
// tensor roots and chunk proofs (tensorRoot.ts). Constants open against their committed constRoot;
// the model input and activations against the root of their bytes in the run, which the caller
// (the dispute game) compares with the agreed roots.
import type { Hex } from 'viem';
import { type Hash, keccak256, toHex, ZERO_HASH } from '../commit/keccak.ts';
import { buildLevels, merkleProof } from '../commit/merkle.ts';
import { constBytes, modelLeaves, modelRootFromLeaves, opAttributes } from '../commit/modelRoot.ts';
import { CHUNK_BYTES, tensorBytes, tensorRootFromDataRoot } from '../commit/tensorRoot.ts';
import { dtypeBytes, type Model, OP_CODES, type TensorData } from '../engine/graph.ts';
import type { Tensor } from '../engine/tensor.ts';
import { chunksOf, neededChunks, runBatch, tensorValue } from './witnessNeeds.ts';

export { chunksOf, neededChunks, neededElements } from './witnessNeeds.ts';

export interface ChunkProofArg {
  index: bigint;
  chunk: Hex;
  siblings: Hex[];
}

export interface TensorOpeningArg {
  id: bigint;
  kind: bigint;
  dtype: bigint;
  shape: bigint[];
  zeroPoint: bigint;
  constRoot: Hex;
  leafSiblings: Hex[];
  root: Hex;
  byteLength: bigint;
  chunks: ChunkProofArg[];
}

export interface OpOpeningArg {
  index: bigint;
  code: bigint;
  inputs: bigint[];
  output: bigint;
  attrs: bigint[];
  leafSiblings: Hex[];
}

/** IOneStepVerifier.Step. */
export interface Step {
  modelRoot: Hex;
  modelLeafCount: bigint;
  opCount: bigint;
  op: OpOpeningArg;
  inputs: TensorOpeningArg[];
  output: TensorOpeningArg;
  batch: bigint;
  element: bigint;
}

const KIND_CODES = { input: 0n, const: 1n, activation: 2n } as const;
const DTYPE_CODES = { u8: 0n, i8: 1n, i32: 2n } as const;
const ZERO: Hex = toHex(ZERO_HASH);

interface ModelTree {
  leaves: Hash[];
  levels: Hash[][];
  root: Hash;
}

interface TensorTree {
  bytes: Uint8Array;
  levels: Hash[][];
  root: Hash;
}

/**
 * Memoizes the model tree and tensor chunk trees across witnesses of the same run. Keys are the
 * Model object and the tensor data arrays, so neither may be mutated while the cache is in use.
 */
export class WitnessCache {
  private readonly models = new WeakMap<Model, ModelTree>();
  private readonly tensors = new WeakMap<TensorData, TensorTree>();
  private readonly consts = new WeakMap<Model, Map<number, TensorTree>>();

  model(model: Model): ModelTree {
    let tree = this.models.get(model);
    if (!tree) {
      tree = modelTree(model);
      this.models.set(model, tree);
    }
    return tree;
  }

  tensor(t: Pick<Tensor, 'dtype' | 'data'>): TensorTree {
    let tree = this.tensors.get(t.data);
    if (!tree) {
      tree = chunkTree(tensorBytes(t.dtype, t.data));
      this.tensors.set(t.data, tree);
    }
    return tree;
  }

  /** The tree of constant `id`'s committed bytes (which need not be its row-major bytes). */
  constant(model: Model, id: number): TensorTree {
    let trees = this.consts.get(model);
    if (!trees) {
      trees = new Map();
      this.consts.set(model, trees);
    }
    let tree = trees.get(id);
    if (!tree) {
      tree = chunkTree(constBytes(model, id));
      trees.set(id, tree);
    }
    return tree;
  }
}

function modelTree(model: Model): ModelTree {
  const leaves = modelLeaves(model);
  return { leaves, levels: buildLevels(leaves), root: modelRootFromLeaves(leaves) };
}

function chunkTree(bytes: Uint8Array): TensorTree {
  const n = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
  const leaves = Array.from({ length: n }, (_, i) =>
    keccak256(bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)),
  );
  const levels = buildLevels(leaves);
  return { bytes, levels, root: tensorRootFromDataRoot(levels[levels.length - 1][0], bytes.length) };
}

const hexes = (hashes: Hash[]): Hex[] => hashes.map(toHex);

/** Opening of tensor `id`: its model leaf, its root in the run, and the given chunks. */
function openTensor(
  model: Model,
  tree: ModelTree,
  value: Tensor,
  id: number,
  chunks: readonly number[],
  cache: WitnessCache,
): TensorOpeningArg {
  const info = model.tensors[id];
  const isConst = info.kind === 'const';
  const data = isConst ? cache.constant(model, id) : cache.tensor(value);
  const root = toHex(data.root);
  return {
    id: BigInt(id),
    kind: KIND_CODES[info.kind],
    dtype: DTYPE_CODES[info.dtype],
    shape: info.shape.map(BigInt),
    zeroPoint: BigInt(info.zeroPoint),
    constRoot: isConst ? root : ZERO,
    leafSiblings: hexes(merkleProof(tree.levels, 1 + model.ops.length + id)),
    root,
    byteLength: BigInt(data.bytes.length),
    chunks: chunks.map((index) => ({
      index: BigInt(index),
      chunk: toHex(data.bytes.subarray(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES)),
      siblings: hexes(merkleProof(data.levels, index)),
    })),
  };
}

/**
 * The witness for output element `element` (flat index) of op k in the run of `model` on `input`
 * (batched) whose op outputs are `trace`. Each input carries exactly the chunks the element reads
 * (neededChunks), or those of `elements` (per input, the elements a partial-sum step reads); the
 * output descriptor carries no chunks, and its root is the trace's.
 */
export function buildOneStepWitness(
  model: Model,
  input: Tensor,
  trace: readonly Tensor[],
  k: number,
  element: number,
  cache: WitnessCache = new WitnessCache(),
  elements?: readonly (readonly number[])[],
): Step {
  const op = model.ops[k];
  if (!op) throw new RangeError(`Op ${k} does not exist; the model has ${model.ops.length} ops.`);
  const run = { model, input, trace };
  const chunks = elements
    ? elements.map((e, i) => chunksOf(e, dtypeBytes(model.tensors[op.inputs[i]].dtype)))
    : neededChunks(model, input, trace, k, element);
  const tree = cache.model(model);
  return {
    modelRoot: toHex(tree.root),
    modelLeafCount: BigInt(tree.leaves.length),
    opCount: BigInt(model.ops.length),
    op: {
      index: BigInt(k),
      code: BigInt(OP_CODES[op.type]),
      inputs: op.inputs.map(BigInt),
      output: BigInt(op.output),
      attrs: opAttributes(op).map(BigInt),
      leafSiblings: hexes(merkleProof(tree.levels, 1 + k)),
    },
    inputs: op.inputs.map((id, i) => openTensor(model, tree, tensorValue(run, id), id, chunks[i], cache)),
    output: openTensor(model, tree, trace[k], op.output, [], cache),
    batch: BigInt(runBatch(run)),
    element: BigInt(element),
  };
}
