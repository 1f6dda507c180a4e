// Resize (and the older Upsample) in nearest mode lower to exact selections: every coordinate
// transformation and nearest mode must reproduce onnxruntime's index maps, scales and sizes alike.
// Interpolating modes are refused by name.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UnsupportedOpError } from '../../src/errors/base.ts';
import { importOnnx } from '../../src/onnx/index.ts';
import { exact, floats, int64 } from './exact.ts';
import { normalSamples } from './helpers.ts';
import { buildOnnx, type GraphSpec } from './onnxBuilder.ts';

function resizeGraph(
  inDims: number[],
  how: { scales: number[] } | { sizes: number[] },
  attrs: Record<string, string>,
  opset = 13,
): GraphSpec {
  const sizes = 'sizes' in how;
  // Before opset 13, roi and scales are required inputs (empty tensors stand for "not given").
  const empty = opset < 13 ? 'e' : '';
  return {
    input: { name: 'x', dims: inDims },
    output: 'y',
    opset,
    nodes: [
      { op: 'Resize', inputs: ['x', empty, sizes ? empty : 's', sizes ? 'n' : ''], outputs: ['y'], attrs },
    ],
    initializers: [sizes ? int64('n', how.sizes) : floats('s', how.scales), floats('e', [])],
  };
}

describe('Resize (nearest)', () => {
  // half_pixel_symmetric exists from opset 19.
  const coordinateModes: [string, number][] = [
    ['half_pixel', 13],
    ['pytorch_half_pixel', 13],
    ['align_corners', 13],
    ['asymmetric', 13],
    ['half_pixel_symmetric', 19],
  ];
  const nearestModes = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];
  for (const [c, opset] of coordinateModes) {
    for (const n of nearestModes) {
      test(`${c} / ${n}: upscale by sizes, downscale by scales`, async () => {
        const attrs = { mode: 'nearest', coordinate_transformation_mode: c, nearest_mode: n };
        await exact(resizeGraph([1, 2, 5, 7], { sizes: [1, 2, 8, 11] }, attrs, opset), [1, 2, 5, 7]);
        await exact(resizeGraph([1, 2, 6, 7], { scales: [1, 1, 0.5, 0.75] }, attrs, opset), [1, 2, 6, 7]);
      });
    }
  }

  test('Upsample (opset 9) doubles height and width', async () => {
    const { model } = await exact(
      {
        input: { name: 'x', dims: [1, 3, 4, 4] },
        output: 'y',
        opset: 9,
        nodes: [{ op: 'Upsample', inputs: ['x', 's'], outputs: ['y'], attrs: { mode: 'nearest' } }],
        initializers: [floats('s', [1, 1, 2, 2])],
      },
      [1, 3, 4, 4],
    );
    assert.deepEqual(model.tensors[model.output].shape, [1, 3, 8, 8]);
  });

  for (const mode of ['linear', 'cubic']) {
    test(`mode ${mode} is refused with UnsupportedOpError`, async () => {
      const bytes = buildOnnx(resizeGraph([1, 1, 4, 4], { scales: [1, 1, 2, 2] }, { mode }));
      await assert.rejects(
        importOnnx(bytes, normalSamples(1, 2, [1, 1, 4, 4]), { name: 'r' }),
        (e: unknown) =>
          e instanceof UnsupportedOpError &&
          /mode "\w+" interpolates.*only mode "nearest"/.test((e as Error).message),
      );
    });
  }

  test('tf_crop_and_resize is refused with UnsupportedOpError', async () => {
    const attrs = { mode: 'nearest', coordinate_transformation_mode: 'tf_crop_and_resize' };
    const bytes = buildOnnx(resizeGraph([1, 1, 4, 4], { scales: [1, 1, 2, 2] }, attrs));
    await assert.rejects(
      importOnnx(bytes, normalSamples(1, 2, [1, 1, 4, 4]), { name: 'r' }),
      (e: unknown) => e instanceof UnsupportedOpError && /tf_crop_and_resize/.test((e as Error).message),
    );
  });
});
