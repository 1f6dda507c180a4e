// ModelRegistry against the off-chain commitment and validator: every random valid model
// (test/support/randomModel.ts) registers under the root src/commit/modelRoot.ts computes, with the
// layout the bindings expect; a single field changed to break a rule reverts with that rule; and on
// random single-field changes of shapes, dtypes, kinds, attributes and inputs the registry accepts
// exactly the descriptors validateGraph accepts (within the registry's caps).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { modelDescriptorOf, modelLayoutOf } from '../../src/chain/bindings/commitments.ts';
import { revertErrorName } from '../../src/chain/bindings/errors.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import type { Model } from '../../src/engine/graph.ts';
import { validateGraph, validateModel } from '../../src/engine/validate.ts';
import { receiptOf, startWorld, type World } from '../market/support.ts';
import {
  arbSeed,
  chainModel,
  extremeAccumulatorModels,
  mulberry32,
  namedChainModel,
  OP_TYPES,
  type Rng,
  randomCase,
  singleOpModel,
} from '../support/randomModel.ts';
import {
  type Descriptor,
  expectRevertWith,
  infoOf,
  modelOfDescriptor,
  mutated,
  withinChainCaps,
} from './support.ts';

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

test('every named, single-op, chain and extreme-accumulator model passes the registry check', async () => {
  const models: { name: string; model: Model }[] = [];
  for (const extreme of [false, true]) {
    for (let seed = 1; seed <= 3; seed++) {
      const g = () => ({ rng: mulberry32(seed * 7919 + (extreme ? 1 : 0)), extreme });
      for (const type of OP_TYPES) models.push({ name: `single ${type}`, model: singleOpModel(g(), type) });
      models.push({ name: 'named 0', model: namedChainModel(g(), 0) });
      models.push({ name: 'named 1', model: namedChainModel(g(), 1) });
      models.push({ name: 'chain', model: chainModel(g()) });
    }
  }
  models.push(...extremeAccumulatorModels());
  for (const { name, model } of models) {
    // The extreme models exceed the one-step gas bound, not the rules the registry mirrors.
    validateGraph(model);
    const [root] = await w.v.modelRegistry.read
      .checkDescriptor([modelDescriptorOf(model)])
      .catch((err: Error) => assert.fail(`${name}: ${revertErrorName(err) ?? err.message}`));
    assert.equal(root, toHex(modelRoot(model)), name);
  }
});

/** A change of one field of `d` (picked by `pick`) that breaks a rule. */
type Mutation = (d: Descriptor, pick: number) => void;
const hasConsts = (d: Descriptor) => d.tensors.some((t) => t.kind === 1n);

const anyOf = <T>(items: readonly T[], pick: number) => items[pick % items.length];
/** A tensor some op writes: a u8 activation of rank >= 1 with batch dimension 1. */
const writtenTensor = (d: Descriptor, pick: number) => d.tensors[Number(anyOf(d.ops, pick).output)];
const MATMUL = 2n;
const LUT = 4n;
/** (op, input) pairs whose input is a constant other than a matmul weight. */
const constUses = (d: Descriptor) =>
  d.ops.flatMap((op) =>
    op.inputs
      .map((id, j) => ({ op, j, id }))
      .filter(({ id, j }) => d.tensors[Number(id)].kind === 1n && !(op.code === MATMUL && j === 1)),
  );
