// Helpers of the ModelRegistry tests: descriptors to tamper with, publisher claims, reverts with
// their arguments, and the model a descriptor describes (for the off-chain validator).
import assert from 'node:assert/strict';
import type { Hex } from 'viem';
import type { modelDescriptorOf } from '../../src/chain/bindings/commitments.ts';
import { revertErrorArgs, revertErrorName } from '../../src/chain/bindings/errors.ts';
import { ZERO_BYTES32 } from '../../src/chain/bindings/types.ts';
import {
  allocTensor,
  elementCount,
  type Model,
  OP_CODES,
  type Op,
  type OpType,
  type TensorData,
  type TensorInfo,
} from '../../src/engine/graph.ts';

export type Descriptor = ReturnType<typeof modelDescriptorOf>;

/** A deep copy of `d` changed by `change`, so that each case starts from the valid descriptor. */
export function mutated(d: Descriptor, change: (d: Descriptor) => void): Descriptor {
  const copy = structuredClone(d);
  change(copy);
  return copy;
}

/** A change that sets the field at a dotted path, e.g. `set('ops.2.output', 5n)`. */
export function set(path: string, value: unknown): (d: Descriptor) => void {
  return (d) => {
    const keys = path.split('.');
    let node = d as unknown as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
    node[keys[keys.length - 1]] = value;
  };
}

// Addresses decode checksummed and hex in any case; compare them case-blind.
const normalized = (args: readonly unknown[]) =>
  args.map((a) => (typeof a === 'string' ? a.toLowerCase() : a));

export function infoOf(name: string, version = '1', parent: Hex = ZERO_BYTES32) {
  return { name, version, parent, dataId: ZERO_BYTES32, uri: `vrnf://${name}/${version}` };
}

/** Asserts that `action` reverts with the custom error `name` and, if given, exactly `args`. */
export async function expectRevertWith(
  action: () => Promise<unknown>,
  name: string,
  args?: readonly unknown[],
) {
  try {
    await action();
  } catch (err) {
    const got = revertErrorName(err);
    assert.equal(got, name, `expected revert ${name}, got ${got ?? String(err).slice(0, 400)}`);
    if (args)
      assert.deepEqual(normalized(revertErrorArgs(err) ?? []), normalized(args), `arguments of ${name}`);
    return;
  }
  assert.fail(`expected revert ${name}, but the call succeeded`);
}

const KINDS = ['input', 'const', 'activation'] as const;
const DTYPES = ['u8', 'i8', 'i32'] as const;
/** Window attributes (and reshape targets) above this are rejected on chain only (OpShapes.sol). */
const MAX_WINDOW = 2 ** 40;

/**
 * The model a descriptor describes, for the off-chain validator: constants get zero data of their
 * dtype and shape (softmax tables expTable[0] = 2^16), since the chain sees only their roots and the
 * rules on constant values are not mirrored; every scale is 1, since scales live in the meta leaf.
 * Undefined when no Model has these leaves (an unknown code, kind or dtype, a flag other than 0 or
 * 1, an attribute count the op does not have, other than one input tensor).
 */
export function modelOfDescriptor(d: Descriptor): Model | undefined {
  if (d.tensors.some((t) => t.kind > 2n || t.dtype > 2n)) return undefined;
  const tensors: TensorInfo[] = d.tensors.map((t, i) => ({
    id: Number(t.id),
    name: `t${i}`,
    kind: KINDS[Number(t.kind)],
    dtype: DTYPES[Number(t.dtype)],
    shape: t.shape.map(Number),
    zeroPoint: Number(t.zeroPoint),
    scale: 1,
  }));
  const inputs = tensors.filter((t) => t.kind === 'input');
  if (inputs.length !== 1) return undefined;
  const consts = new Map<number, TensorData>();
  for (const t of tensors) {
    if (t.kind === 'const') consts.set(t.id, allocTensor(t.dtype, elementCount(t.shape)));
  }
  const ops: Op[] = [];
  for (const [k, leaf] of d.ops.entries()) {
    const op = opOfLeaf(leaf, `op${k}`);
    if (!op) return undefined;
    ops.push(op);
  }
  for (const op of ops) {
    const table = op.type === 'softmax' ? consts.get(op.inputs[1]) : undefined;
    if (table instanceof Int32Array && table.length > 0) table[0] = 2 ** 16;
  }
  const output = ops.length ? ops[ops.length - 1].output : 0;
  return {
    meta: { name: 'x', version: '1', inputKind: 'tensor' },
    tensors,
    ops,
    consts,
    input: inputs[0].id,
    output,
  };
}

