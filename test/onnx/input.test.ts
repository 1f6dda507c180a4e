// parseFloatInput, quantizeInput and dequantize.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Model } from '../../src/engine/graph.ts';
import { InputError } from '../../src/errors/base.ts';
import { dequantize, parseFloatInput, quantizeInput } from '../../src/onnx/index.ts';

/** A one-op model with the given input quantization (only the input/output metadata matters here). */
function tinyModel(scale: number, zeroPoint: number, dtype: 'u8' | 'i32' = 'u8'): Model {
  return {
    meta: { name: 't', version: '1', inputKind: 'tensor' },
    tensors: [
      {
        id: 0,
        name: 'x',
        kind: 'input',
        dtype,
        shape: [1, 4],
        zeroPoint: dtype === 'u8' ? zeroPoint : 0,
        scale,
      },
      { id: 1, name: 'table', kind: 'const', dtype: 'u8', shape: [256], zeroPoint: 0, scale: 1 },
      { id: 2, name: 'y', kind: 'activation', dtype: 'u8', shape: [1, 4], zeroPoint: 3, scale: 0.25 },
    ],
    ops: [{ type: 'lut', name: 'lut', inputs: [0, 1], output: 2 }],
    consts: new Map([[1, new Uint8Array(256)]]),
    input: 0,
    output: 2,
  };
}

const nested = (shape: number[], data: number[]): unknown => {
  if (shape.length === 0) return data[0];
  const [d, ...rest] = shape;
  const per = data.length / d;
  return Array.from({ length: d }, (_, i) => nested(rest, data.slice(i * per, (i + 1) * per)));
};

describe('parseFloatInput', () => {
  test('nested arrays', () => {
    assert.deepEqual(
      parseFloatInput([
        [1, 2, 3],
        [4, 5, 6],
      ]),
      { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
    );
    assert.deepEqual(parseFloatInput([0.5]), { shape: [1], data: [0.5] });
  });

  test('{ shape, data }', () => {
    assert.deepEqual(parseFloatInput({ shape: [1, 2], data: [0.1, -2] }), { shape: [1, 2], data: [0.1, -2] });
  });

  const bad: [string, unknown, RegExp][] = [
    ['ragged arrays', [[1, 2], [3]], /Ragged/],
    ['ragged depth', [[1, 2], 3], /Ragged/],
    ['a string element', [1, '2'], /Expected a number at \[1\]/],
    ['null element', [[1, null]], /Expected a number at \[0\]\[1\]/],
    ['a boolean element', { shape: [2], data: [1, true] }, /"data"\[1\]/],
    ['NaN', [1, Number.NaN], /finite/],
    ['Infinity', { shape: [1], data: [Number.POSITIVE_INFINITY] }, /finite/],
    ['an empty array', [], /Empty array/],
    ['an empty inner array', [[]], /Empty array/],
    ['shape/data length mismatch', { shape: [2, 2], data: [1, 2, 3] }, /needs 4/],
    ['a non-integer dimension', { shape: [1.5], data: [1] }, /positive integer/],
    ['a zero dimension', { shape: [0], data: [] }, /positive integer/],
    ['a missing data field', { shape: [1] }, /"shape" and "data"/],
    ['data that is not an array', { shape: [1], data: 'abc' }, /"data" must be an array/],
    ['a number', 3, /Expected a tensor/],
    ['null', null, /Expected a tensor/],
    ['a string', 'hello', /Expected a tensor/],
  ];
  for (const [what, json, message] of bad) {
    test(`rejects ${what}`, () => {
      assert.throws(
        () => parseFloatInput(json),
        (err: unknown) => err instanceof InputError && message.test(err.message),
      );
    });
  }

  test('property: nested arrays and { shape, data } agree', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), {
              minLength: shape.reduce((p, d) => p * d, 1),
              maxLength: shape.reduce((p, d) => p * d, 1),
            }),
          ),
        ),
        ([shape, data]) => {
          const a = parseFloatInput(nested(shape, data));
          const b = parseFloatInput({ shape, data });
          assert.deepEqual(a, b);
          assert.deepEqual(a.shape, shape);
        },
      ),
    );
  });

  test('property: arbitrary JSON either parses or throws InputError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        try {
          const t = parseFloatInput(json);
          assert.equal(
            t.data.length,
            t.shape.reduce((p, d) => p * d, 1),
          );
        } catch (err) {
          assert.ok(err instanceof InputError, String(err));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('quantizeInput and dequantize', () => {
  test('rounds half away from zero and clamps to [0, 255]', () => {
    const m = tinyModel(0.5, 10);
    const q = quantizeInput(m, { shape: [1, 4], data: [0.25, -0.25, 1000, -1000] });
    assert.deepEqual(Array.from(q.data), [11, 9, 255, 0]);
    assert.equal(q.zeroPoint, 10);
    assert.equal(q.dtype, 'u8');
  });

  test('property: quantization matches the formula and is deterministic', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-4, max: 10, noNaN: true }),
        fc.integer({ min: 0, max: 255 }),
        fc.array(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 4, maxLength: 4 }),
        (scale, zp, xs) => {
          const m = tinyModel(scale, zp);
          const q = quantizeInput(m, { shape: [1, 4], data: xs });
          xs.forEach((x, i) => {
            const r = x / scale;
            const rounded = r < 0 ? -Math.round(-r) : Math.round(r);
            assert.equal(q.data[i], Math.min(255, Math.max(0, rounded + zp)));
          });
          assert.deepEqual(quantizeInput(m, { shape: [1, 4], data: Float32Array.from(xs) }).shape, [1, 4]);
        },
      ),
    );
  });

  test('integer inputs pass through', () => {
    const m = tinyModel(1, 0, 'i32');
    assert.deepEqual(
      Array.from(quantizeInput(m, { shape: [1, 4], data: [0, 5, -1, 70000] }).data),
      [0, 5, -1, 70000],
    );
    assert.throws(() => quantizeInput(m, { shape: [1, 4], data: [0, 5.5, 1, 2] }), InputError);
    assert.throws(() => quantizeInput(m, { shape: [1, 4], data: [0, 2 ** 40, 1, 2] }), InputError);
  });

  test('batch handling and shape errors', () => {
    const m = tinyModel(1, 0);
    assert.deepEqual(quantizeInput(m, { shape: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] }).shape, [2, 4]);
    assert.deepEqual(quantizeInput(m, { shape: [4], data: [1, 2, 3, 4] }).shape, [1, 4]);
    assert.throws(
      () => quantizeInput(m, { shape: [1, 5], data: [1, 2, 3, 4, 5] }),
      /does not fit the model input \[B,4\]/,
    );
    assert.throws(() => quantizeInput(m, { shape: [1, 4], data: [1, 2, 3] }), InputError);
  });

  test('dequantize uses the output scale and zero point', () => {
    const m = tinyModel(1, 0);
    assert.deepEqual(
      dequantize(m, { dtype: 'u8', shape: [1, 4], data: Uint8Array.of(3, 4, 0, 255), zeroPoint: 3 }),
      [0, 0.25, -0.75, 63],
    );
  });
});
