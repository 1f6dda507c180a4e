// The partial-sum split (segments.ts, engine/convSegments.ts, engine/poolSegments.ts,
// engine/reduceSegments.ts) off chain: the plan of known shapes,
// segments that partition the channels, prefix sums whose requantized total is the reference
// output, and steps that read at most SEGMENT_CHUNKS chunks of x whatever the element and batch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { mulberry32, randomInput } from '../../test/support/randomModel.ts';
import { splitMeanModel, splitPoolModel, wideConv } from '../../test/support/wideModels.ts';
import { clamp, divRound, rq } from '../engine/arith.ts';
import { runReference } from '../engine/interpreter.ts';
import { POOL_SEGMENT_CHUNKS } from '../engine/poolSegments.ts';
import { REDUCE_SEGMENT_CHUNKS } from '../engine/reduceSegments.ts';
import {
  convPlan,
  POOL_SEGMENT_TAPS,
  poolPlan,
  prefixLeaves,
  prefixSums,
  REDUCE_SEGMENT_TAPS,
  reducePlan,
  SEGMENT_CHUNKS,
  segmentChannels,
  segmentNeeds,
  segmentPlan,
  valueLeaf,
} from './segments.ts';
import { chunksOf } from './witnessNeeds.ts';

test('the plan of known shapes', () => {
  // 1x1 over 32 planes of 112x112 (12544 bytes): a chunk per channel, 8 channels a segment.
  assert.deepEqual(convPlan(32, 112, 112, 1, 1, 1, 1), { channels: 8, segments: 4 });
  // 3x3 at 32x32: a window spans 67 bytes (at most 2 chunks); 7 dense planes fit 8 chunks.
  assert.deepEqual(convPlan(24, 32, 32, 3, 3, 1, 1), { channels: 7, segments: 4 });
  // 160 planes of 7x7: 9 chunks in one step, 146 channels (7154 bytes) a segment.
  assert.deepEqual(convPlan(160, 7, 7, 1, 1, 1, 1), { channels: 146, segments: 2 });
  // Few channels, or small planes: one step.
  assert.deepEqual(convPlan(3, 224, 224, 3, 3, 1, 1), { channels: 3, segments: 0 });
  assert.deepEqual(convPlan(128, 7, 7, 1, 1, 1, 1), { channels: 128, segments: 0 });
  assert.deepEqual(convPlan(1, 112, 112, 3, 3, 1, 1), { channels: 1, segments: 0 });
});

test('valueLeaf is keccak256 of the int256 word, two-complement for negatives', () => {
  assert.notDeepEqual(valueLeaf(1), valueLeaf(-1));
  assert.deepEqual(valueLeaf(-1), valueLeaf(-1n));
  assert.deepEqual(prefixLeaves([1, 2], 7).length, 3);
});

const SHAPES: [number, number, number, number, number][] = [
  // C, M, H, W, K
  [64, 3, 32, 32, 1],
  [24, 2, 32, 32, 3],
  [40, 2, 33, 32, 3],
  [20, 2, 16, 130, 1],
];

test('prefix sums requantize to the reference output, and each step reads at most 8 chunks of x', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: SHAPES.length - 1 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (s, batch, seed) => {
        const [C, M, H, W, K] = SHAPES[s];
        const model = wideConv(C, M, H, W, K, s + 1);
        const input = randomInput(model, batch, mulberry32(seed));
        const { trace } = runReference(model, input);
        const run = { model, input, trace };
        const plan = segmentPlan(model, 0);
        assert.ok(plan.segments >= 2);
        // The segments partition the channels.
        let covered = 0;
        for (let i = 0; i < plan.segments; i++) {
          const { c0, n } = segmentChannels(plan, C, i);
          assert.equal(c0, covered);
          assert.ok(n >= 1);
          covered += n;
        }
        assert.equal(covered, C);
        const op = model.ops[0];
        if (op.type !== 'conv') throw new Error('a conv');
        const [bias, mult, shift] = op.inputs.slice(2).map((id) => model.consts.get(id) as Int32Array);
        const rng = mulberry32(seed ^ 1);
        for (let t = 0; t < 4; t++) {
          const e = rng.int(0, trace[0].data.length - 1);
          const sums = prefixSums(run, 0, e);
          assert.equal(sums.length, plan.segments);
          const m = Math.floor(e / (trace[0].shape[2] * trace[0].shape[3])) % M;
          const zy = model.tensors[op.output].zeroPoint;
          const y = clamp(zy + rq(bias[m] + sums[sums.length - 1], mult[m], shift[m]), op.qmin, op.qmax);
          assert.equal(y, trace[0].data[e], `element ${e}`);
          for (let i = 0; i <= plan.segments; i++) {
            const needs = segmentNeeds(run, 0, e, i);
            assert.ok(chunksOf(needs[0], 1).length <= SEGMENT_CHUNKS, `segment ${i} of element ${e}`);
            if (i === plan.segments) assert.equal(needs[0].length, 0);
          }
        }
      },
    ),
    { numRuns: 40, seed: 20261201 },
  );
});

test('the reducemean plan of known shapes', () => {
  // Over the tokens of [T, 64]: 113 values (112 * 64 + 1 bytes) touch at most 8 chunks.
  assert.deepEqual(reducePlan(128, 64), { channels: 113, segments: 2 });
  assert.deepEqual(reducePlan(128, 256), { channels: 29, segments: 5 });
  // A value per chunk: 8 a segment.
  assert.deepEqual(reducePlan(64, 1024), { channels: 8, segments: 8 });
  // Contiguous or short: one step; a very long contiguous axis in segments of at most 1024 taps.
  assert.deepEqual(reducePlan(2048, 1), { channels: 2048, segments: 0 });
  assert.deepEqual(reducePlan(16, 64), { channels: 16, segments: 0 });
  assert.deepEqual(reducePlan(8192, 1), { channels: REDUCE_SEGMENT_TAPS, segments: 8 });
});

