// Off-chain twins of the on-chain identifiers: task IDs, request hashes (EIP-712), batch leaves
// and batch trees, and the model descriptor for ModelRegistry.register.
import { type Address, encodeAbiParameters, type Hex, hashTypedData, keccak256 } from 'viem';
import { fromHex, toHex } from '../../commit/keccak.ts';
import { buildLevels, merkleProof, merkleRoot } from '../../commit/merkle.ts';
import { metaLeaf, opLeafFields, tensorLeafFields } from '../../commit/modelRoot.ts';
import { tensorRoot } from '../../commit/tensorRoot.ts';
import type { Model } from '../../engine/graph.ts';
import {
  type BatchHeaderArgs,
  type LeafArgs,
  NATIVE,
  type RequestArgs,
  type TaskArgs,
  type TaskResultArgs,
} from './types.ts';

const TASK_ABI = [
  {
    type: 'tuple',
    components: [
      { name: 'requester', type: 'address' },
      { name: 'modelRoot', type: 'bytes32' },
      { name: 'inputRoot', type: 'bytes32' },
      { name: 'feeToken', type: 'address' },
      { name: 'fee', type: 'uint256' },
      { name: 'takeDeadline', type: 'uint64' },
      { name: 'consumer', type: 'address' },
      { name: 'callbackGasLimit', type: 'uint32' },
      { name: 'salt', type: 'bytes32' },
    ],
  },
] as const;

/** TaskMarket.taskId: keccak256(abi.encode(chainId, market, task)). */
export function taskIdOf(chainId: number, market: Address, task: TaskArgs): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'uint256' }, { type: 'address' }, ...TASK_ABI],
      [BigInt(chainId), market, task],
    ),
  );
}

/** The EIP-712 types of TaskMarket.postSigned: the task's fields and the worker allowed to post it. */
export const SIGNED_TASK_TYPES = {
  SignedTask: [...TASK_ABI[0].components, { name: 'worker', type: 'address' }],
} as const;

export function signedTaskDomain(chainId: number, market: Address) {
  return { name: 'Verinfer TaskMarket', version: '1', chainId, verifyingContract: market } as const;
}

/** TaskMarket.signedTaskDigest: what a requester signs so that `worker` may post `task` with postSigned. */
export function signedTaskDigestOf(chainId: number, market: Address, task: TaskArgs, worker: Address): Hex {
  return hashTypedData({
    domain: signedTaskDomain(chainId, market),
    types: SIGNED_TASK_TYPES,
    primaryType: 'SignedTask',
    message: { ...task, worker },
  });
}

/** TaskMarket.resultKey: the first 20 bytes of keccak256(abi.encode(worker, commitment, outputRoot)). */
export function resultKeyOf(r: TaskResultArgs): Hex {
  const hash = keccak256(
    encodeAbiParameters(
      [{ type: 'address' }, { type: 'bytes32' }, { type: 'bytes32' }],
      [r.worker, r.commitment, r.outputRoot],
    ),
  );
  return hash.slice(0, 42) as Hex;
}

/** The tensor root of committed bytes, as hex. */
export function bytesRoot(bytes: Uint8Array): Hex {
  return toHex(tensorRoot(bytes));
}

/** A native-fee task whose input travels inline with createTask: its root is the input's. */
export function inlineTaskOf(o: {
  requester: Address;
  modelRoot: Hex;
  input: Uint8Array;
  fee: bigint;
  salt: bigint;
  takeDeadline?: bigint;
  consumer?: Address;
  callbackGasLimit?: number;
}): TaskArgs {
  return {
    requester: o.requester,
    modelRoot: o.modelRoot,
    inputRoot: bytesRoot(o.input),
    feeToken: NATIVE,
    fee: o.fee,
    takeDeadline: o.takeDeadline ?? 2n ** 40n,
    consumer: o.consumer ?? NATIVE,
    callbackGasLimit: o.callbackGasLimit ?? 0,
    salt: `0x${o.salt.toString(16).padStart(64, '0')}`,
  };
}

