// ModelRegistry: a root registers only through its descriptor, which must rebuild the root and pass
// the structural rules the dispute game relies on; names, versions and parents are each
// publisher's own claims, so registering someone else's root first takes nothing from them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { modelDescriptorOf, modelLayoutOf } from '../../src/chain/bindings/commitments.ts';
import { ZERO_BYTES32 } from '../../src/chain/bindings/types.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import type { Model } from '../../src/engine/graph.ts';
import { importOnnx, parseFloatInput } from '../../src/onnx/index.ts';
import { EXAMPLES } from '../../src/sdk/examples.ts';
import { receiptOf, startWorld, type World } from '../market/support.ts';
import { handModel } from '../support/handModel.ts';
import { type Descriptor, expectRevertWith, infoOf, mutated, set } from './support.ts';

let w: World;
before(async () => {
  w = await startWorld();
});
after(async () => w?.close());

const registry = (i: number) => w.v.as(w.chain.wallet(i)).modelRegistry;
const handVersion = (version: string): Model => {
  const m = handModel();
  return { ...m, meta: { ...m.meta, version } };
};

async function loadExample(ex: (typeof EXAMPLES)[number]): Promise<Model> {
  const calibration = (JSON.parse(readFileSync(ex.calibration, 'utf8')) as unknown[]).map(parseFloatInput);
  const { model } = await importOnnx(new Uint8Array(readFileSync(ex.onnx)), calibration, {
    name: ex.name,
    version: '1',
    inputKind: ex.tokenizer ? 'tokens' : 'image',
    labels: ex.labels,
  });
  return model;
}

test('both example models register with the root and layout computed off chain', async (t) => {
  for (const ex of EXAMPLES) {
    const model = await loadExample(ex);
    const root = toHex(modelRoot(model));
    const d = modelDescriptorOf(model);
    const { result } = await registry(3).simulate.register([d, infoOf(ex.name)]);
    assert.equal(result, root);
    const first = await receiptOf(w, registry(3).write.register([d, infoOf(ex.name)]));
    const second = await receiptOf(w, registry(4).write.register([d, infoOf(`${ex.name}-mirror`)]));
    t.diagnostic(
      `${ex.name}: ${model.ops.length} ops, ${model.tensors.length} tensors; register gas ${first.gasUsed} (first), ${second.gasUsed} (second publisher)`,
    );
    assert.equal(await w.v.modelRegistry.read.isRegistered([root]), true);
    assert.deepEqual(await w.v.modelRegistry.read.modelLayout([root]), modelLayoutOf(model));
    assert.equal((await w.v.modelRegistry.read.publication([root, w.accounts[3]])).name, ex.name);
  }
  assert.deepEqual(modelLayoutOf(handModel()), {
    leafCount: 21n,
    opCount: 5n,
    inputBytesPerSample: 16n,
    outputBytesPerSample: 3n,
  });
  assert.deepEqual(await w.v.modelRegistry.read.modelLayout([w.modelRoot]), modelLayoutOf(handModel()));
});

