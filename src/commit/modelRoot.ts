// The model commitment, which is the model ID.
//
// leaves     = [metaLeaf, opLeaf_0 … opLeaf_{n-1}, tensorLeaf_0 … tensorLeaf_{m-1}]
// metaLeaf   = keccak256(utf8(JSON of { meta, input, output, scales }))
// opLeaf_k   = keccak256(abi.encode(uint256 code, uint256[] inputs, uint256 output, int256[] attrs))
// tensorLeaf = keccak256(abi.encode(uint256 id, uint256 kind, uint256 dtype, uint256[] shape, int256 zeroPoint, bytes32 constRoot))
//              constRoot = tensorRoot of the constant's committed bytes (constBytes: row-major, except
//              matmul weights, which are committed column-major; src/engine/layout.ts), or
//              bytes32(0) for inputs and activations.
// modelRoot  = keccak256(0x4d ‖ merkleRoot(leaves) ‖ uint64be(leaves.length))   (0x4d = "M")
import { encodeAbiParameters } from 'viem';
import { type Model, OP_CODES, type Op } from '../engine/graph.ts';
import { constLayout, toCommittedOrder } from '../engine/layout.ts';
import { fromHex, type Hash, keccak256, toHex, u64be } from './keccak.ts';
import { buildLevels, merkleProof, merkleRoot } from './merkle.ts';
import { tensorBytes, tensorRoot } from './tensorRoot.ts';

const MODEL_TAG = new Uint8Array([0x4d]);
const KIND_CODES = { input: 0, const: 1, activation: 2 } as const;
const DTYPE_CODES = { u8: 0, i8: 1, i32: 2 } as const;

/** The integer attributes of an op, in the order the commitment and the on-chain verifier use. */
export function opAttributes(op: Op): number[] {
  switch (op.type) {
    case 'conv':
      return [...op.strides, ...op.pads, ...op.dilations, op.group, op.qmin, op.qmax];
    case 'matmul':
      return [op.qmin, op.qmax];
    case 'add':
      return [op.multA, op.multB, op.shift, op.qmin, op.qmax];
    case 'mul':
      return [op.mult, op.shift, op.qmin, op.qmax];
    case 'lut':
    case 'softmax':
    case 'gather':
      return [];
    case 'maxpool':
      return [...op.kernel, ...op.strides, ...op.pads];
    case 'avgpool':
      return [...op.kernel, ...op.strides, ...op.pads, op.countIncludePad ? 1 : 0, op.mult, op.shift];
    case 'reducemean':
      return [op.axis, op.keepDims ? 1 : 0, op.mult, op.shift];
    case 'layernorm':
      return [op.eps, op.mult, op.shift, op.qmin, op.qmax];
    case 'reshape':
      return op.shape;
    case 'transpose':
      return op.perm;
    case 'concat':
      return [op.axis];
  }
}

/** The fields of an op's leaf, as abi-encoded: (code, inputs, output, attrs). */
export function opLeafFields(op: Op): { code: bigint; inputs: bigint[]; output: bigint; attrs: bigint[] } {
  return {
    code: BigInt(OP_CODES[op.type]),
    inputs: op.inputs.map(BigInt),
    output: BigInt(op.output),
    attrs: opAttributes(op).map(BigInt),
  };
}

export function opLeaf(op: Op): Hash {
  const f = opLeafFields(op);
  const encoded = encodeAbiParameters(
    [{ type: 'uint256' }, { type: 'uint256[]' }, { type: 'uint256' }, { type: 'int256[]' }],
    [f.code, f.inputs, f.output, f.attrs],
  );
  return keccak256(fromHex(encoded));
}

/**
 * The committed bytes of constant `id`: its elements in the order of its committed layout (matmul
 * weights column-major, everything else row-major), in the dtype's byte encoding. These are the
 * bytes of its constRoot, of the model file's blob and of the one-step witness's chunks.
 */
export function constBytes(model: Model, id: number): Uint8Array {
  const t = model.tensors[id];
  const data = model.consts.get(id);
  if (!data) throw new RangeError(`Tensor ${id} ("${t?.name}") is not a constant.`);
  return tensorBytes(t.dtype, toCommittedOrder(data, t.shape, constLayout(model, id)));
}

/** The constRoot of tensor `id`: the root of its committed bytes, or bytes32(0) if not a constant. */
export function constRoot(model: Model, id: number): Hash {
  return model.consts.has(id) ? tensorRoot(constBytes(model, id)) : new Uint8Array(32);
}

/** The fields of tensor `id`'s leaf, as abi-encoded: (id, kind, dtype, shape, zeroPoint, constRoot). */
export function tensorLeafFields(model: Model, id: number) {
  const t = model.tensors[id];
  return {
    id: BigInt(id),
    kind: BigInt(KIND_CODES[t.kind]),
    dtype: BigInt(DTYPE_CODES[t.dtype]),
    shape: t.shape.map(BigInt),
    zeroPoint: BigInt(t.zeroPoint),
    constRoot: toHex(constRoot(model, id)),
  };
}

export function tensorLeaf(model: Model, id: number): Hash {
  const f = tensorLeafFields(model, id);
  const encoded = encodeAbiParameters(
    [
      { type: 'uint256' },
      { type: 'uint256' },
      { type: 'uint256' },
      { type: 'uint256[]' },
      { type: 'int256' },
      { type: 'bytes32' },
    ],
    [f.id, f.kind, f.dtype, f.shape, f.zeroPoint, f.constRoot],
  );
  return keccak256(fromHex(encoded));
}

export function metaLeaf(model: Model): Hash {
  const json = JSON.stringify({
    meta: model.meta,
    input: model.input,
    output: model.output,
    scales: model.tensors.map((t) => t.scale),
    names: model.tensors.map((t) => t.name),
  });
  return keccak256(new TextEncoder().encode(json));
}

export function modelLeaves(model: Model): Hash[] {
  return [metaLeaf(model), ...model.ops.map(opLeaf), ...model.tensors.map((t) => tensorLeaf(model, t.id))];
}

export function modelRootFromLeaves(leaves: Hash[]): Hash {
  return keccak256(MODEL_TAG, merkleRoot(leaves), u64be(leaves.length));
}

/** The model ID. */
export function modelRoot(model: Model): Hash {
  return modelRootFromLeaves(modelLeaves(model));
}

/** Leaf index of op k and of tensor j inside the model tree. */
export const modelLeafIndex = {
  op: (_model: Model, k: number) => 1 + k,
  tensor: (model: Model, j: number) => 1 + model.ops.length + j,
};

export interface ModelLeafProof {
  leaf: Hash;
  index: number;
  siblings: Hash[];
  leafCount: number;
}

/** Proves that op k (or tensor j) is part of the model. */
export function openModelLeaf(model: Model, index: number): ModelLeafProof {
  const leaves = modelLeaves(model);
  return {
    leaf: leaves[index],
    index,
    siblings: merkleProof(buildLevels(leaves), index),
    leafCount: leaves.length,
  };
}