/** The EIP-712 types of BatchMarket.Request. */
export const REQUEST_TYPES = {
  Request: [
    { name: 'requester', type: 'address' },
    { name: 'worker', type: 'address' },
    { name: 'modelRoot', type: 'bytes32' },
    { name: 'inputRoot', type: 'bytes32' },
    { name: 'feeToken', type: 'address' },
    { name: 'fee', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint64' },
  ],
} as const;

export function requestDomain(chainId: number, market: Address) {
  return { name: 'Verinfer BatchMarket', version: '1', chainId, verifyingContract: market } as const;
}

/** The EIP-712 digest of a request: what the requester signs, and the task ID of its result. */
export function requestHashOf(chainId: number, market: Address, request: RequestArgs): Hex {
  return hashTypedData({
    domain: requestDomain(chainId, market),
    types: REQUEST_TYPES,
    primaryType: 'Request',
    message: request,
  });
}

/** The EIP-712 types of BatchMarket.BatchHeader. */
export const HEADER_TYPES = {
  BatchHeader: [
    { name: 'requester', type: 'address' },
    { name: 'worker', type: 'address' },
    { name: 'feeToken', type: 'address' },
    { name: 'root', type: 'bytes32' },
    { name: 'count', type: 'uint32' },
    { name: 'totalFee', type: 'uint128' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint64' },
  ],
} as const;

/** The EIP-712 digest of a batch header: what the requester signs to let a worker post it. */
export function headerHashOf(chainId: number, market: Address, header: BatchHeaderArgs): Hex {
  return hashTypedData({
    domain: requestDomain(chainId, market),
    types: HEADER_TYPES,
    primaryType: 'BatchHeader',
    message: header,
  });
}

/** Leaves per page of BatchMarket.publishLeaves (BatchPages.PAGE_SIZE). */
export const PAGE_SIZE = 256;

export function leafHashOf(leaf: LeafArgs): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint256' }],
      [leaf.requestHash, leaf.resultCommitment, leaf.outputRoot, leaf.fee],
    ),
  );
}

export interface BatchTree {
  root: Hex;
  totalFee: bigint;
  /** Inclusion proof (siblings from the leaf up) of leaf i. */
  proof(i: number): Hex[];
  /** The pages of publishLeaves: page p's leaves and the proof of its subtree root. */
  pageCount: number;
  page(p: number): { leaves: LeafArgs[]; proof: Hex[] };
}

/** The batch root over the leaves (the same zero-padded tree as src/commit/merkle.ts). */
export function buildBatchTree(leaves: readonly LeafArgs[]): BatchTree {
  const hashes = leaves.map((l) => fromHex(leafHashOf(l)));
  let levels: Uint8Array[][] | undefined;
  return {
    root: toHex(merkleRoot(hashes)),
    totalFee: leaves.reduce((s, l) => s + l.fee, 0n),
    proof: (i) => {
      levels ??= buildLevels(hashes);
      return merkleProof(levels, i).map(toHex);
    },
    pageCount: Math.ceil(leaves.length / PAGE_SIZE),
    page: (p) => {
      levels ??= buildLevels(hashes);
      const pageDepth = Math.min(levels.length - 1, Math.log2(PAGE_SIZE));
      // The page's subtree root is node p at height pageDepth; its siblings are the levels above.
      const above = levels.slice(pageDepth);
      return {
        leaves: leaves.slice(p * PAGE_SIZE, (p + 1) * PAGE_SIZE),
        proof: merkleProof(above, p).map(toHex),
      };
    },
  };
}

/** ModelRegistry.Descriptor: the model tree but the constants' bytes, from which register rebuilds the root. */
export function modelDescriptorOf(model: Model) {
  return {
    metaLeaf: toHex(metaLeaf(model)),
    ops: model.ops.map(opLeafFields),
    tensors: model.tensors.map((t) => tensorLeafFields(model, t.id)),
  };
}

/** The ModelRegistry.Layout that registering `model` stores. */
export function modelLayoutOf(model: Model) {
  const perSample = (shape: number[]) => BigInt(shape.slice(1).reduce((p, d) => p * d, 1));
  const input = model.tensors[model.input];
  const output = model.tensors[model.ops[model.ops.length - 1].output];
  return {
    leafCount: BigInt(1 + model.ops.length + model.tensors.length),
    opCount: BigInt(model.ops.length),
    inputBytesPerSample: perSample(input.shape) * (input.dtype === 'i32' ? 4n : 1n),
    outputBytesPerSample: perSample(output.shape),
  };
}
