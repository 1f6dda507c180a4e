// The partial-sum level of the dispute game (contracts/game/DisputeGame.sol, revealPrefix): a conv,
// avgpool or reducemean whose one output element reads too many input chunks (or sums too many
// taps) for one step splits its reduction into S segments fixed by the model: conv over input
// channels (contracts/verify/ConvSegments.sol), avgpool over its kernel rows (PoolSegments.sol),
// reducemean over its reduced axis (ReduceSegments.sol), all mirrored here. The worker commits the exact prefix sums after each segment, the challenger
// dissects them down to the first wrong one, and one step checks one segment (or the final
// requantization).
import { type Hash, keccak256 } from '../commit/keccak.ts';
import { convPlan, type SegmentPlan } from '../engine/convSegments.ts';
import { elementCount, type Model, type Op } from '../engine/graph.ts';
import { poolPlan } from '../engine/poolSegments.ts';
import { reducePlan } from '../engine/reduceSegments.ts';
import { type RunValues, runBatch, shapeAt, tensorValue } from './witnessNeeds.ts';

export { convPlan, SEGMENT_CHUNKS, type SegmentPlan, SPLIT_CHUNKS } from '../engine/convSegments.ts';
export { POOL_SEGMENT_TAPS, poolPlan } from '../engine/poolSegments.ts';
export { REDUCE_SEGMENT_TAPS, reducePlan } from '../engine/reduceSegments.ts';

/**
 * The split of op k (segments 0 for every op but a conv, avgpool or reducemean that needs it): for
 * a conv `channels` input channels per segment, for an avgpool that many kernel rows, for a
 * reducemean that many values of the reduced axis. The validator keeps reducemean's axis >= 1,
 * so the plan does not depend on the batch size.
 */
export function segmentPlan(model: Model, k: number): SegmentPlan {
  const op = model.ops[k];
  if (op?.type === 'avgpool') {
    const W = model.tensors[op.inputs[0]].shape[3];
    return poolPlan(op.kernel[0], op.kernel[1], W);
  }
  if (op?.type === 'reducemean') {
    const { len, inner } = reducedAxis(model.tensors[op.inputs[0]].shape, op.axis);
    return reducePlan(len, inner);
  }
  if (op?.type !== 'conv') return { channels: 0, segments: 0 };
  const [, , H, W] = model.tensors[op.inputs[0]].shape;
  const [, Cg, KH, KW] = model.tensors[op.inputs[1]].shape;
  return convPlan(Cg, H, W, KH, KW, op.dilations[0], op.dilations[1]);
}

/** The reduced axis of a reducemean over x: its length and the elements after it (its stride). */
function reducedAxis(x: readonly number[], axis: number): { len: number; inner: number } {
  return { len: x[axis], inner: elementCount(x.slice(axis + 1)) };
}

/** Reducemean: the flat indices in x of the values [r0, r0 + n) of output element e's axis. */
function reduceSources(run: RunValues, k: number, e: number, r0: number, n: number): number[] {
  const op = run.model.ops[k];
  if (op.type !== 'reducemean') throw new RangeError(`Op ${k} is a ${op.type}, not a reducemean.`);
  const { len, inner } = reducedAxis(shapeAt(run.model, op.inputs[0], runBatch(run)), op.axis);
  const o = Math.floor(e / inner);
  return Array.from({ length: n }, (_, t) => (o * len + r0 + t) * inner + (e % inner));
}

/** The channel range [c0, c0 + n) of segment i < S. */
export function segmentChannels(plan: SegmentPlan, Cg: number, i: number): { c0: number; n: number } {
  const c0 = i * plan.channels;
  return { c0, n: Math.min(plan.channels, Cg - c0) };
}

interface ConvElement {
  op: Extract<Op, { type: 'conv' }>;
  shapes: number[][];
  n: number;
  m: number;
  oy: number;
  ox: number;
  /** The first input channel of m's group. */
  base: number;
}