const withAttrs = (d: Descriptor) => d.ops.filter((op) => op.attrs.length > 0);

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
    // Every op keeps its input and output ranks, so one more axis breaks the output shape.
    'ModelRegistryOutputShape',
    (d, p) => {
      writtenTensor(d, p).shape.push(1n);
    },
  ],
  [
    'ModelRegistryInputDtype',
    (d, p) => {
      const t = d.tensors[Number(anyOf(constUses(d), p).id)];
      t.dtype = (t.dtype + 1n + BigInt(p % 2)) % 3n;
      t.zeroPoint = 0n;
    },
    (d) => constUses(d).length > 0,
  ],
  [
    // The first attribute of every op with attributes is a size, stride, clamp bound, multiplier,
    // eps, axis, perm[0] or target dimension, none of which may be negative.
    'ModelRegistryBadAttribute',
    (d, p) => {
      anyOf(withAttrs(d), p).attrs[0] = -1n;
    },
    (d) => withAttrs(d).length > 0,
  ],
  [
    // A lut reading its table from an activation (its own input).
    'ModelRegistryInputKind',
    (d, p) => {
      const op = anyOf(
        d.ops.filter((o) => o.code === LUT),
        p,
      );
      op.inputs[1] = op.inputs[0];
    },
    (d) => d.ops.some((o) => o.code === LUT && d.tensors[Number(o.inputs[0])].kind !== 1n),
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

/** One random change of a shape, dtype, kind, zero point, attribute or input id of `d`. */
function randomChange(d: Descriptor, r: Rng): string {
  const tensor = () => r.pick(d.tensors);
  switch (r.int(0, 7)) {
    case 0: {
      const t = tensor();
      if (t.shape.length === 0) return 'rank-0 shape kept';
      const a = r.int(0, t.shape.length - 1);
      const v = Number(t.shape[a]);
      t.shape[a] = BigInt(Math.max(1, r.pick([v - 1, v + 1, 2 * v, 1, r.int(1, 300)])));
      return `tensor ${t.id} axis ${a}`;
    }
    case 1: {
      const t = tensor();
      if (r.bool() || t.shape.length < 2) t.shape[r.bool() ? 'push' : 'unshift'](1n);
      else t.shape.pop();
      return `tensor ${t.id} rank`;
    }
    case 2: {
      const t = tensor();
      t.dtype = (t.dtype + BigInt(r.int(1, 2))) % 3n;
      if (t.dtype !== 0n) t.zeroPoint = 0n;
      return `tensor ${t.id} dtype`;
    }
    case 3: {
      // Kind and root together, so that the change reaches the op rules.
      const t = tensor();
      if (t.kind === 1n) {
        t.kind = 2n;
        t.constRoot = `0x${'00'.repeat(32)}`;
      } else {
        t.kind = 1n;
        t.constRoot = `0x${'11'.repeat(32)}`;
      }
      return `tensor ${t.id} kind`;
    }
    case 4: {
      const t = tensor();
      if (t.dtype === 0n) t.zeroPoint = BigInt(r.int(0, 255));
      return `tensor ${t.id} zero point`;
    }
    case 5:
    case 6: {
      const op = r.pick(d.ops);
      if (op.attrs.length === 0) return 'no attributes';
      const i = r.int(0, op.attrs.length - 1);
      const v = Number(op.attrs[i]);
      op.attrs[i] = BigInt(
        r.pick([v - 1, v + 1, 0, -1, 1, 2, 3, 255, 256, 2 ** 15, 41, 2 * v, r.int(-3, 300)]),
      );
      return `op attr ${i}`;
    }
    default: {
      const op = r.pick(d.ops);
      const j = r.int(0, op.inputs.length - 1);
      op.inputs[j] = BigInt(r.int(0, d.tensors.length - 1));
      return `op input ${j}`;
    }
  }
}

const DIFFERENTIAL_CASES = Number(process.env.VERINFER_REGISTRY_CASES ?? 200);

test('differential: on random single-field changes the registry accepts iff validateGraph does', async (t) => {
  const r = mulberry32(Number(process.env.VERINFER_REGISTRY_SEED ?? 20_240_612));
  let accepted = 0;
  let rejected = 0;
  const errors = new Map<string, number>();
  for (let n = 0; n < DIFFERENTIAL_CASES; n++) {
    const seed = r.int(0, 2 ** 31 - 1);
    const valid = modelDescriptorOf(randomCase(seed).model);
    let what = '';
    const d = mutated(valid, (x) => {
      what = randomChange(x, r);
    });
    const model = modelOfDescriptor(d);
    let offChain = model !== undefined && withinChainCaps(model);
    let why = 'not a model';
    if (model && offChain) {
      try {
        validateGraph(model);
      } catch (err) {
        offChain = false;
        why = (err as Error).message;
      }
    }
    let onChain = true;
    let error: string | undefined;
    try {
      await w.v.modelRegistry.read.checkDescriptor([d]);
    } catch (err) {
      onChain = false;
      error = revertErrorName(err);
      assert.match(error ?? String(err), /^ModelRegistry/, `seed ${seed}, ${what}: not a named revert`);
    }
    const label = `seed ${seed}, ${what}: registry ${onChain ? 'accepts' : `reverts ${error}`}, validator ${offChain ? 'accepts' : `rejects (${why})`}`;
    assert.equal(onChain, offChain, label);
    if (onChain) accepted += 1;
    else rejected += 1;
    if (error) errors.set(error, (errors.get(error) ?? 0) + 1);
  }
  t.diagnostic(
    `accepted ${accepted}, rejected ${rejected}: ${[...errors].map(([e, c]) => `${e} ${c}`).join(', ')}`,
  );
  // Both outcomes must be well represented, or the property says little.
  assert.ok(
    accepted >= DIFFERENTIAL_CASES / 10 && rejected >= DIFFERENTIAL_CASES / 3,
    `accepted ${accepted}, rejected ${rejected}`,
  );
});
