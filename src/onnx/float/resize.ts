// Float reference of Resize (opset 10+) and Upsample (opset 7-9) in nearest mode. Nearest
// resizing only moves elements: output coordinate j on axis a reads input coordinate src_a[j],
// so the lowering turns the same index maps into exact selections. Other modes interpolate and
// are refused by name.
import { OnnxFormatError, UnsupportedOpError } from '../../errors/base.ts';
import type { OnnxNode } from '../parse.ts';
import { attrInts, attrString } from './attrs.ts';
import { alloc, type FTensor, intsOf, normAxis, sizeOf, stridesOf } from './tensor.ts';

const COORDINATE_MODES = new Set([
  'half_pixel',
  'half_pixel_symmetric',
  'pytorch_half_pixel',
  'align_corners',
  'asymmetric',
]);
const NEAREST_MODES = new Set(['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']);

function refuse(node: OnnxNode, why: string): never {
  throw new UnsupportedOpError(`Node "${node.name}" (${node.opType}) is not supported: ${why}`);
}

function bad(node: OnnxNode, why: string): never {
  throw new OnnxFormatError(`Node "${node.name}" (${node.opType}): ${why}`);
}

interface Plan {
  outShape: number[];
  /** Per axis: the scale the coordinate transform divides by (float32, as onnxruntime computes it). */
  scales: number[];
  coordinate: string;
  nearest: string;
}

function plan(node: OnnxNode, x: FTensor, ins: (FTensor | undefined)[], opset: number): Plan {
  const rank = x.shape.length;
  const mode = attrString(node, 'mode', 'nearest');
  if (mode !== 'nearest')
    refuse(
      node,
      `mode "${mode}" interpolates between elements, which has no exact integer form here; only mode "nearest" is supported (export with mode='nearest').`,
    );
  const upsample = node.opType === 'Upsample';
  const coordinate =
    upsample || opset < 11 ? 'asymmetric' : attrString(node, 'coordinate_transformation_mode', 'half_pixel');
  if (!COORDINATE_MODES.has(coordinate))
    refuse(
      node,
      `coordinate_transformation_mode "${coordinate}" is not supported (supported: ${[...COORDINATE_MODES].join(', ')}).`,
    );
  const nearest = upsample || opset < 11 ? 'floor' : attrString(node, 'nearest_mode', 'round_prefer_floor');
  if (!NEAREST_MODES.has(nearest)) refuse(node, `nearest_mode "${nearest}" is not supported.`);
  const policy = attrString(node, 'keep_aspect_ratio_policy', 'stretch');
  const axes = (attrInts(node, 'axes') ?? x.shape.map((_, i) => i)).map((a) => normAxis(a, rank));
  if (new Set(axes).size !== axes.length) bad(node, 'the axes repeat.');

  let scalesIn: number[] | undefined;
  let sizesIn: number[] | undefined;
  if (upsample) {
    scalesIn = opset < 9 ? attrInts(node, 'scales') : ins[1] ? Array.from(ins[1].data) : undefined;
  } else if (opset < 11) {
    scalesIn = ins[1] ? Array.from(ins[1].data) : undefined;
  } else {
    if (ins[2] && ins[2].data.length > 0) scalesIn = Array.from(ins[2].data);
    if (ins[3] && ins[3].data.length > 0) sizesIn = intsOf(ins[3]);
  }
  if ((scalesIn === undefined) === (sizesIn === undefined))
    bad(node, 'exactly one of scales and sizes must be given.');
  const given = (scalesIn ?? sizesIn) as number[];
  if (given.length !== axes.length) bad(node, `${given.length} scales or sizes for ${axes.length} axes.`);

  const outShape = [...x.shape];
  const scales = x.shape.map(() => 1);
  if (scalesIn) {
    axes.forEach((a, i) => {
      const s = Math.fround(scalesIn[i]);
      if (!(s > 0) || !Number.isFinite(s)) bad(node, `scale ${scalesIn[i]} must be positive and finite.`);
      scales[a] = s;
      outShape[a] = Math.floor(x.shape[a] * s);
    });
  } else {
    const sizes = sizesIn as number[];
    let ratios = axes.map((a, i) => sizes[i] / x.shape[a]);
    if (policy !== 'stretch') {
      if (policy !== 'not_larger' && policy !== 'not_smaller')
        bad(node, `keep_aspect_ratio_policy "${policy}" is unknown.`);
      const r = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      ratios = axes.map(() => r);
    }
    axes.forEach((a, i) => {
      scales[a] = Math.fround(ratios[i]);
      outShape[a] = policy === 'stretch' ? sizes[i] : Math.round(x.shape[a] * ratios[i]);
    });
  }
  if (outShape.some((d) => !Number.isInteger(d) || d < 1)) bad(node, `output shape [${outShape}] is empty.`);
  return { outShape, scales, coordinate, nearest };
}

/** The input coordinate of output coordinate `j` on an axis of length `len` (float32 steps). */
function sourceIndex(p: Plan, j: number, len: number, out: number, scale: number): number {
  const f = Math.fround;
  let c: number;
  switch (p.coordinate) {
    case 'asymmetric':
      c = f(j / scale);
      break;
    case 'align_corners':
      c = out === 1 ? 0 : f(f(j * (len - 1)) / (out - 1));
      break;
    case 'pytorch_half_pixel':
      c = out > 1 ? f(f(f(j + 0.5) / scale) - 0.5) : 0;
      break;
    case 'half_pixel_symmetric': {
      const adjustment = f(out / f(scale * len));
      const offset = f(f(len / 2) * f(1 - adjustment));
      c = f(offset + f(f(f(j + 0.5) / scale) - 0.5));
      break;
    }
    default:
      c = f(f(f(j + 0.5) / scale) - 0.5);
  }
  let k: number;
  const frac = c - Math.floor(c);
  switch (p.nearest) {
    case 'floor':
      k = Math.floor(c);
      break;
    case 'ceil':
      k = Math.ceil(c);
      break;
    case 'round_prefer_ceil':
      k = frac === 0.5 ? Math.ceil(c) : Math.round(c);
      break;
    default:
      k = frac === 0.5 ? Math.floor(c) : Math.round(c);
  }
  return Math.min(Math.max(k, 0), len - 1);
}

/** Resize / Upsample, nearest mode: y[j_0, ..., j_r] = x[src_0(j_0), ..., src_r(j_r)]. */
export function resize(node: OnnxNode, x: FTensor, ins: (FTensor | undefined)[], opset: number): FTensor {
  const p = plan(node, x, ins, opset);
  const rank = x.shape.length;
  const maps = x.shape.map((len, a) =>
    Int32Array.from({ length: p.outShape[a] }, (_, j) => sourceIndex(p, j, len, p.outShape[a], p.scales[a])),
  );
  const n = sizeOf(p.outShape);
  const y = alloc(n);
  const xs = stridesOf(x.shape);
  const os = stridesOf(p.outShape);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let d = 0; d < rank; d++) off += maps[d][Math.floor(i / os[d]) % p.outShape[d]] * xs[d];
    y[i] = x.data[off];
  }
  return { shape: p.outShape, data: y, dtype: x.dtype };
}