function convElement(run: RunValues, k: number, e: number): ConvElement {
  const op = run.model.ops[k];
  if (op.type !== 'conv') throw new RangeError(`Op ${k} is a ${op.type}, not a conv.`);
  const batch = runBatch(run);
  const shapes = op.inputs.map((id) => shapeAt(run.model, id, batch));
  const [, , OH, OW] = shapeAt(run.model, op.output, batch);
  const M = shapes[1][0];
  const Cg = shapes[1][1];
  const m = Math.floor(e / (OW * OH)) % M;
  return {
    op,
    shapes,
    n: Math.floor(e / (OW * OH * M)),
    m,
    oy: Math.floor(e / OW) % OH,
    ox: e % OW,
    base: Math.floor(m / (M / op.group)) * Cg,
  };
}

/** The in-bounds taps of channels [c0, c0 + n): [x flat index, w flat index] pairs. */
function taps(c: ConvElement, c0: number, n: number): [number, number][] {
  const [, C, H, W] = c.shapes[0];
  const [, Cg, KH, KW] = c.shapes[1];
  const out: [number, number][] = [];
  for (let ch = c0; ch < c0 + n; ch++) {
    for (let ky = 0; ky < KH; ky++) {
      const iy = c.oy * c.op.strides[0] - c.op.pads[0] + ky * c.op.dilations[0];
      if (iy < 0 || iy >= H) continue;
      for (let kx = 0; kx < KW; kx++) {
        const ix = c.ox * c.op.strides[1] - c.op.pads[1] + kx * c.op.dilations[1];
        if (ix < 0 || ix >= W) continue;
        out.push([((c.n * C + c.base + ch) * H + iy) * W + ix, ((c.m * Cg + ch) * KH + ky) * KW + kx]);
      }
    }
  }
  return out;
}

/**
 * The exact prefix sums acc_1 … acc_S of output element `element` of op k: acc_i is Σ (x - zx) * w
 * over the taps of segments 0 … i-1 (the bias is added at the final requantization). The
 * validator bounds every conv sum below 2^31, so numbers hold them exactly.
 */
export function prefixSums(run: RunValues, k: number, element: number): number[] {
  const plan = segmentPlan(run.model, k);
  if (run.model.ops[k].type === 'reducemean') return reducePrefixSums(run, k, element, plan);
  if (run.model.ops[k].type === 'avgpool') return poolPrefixSums(run, k, element, plan);
  const c = convElement(run, k, element);
  const x = tensorValue(run, c.op.inputs[0]);
  const w = tensorValue(run, c.op.inputs[1]);
  const Cg = c.shapes[1][1];
  const sums: number[] = [];
  let acc = 0;
  for (let i = 0; i < plan.segments; i++) {
    const { c0, n } = segmentChannels(plan, Cg, i);
    for (const [xi, wi] of taps(c, c0, n)) acc += (x.data[xi] - x.zeroPoint) * w.data[wi];
    sums.push(acc);
  }
  return sums;
}

/** Reducemean: acc_i = Σ (x - zx) over the values of segments 0 … i-1 (|acc| < 255 * len). */
function reducePrefixSums(run: RunValues, k: number, element: number, plan: SegmentPlan): number[] {
  const op = run.model.ops[k];
  if (op.type !== 'reducemean') throw new RangeError(`Op ${k} is a ${op.type}, not a reducemean.`);
  const x = tensorValue(run, op.inputs[0]);
  const len = x.shape[op.axis];
  const sums: number[] = [];
  let acc = 0;
  for (let i = 0; i < plan.segments; i++) {
    const r0 = i * plan.channels;
    for (const xi of reduceSources(run, k, element, r0, Math.min(plan.channels, len - r0))) {
      acc += x.data[xi] - x.zeroPoint;
    }
    sums.push(acc);
  }
  return sums;
}

/**
 * Avgpool: the flat indices in x of the in-bounds taps of kernel rows [r0, r0 + n) of output
 * element e's window, in (ky, kx) order (PointOps.avgpoolSegment).
 */
