// ModelRegistry's per-op rules (contracts/registry/OpShapes.sol and the weight roles of
// ModelCheck.sol): each rule of src/engine/validate.ts and src/engine/shapes.ts that depends only on
// shapes, dtypes, kinds and attributes, broken once on the hand model, reverts with its own error and
// arguments, and validateGraph rejects the same descriptor.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { modelDescriptorOf } from '../../src/chain/bindings/commitments.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import { validateGraph } from '../../src/engine/validate.ts';
import { startWorld, type World } from '../market/support.ts';
import { handModel } from '../support/handModel.ts';
import { ModelBuilder } from '../support/randomModel.ts';
import { type Descriptor, expectRevertWith, modelOfDescriptor, mutated, set } from './support.ts';

let w: World;
before(async () => {
  w = await startWorld();
});
after(async () => w?.close());

// The hand model: tensors 0 input u8 [1,1,4,4] (zero point 10); 1 w i8 [2,1,3,3], 2 bias, 3 mult,
// 4 shift i32 [2]; 5 = conv(0) [1,2,4,4] (zero point 5); 6 = maxpool(5) [1,2,2,2]; 7 = reshape(6)
// [1,8]; 8 fw i8 [8,3], 9 fb i32 [3], 10 fm, 11 fs i32 [1]; 12 = matmul(7) [1,3]; 13 exp i32 [256];
// 14 = softmax(12) [1,3]. Ops 0 conv (strides 1,1, pads 1,1,1,1, dilations 1,1, group 1, clamp 5..255),
// 1 maxpool (kernel 2,2, strides 2,2, pads 0), 2 reshape [8], 3 matmul, 4 softmax.
const op = (code: bigint, inputs: bigint[], output: bigint, attrs: bigint[]) => ({
  code,
  inputs,
  output,
  attrs,
});
const all =
  (...changes: ((d: Descriptor) => void)[]) =>
  (d: Descriptor) => {
    for (const change of changes) change(d);
  };
/** Op 2 replaced by `o`, with tensor 7 (its output) given `shape`. */
const asOp2 = (o: ReturnType<typeof op>, shape: bigint[]) =>
  all(set('ops.2', o), set('tensors.7.shape', shape));
const transposeOp2 = (perm: bigint[]) => asOp2(op(12n, [6n], 7n, perm), [1n, 2n, 2n, 2n]);

