// The float evaluator's convolution (calibration runs it on every sample of 224x224 networks, so it
// accumulates a whole output plane per weight) against the textbook loop, and the import report's
// agreement (now measured on the fast backend) against the reference interpreter.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { runReference } from '../../src/engine/interpreter.ts';
import { conv } from '../../src/onnx/float/nn.ts';
import type { FTensor } from '../../src/onnx/float/tensor.ts';
import { dequantize, importOnnx, quantizeInput } from '../../src/onnx/index.ts';
import type { OnnxNode } from '../../src/onnx/parse.ts';
import { agreement } from '../../src/onnx/report.ts';
import { fixture, ortOutputs, uniformSamples } from './helpers.ts';

/** y[n,m,oy,ox] = b[m] + Σ x[n, g*Cg+c, oy*sh-pt+ky*dh, ox*sw-pl+kx*dw] * w[m,c,ky,kx], taps outside 0. */
function textbookConv(
  x: FTensor,
  w: FTensor,
  b: FTensor | undefined,
  group: number,
  [sh, sw]: number[],
  [pt, pl, pb, pr]: number[],
  [dh, dw]: number[],
): FTensor {
  const [N, C, H, W] = x.shape;
  const [M, Cg, KH, KW] = w.shape;
  const OH = Math.floor((H + pt + pb - (KH - 1) * dh - 1) / sh) + 1;
  const OW = Math.floor((W + pl + pr - (KW - 1) * dw - 1) / sw) + 1;
  const y = new Float64Array(N * M * OH * OW);
  for (let n = 0; n < N; n++)
    for (let m = 0; m < M; m++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let acc = b ? b.data[m] : 0;
          const g = Math.floor(m / (M / group));
          for (let c = 0; c < Cg; c++)
            for (let ky = 0; ky < KH; ky++)
              for (let kx = 0; kx < KW; kx++) {
                const iy = oy * sh - pt + ky * dh;
                const ix = ox * sw - pl + kx * dw;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                acc +=
                  x.data[((n * C + g * Cg + c) * H + iy) * W + ix] *
                  w.data[((m * Cg + c) * KH + ky) * KW + kx];
              }
          y[((n * M + m) * OH + oy) * OW + ox] = acc;
        }
  return { shape: [N, M, OH, OW], data: y, dtype: 'float' };
}

const values = (n: number, r: () => number) => Float64Array.from({ length: n }, () => 2 * r() - 1);

describe('float conv', () => {
  test('equals the textbook loop bit for bit for every stride, pad, dilation and group', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 2 }),
          groups: fc.integer({ min: 1, max: 3 }),
          cg: fc.integer({ min: 1, max: 3 }),
          mg: fc.integer({ min: 1, max: 2 }),
          h: fc.integer({ min: 1, max: 9 }),
          w: fc.integer({ min: 1, max: 9 }),
          kh: fc.integer({ min: 1, max: 3 }),
          kw: fc.integer({ min: 1, max: 3 }),
          strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
          pads: fc.tuple(...Array.from({ length: 4 }, () => fc.integer({ min: 0, max: 3 }))),
          dilations: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
          bias: fc.boolean(),
          seed: fc.integer(),
        }),
        (p) => {
          const [pt, pl, pb, pr] = p.pads;
          const [dh, dw] = p.dilations;
          // Only geometries with at least one output.
          fc.pre(p.h + pt + pb >= (p.kh - 1) * dh + 1 && p.w + pl + pr >= (p.kw - 1) * dw + 1);
          let s = p.seed >>> 0;
          const r = () => {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            return s / 2 ** 32;
          };
          const C = p.groups * p.cg;
          const M = p.groups * p.mg;
          const x: FTensor = {
            shape: [p.n, C, p.h, p.w],
            data: values(p.n * C * p.h * p.w, r),
            dtype: 'float',
          };
          const w: FTensor = {
            shape: [M, p.cg, p.kh, p.kw],
            data: values(M * p.cg * p.kh * p.kw, r),
            dtype: 'float',
          };
          const b: FTensor | undefined = p.bias
            ? { shape: [M], data: values(M, r), dtype: 'float' }
            : undefined;
          const node: OnnxNode = {
            name: 'c',
            opType: 'Conv',
            domain: '',
            inputs: [],
            outputs: [],
            attrs: new Map<string, number | number[]>([
              ['group', p.groups],
              ['strides', p.strides],
              ['pads', p.pads],
              ['dilations', p.dilations],
            ]),
          };
          // Bit for bit: the taps are added in the textbook order, so calibration ranges (and the
          // model IDs that depend on them) are what they were before the loop was reordered.
          const got = conv(node, x, w, b);
          const want = textbookConv(x, w, b, p.groups, p.strides, p.pads, p.dilations);
          assert.deepEqual(got.shape, want.shape);
          assert.deepEqual(Array.from(got.data), Array.from(want.data));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('import report', () => {
  test('the agreement is what the reference interpreter computes', async () => {
    const bytes = fixture('cnn.onnx');
    const calibration = uniformSamples(1, 12, [1, 3, 16, 16]);
    const evaluation = uniformSamples(2, 8, [1, 3, 16, 16]);
    const { model, report } = await importOnnx(bytes, calibration, { name: 'cnn', evaluation });
    const run = (s: (typeof calibration)[number]) =>
      dequantize(model, runReference(model, quantizeInput(model, s)).output);
    const floatCal = await ortOutputs(bytes, calibration);
    const floatEval = await ortOutputs(bytes, evaluation);
    assert.deepEqual(report.agreement, agreement(model, calibration.map(run), floatCal, false));
    assert.deepEqual(report.evaluation, agreement(model, evaluation.map(run), floatEval, false));
    assert.equal(report.agreement.samples, 12);
    assert.ok(report.layers.length > 0);
  });
});