test('squatting: a root registered first under another name takes nothing from its publisher', async () => {
  const [publisher, squatter, stranger] = [1, 2, 5];
  const m = handVersion('squat');
  const root = toHex(modelRoot(m));
  const d = modelDescriptorOf(m);
  const models = await w.v.modelRegistry.read.modelCount();
  const publications = await w.v.modelRegistry.read.publicationCount();

  // The squatter registers first, under the publisher's own name and version.
  await receiptOf(w, registry(squatter).write.register([d, infoOf('hand', 'squat')]));
  await receiptOf(w, registry(publisher).write.register([d, infoOf('hand', 'squat')]));
  assert.equal(await w.v.modelRegistry.read.modelCount(), models + 1n);
  assert.equal(await w.v.modelRegistry.read.publicationCount(), publications + 2n);
  for (const who of [publisher, squatter]) {
    const p = await w.v.modelRegistry.read.publication([root, w.accounts[who]]);
    assert.equal(p.name, 'hand');
    assert.equal(p.parent, ZERO_BYTES32);
    assert.equal(await w.v.modelRegistry.read.rootOf([w.accounts[who], 'hand', 'squat']), root);
  }
  await expectRevertWith(
    () => registry(squatter).write.register([d, infoOf('other')]),
    'ModelRegistryAlreadyPublished',
    [root, w.accounts[squatter]],
  );
  await expectRevertWith(
    () => w.v.modelRegistry.read.publication([root, w.accounts[stranger]]),
    'ModelRegistryNotPublished',
    [root, w.accounts[stranger]],
  );

  // Nobody can add a version to another publisher's chain.
  const v2 = handVersion('squat-2');
  const d2 = modelDescriptorOf(v2);
  const r2 = toHex(modelRoot(v2));
  await expectRevertWith(
    () => registry(stranger).write.register([d2, infoOf('hand', 'squat-2', root)]),
    'ModelRegistryParentNotPublished',
    [root, w.accounts[stranger]],
  );
  await expectRevertWith(
    () => registry(stranger).write.register([d2, infoOf('hand', 'squat-2', w.modelRoot)]),
    'ModelRegistryParentNotPublished',
    [w.modelRoot, w.accounts[stranger]],
  );
  await receiptOf(w, registry(publisher).write.register([d2, infoOf('hand', 'squat-2', root)]));
  assert.deepEqual(await w.v.modelRegistry.read.lineage([r2, w.accounts[publisher], 10n]), [r2, root]);
  assert.deepEqual(await w.v.modelRegistry.read.lineage([r2, w.accounts[publisher], 1n]), [r2]);
  await expectRevertWith(
    () => w.v.modelRegistry.read.lineage([r2, w.accounts[squatter], 10n]),
    'ModelRegistryNotPublished',
    [r2, w.accounts[squatter]],
  );

  // A publisher's (name, version) names one root.
  await expectRevertWith(
    () =>
      registry(publisher).write.register([
        modelDescriptorOf(handVersion('squat-3')),
        infoOf('hand', 'squat'),
      ]),
    'ModelRegistryNameTaken',
    [w.accounts[publisher], 'hand', 'squat', root],
  );
  await expectRevertWith(
    () => w.v.modelRegistry.read.modelLayout([ZERO_BYTES32]),
    'ModelRegistryUnknownModel',
    [ZERO_BYTES32],
  );
});

test('the registry returns the root the descriptor rebuilds: a tampered leaf is another model', async () => {
  const m = handVersion('tamper');
  const d = modelDescriptorOf(m);
  const root = toHex(modelRoot(m));
  const [checked, checkedLayout] = await w.v.modelRegistry.read.checkDescriptor([d]);
  assert.equal(checked, root);
  assert.deepEqual(checkedLayout, modelLayoutOf(m));
  const tampered = [
    mutated(d, (x) => {
      x.metaLeaf = toHex(new Uint8Array(32).fill(7));
    }),
    mutated(d, (x) => {
      x.tensors[5].zeroPoint = 6n;
    }),
    mutated(d, (x) => {
      x.ops[3].attrs[1] = 254n;
    }),
  ];
  for (const [i, t] of tampered.entries()) {
    const { result } = await registry(6).simulate.register([t, infoOf('tamper', `${i}`)]);
    assert.notEqual(result, root);
    assert.equal((await w.v.modelRegistry.read.checkDescriptor([t]))[0], result);
  }
  await receiptOf(w, registry(6).write.register([tampered[1], infoOf('tamper')]));
  assert.equal(await w.v.modelRegistry.read.isRegistered([root]), false);
});