test('reducemean prefix sums average to the reference output, each step reads at most 8 chunks', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 3 }), (seed, batch) => {
      const r = mulberry32(seed);
      const model = splitMeanModel(r);
      const input = randomInput(model, batch, r);
      const { trace } = runReference(model, input);
      const run = { model, input, trace };
      const op = model.ops[0];
      if (op.type !== 'reducemean') throw new Error('a reducemean');
      const plan = segmentPlan(model, 0);
      assert.ok(plan.segments >= 2);
      const len = model.tensors[op.inputs[0]].shape[op.axis];
      const zy = model.tensors[op.output].zeroPoint;
      for (let t = 0; t < 4; t++) {
        const e = r.int(0, trace[0].data.length - 1);
        const sums = prefixSums(run, 0, e);
        assert.equal(sums.length, plan.segments);
        const y = clamp(zy + divRound(sums[sums.length - 1] * op.mult, len * 2 ** op.shift), 0, 255);
        assert.equal(y, trace[0].data[e], `element ${e}`);
        let values = 0;
        for (let i = 0; i <= plan.segments; i++) {
          const [needs] = segmentNeeds(run, 0, e, i);
          assert.ok(chunksOf(needs, 1).length <= REDUCE_SEGMENT_CHUNKS, `segment ${i} of element ${e}`);
          values += needs.length;
        }
        assert.equal(values, len, 'the segments partition the axis');
      }
    }),
    { numRuns: 30, seed: 20261202 },
  );
});

test('the avgpool plan of known shapes', () => {
  // Global pools at 224x224 input: 18 rows of 56 (1008 taps) a segment, 9 rows of 112.
  assert.deepEqual(poolPlan(56, 56, 56), { channels: 18, segments: 4 });
  assert.deepEqual(poolPlan(112, 112, 112), { channels: 9, segments: 13 });
  // 36x36 windows over 40-wide rows: 28 rows (1008 taps, 1116 bytes) a segment.
  assert.deepEqual(poolPlan(36, 36, 40), { channels: 28, segments: 2 });
  // 1024 taps or fewer: one step.
  assert.deepEqual(poolPlan(32, 32, 32), { channels: 32, segments: 0 });
  assert.deepEqual(poolPlan(7, 7, 7), { channels: 7, segments: 0 });
  // Rows of more than 1024 taps, or of 600: one row a segment (the tap bound).
  assert.deepEqual(poolPlan(4, 2048, 2048), { channels: 1, segments: 4 });
  assert.deepEqual(poolPlan(3, 600, 4096), { channels: 1, segments: 3 });
  // Rows of 16 taps 4096 bytes apart: up to 2 chunks each, 4 rows a segment (the chunk bound).
  assert.deepEqual(poolPlan(80, 16, 4096), { channels: 4, segments: 20 });
});

test('avgpool prefix sums average to the reference output, each step reads at most 8 chunks', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 3 }), (seed, batch) => {
      const r = mulberry32(seed);
      const model = splitPoolModel(r);
      const input = randomInput(model, batch, r);
      const { trace } = runReference(model, input);
      const run = { model, input, trace };
      const op = model.ops[0];
      if (op.type !== 'avgpool') throw new Error('an avgpool');
      const plan = segmentPlan(model, 0);
      assert.ok(plan.segments >= 2);
      const [, , H, W] = input.shape;
      const [, , OH, OW] = trace[0].shape;
      const zy = model.tensors[op.output].zeroPoint;
      for (let t = 0; t < 4; t++) {
        const e = r.int(0, trace[0].data.length - 1);
        const sums = prefixSums(run, 0, e);
        assert.equal(sums.length, plan.segments);
        const oy = Math.floor(e / OW) % OH;
        const ox = e % OW;
        const rows: number =
          Math.min(H, oy * op.strides[0] - op.pads[0] + op.kernel[0]) -
          Math.max(0, oy * op.strides[0] - op.pads[0]);
        const cols: number =
          Math.min(W, ox * op.strides[1] - op.pads[1] + op.kernel[1]) -
          Math.max(0, ox * op.strides[1] - op.pads[1]);
        const count = op.countIncludePad ? op.kernel[0] * op.kernel[1] : rows * cols;
        const y = clamp(zy + divRound(sums[sums.length - 1] * op.mult, count * 2 ** op.shift), 0, 255);
        assert.equal(y, trace[0].data[e], `element ${e}`);
        let taps = 0;
        for (let i = 0; i <= plan.segments; i++) {
          const [needs] = segmentNeeds(run, 0, e, i);
          assert.ok(chunksOf(needs, 1).length <= POOL_SEGMENT_CHUNKS, `segment ${i} of element ${e}`);
          assert.ok(needs.length <= POOL_SEGMENT_TAPS, `segment ${i} of element ${e}`);
          taps += needs.length;
        }
        assert.equal(taps, rows * cols, 'the segments partition the in-bounds window');
        assert.equal(
          new Set([...Array(plan.segments + 1).keys()].flatMap((i) => segmentNeeds(run, 0, e, i)[0])).size,
          taps,
        );
      }
    }),
    { numRuns: 30, seed: 20261203 },
  );
});
