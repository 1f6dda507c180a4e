// The trace commitment: the ordered output roots of every op.
//
// leaf_k    = tensorRoot(bytes of op k's output)   (op order; the last op's output is the model output)
// traceRoot = keccak256(0x52 ‖ merkleRoot(leaves) ‖ uint64be(opCount))   (0x52 = "R")
// result commitment = keccak256(abi.encode(bytes32 taskId, bytes32 inputRoot, bytes32 outputRoot, bytes32 traceRoot))
import { encodeAbiParameters } from 'viem';
import type { Tensor } from '../engine/tensor.ts';
import { fromHex, type Hash, keccak256, toHex, u64be } from './keccak.ts';
import { buildLevels, merkleProof, merkleRoot } from './merkle.ts';
import { tensorBytes, tensorRoot } from './tensorRoot.ts';

const TRACE_TAG = new Uint8Array([0x52]);

export interface TraceCommitment {
  inputRoot: Hash;
  /** tensorRoot of every op output, in op order. */
  opRoots: Hash[];
  outputRoot: Hash;
  traceRoot: Hash;
}

export function traceRootFromOpRoots(opRoots: Hash[]): Hash {
  return keccak256(TRACE_TAG, merkleRoot(opRoots), u64be(opRoots.length));
}

export function rootOfTensor(t: Tensor): Hash {
  return tensorRoot(tensorBytes(t.dtype, t.data));
}

/** Commits to a run: the input, every op output, and the trace root over them. */
export function commitTrace(input: Tensor, trace: Tensor[]): TraceCommitment {
  // A reshape's output is the very same bytes as its input, so its root is hashed only once.
  const seen = new Map<ArrayBufferLike, Map<string, Hash>>();
  const opRoots = trace.map((t) => {
    const key = `${t.dtype}:${t.data.byteOffset}:${t.data.length}`;
    let byBuffer = seen.get(t.data.buffer);
    if (!byBuffer) {
      byBuffer = new Map();
      seen.set(t.data.buffer, byBuffer);
    }
    const hit = byBuffer.get(key);
    if (hit) return hit;
    const root = rootOfTensor(t);
    byBuffer.set(key, root);
    return root;
  });
  return {
    inputRoot: rootOfTensor(input),
    opRoots,
    outputRoot: opRoots[opRoots.length - 1],
    traceRoot: traceRootFromOpRoots(opRoots),
  };
}

/** Proves that op k's output root is leaf k of the trace. */
export function openTraceLeaf(opRoots: Hash[], k: number): { leaf: Hash; index: number; siblings: Hash[] } {
  return { leaf: opRoots[k], index: k, siblings: merkleProof(buildLevels(opRoots), k) };
}

/** The commitment a worker posts for one task. */
export function resultCommitment(
  taskId: Hash,
  c: Pick<TraceCommitment, 'inputRoot' | 'outputRoot' | 'traceRoot'>,
): Hash {
  const encoded = encodeAbiParameters(
    [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }],
    [toHex(taskId), toHex(c.inputRoot), toHex(c.outputRoot), toHex(c.traceRoot)],
  );
  return keccak256(fromHex(encoded));
}