const CASES: [string, (d: Descriptor) => void, string, readonly unknown[]][] = [
  // Output shapes.
  ['conv output with 3 channels', set('tensors.5.shape.1', 3n), 'ModelRegistryOutputShape', [0n, 5n]],
  ['maxpool output 3x2', set('tensors.6.shape.2', 3n), 'ModelRegistryOutputShape', [1n, 6n]],
  ['reshape target [2,4] into [1,8]', set('ops.2.attrs', [2n, 4n]), 'ModelRegistryOutputShape', [2n, 7n]],
  ['softmax output of rank 3', set('tensors.14.shape', [1n, 3n, 1n]), 'ModelRegistryOutputShape', [4n, 14n]],
  // Dtypes.
  ['a u8 conv weight', set('tensors.1.dtype', 0n), 'ModelRegistryInputDtype', [0n, 1n, 0n]],
  ['an i8 conv bias', set('tensors.2.dtype', 1n), 'ModelRegistryInputDtype', [0n, 2n, 1n]],
  ['a u8 softmax table', set('tensors.13.dtype', 0n), 'ModelRegistryInputDtype', [4n, 1n, 0n]],
  ['an i32 matmul weight', set('tensors.8.dtype', 2n), 'ModelRegistryInputDtype', [3n, 1n, 2n]],
  [
    'a u8 gather table index list',
    set('ops.4', op(10n, [13n, 12n], 14n, [])),
    'ModelRegistryInputDtype',
    [4n, 0n, 2n],
  ],
  // Kinds: a constant where an activation is required, and the reverse.
  ['a u8 constant as matmul b', set('tensors.8.dtype', 0n), 'ModelRegistryInputKind', [3n, 1n, 1n]],
  [
    'a lut table that is an activation',
    set('ops.4', op(4n, [12n, 12n], 14n, [])),
    'ModelRegistryInputKind',
    [4n, 1n, 2n],
  ],
  // Vector lengths and table sizes.
  ['a conv bias of 3 entries', set('tensors.2.shape', [3n]), 'ModelRegistryInputShape', [0n, 2n]],
  ['conv mult of 3 entries, shift of 2', set('tensors.3.shape', [3n]), 'ModelRegistryInputShape', [0n, 4n]],
  [
    'conv mult and shift of 3 entries',
    all(set('tensors.3.shape', [3n]), set('tensors.4.shape', [3n])),
    'ModelRegistryInputShape',
    [0n, 3n],
  ],
  ['a matmul bias of 4 entries', set('tensors.9.shape', [4n]), 'ModelRegistryInputShape', [3n, 2n]],
  ['a softmax table of 255 entries', set('tensors.13.shape', [255n]), 'ModelRegistryInputShape', [4n, 1n]],
  [
    'a lut table of 255 entries',
    all(
      set('ops.4', op(4n, [12n, 13n], 14n, [])),
      set('tensors.13.dtype', 0n),
      set('tensors.13.shape', [255n]),
    ),
    'ModelRegistryInputShape',
    [4n, 1n],
  ],
  // Inner and channel dimensions.
  [
    'a matmul weight with 9 rows for 8 inputs',
    set('tensors.8.shape', [9n, 3n]),
    'ModelRegistryInputShape',
    [3n, 1n],
  ],
  ['a conv weight of rank 3', set('tensors.1.shape', [2n, 1n, 9n]), 'ModelRegistryInputShape', [0n, 1n]],
  ['a conv weight with 2 channels for 1', set('tensors.1.shape.1', 2n), 'ModelRegistryInputShape', [0n, 1n]],
  [
    'a conv window larger than the padded input',
    set('tensors.1.shape', [2n, 1n, 7n, 3n]),
    'ModelRegistryInputShape',
    [0n, 0n],
  ],
  // Attributes.
  ['conv stride 0', set('ops.0.attrs.0', 0n), 'ModelRegistryBadAttribute', [0n, 0n, 0n]],
  ['conv dilation 0', set('ops.0.attrs.7', 0n), 'ModelRegistryBadAttribute', [0n, 7n, 0n]],
  ['conv pad -1', set('ops.0.attrs.5', -1n), 'ModelRegistryBadAttribute', [0n, 5n, -1n]],
  ['conv top pad as tall as the kernel', set('ops.0.attrs.2', 3n), 'ModelRegistryBadAttribute', [0n, 2n, 3n]],
  [
    'conv stride 2^40 + 1',
    set('ops.0.attrs.1', 2n ** 40n + 1n),
    'ModelRegistryBadAttribute',
    [0n, 1n, 2n ** 40n + 1n],
  ],
  [
    'qmin > qmax',
    all(set('ops.0.attrs.9', 200n), set('ops.0.attrs.10', 100n)),
    'ModelRegistryBadAttribute',
    [0n, 10n, 100n],
  ],
  ['qmax 256', set('ops.3.attrs.1', 256n), 'ModelRegistryBadAttribute', [3n, 1n, 256n]],
  ['qmin -1', set('ops.3.attrs.0', -1n), 'ModelRegistryBadAttribute', [3n, 0n, -1n]],
  ['group 2 not dividing 1 channel', set('ops.0.attrs.8', 2n), 'ModelRegistryBadAttribute', [0n, 8n, 2n]],
  ['group 0', set('ops.0.attrs.8', 0n), 'ModelRegistryBadAttribute', [0n, 8n, 0n]],
  ['maxpool kernel 0', set('ops.1.attrs.1', 0n), 'ModelRegistryBadAttribute', [1n, 1n, 0n]],
  ['maxpool bottom pad -1', set('ops.1.attrs.6', -1n), 'ModelRegistryBadAttribute', [1n, 6n, -1n]],
  [
    'maxpool top pad as tall as the kernel',
    set('ops.1.attrs.4', 2n),
    'ModelRegistryBadAttribute',
    [1n, 4n, 2n],
  ],
  [
    'avgpool countIncludePad 2',
    set('ops.1', op(6n, [5n], 6n, [2n, 2n, 2n, 2n, 0n, 0n, 0n, 0n, 2n, 1n, 0n])),
    'ModelRegistryBadAttribute',
    [1n, 8n, 2n],
  ],
  [
    'avgpool multiplier 2^15',
    set('ops.1', op(6n, [5n], 6n, [2n, 2n, 2n, 2n, 0n, 0n, 0n, 0n, 1n, 2n ** 15n, 0n])),
    'ModelRegistryBadAttribute',
    [1n, 9n, 2n ** 15n],
  ],
  [
    'avgpool shift 41',
    set('ops.1', op(6n, [5n], 6n, [2n, 2n, 2n, 2n, 0n, 0n, 0n, 0n, 1n, 1n, 41n])),
    'ModelRegistryBadAttribute',
    [1n, 10n, 41n],
  ],
  [
    'reducemean over axis 4 of rank 4',
    asOp2(op(7n, [6n], 7n, [4n, 0n, 1n, 0n]), [1n, 2n, 2n]),
    'ModelRegistryBadAttribute',
    [2n, 0n, 4n],
  ],
  [
    'reducemean over the batch axis',
    asOp2(op(7n, [6n], 7n, [0n, 0n, 1n, 0n]), [1n, 2n, 2n]),
    'ModelRegistryBadAttribute',
    [2n, 0n, 0n],
  ],
  [
    'reducemean keepDims 2',
    asOp2(op(7n, [6n], 7n, [1n, 2n, 1n, 0n]), [1n, 2n, 2n]),
    'ModelRegistryBadAttribute',
    [2n, 1n, 2n],
  ],
  [
    'concat along axis 0',
    asOp2(op(13n, [6n, 6n], 7n, [0n]), [1n, 2n, 2n, 2n]),
    'ModelRegistryBadAttribute',
    [2n, 0n, 0n],
  ],
  [
    'concat along axis 4 of rank 4',
    asOp2(op(13n, [6n, 6n], 7n, [4n]), [1n, 2n, 2n, 2n]),
    'ModelRegistryBadAttribute',
    [2n, 0n, 4n],
  ],
  ['perm repeating an axis', transposeOp2([0n, 1n, 1n, 3n]), 'ModelRegistryBadAttribute', [2n, 2n, 1n]],
  ['perm naming axis 4 of rank 4', transposeOp2([0n, 1n, 2n, 4n]), 'ModelRegistryBadAttribute', [2n, 3n, 4n]],
  ['perm moving the batch axis', transposeOp2([1n, 0n, 2n, 3n]), 'ModelRegistryBadAttribute', [2n, 0n, 1n]],
  ['perm of 3 axes for rank 4', transposeOp2([0n, 2n, 1n]), 'ModelRegistryInputShape', [2n, 0n]],
  [
    'layernorm eps 2^40',
    set('ops.4', op(9n, [12n, 9n, 9n], 14n, [2n ** 40n, 1n, 0n, 0n, 255n])),
    'ModelRegistryBadAttribute',
    [4n, 0n, 2n ** 40n],
  ],
  ['reshape target with a 0', set('ops.2.attrs', [0n, 8n]), 'ModelRegistryBadAttribute', [2n, 0n, 0n]],
  // Element counts, concat and broadcasting.
  ['reshape of 8 elements to 9', set('ops.2.attrs', [9n]), 'ModelRegistryInputShape', [2n, 0n]],
  [
    'concat of [1,2,2,2] and [1,2,4,4] along axis 1',
    asOp2(op(13n, [6n, 5n], 7n, [1n]), [1n, 4n, 2n, 2n]),
    'ModelRegistryInputShape',
    [2n, 1n],
  ],
  [
    'concat of inputs with zero points 5 and 10',
    asOp2(op(13n, [6n, 0n], 7n, [1n]), [1n, 3n, 2n, 2n]),
    'ModelRegistryInputZeroPoint',
    [2n, 1n, 10n, 5n],
  ],
  [
    'add of [1,2,2,2] and [1,2,4,4]',
    asOp2(op(3n, [6n, 5n], 7n, [1n, 1n, 0n, 0n, 255n]), [1n, 2n, 4n, 4n]),
    'ModelRegistryInputShape',
    [2n, 1n],
  ],
  [
    'mul of [1,2,2,2] and [1,8] into [1,8]',
    set('ops.2', op(14n, [6n, 6n], 7n, [1n, 0n, 0n, 255n])),
    'ModelRegistryOutputShape',
    [2n, 7n],
  ],
  // Reductions beyond exact arithmetic.
  [
    'conv of 197379 taps',
    set('tensors.1.shape', [2n, 1n, 3n, 65793n]),
    'ModelRegistryReductionTooLong',
    [0n, 197379n, 65793n],
  ],
  [
    'avgpool window of 2^27',
    set('ops.1', op(6n, [5n], 6n, [2n ** 13n, 2n ** 14n, 2n, 2n, 0n, 0n, 0n, 0n, 1n, 1n, 0n])),
    'ModelRegistryReductionTooLong',
    [1n, 2n ** 27n, 67372036n],
  ],
  [
    'softmax over 65537 (the only op, on the model input)',
    all(
      set('ops', [op(8n, [0n, 13n], 14n, [])]),
      set('tensors.0.shape', [1n, 65537n]),
      set('tensors.14.shape', [1n, 65537n]),
    ),
    'ModelRegistryReductionTooLong',
    [0n, 65537n, 65536n],
  ],
];

