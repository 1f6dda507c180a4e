// ModelRegistry against the off-chain commitment and validator: every random valid model
// (test/support/randomModel.ts) registers under the root src/commit/modelRoot.ts computes, with the
// layout the bindings expect, and a single field changed to break a structural rule reverts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { modelDescriptorOf, modelLayoutOf } from '../../src/chain/bindings/commitments.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { receiptOf, startWorld, type World } from '../market/support.ts';
import { arbSeed, randomCase } from '../support/randomModel.ts';
import { type Descriptor, expectRevertWith, infoOf, mutated } from './support.ts';

let w: World;
before(async () => {
  w = await startWorld();
});
after(async () => w?.close());

const PUBLISHER = 3;
const registry = () => w.v.as(w.chain.wallet(PUBLISHER)).modelRegistry;

test('every random valid model registers under its off-chain root and layout', async () => {
  await fc.assert(
    fc.asyncProperty(arbSeed, async (seed) => {
      const { model } = randomCase(seed);
      validateModel(model);
      const root = toHex(modelRoot(model));
      const d = modelDescriptorOf(model);
      const info = infoOf(`random-${seed}`);
      assert.equal((await w.v.modelRegistry.read.checkDescriptor([d]))[0], root);
      // fast-check may draw a seed twice, and two seeds may build the same model.
      if (!(await w.v.modelRegistry.read.isRegistered([root]))) {
        const { result } = await registry().simulate.register([d, info]);
        assert.equal(result, root);
        await receiptOf(w, registry().write.register([d, info]));
      }
      assert.deepEqual(await w.v.modelRegistry.read.modelLayout([root]), modelLayoutOf(model));
    }),
    { numRuns: 40, seed: 20_240_611 },
  );
});

/** A change of one field of `d` (picked by `pick`) that breaks a rule. */
type Mutation = (d: Descriptor, pick: number) => void;
const hasConsts = (d: Descriptor) => d.tensors.some((t) => t.kind === 1n);

const anyOf = <T>(items: readonly T[], pick: number) => items[pick % items.length];
/** A tensor some op writes: a u8 activation of rank >= 1 with batch dimension 1. */
const writtenTensor = (d: Descriptor, pick: number) => d.tensors[Number(anyOf(d.ops, pick).output)];

const MUTATIONS: [string, Mutation, applies?: (d: Descriptor) => boolean][] = [
  [
    'ModelRegistryTensorIdMismatch',
    (d, p) => {
      anyOf(d.tensors, p).id += 1n;
    },
  ],
  [
    'ModelRegistryTensorKindInvalid',
    (d, p) => {
      anyOf(d.tensors, p).kind = 3n;
    },
  ],
  [
    'ModelRegistryTensorDtypeInvalid',
    (d, p) => {
      anyOf(d.tensors, p).dtype = 3n + BigInt(p % 5);
    },
  ],
  [
    'ModelRegistryTensorDimZero',
    (d, p) => {
      const t = writtenTensor(d, p);
      t.shape[p % t.shape.length] = 0n;
    },
  ],
  [
    'ModelRegistryActivationNotU8',
    (d, p) => {
      writtenTensor(d, p).dtype = 1n;
    },
  ],
  [
    'ModelRegistryTensorBatchDimInvalid',
    (d, p) => {
      writtenTensor(d, p).shape[0] = 2n;
    },
  ],
  [
    'ModelRegistryConstRootUnexpected',
    (d, p) => {
      writtenTensor(d, p).constRoot = `0x${'11'.repeat(32)}`;
    },
  ],
  [
    'ModelRegistryConstRootMissing',
    (d, p) => {
      anyOf(
        d.tensors.filter((t) => t.kind === 1n),
        p,
      ).constRoot = `0x${'00'.repeat(32)}`;
    },
    hasConsts,
  ],
  [
    'ModelRegistryZeroPointInvalid',
    (d, p) => {
      writtenTensor(d, p).zeroPoint = 256n + BigInt(p % 1000);
    },
  ],
  [
    'ModelRegistryInputCount',
    (d, p) => {
      writtenTensor(d, p).kind = 0n;
    },
  ],
  [
    'ModelRegistryOpCodeUnknown',
    (d, p) => {
      anyOf(d.ops, p).code = p % 2 === 0 ? 0n : 15n;
    },
  ],
  [
    'ModelRegistryOpInputUnknown',
    (d, p) => {
      anyOf(d.ops, p).inputs[0] = BigInt(d.tensors.length);
    },
  ],
  [
    'ModelRegistryOpInputUndefined',
    (d, p) => {
      const op = anyOf(d.ops, p);
      op.inputs[p % op.inputs.length] = op.output;
    },
  ],
  [
    'ModelRegistryOpOutputNotActivation',
    (d, p) => {
      const others = d.tensors.filter((t) => t.kind !== 2n);
      anyOf(d.ops, p).output = anyOf(others, p).id;
    },
  ],
  [
    'ModelRegistryOpOutputWrittenTwice',
    (d, p) => {
      d.ops.push(structuredClone(anyOf(d.ops, p)));
    },
  ],
  [
    'ModelRegistryOpArityInvalid',
    (d, p) => {
      const op = anyOf(d.ops, p);
      if (op.code === 11n || op.code === 12n) op.inputs.push(op.inputs[0]);
      else op.attrs.push(0n);
    },
  ],
  [
    'ModelRegistryOpTooManyInputs',
    (d, p) => {
      const op = anyOf(d.ops, p);
      op.inputs = Array(17).fill(op.inputs[0]);
    },
  ],
];

test('a single field changed to break a structural rule reverts with that rule', async () => {
  await fc.assert(
    fc.asyncProperty(arbSeed, fc.nat(MUTATIONS.length - 1), fc.nat(), async (seed, which, pick) => {
      const [error, mutate, applies] = MUTATIONS[which];
      const valid = modelDescriptorOf(randomCase(seed).model);
      fc.pre(applies?.(valid) ?? true);
      const d = mutated(valid, (x) => mutate(x, pick));
      await expectRevertWith(() => w.v.modelRegistry.read.checkDescriptor([d]), error).catch((err: Error) =>
        assert.fail(`seed ${seed}, pick ${pick}: ${err.message}`),
      );
    }),
    { numRuns: 60, seed: 20_240_611 },
  );
});
