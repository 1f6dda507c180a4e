// Unit tests of the random model generator (test/support/randomModel.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Model } from '../../src/engine/graph.ts';
import { checkInput, validateGraph, validateModel } from '../../src/engine/validate.ts';
import {
  arbCase,
  chainModel,
  extremeAccumulatorModels,
  mulberry32,
  namedChainModel,
  OP_TYPES,
  randomCase,
  randomInput,
  singleOpModel,
} from '../support/randomModel.ts';

/** A canonical string of a model (tensors, ops and constant bytes) to compare determinism. */
function fingerprint(m: Model): string {
  const consts = [...m.consts].map(
    ([id, d]) =>
      `${id}:${d.constructor.name}:${Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64')}`,
  );
  return JSON.stringify({ tensors: m.tensors, ops: m.ops, consts, input: m.input, output: m.output });
}

describe('mulberry32', () => {
  test('is deterministic and stays in range', () => {
    const a = mulberry32(123);
    const b = mulberry32(123);
    for (let i = 0; i < 1000; i++) {
      const x = a.next();
      assert.equal(x, b.next());
      assert.ok(x >= 0 && x < 1);
      const k = a.int(-3, 5);
      b.int(-3, 5);
      assert.ok(Number.isInteger(k) && k >= -3 && k <= 5);
    }
    assert.notEqual(mulberry32(1).next(), mulberry32(2).next());
  });

  test('int covers both ends of its range', () => {
    const r = mulberry32(9);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(r.int(0, 9));
    assert.equal(seen.size, 10);
  });
});