function poolSources(run: RunValues, k: number, e: number, r0: number, n: number): number[] {
  const op = run.model.ops[k];
  if (op.type !== 'avgpool') throw new RangeError(`Op ${k} is a ${op.type}, not an avgpool.`);
  const batch = runBatch(run);
  const [, , H, W] = shapeAt(run.model, op.inputs[0], batch);
  const [, , OH, OW] = shapeAt(run.model, op.output, batch);
  const ox = e % OW;
  const oy = Math.floor(e / OW) % OH;
  const plane = Math.floor(e / (OW * OH));
  const out: number[] = [];
  for (let ky = r0; ky < Math.min(r0 + n, op.kernel[0]); ky++) {
    const iy = oy * op.strides[0] - op.pads[0] + ky;
    if (iy < 0 || iy >= H) continue;
    for (let kx = 0; kx < op.kernel[1]; kx++) {
      const ix = ox * op.strides[1] - op.pads[1] + kx;
      if (ix >= 0 && ix < W) out.push((plane * H + iy) * W + ix);
    }
  }
  return out;
}

/** Avgpool: acc_i = Σ (x - zx) over the in-bounds taps of segments 0 … i-1 (|acc| < 255 * taps). */
function poolPrefixSums(run: RunValues, k: number, element: number, plan: SegmentPlan): number[] {
  const op = run.model.ops[k];
  const x = tensorValue(run, op.inputs[0]);
  const sums: number[] = [];
  let acc = 0;
  for (let i = 0; i < plan.segments; i++) {
    for (const xi of poolSources(run, k, element, i * plan.channels, plan.channels)) {
      acc += x.data[xi] - x.zeroPoint;
    }
    sums.push(acc);
  }
  return sums;
}

/**
 * Per input of op k (in op order), the flat elements the step of segment i reads: for a conv, the
 * taps of its channels and their weights for i < S, the bias, multiplier and shift of the channel
 * for i = S; for an avgpool or reducemean, the taps of its kernel rows or the values of its part
 * of the axis for i < S, nothing for i = S.
 */
export function segmentNeeds(run: RunValues, k: number, element: number, i: number): number[][] {
  const plan = segmentPlan(run.model, k);
  if (plan.segments === 0 || i < 0 || i > plan.segments) {
    throw new RangeError(`Op ${k} has no segment ${i} (it has ${plan.segments}).`);
  }
  const op = run.model.ops[k];
  if (op.type === 'avgpool') {
    if (i === plan.segments) return [[]];
    return [poolSources(run, k, element, i * plan.channels, plan.channels)];
  }
  if (op.type === 'reducemean') {
    if (i === plan.segments) return [[]];
    const len = run.model.tensors[op.inputs[0]].shape[op.axis];
    const r0 = i * plan.channels;
    return [reduceSources(run, k, element, r0, Math.min(plan.channels, len - r0))];
  }
  const c = convElement(run, k, element);
  if (i === plan.segments) {
    const q = elementCount(c.shapes[3]) === 1 ? 0 : c.m;
    return [[], [], [c.m], [q], [q]];
  }
  const [, Cg, KH, KW] = c.shapes[1];
  const { c0, n } = segmentChannels(plan, Cg, i);
  const area = KH * KW;
  const start = (c.m * Cg + c0) * area;
  const ws = Array.from({ length: n * area }, (_, t) => start + t);
  return [taps(c, c0, n).map(([xi]) => xi), ws, [], [], []];
}

/** A leaf of the partial-sum tree: keccak256(abi.encode(int256 v)). */
export function valueLeaf(v: number | bigint): Hash {
  let x = BigInt(v);
  if (x < 0n) x += 1n << 256n;
  const word = new Uint8Array(32);
  for (let b = 31; b >= 0; b--, x >>= 8n) word[b] = Number(x & 255n);
  return keccak256(word);
}

/** The leaves of a partial-sum tree: the S prefix sums, then the output byte. */
export function prefixLeaves(sums: readonly number[], outputByte: number): Hash[] {
  return [...sums.map(valueLeaf), valueLeaf(outputByte)];
}
