// The result and trace commitments.
//
// result commitment = keccak256(abi.encode(bytes32 taskId, bytes32 inputRoot, bytes32 outputRoot, bytes32 checkpointRoot))
//   checkpointRoot  = tensorRoot of op (opCount - 2)'s output (op 0 for a one-op model): the one
//                     intermediate the honest path hashes, hidden until an audit opens it.
// trace root (on demand, when a result is disputed or audited)
//   leaf_k    = tensorRoot(bytes of op k's output)   (op order; the last op's output is the model output)
//   traceRoot = merkleRoot(leaves)   (zero-padded; the op count is fixed by the model, so no wrapper)
import { encodeAbiParameters } from 'viem';
import type { HonestRunResult } from '../engine/interpreter.ts';
import type { Tensor } from '../engine/tensor.ts';
import { wasmMerkleRoot } from '../engine/wasm/hash.ts';
import { fromHex, type Hash, keccak256, toHex } from './keccak.ts';
import { buildLevels, merkleProof } from './merkle.ts';
import { nativeHashing, tensorBytes, tensorRoot, tensorRoots } from './tensorRoot.ts';

export interface ResultRoots {
  inputRoot: Hash;
  outputRoot: Hash;
  checkpointRoot: Hash;
}

export interface TraceCommitment extends ResultRoots {
  /** tensorRoot of every op output, in op order. */
  opRoots: Hash[];
  traceRoot: Hash;
}

/** The op whose output is the result's checkpoint: the last op's predecessor. */
export function checkpointIndex(opCount: number): number {
  if (!Number.isInteger(opCount) || opCount < 1)
    throw new RangeError(`A model has at least one op, not ${opCount}.`);
  return opCount >= 2 ? opCount - 2 : 0;
}

/** merkleRoot(opRoots) of merkle.ts, by the engine module's keccak256 in one call. */
export function traceRootFromOpRoots(opRoots: Hash[]): Hash {
  const h = nativeHashing();
  return h ? h.merkleRoot(opRoots) : wasmMerkleRoot(opRoots);
}

export function rootOfTensor(t: Tensor): Hash {
  return tensorRoot(tensorBytes(t.dtype, t.data));
}

/** Commits to a run: the input, every op output, and the trace root over them. */
export function commitTrace(input: Tensor, trace: Tensor[]): TraceCommitment {
  // A reshape's output is the very same bytes as its input, so its root is hashed only once; the
  // distinct tensors are hashed in one call (tensorRoots).
  const seen = new Map<ArrayBufferLike, Map<string, number>>();
  const distinct = [tensorBytes(input.dtype, input.data)];
  const slot = trace.map((t) => {
    const key = `${t.dtype}:${t.data.byteOffset}:${t.data.length}`;
    let byBuffer = seen.get(t.data.buffer);
    if (!byBuffer) {
      byBuffer = new Map();
      seen.set(t.data.buffer, byBuffer);
    }
    const hit = byBuffer.get(key);
    if (hit !== undefined) return hit;
    distinct.push(tensorBytes(t.dtype, t.data));
    byBuffer.set(key, distinct.length - 1);
    return distinct.length - 1;
  });
  const roots = tensorRoots(distinct);
  const opRoots = slot.map((k) => roots[k]);
  return {
    inputRoot: roots[0],
    opRoots,
    outputRoot: opRoots[opRoots.length - 1],
    checkpointRoot: opRoots[checkpointIndex(opRoots.length)],
    traceRoot: traceRootFromOpRoots(opRoots),
  };
}

/** The honest path: hashes only the input, the output and the checkpoint of a run. */
export function commitResult(input: Tensor, trace: readonly Tensor[]): ResultRoots {
  if (trace.length === 0) throw new RangeError('A run has at least one op output.');
  return resultRoots(input, trace[trace.length - 1], trace[checkpointIndex(trace.length)]);
}

/** The three roots of a result, hashed in one tensorRoots call. */
function resultRoots(input: Tensor, output: Tensor, checkpoint: Tensor): ResultRoots {
  const [inputRoot, outputRoot, checkpointRoot] = tensorRoots(
    [input, output, checkpoint].map((t) => tensorBytes(t.dtype, t.data)),
  );
  return { inputRoot, outputRoot, checkpointRoot };
}

/**
 * The same roots as `commitResult` over the full trace, from the honest path's output and
 * checkpoint alone (src/engine/interpreter.ts runHonest). `opCount` is the model's: a run whose
 * checkpoint is not op checkpointIndex(opCount) would commit a different checkpoint root.
 */
export function commitHonest(input: Tensor, run: HonestRunResult, opCount: number): ResultRoots {
  const k = checkpointIndex(opCount);
  if (run.checkpointIndex !== k)
    throw new RangeError(
      `The run's checkpoint is op ${run.checkpointIndex}; a ${opCount}-op model commits op ${k}.`,
    );
  return resultRoots(input, run.output, run.checkpoint);
}

/** Proves that op k's output root is leaf k of the trace. */
export function openTraceLeaf(opRoots: Hash[], k: number): { leaf: Hash; index: number; siblings: Hash[] } {
  return { leaf: opRoots[k], index: k, siblings: merkleProof(buildLevels(opRoots), k) };
}

/** The commitment a worker posts for one task. */
export function resultCommitment(taskId: Hash, c: ResultRoots): Hash {
  const encoded = encodeAbiParameters(
    [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }],
    [toHex(taskId), toHex(c.inputRoot), toHex(c.outputRoot), toHex(c.checkpointRoot)],
  );
  return keccak256(fromHex(encoded));
}