describe('random models', () => {
  test('3000 random cases: every model validates, every input fits, every op type appears', () => {
    const counts = new Map<string, number>();
    let extreme = 0;
    const batches = new Set<number>();
    for (let seed = 0; seed < 3000; seed++) {
      const c = randomCase(seed);
      validateModel(c.model);
      assert.equal(checkInput(c.model, c.input), c.batch);
      assert.ok(c.batch >= 1 && c.batch <= 4);
      batches.add(c.batch);
      if (c.kind.includes('extreme')) extreme++;
      for (const op of c.model.ops) counts.set(op.type, (counts.get(op.type) ?? 0) + 1);
    }
    for (const type of OP_TYPES)
      assert.ok((counts.get(type) ?? 0) > 20, `op type ${type} appears ${counts.get(type) ?? 0} times`);
    assert.deepEqual([...batches].sort(), [1, 2, 3, 4]);
    assert.ok(extreme > 3000 * 0.15 && extreme < 3000 * 0.35, `${extreme} extreme cases`);
  });

  test('single-op models of every type contain that op and validate (normal and extreme)', () => {
    for (const type of OP_TYPES) {
      for (let k = 0; k < 60; k++) {
        const model = singleOpModel({ rng: mulberry32(k * 31 + type.length), extreme: k % 3 === 0 }, type);
        validateModel(model);
        assert.ok(
          model.ops.some((op) => op.type === type),
          `${type}: ${model.ops.map((o) => o.type).join(',')}`,
        );
        assert.equal(model.ops[model.ops.length - 1].type, type);
      }
    }
  });

  test('the generator covers the parameter features the differential tests rely on', () => {
    const f = {
      depthwise: 0,
      grouped: 0,
      strided: 0,
      dilated: 0,
      perTensorMatmul: 0,
      perChannel: 0,
      actMatmul: 0,
      actMatmulBroadcast: 0,
      broadcastAdd: 0,
      shift0: 0,
      shift40: 0,
      multMax: 0,
      zp0: 0,
      zp255: 0,
      narrow: 0,
      weightsMin: 0,
      weightsMax: 0,
      countIncludePad: 0,
      pool2x2: 0,
    };
    for (let seed = 0; seed < 3000; seed++) {
      const { model } = randomCase(seed);
      const t = model.tensors;
      const c = (id: number) => model.consts.get(id);
      for (const tensor of t) {
        if (tensor.dtype === 'u8' && tensor.zeroPoint === 0) f.zp0++;
        if (tensor.dtype === 'u8' && tensor.zeroPoint === 255) f.zp255++;
      }
      for (const op of model.ops) {
        if ('qmin' in op && op.qmax - op.qmin <= 1) f.narrow++;
        if (op.type === 'conv' || op.type === 'matmul') {
          const mult = c(op.inputs[3]) as Int32Array;
          const shift = c(op.inputs[4]) as Int32Array;
          if (shift.includes(0)) f.shift0++;
          if (shift.includes(40)) f.shift40++;
          if (mult.includes(2 ** 15 - 1)) f.multMax++;
          if (mult.length > 1) f.perChannel++;
          const w = c(op.inputs[1]);
          if (w instanceof Int8Array && w.length > 1 && w.every((v) => v === -128)) f.weightsMin++;
          if (w instanceof Int8Array && w.length > 1 && w.every((v) => v === 127)) f.weightsMax++;
        }
        if (op.type === 'conv') {
          const C = t[op.inputs[0]].shape[1];
          if (op.group === C && C > 1) f.depthwise++;
          else if (op.group > 1) f.grouped++;
          if (op.strides.some((s) => s > 1)) f.strided++;
          if (op.dilations.some((d) => d > 1)) f.dilated++;
        }
        if (op.type === 'matmul') {
          if ((c(op.inputs[3]) as Int32Array).length === 1) f.perTensorMatmul++;
          const b = t[op.inputs[1]];
          if (b.kind === 'activation' || b.kind === 'input') {
            f.actMatmul++;
            const a = t[op.inputs[0]];
            if (a.shape.slice(0, -2).join() !== b.shape.slice(0, -2).join()) f.actMatmulBroadcast++;
          }
        }
        if (op.type === 'add' || op.type === 'mul') {
          if (t[op.inputs[0]].shape.join() !== t[op.inputs[1]].shape.join()) f.broadcastAdd++;
        }
        if (op.type === 'avgpool' && op.countIncludePad && op.pads.some((p) => p > 0)) f.countIncludePad++;
        if ((op.type === 'avgpool' || op.type === 'maxpool') && op.kernel.join() === '2,2') f.pool2x2++;
      }
    }
    for (const [k, v] of Object.entries(f)) assert.ok(v >= 10, `${k}: only ${v}`);
  });

  test('chains have 2..8 ops (plus adapters) and validate', () => {
    for (let seed = 0; seed < 300; seed++) {
      const model = chainModel({ rng: mulberry32(seed), extreme: seed % 4 === 0 });
      validateModel(model);
      assert.ok(model.ops.length >= 2, `${model.ops.length} ops`);
    }
    for (let seed = 0; seed < 50; seed++) {
      const conv = namedChainModel({ rng: mulberry32(seed), extreme: false }, 0);
      const text = namedChainModel({ rng: mulberry32(seed), extreme: true }, 1);
      validateModel(conv);
      validateModel(text);
      assert.deepEqual(
        conv.ops.map((o) => o.type),
        ['conv', 'maxpool', 'reshape', 'matmul'],
      );
      assert.deepEqual(
        text.ops.map((o) => o.type),
        ['gather', 'layernorm', 'matmul', 'softmax'],
      );
    }
  });

  test('the same seed gives the same case', () => {
    for (const seed of [0, 1, 17, 4242, 2 ** 31 - 1]) {
      const a = randomCase(seed);
      const b = randomCase(seed);
      assert.equal(fingerprint(a.model), fingerprint(b.model));
      assert.deepEqual(a.input, b.input);
      assert.equal(a.batch, b.batch);
    }
    assert.notEqual(fingerprint(randomCase(5).model), fingerprint(randomCase(6).model));
  });

  test('fast-check arbitrary: cases validate (200 runs)', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        validateModel(c.model);
        checkInput(c.model, c.input);
      }),
      { numRuns: 200 },
    );
  });

  test('extreme accumulator models pass the graph rules, and sit exactly at the int32 bound', () => {
    const models = extremeAccumulatorModels();
    assert.ok(models.length > 40);
    for (const { name, model } of models) {
      // Their reductions (up to 65793 taps) are far too long for one on-chain step, so only the
      // engine's rules apply.
      validateGraph(model);
      for (const op of model.ops) {
        if (op.type !== 'conv' && op.type !== 'matmul') continue;
        const bias = model.consts.get(op.inputs[2]) as Int32Array;
        const maxBias = Math.max(...Array.from(bias, Math.abs));
        const b = model.tensors[op.inputs[1]];
        const taps =
          op.type === 'conv'
            ? b.shape.slice(1).reduce((p, d) => p * d, 1)
            : model.tensors[op.inputs[0]].shape[model.tensors[op.inputs[0]].shape.length - 1];
        const product = b.kind === 'const' ? 255 * 128 : 255 * 255;
        if (!name.startsWith('saturation')) assert.equal(taps * product + maxBias, 2 ** 31 - 1, name);
      }
    }
  });

  test('randomInput: modes, batch sizes, token ids inside the vocabulary', () => {
    const rng = mulberry32(1);
    for (let seed = 0; seed < 200; seed++) {
      const { model } = randomCase(seed);
      for (const batch of [1, 2, 3, 4]) {
        for (const mode of ['random', 'zeros', 'max', 'extreme'] as const) {
          const input = randomInput(model, batch, rng, mode);
          assert.equal(checkInput(model, input), batch);
          if (input.dtype === 'u8' && mode === 'zeros') assert.ok(input.data.every((v) => v === 0));
          if (input.dtype === 'u8' && mode === 'max') assert.ok(input.data.every((v) => v === 255));
          if (input.dtype === 'i32') {
            for (const op of model.ops) {
              if (op.type === 'gather' && op.inputs[1] === model.input) {
                const V = model.tensors[op.inputs[0]].shape[0];
                assert.ok(input.data.every((id) => id >= 0 && id < V));
              }
            }
          }
        }
      }
    }
  });
});
