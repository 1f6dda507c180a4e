// The benchmark CNN: a MobileNetV2 (Sandler et al. 2018) as a float ONNX graph with seeded weights,
// the layout of a torchvision export with batch norm folded into the convolutions:
//
//   stem      Conv 3×3 stride 2, Clip 0..6                               [N,32α,R/2,R/2]
//   17 inverted residual blocks (t, c, n, s) of the paper's table 2:
//     expand  Conv 1×1 to t·cin, Clip 0..6                               (skipped for t = 1)
//     depth   Conv 3×3 group = t·cin, stride s, Clip 0..6
//     project Conv 1×1 to c (linear)
//     Add     the block input, when s = 1 and cin = c
//   last      Conv 1×1 to 1280, Clip 0..6
//   head      GlobalAveragePool, Flatten, Gemm to the classes            [N,classes]
//
// Weights are He-like (variance 2/fanIn before a Clip, 1/fanIn for linear layers) so activations
// keep their scale through the 53 convolutions; biases stand for folded batch-norm shifts.
import { bellFloats, heFloats, uniformFloats } from './floatInit.ts';
import { ONNX_FLOAT, OnnxGraphWriter } from './onnxWriter.ts';
import { seededInts } from './seeded.ts';

export interface MobileNetOptions {
  /** Width multiplier α (channels are α·c rounded to a multiple of 8, as in torchvision). */
  width?: number;
  /** Input height and width. */
  resolution?: number;
  classes?: number;
  /** Channels of the last 1×1 convolution (1280 in the paper). */
  lastChannels?: number;
  seed?: number;
}

export const MOBILENET_DEFAULTS: Required<MobileNetOptions> = {
  width: 1,
  resolution: 224,
  classes: 1000,
  lastChannels: 1280,
  seed: 1,
};

/** (expansion t, channels c, repeats n, first stride s) of MobileNetV2's table 2. */
const BLOCKS: [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/** torchvision's _make_divisible: round to a multiple of 8, never below 90% of the target. */
function divisible(v: number): number {
  const r = Math.max(8, Math.floor((v + 4) / 8) * 8);
  return r < 0.9 * v ? r + 8 : r;
}

export function mobileNetOptions(options: MobileNetOptions = {}): Required<MobileNetOptions> {
  const o = { ...MOBILENET_DEFAULTS, ...options };
  if (!(o.width > 0 && o.width <= 4)) throw new RangeError(`width ${o.width} must be in (0, 4].`);
  if (!Number.isInteger(o.resolution) || o.resolution < 32 || o.resolution % 32 !== 0)
    throw new RangeError(`resolution ${o.resolution} must be a multiple of 32.`);
  for (const k of ['classes', 'lastChannels'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 2) throw new RangeError(`${k} ${o[k]} must be an integer >= 2.`);
  }
  return o;
}

/** The float ONNX bytes of the MobileNetV2 with these options (the same options, the same bytes). */
export function buildMobileNetOnnx(options: MobileNetOptions = {}): Uint8Array {
  const o = mobileNetOptions(options);
  const rng = seededInts(o.seed);
  const g = new OnnxGraphWriter(17);
  const lo = g.scalar('clip_min', 0);
  const hi = g.scalar('clip_max', 6);
  const x0 = g.input('image', ONNX_FLOAT, ['N', 3, o.resolution, o.resolution]);

  /** Conv with folded batch norm; `relu6` picks the He gain and the Clip after it. */
  const conv = (
    x: string,
    cin: number,
    cout: number,
    k: number,
    stride: number,
    group: number,
    relu6: boolean,
  ) => {
    const fanIn = (cin / group) * k * k;
    const w = g.floats(
      g.fresh('w'),
      [cout, cin / group, k, k],
      heFloats(rng, cout * fanIn, fanIn, relu6 ? 2 : 1),
    );
    // Folded shifts in [-1/8, 1/8]: small next to unit-scale activations.
    const b = g.floats(g.fresh('b'), [cout], uniformFloats(rng, cout, -2048, 2048));
    const p = (k - 1) / 2;
    const y = g.op('Conv', [x, w, b], {
      kernel_shape: [k, k],
      strides: [stride, stride],
      pads: [p, p, p, p],
      dilations: [1, 1],
      group,
    });
    return relu6 ? g.op('Clip', [y, lo, hi]) : y;
  };

  let c = divisible(32 * o.width);
  let x = conv(x0, 3, c, 3, 2, 1, true);
  for (const [t, ch, n, s] of BLOCKS) {
    const cout = divisible(ch * o.width);
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const hidden = c * t;
      let h = t === 1 ? x : conv(x, c, hidden, 1, 1, 1, true);
      h = conv(h, hidden, hidden, 3, stride, hidden, true);
      h = conv(h, hidden, cout, 1, 1, 1, false);
      x = stride === 1 && c === cout ? g.op('Add', [x, h]) : h;
      c = cout;
    }
  }
  const last = o.lastChannels;
  x = conv(x, c, last, 1, 1, 1, true);
  x = g.op('GlobalAveragePool', [x]);
  x = g.op('Flatten', [x], { axis: 1 });
  const wfc = g.floats('fc_w', [o.classes, last], heFloats(rng, o.classes * last, last, 1));
  const bfc = g.floats('fc_b', [o.classes], bellFloats(rng, o.classes, 1, 1024));
  const logits = g.op(
    'Gemm',
    [x, wfc, bfc],
    { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 },
    'logits',
  );
  g.output(logits, ONNX_FLOAT, ['N', o.classes]);
  return g.encode();
}

/**
 * `count` seeded images [1,3,R,R] with pixel values k/255: a coarse 7×7 colour grid, upsampled,
 * plus pixel noise, so that images differ in their large-scale content (which survives the global
 * pooling) and not only in noise.
 */
export function mobileNetInputs(seed: number, count: number, resolution = 224): Float32Array[] {
  const rng = seededInts(seed);
  const grid = 7;
  const out: Float32Array[] = [];
  for (let s = 0; s < count; s++) {
    const coarse = Array.from({ length: 3 * grid * grid }, () => rng.int(0, 255));
    const img = new Float32Array(3 * resolution * resolution);
    for (let ch = 0; ch < 3; ch++) {
      for (let y = 0; y < resolution; y++) {
        const gy = Math.floor((y * grid) / resolution);
        for (let x = 0; x < resolution; x++) {
          const gx = Math.floor((x * grid) / resolution);
          const v = coarse[(ch * grid + gy) * grid + gx] + rng.int(-24, 24);
          img[(ch * resolution + y) * resolution + x] = Math.min(255, Math.max(0, v)) / 255;
        }
      }
    }
    out.push(img);
  }
  return out;
}
