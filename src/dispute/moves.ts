// Every move of a dispute game, computed from the two parties' traces (docs/protocol.md, "The game").
// Pure functions: they read TraceProviders and the model, and return the contract arguments.
import type { Hex } from 'viem';
import { toHex } from '../commit/keccak.ts';
import { buildLevels, merkleProof } from '../commit/merkle.ts';
import { modelLeaves, opAttributes } from '../commit/modelRoot.ts';
import { CHUNK_BYTES, tensorBytes, tensorRoot } from '../commit/tensorRoot.ts';
import { type Model, OP_CODES } from '../engine/graph.ts';
import type { TraceProvider } from './party.ts';

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
  tensor: TensorLeafOpening;
}

const EMPTY_OP: OpLeafOpening = { index: 0n, code: 0n, inputs: [], output: 0n, attrs: [], siblings: [] };
const EMPTY_TENSOR: TensorLeafOpening = {
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
    constRoot: data ? toHex(tensorRoot(tensorBytes(t.dtype, data))) : ZERO,
    siblings: merkleProof(modelLevels(model), 1 + model.ops.length + id).map(toHex),
  };
}

/** Move 1 (worker): [traceRoot, opRoots]. */
export function revealTraceArgs(worker: TraceProvider): [Hex, Hex[]] {
  return [worker.traceRoot, [...worker.opRoots]];
}

/** The first op whose output roots differ (its inputs then agree), or -1 if the traces are equal. */
export function firstDisagreement(a: readonly Hex[], b: readonly Hex[]): number {
  for (let k = 0; k < Math.min(a.length, b.length); k++) if (a[k] !== b[k]) return k;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

/** Where each input of op k comes from, with the proofs the game checks. */
export function inputSources(model: Model, k: number): InputSource[] {
  return model.ops[k].inputs.map((id) => {
    const j = model.ops.findIndex((op) => op.output === id);
    if (j >= 0) return { kind: SOURCE_KIND.producer, producer: openOp(model, j), tensor: EMPTY_TENSOR };
    const kind = id === model.input ? SOURCE_KIND.modelInput : SOURCE_KIND.constant;
    return { kind, producer: EMPTY_OP, tensor: openTensorLeaf(model, id) };
  });
}

/** Move 2 (challenger): [challengerOpRoots, workerOpRoots, op k opening, input sources]. */
export function nameOpArgs(
  challenger: TraceProvider,
  workerOpRoots: readonly Hex[],
): [Hex[], Hex[], OpLeafOpening, InputSource[]] {
  const k = firstDisagreement(workerOpRoots, challenger.opRoots);
  if (k < 0) throw new Error('The two traces agree on every op: there is nothing to dispute.');
  const model = challenger.model;
  return [[...challenger.opRoots], [...workerOpRoots], openOp(model, k), inputSources(model, k)];
}

/** Move 3 (worker): [chunk leaves of op k's output, byte length]. */
export function revealLeavesArgs(worker: TraceProvider, k: number): [Hex[], bigint] {
  return [worker.chunkLeaves(k), BigInt(worker.opBytes(k).length)];
}

/** The first chunk whose leaves differ (or that only one side has). */
export function firstDifferentChunk(worker: readonly Hex[], challenger: readonly Hex[]): number {
  const n = Math.max(worker.length, challenger.length);
  for (let c = 0; c < n; c++) if (worker[c] !== challenger[c]) return c;
  throw new Error('The chunk leaves agree: the op roots cannot differ.');
}

/** Move 4 (challenger): [its leaves, its byte length, the worker's leaves, chunk index]. */
export function nameChunkArgs(
  challenger: TraceProvider,
  k: number,
  workerLeaves: readonly Hex[],
): [Hex[], bigint, Hex[], bigint] {
  const leaves = challenger.chunkLeaves(k);
  return [
    leaves,
    BigInt(challenger.opBytes(k).length),
    [...workerLeaves],
    BigInt(firstDifferentChunk(workerLeaves, leaves)),
  ];
}

/** Move 5 (worker): the bytes of its chunk c of op k's output. */
export function revealChunkArgs(worker: TraceProvider, k: number, c: number): Hex {
  return toHex(worker.opBytes(k).subarray(c * CHUNK_BYTES, (c + 1) * CHUNK_BYTES));
}

/** Move 6 (challenger): [its chunk, the worker's chunk (empty if absent), the first differing offset]. */
export function nameElementArgs(
  challenger: TraceProvider,
  k: number,
  c: number,
  workerChunk: Hex,
): [Hex, Hex, bigint] {
  const bytes = challenger.opBytes(k);
  const mine = bytes.subarray(c * CHUNK_BYTES, (c + 1) * CHUNK_BYTES);
  const chunkCount = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
  const theirs = Buffer.from(workerChunk.slice(2), 'hex');
  const n = Math.max(mine.length, theirs.length);
  for (let i = 0; i < n; i++) {
    if (i >= mine.length || i >= theirs.length || mine[i] !== theirs[i]) {
      return [c < chunkCount ? toHex(mine) : '0x', workerChunk, BigInt(i)];
    }
  }
  throw new Error(`Chunk ${c} of op ${k} is the same on both sides.`);
}