// The hand model: tensors 0 input u8 [1,1,4,4]; 1-4 conv consts; 5 = conv(0) [1,2,4,4];
// 6 = maxpool(5); 7 = reshape(6) [1,8]; 8-11 matmul consts; 12 = matmul(7); 13 softmax table;
// 14 = softmax(12). Ops 0 conv, 1 maxpool, 2 reshape, 3 matmul, 4 softmax.
const ONE = `0x${'00'.repeat(31)}01` as const;
const MAX_UINT = 2n ** 256n - 1n;
const concat = (inputs: bigint[]) => ({ code: 13n, inputs, output: 7n, attrs: [1n] });
const swapOps = (i: number, j: number) => (d: Descriptor) => {
  [d.ops[i], d.ops[j]] = [d.ops[j], d.ops[i]];
};
/** A new activation 15 that no op writes, read by the matmul. */
const readUnwritten = (d: Descriptor) => {
  d.tensors.push({ id: 15n, kind: 2n, dtype: 0n, shape: [1n, 8n], zeroPoint: 0n, constRoot: ZERO_BYTES32 });
  d.ops[3].inputs[0] = 15n;
};
const i8Input = (d: Descriptor) => {
  d.tensors[0].dtype = 1n;
  d.tensors[0].zeroPoint = 0n;
};
const STRUCTURE_CASES: [string, (d: Descriptor) => void, string, readonly unknown[]][] = [
  ['ops out of topological order', swapOps(0, 1), 'ModelRegistryOpInputUndefined', [0n, 0n, 5n]],
  ['an activation written twice', set('ops.2.output', 5n), 'ModelRegistryOpOutputWrittenTwice', [2n, 5n]],
  ['an activation read but never produced', readUnwritten, 'ModelRegistryOpInputUndefined', [3n, 0n, 15n]],
  ['an op reading its own output', set('ops.0.inputs.0', 5n), 'ModelRegistryOpInputUndefined', [0n, 0n, 5n]],
  ['an input id out of range', set('ops.4.inputs.1', 15n), 'ModelRegistryOpInputUnknown', [4n, 1n, 15n]],
  ['an output id out of range', set('ops.4.output', 99n), 'ModelRegistryOpOutputUnknown', [4n, 99n]],
  ['an op writing a constant', set('ops.0.output', 1n), 'ModelRegistryOpOutputNotActivation', [0n, 1n, 1n]],
  [
    'an op writing the model input',
    set('ops.0.output', 0n),
    'ModelRegistryOpOutputNotActivation',
    [0n, 0n, 0n],
  ],
  ['matmul with 3 attributes', set('ops.3.attrs.2', 0n), 'ModelRegistryOpArityInvalid', [3n, 2n, 5n, 3n]],
  ['maxpool with 2 inputs', set('ops.1.inputs.1', 5n), 'ModelRegistryOpArityInvalid', [1n, 5n, 2n, 8n]],
  ['concat without inputs', set('ops.2', concat([])), 'ModelRegistryOpArityInvalid', [2n, 13n, 0n, 1n]],
  [
    'concat with 17 inputs',
    set('ops.2', concat(Array(17).fill(6n))),
    'ModelRegistryOpTooManyInputs',
    [2n, 17n, 16n],
  ],
  [
    'reshape with 17 attributes',
    set('ops.2.attrs', Array(17).fill(1n)),
    'ModelRegistryOpTooManyAttrs',
    [2n, 17n, 16n],
  ],
  ['op code 0', set('ops.0.code', 0n), 'ModelRegistryOpCodeUnknown', [0n, 0n]],
  ['op code 15', set('ops.4.code', 15n), 'ModelRegistryOpCodeUnknown', [4n, 15n]],
  ['no ops', set('ops', []), 'ModelRegistryNoOps', []],
  ['tensor kind 3', set('tensors.5.kind', 3n), 'ModelRegistryTensorKindInvalid', [5n, 3n]],
  ['tensor dtype 3', set('tensors.1.dtype', 3n), 'ModelRegistryTensorDtypeInvalid', [1n, 3n]],
  ['an i32 activation', set('tensors.5.dtype', 2n), 'ModelRegistryActivationNotU8', [5n, 2n]],
  [
    'an i32 model input with zero point 10',
    set('tensors.0.dtype', 2n),
    'ModelRegistryZeroPointInvalid',
    [0n, 2n, 10n],
  ],
  ['an i8 model input', i8Input, 'ModelRegistryInputDtypeInvalid', [0n, 1n]],
  ['two model inputs', set('tensors.5.kind', 0n), 'ModelRegistryInputCount', [2n]],
  ['no model input', set('tensors.0.kind', 2n), 'ModelRegistryInputCount', [0n]],
  ['a tensor id that is not its index', set('tensors.3.id', 4n), 'ModelRegistryTensorIdMismatch', [3n, 4n]],
  ['a zero dimension', set('tensors.1.shape.2', 0n), 'ModelRegistryTensorDimZero', [1n, 2n]],
  ['rank 9', set('tensors.1.shape', Array(9).fill(1n)), 'ModelRegistryTensorRankTooHigh', [1n, 9n, 8n]],
  [
    '2^40 elements',
    set('tensors.1.shape', [2n ** 20n, 2n ** 20n]),
    'ModelRegistryTensorTooLarge',
    [1n, 2n ** 40n, 2n ** 40n],
  ],
  [
    'a 2^256 - 1 dimension',
    set('tensors.8.shape.0', MAX_UINT),
    'ModelRegistryTensorTooLarge',
    [8n, MAX_UINT, 2n ** 40n],
  ],
  ['an input batch of 2', set('tensors.0.shape.0', 2n), 'ModelRegistryTensorBatchDimInvalid', [0n, 4n, 2n]],
  ['a rank-0 activation', set('tensors.7.shape', []), 'ModelRegistryTensorBatchDimInvalid', [7n, 0n, 0n]],
  [
    'a constant without root',
    set('tensors.1.constRoot', ZERO_BYTES32),
    'ModelRegistryConstRootMissing',
    [1n],
  ],
  [
    'an activation with a root',
    set('tensors.5.constRoot', ONE),
    'ModelRegistryConstRootUnexpected',
    [5n, ONE],
  ],
  [
    'a u8 zero point of 256',
    set('tensors.5.zeroPoint', 256n),
    'ModelRegistryZeroPointInvalid',
    [5n, 0n, 256n],
  ],
  ['a u8 zero point of -1', set('tensors.0.zeroPoint', -1n), 'ModelRegistryZeroPointInvalid', [0n, 0n, -1n]],
  ['an i8 zero point of 1', set('tensors.1.zeroPoint', 1n), 'ModelRegistryZeroPointInvalid', [1n, 1n, 1n]],
];