const ATTR_COUNTS: Partial<Record<OpType, number>> = {
  conv: 11,
  matmul: 2,
  add: 5,
  mul: 4,
  lut: 0,
  maxpool: 8,
  avgpool: 11,
  reducemean: 4,
  softmax: 0,
  layernorm: 5,
  gather: 0,
  concat: 1,
};
const INPUT_COUNTS: Partial<Record<OpType, number>> = {
  conv: 5,
  matmul: 5,
  add: 2,
  mul: 2,
  lut: 2,
  maxpool: 1,
  avgpool: 1,
  reducemean: 1,
  softmax: 2,
  layernorm: 3,
  gather: 2,
  reshape: 1,
  transpose: 1,
};

/** The inverse of opAttributes (src/commit/modelRoot.ts), or undefined if no op has this leaf. */
function opOfLeaf(leaf: Descriptor['ops'][number], name: string): Op | undefined {
  const type = (Object.keys(OP_CODES) as OpType[]).find((t) => BigInt(OP_CODES[t]) === leaf.code);
  if (!type) return undefined;
  const a = leaf.attrs.map(Number);
  const inputs = leaf.inputs.map(Number);
  const output = Number(leaf.output);
  if (ATTR_COUNTS[type] !== undefined && a.length !== ATTR_COUNTS[type]) return undefined;
  if (INPUT_COUNTS[type] !== undefined ? inputs.length !== INPUT_COUNTS[type] : inputs.length === 0)
    return undefined;
  const flag = (v: number) => (v === 0 || v === 1 ? v === 1 : undefined);
  const base = { name, output } as const;
  switch (type) {
    case 'conv':
      return {
        ...base,
        type,
        inputs: inputs as [number, number, number, number, number],
        strides: [a[0], a[1]],
        pads: [a[2], a[3], a[4], a[5]],
        dilations: [a[6], a[7]],
        group: a[8],
        qmin: a[9],
        qmax: a[10],
      };
    case 'matmul':
      return {
        ...base,
        type,
        inputs: inputs as [number, number, number, number, number],
        qmin: a[0],
        qmax: a[1],
      };
    case 'add':
      return {
        ...base,
        type,
        inputs: inputs as [number, number],
        multA: a[0],
        multB: a[1],
        shift: a[2],
        qmin: a[3],
        qmax: a[4],
      };
    case 'mul':
      return {
        ...base,
        type,
        inputs: inputs as [number, number],
        mult: a[0],
        shift: a[1],
        qmin: a[2],
        qmax: a[3],
      };
    case 'lut':
    case 'softmax':
    case 'gather':
      return { ...base, type, inputs: inputs as [number, number] };
    case 'maxpool':
    case 'avgpool': {
      const window = {
        inputs: inputs as [number],
        kernel: [a[0], a[1]] as [number, number],
        strides: [a[2], a[3]] as [number, number],
        pads: [a[4], a[5], a[6], a[7]] as [number, number, number, number],
      };
      if (type === 'maxpool') return { ...base, type, ...window };
      const countIncludePad = flag(a[8]);
      if (countIncludePad === undefined) return undefined;
      return { ...base, type, ...window, countIncludePad, mult: a[9], shift: a[10] };
    }
    case 'reducemean': {
      const keepDims = flag(a[1]);
      if (keepDims === undefined) return undefined;
      return { ...base, type, inputs: inputs as [number], axis: a[0], keepDims, mult: a[2], shift: a[3] };
    }
    case 'layernorm':
      return {
        ...base,
        type,
        inputs: inputs as [number, number, number],
        eps: a[0],
        mult: a[1],
        shift: a[2],
        qmin: a[3],
        qmax: a[4],
      };
    case 'reshape':
      return { ...base, type, inputs: inputs as [number], shape: a };
    case 'transpose':
      return { ...base, type, inputs: inputs as [number], perm: a };
    case 'concat':
      return { ...base, type, inputs, axis: a[0] };
  }
}

/**
 * The registry's caps that the off-chain validator does not have (ModelCheck.sol, OpShapes.sol):
 * inputs and activations carry batch dimension 1, ranks up to 8, fewer than 2^40 elements, window
 * attributes and reshape targets up to 2^40.
 */
export function withinChainCaps(model: Model): boolean {
  const tensorsOk = model.tensors.every(
    (t) =>
      t.shape.length <= 8 &&
      elementCount(t.shape) < MAX_WINDOW &&
      (t.kind === 'const' || (t.shape.length >= 1 && t.shape[0] === 1)),
  );
  const windowAttrs = (op: Op): number[] => {
    if (op.type === 'conv') return [...op.strides, ...op.pads, ...op.dilations];
    if (op.type === 'maxpool' || op.type === 'avgpool') return [...op.kernel, ...op.strides, ...op.pads];
    if (op.type === 'reshape') return op.shape;
    return [];
  };
  return tensorsOk && model.ops.every((op) => windowAttrs(op).every((v) => v <= MAX_WINDOW));
}