test('each per-op rule, broken once, reverts with its error and the validator rejects it too', async () => {
  const d = modelDescriptorOf(handModel());
  assert.equal((await w.v.modelRegistry.read.checkDescriptor([d]))[0], toHex(modelRoot(handModel())));
  for (const [what, change, error, args] of CASES) {
    const broken = mutated(d, change);
    await expectRevertWith(() => w.v.modelRegistry.read.checkDescriptor([broken]), error, args).catch(
      (err: Error) => assert.fail(`${what}: ${err.message}`),
    );
    const model = modelOfDescriptor(broken);
    if (model) assert.throws(() => validateGraph(model), Error, what);
  }
});

test('a matmul weight read in another role reverts, in either order', async () => {
  // x [1,1,3,3]; w i8 [1,1,3,3] is both a conv kernel (output [1,1,1,1]) and the b of x @ w.
  const build = (matmulFirst: boolean) => {
    const b = new ModelBuilder();
    const x = b.input('u8', [1, 1, 3, 3]);
    const w8 = b.constant(new Int8Array(9), [1, 1, 3, 3]);
    const vec = (n: number) => b.constant(new Int32Array(n), [n]);
    const conv = () =>
      b.op(
        {
          type: 'conv',
          inputs: [x, w8, vec(1), vec(1), vec(1)],
          strides: [1, 1],
          pads: [0, 0, 0, 0],
          dilations: [1, 1],
          group: 1,
          qmin: 0,
          qmax: 255,
        },
        0,
      );
    const matmul = () =>
      b.op({ type: 'matmul', inputs: [x, w8, vec(3), vec(1), vec(1)], qmin: 0, qmax: 255 }, 0);
    if (matmulFirst) {
      matmul();
      conv();
    } else {
      conv();
      matmul();
    }
    return b.build('roles');
  };
  for (const matmulFirst of [false, true]) {
    const model = build(matmulFirst);
    assert.throws(() => validateGraph(model), /also the weight/);
    await expectRevertWith(
      () => w.v.modelRegistry.read.checkDescriptor([modelDescriptorOf(model)]),
      'ModelRegistryWeightRole',
      [1n, 1n, 1n],
    );
  }
  // The same weight as b of two matmuls is one layout, and registers.
  const b = new ModelBuilder();
  const x = b.input('u8', [1, 2, 3]);
  const w8 = b.constant(new Int8Array(6), [3, 2]);
  const vec = (n: number) => b.constant(new Int32Array(n), [n]);
  for (let i = 0; i < 2; i++)
    b.op({ type: 'matmul', inputs: [x, w8, vec(2), vec(1), vec(1)], qmin: 0, qmax: 255 }, 0);
  const shared = b.build('shared');
  validateGraph(shared);
  assert.equal(
    (await w.v.modelRegistry.read.checkDescriptor([modelDescriptorOf(shared)]))[0],
    toHex(modelRoot(shared)),
  );
});