test('descriptors that break a structural rule revert with its error', async () => {
  const d = modelDescriptorOf(handVersion('broken'));
  for (const [what, change, error, args] of STRUCTURE_CASES) {
    await expectRevertWith(
      () => registry(7).write.register([mutated(d, change), infoOf('broken', what)]),
      error,
      args,
    ).catch((err: Error) => assert.fail(`${what}: ${err.message}`));
  }
  await receiptOf(w, registry(7).write.register([d, infoOf('broken')]));
});

test('the protocol caps bound the ops and tensors of a model', async () => {
  const d = modelDescriptorOf(handVersion('caps'));
  const tooManyOps = mutated(d, (x) => {
    x.ops = Array.from({ length: 4097 }, () => ({ code: 0n, inputs: [], output: 0n, attrs: [] }));
  });
  await expectRevertWith(
    () => w.v.modelRegistry.read.checkDescriptor([tooManyOps]),
    'ModelRegistryTooManyOps',
    [4097n, 4096n],
  );
  const tooManyTensors = mutated(d, (x) => {
    const pad = { id: 0n, kind: 0n, dtype: 0n, shape: [], zeroPoint: 0n, constRoot: ZERO_BYTES32 };
    x.tensors = Array.from({ length: 16385 }, () => pad);
  });
  await expectRevertWith(
    () => w.v.modelRegistry.read.checkDescriptor([tooManyTensors]),
    'ModelRegistryTooManyTensors',
    [16385n, 16384n],
  );
});
