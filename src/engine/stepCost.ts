// An upper bound of the gas of every op's one-step proof (OneStepVerifier.computeElement as a
// transaction), so that a dispute can always end: the burden of the step is on the worker, and a
// challenger who could name an element whose witness does not fit a transaction would win by
// timeout. The validator rejects a model with an op above STEP_GAS_LIMIT.
//
// For the worst output element of an op, and the worst position of a batch row inside the
// chunks (rows shift with the batch size), the bound counts what contracts/verify reads
// (mirrored by src/dispute/witnessNeeds.ts): the distinct 1024-byte chunks of each input in its
// committed layout (layout.ts: matmul weights column-major), the taps of the reduction, and the
// proof depths (model tree, chunk trees). The transaction costs 21000 + max(calldata + execution,
// calldata floor) (EIP-7623: 4/16 gas per zero/non-zero calldata byte, floor 10/40). The calldata
// is sized from the ABI encoding of IOneStepVerifier.Step, every chunk byte counted non-zero;
// the execution constants were measured on chain and rounded up (test/verify/step-cost.test.ts
// checks that the bound holds and stays within 1.5x + 50k of the measured gas).
import { ModelFormatError } from '../errors/base.ts';
import { convPlan, type SegmentPlan } from './convSegments.ts';
import { batchedShape, dtypeBytes, elementCount, type Model, type Op, type OpType } from './graph.ts';
import { constLayout } from './layout.ts';
import { poolPlan } from './poolSegments.ts';
import { reducePlan } from './reduceSegments.ts';

/** The most gas one step may need (the game adds a little on top). */
export const STEP_GAS_LIMIT = 1_000_000;
/**
 * The largest batch size the validator bounds steps for. A larger batch deepens the chunk trees of
 * the activations (about 1.3k gas per chunk read per doubling), so a worker must not accept one.
 */
export const STEP_BATCH_LIMIT = 256;

const CHUNK = 1024;
const TX_BASE = 21_000;

// Execution gas, measured on the EDR chain (cancun) and rounded up.
/** Per chunk proven: calldatacopy and keccak of 1024 bytes, range and length checks. */
const EXEC_PER_CHUNK = 1_600;
/** Per Merkle level folded (chunk proofs and model-leaf proofs). */
const EXEC_PER_LEVEL = 140;
/** Per chunk, per chunk already listed: the verifier finds a chunk by scanning its list. */
const EXEC_PER_LOOKUP = 40;

/**
 * Per op type: fixed execution gas, per tap, per window row (one gather call per row). Conv's taps
 * and rows are priced by convLoopGas.
 */
const EXEC: Record<OpType, { base: number; tap: number; row: number }> = {
  conv: { base: 80_000, tap: 0, row: 0 },
  matmul: { base: 62_000, tap: 70, row: 0 },
  add: { base: 34_000, tap: 0, row: 0 },
  mul: { base: 34_000, tap: 0, row: 0 },
  lut: { base: 36_000, tap: 0, row: 0 },
  maxpool: { base: 26_000, tap: 320, row: 3_400 },
  avgpool: { base: 26_000, tap: 320, row: 3_400 },
  reducemean: { base: 23_000, tap: 270, row: 0 },
  softmax: { base: 32_000, tap: 530, row: 0 },
  layernorm: { base: 44_000, tap: 250, row: 0 },
  gather: { base: 36_000, tap: 0, row: 0 },
  reshape: { base: 20_000, tap: 0, row: 0 },
  transpose: { base: 22_000, tap: 0, row: 0 },
  concat: { base: 20_000, tap: 0, row: 0 },
};
/** Conv (contracts/verify/ConvSum.sol): per input channel of the group, the loop overhead. */
const CONV_PER_CHANNEL = 160;

/**
 * Conv: one (input channel, kernel row) of `run` in-bounds taps `dil` input columns apart, by the
 * loop ConvSum picks for it: one tap; up to 4 adjacent taps (one word, 4 taps computed); up to 32
 * adjacent taps (4 per iteration); dilated taps within a word; wider rows tap by tap (also the
 * price of a row that crosses a chunk boundary).
 */
function convRowGas(run: number, dil: number): number {
  if (run <= 1) return 220;
  if (dil === 1 && run <= 4) return 420;
  if (dil === 1 && run <= 32) return 330 + 230 * Math.ceil(run / 4);
  if ((run - 1) * dil + 1 <= 32) return 320 + 160 * run;
  return convSlowRowGas(run);
}

function convSlowRowGas(run: number): number {
  return 320 + 230 * run;
}

/**
 * A segment of a split avgpool (PointOps.avgpoolSegment): per tap (PoolStep.reduceSum over the
 * gathered rows) and per kernel row (one contiguous gather), cheaper than the plain window loop.
 */
const POOL_SEGMENT_TAP = 150;
const POOL_SEGMENT_ROW = 3_400;

/** matmul with an activation b: its column is gathered element by element (stride N). */
const EXEC_STRIDED_TAP = 150;
/** transpose per axis (the index map), concat per input (the shape checks). */
const EXEC_PER_AXIS = 1_500;
const EXEC_PER_CONCAT_INPUT = 8_000;
const EXEC_HEADROOM = 1.06;

/** The worst-case one-step gas of one op. */
export interface StepCost {
  op: number;
  name: string;
  type: OpType;
  /** Upper bound of the transaction gas of the worst element. */
  gas: number;
  /** Chunks of all inputs read by the worst element. */
  chunks: number;
  /** Length of the reduction (operand pairs, window or row elements); 0 for single-byte reads. */
  taps: number;
  /** Per input: the chunks read, in op input order. */
  inputChunks: number[];
  /** Why it costs what it costs: the input with the most chunks. */
  reason: string;
  /**
   * For a conv, avgpool or reducemean whose reduction is split into committed partial sums: the
   * segment count S (the bound is then that of one segment step or the final step, whichever is dearer).
   */
  segments?: number;
}

/** Chunks of a run of `length` bytes that starts at a multiple of `align` (any row position). */
function runChunks(length: number, align: number): number {
  if (length <= 0) return 0;
  const g = gcd(align, CHUNK);
  // The latest start inside a chunk that a multiple of g reaches.
  const start = CHUNK - g;
  return Math.floor((start + length - 1) / CHUNK) + 1;
}

/** Chunks of n elements `stride` bytes apart (one byte each), starting at a multiple of align. */
function stridedChunks(n: number, stride: number, align: number): number {
  if (n <= 0) return 0;
  if (stride >= CHUNK) return n;
  return Math.min(n, runChunks((n - 1) * stride + 1, align));
}

/** The in-bounds taps of a window along one axis: the most of them, and the widest input span. */
interface Extent {
  taps: number;
  span: number;
}

/** Over every output position o < outSize: taps k < size at input o*stride - pad + k*dil in [0, n). */
function window(outSize: number, stride: number, pad: number, size: number, dil: number, n: number): Extent {
  let taps = 0;
  let span = 0;
  for (let o = 0; o < outSize; o++) {
    let first = -1;
    let last = -1;
    let count = 0;
    for (let k = 0; k < size; k++) {
      const i = o * stride - pad + k * dil;
      if (i < 0 || i >= n) continue;
      if (first < 0) first = i;
      last = i;
      count++;
    }
    taps = Math.max(taps, count);
    if (count > 0) span = Math.max(span, last - first + 1);
  }
  return { taps, span };
}

/**
 * Chunks of the in-bounds window taps of `channels` consecutive planes (NCHW, `plane` bytes each,
 * rows W bytes): per channel, each window row is a run, and all of them lie in one span.
 */
function windowChunks(channels: number, plane: number, W: number, rows: Extent, cols: Extent): number {
  if (rows.taps === 0 || cols.taps === 0) return 0;
  const windowSpan = (rows.span - 1) * W + cols.span;
  const perChannel = Math.min(rows.taps * runChunks(cols.span, 1), runChunks(windowSpan, 1));
  return Math.min(
    channels * perChannel,
    runChunks((channels - 1) * plane + windowSpan, 1),
    channels * rows.taps * cols.taps,
  );
}

function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y) [x, y] = [y, x % y];
  return x || b;
}

function depth(n: number): number {
  let d = 0;
  while (2 ** d < n) d++;
  return d;
}

/** Bytes needed for the big-endian value v (its non-zero bytes at most). */
function valueBytes(v: number): number {
  let n = 0;
  for (let x = Math.abs(v); x > 0; x = Math.floor(x / 256)) n++;
  return v < 0 ? 32 : n;
}

/** Calldata bytes of Step: [zero, non-zero], every chunk byte and every hash counted non-zero. */
class Calldata {
  zero = 0;
  nonZero = 4; // the selector
  word(v: number): void {
    const nz = valueBytes(v);
    this.nonZero += nz;
    this.zero += 32 - nz;
  }
  hash(count = 1): void {
    this.nonZero += 32 * count;
  }
  /** An ABI offset or length word (small: three bytes at most). */
  offset(count = 1): void {
    this.nonZero += 3 * count;
    this.zero += 29 * count;
  }
  bytes(n: number): void {
    this.nonZero += n;
    this.zero += (32 - (n % 32)) % 32;
  }
  gas(exec: number): number {
    const standard = 4 * this.zero + 16 * this.nonZero;
    const floor = 10 * this.zero + 40 * this.nonZero;
    return TX_BASE + Math.max(standard + exec, floor);
  }
}

interface Read {
  chunks: number;
  /** Bytes per chunk (a tensor shorter than a chunk has one short chunk). */
  chunkBytes: number;
  /** Chunk tree depth of the input at the batch size. */
  depth: number;
}

/** The reads and the compute of the worst element of `op`. */
interface Work {
  reads: number[];
  taps: number;
  rows: number;
  strided: boolean;
  /**
   * Execution gas of the reduction loop, for ops that price it themselves (conv, a segment of an
   * avgpool), instead of EXEC's per tap and per row.
   */
  loop?: number;
}

/**
 * Which step of an op: the whole element, or for a conv, avgpool or reducemean split into
 * segments (src/dispute/segments.ts) the step of one segment of `channels` input channels (kernel
 * rows, values of the reduced axis), or the final requantization.
 */
type Variant = { kind: 'plain' } | { kind: 'segment'; channels: number } | { kind: 'final' };

function opWork(model: Model, op: Op, shapes: number[][], out: number[], variant: Variant): Work {
  const bytes = (k: number) => dtypeBytes(model.tensors[op.inputs[k]].dtype);
  const single = op.inputs.map(() => 1);
  switch (op.type) {
    case 'conv': {
      if (variant.kind === 'final')
        return { reads: [0, 0, 1, 1, 1], taps: 0, rows: 0, strided: false, loop: 0 };
      const [, , H, W] = shapes[0];
      const [, groupChannels, KH, KW] = shapes[1];
      const Cg = variant.kind === 'segment' ? variant.channels : groupChannels;
      const [, , OH, OW] = out;
      const rows = window(OH, op.strides[0], op.pads[0], KH, op.dilations[0], H);
      const cols = window(OW, op.strides[1], op.pads[1], KW, op.dilations[1], W);
      const weights = Cg * KH * KW;
      const x = windowChunks(Cg, H * W, W, rows, cols);
      // Every (channel, row) at the widest run, and one row per chunk boundary read tap by tap.
      const dil = op.dilations[1];
      const loop =
        CONV_PER_CHANNEL * Cg +
        Cg * rows.taps * convRowGas(cols.taps, dil) +
        Math.max(0, x - 1) * convSlowRowGas(cols.taps);
      // A segment's weights start at a multiple of KH*KW inside w[m], and it reads no requant input.
      if (variant.kind === 'segment') {
        return {
          reads: [x, runChunks(weights, KH * KW), 0, 0, 0],
          taps: Cg * rows.taps * cols.taps,
          rows: Cg * rows.taps,
          strided: false,
          loop,
        };
      }
      return {
        reads: [x, runChunks(weights, weights), 1, 1, 1],
        taps: Cg * rows.taps * cols.taps,
        rows: Cg * rows.taps,
        strided: false,
        loop,
      };
    }
    case 'matmul': {
      const a = shapes[0];
      const K = a[a.length - 1];
      const N = out[out.length - 1];
      const bConst = model.tensors[op.inputs[1]].kind === 'const';
      const b =
        bConst && constLayout(model, op.inputs[1]) === 'columnMajor'
          ? runChunks(K, K)
          : stridedChunks(K, N, 1);
      return { reads: [runChunks(K, K), b, 1, 1, 1], taps: K, rows: 0, strided: !bConst };
    }
    case 'maxpool':
    case 'avgpool': {
      if (variant.kind === 'final') return { reads: [0], taps: 0, rows: 0, strided: false };
      const [, , H, W] = shapes[0];
      const [, , OH, OW] = out;
      const all = window(OH, op.strides[0], op.pads[0], op.kernel[0], 1, H);
      const cols = window(OW, op.strides[1], op.pads[1], op.kernel[1], 1, W);
      // A segment of an avgpool: `channels` consecutive kernel rows (undilated: at most that many
      // in-bounds rows, spanning at most that many input rows).
      const R = variant.kind === 'segment' ? variant.channels : op.kernel[0];
      const rows = { taps: Math.min(R, all.taps), span: Math.min(R, all.span) };
      const x = windowChunks(1, H * W, W, rows, cols);
      if (variant.kind === 'segment') {
        const taps = rows.taps * cols.taps;
        const loop = POOL_SEGMENT_TAP * taps + POOL_SEGMENT_ROW * rows.taps;
        return { reads: [x], taps, rows: rows.taps, strided: false, loop };
      }
      return { reads: [x], taps: op.kernel[0] * op.kernel[1], rows: rows.taps, strided: false };
    }
    case 'reducemean': {
      if (variant.kind === 'final') return { reads: [0], taps: 0, rows: 0, strided: false };
      const x = shapes[0];
      const axis = x[op.axis];
      const inner = elementCount(x.slice(op.axis + 1));
      if (variant.kind === 'segment') {
        // A segment of `channels` values; its start is any multiple of gcd(len, channels).
        const len = variant.channels;
        return {
          reads: [stridedChunks(len, inner, inner === 1 ? gcd(axis, len) : 1)],
          taps: len,
          rows: 0,
          strided: inner > 1,
        };
      }
      const len = axis;
      return {
        reads: [stridedChunks(len, inner, inner === 1 ? len : 1)],
        taps: len,
        rows: 0,
        strided: inner > 1,
      };
    }
    case 'softmax': {
      const L = shapes[0][shapes[0].length - 1];
      return { reads: [runChunks(L, L), runChunks(256 * bytes(1), CHUNK)], taps: L, rows: 0, strided: false };
    }
    case 'layernorm': {
      const D = shapes[0][shapes[0].length - 1];
      return { reads: [runChunks(D, D), 1, 1], taps: D, rows: 0, strided: false };
    }
    case 'lut':
      return { reads: [1, runChunks(256, CHUNK)], taps: 0, rows: 0, strided: false };
    case 'concat':
      // Only the input that holds the element is read.
      return { reads: single, taps: 0, rows: 0, strided: false };
    default:
      return { reads: single, taps: 0, rows: 0, strided: false };
  }
}

/**
 * The worst-case one-step gas of op k at batch size `batch`. For a conv, avgpool or reducemean whose
 * reduction is split into segments (src/dispute/segments.ts), the dearer of a segment step and the final
 * requantization step (IOneStepVerifier.computeSegment), with `segments` set.
 */
export function stepCost(model: Model, k: number, batch = 1): StepCost {
  const plan = segmentPlanOf(model, model.ops[k]);
  if (plan.segments > 0) {
    const segment = variantCost(model, k, batch, { kind: 'segment', channels: plan.channels });
    const final = variantCost(model, k, batch, { kind: 'final' });
    return { ...(final.gas > segment.gas ? final : segment), segments: plan.segments };
  }
  return variantCost(model, k, batch, { kind: 'plain' });
}

/** The split of an op's reduction (src/dispute/segments.ts segmentPlan, from the model shapes). */
function segmentPlanOf(model: Model, op: Op): SegmentPlan {
  if (op.type === 'conv') {
    const [, , H, W] = model.tensors[op.inputs[0]].shape;
    const [, Cg, KH, KW] = model.tensors[op.inputs[1]].shape;
    return convPlan(Cg, H, W, KH, KW, op.dilations[0], op.dilations[1]);
  }
  if (op.type === 'reducemean') {
    const x = model.tensors[op.inputs[0]].shape;
    return reducePlan(x[op.axis], elementCount(x.slice(op.axis + 1)));
  }
  if (op.type === 'avgpool')
    return poolPlan(op.kernel[0], op.kernel[1], model.tensors[op.inputs[0]].shape[3]);
  return { channels: 0, segments: 0 };
}

function variantCost(model: Model, k: number, batch: number, variant: Variant): StepCost {
  const op = model.ops[k];
  const shapeOf = (id: number) => batchedShape(model.tensors[id], batch);
  const shapes = op.inputs.map(shapeOf);
  const out = shapeOf(op.output);
  const work = opWork(model, op, shapes, out, variant);
  const modelDepth = depth(1 + model.ops.length + model.tensors.length);
  const reads: Read[] = op.inputs.map((id, i) => {
    const byteLength = elementCount(shapes[i]) * dtypeBytes(model.tensors[id].dtype);
    const total = Math.max(1, Math.ceil(byteLength / CHUNK));
    // Concat reads one input (at worst the largest); the others are opened without chunks.
    const chunks =
      op.type === 'concat' ? (i === largestInput(model, op) ? 1 : 0) : Math.min(work.reads[i], total);
    return { chunks, chunkBytes: Math.min(CHUNK, byteLength), depth: depth(total) };
  });
  const cd = new Calldata();
  // Step head: modelRoot, leafCount, opCount, three offsets, batch, element.
  cd.offset(1);
  cd.hash();
  cd.word(1 + model.ops.length + model.tensors.length);
  cd.word(model.ops.length);
  cd.offset(3);
  cd.word(batch);
  cd.word(elementCount(out));
  // OpOpening: index, code, inputs, output, attrs, leafSiblings.
  cd.word(k);
  cd.word(14);
  cd.offset(2);
  cd.word(op.output);
  cd.offset(1);
  cd.offset(1);
  for (const id of op.inputs) cd.word(id);
  const attrs = attrCount(op);
  cd.offset(1);
  // Attributes are below 2^40 (validate.ts), so at most five non-zero bytes each.
  for (let i = 0; i < attrs; i++) cd.word(2 ** 40);
  cd.offset(1);
  cd.hash(modelDepth);
  cd.offset(1 + op.inputs.length);
  const opening = (id: number, read: Read | undefined, rank: number) => {
    const t = model.tensors[id];
    cd.word(id);
    cd.word(2);
    cd.word(2);
    cd.offset(1);
    cd.word(t.zeroPoint);
    cd.hash();
    cd.offset(1);
    cd.hash();
    cd.word(2 ** 40);
    cd.offset(1);
    cd.offset(1);
    for (let i = 0; i < rank; i++) cd.word(batch * Math.max(...t.shape));
    cd.offset(1);
    cd.hash(modelDepth);
    const chunks = read?.chunks ?? 0;
    cd.offset(1 + chunks);
    for (let c = 0; c < chunks; c++) {
      cd.word(2 ** 40);
      cd.offset(2);
      cd.offset(1);
      cd.bytes(read?.chunkBytes ?? 0);
      cd.offset(1);
      cd.hash(read?.depth ?? 0);
    }
  };
  for (let i = 0; i < op.inputs.length; i++) opening(op.inputs[i], reads[i], shapes[i].length);
  opening(op.output, undefined, out.length);

  const chunks = reads.reduce((s, r) => s + r.chunks, 0);
  const levels = reads.reduce((s, r) => s + r.chunks * r.depth, 0) + (op.inputs.length + 2) * modelDepth;
  const lookups = reads.reduce((s, r) => s + r.chunks * r.chunks, 0);
  const cost = EXEC[op.type];
  let exec =
    cost.base +
    EXEC_PER_CHUNK * chunks +
    EXEC_PER_LEVEL * levels +
    EXEC_PER_LOOKUP * lookups +
    (work.loop ?? cost.tap * work.taps + cost.row * work.rows);
  if (work.strided) exec += EXEC_STRIDED_TAP * work.taps;
  if (op.type === 'transpose') exec += EXEC_PER_AXIS * shapes[0].length;
  if (op.type === 'concat') exec += EXEC_PER_CONCAT_INPUT * op.inputs.length;
  // Memory: the copied operands (quadratic memory price, words^2 / 512).
  const memoryWords = 64 + Math.ceil((4 * work.taps + chunks * 64) / 32);
  exec += Math.ceil((memoryWords * memoryWords) / 512) + 3 * memoryWords;
  // Headroom for what the constants do not model (index arithmetic that varies with the shapes).
  exec = Math.ceil(exec * EXEC_HEADROOM);

  const worst = reads.reduce((w, r, i) => (r.chunks > reads[w].chunks ? i : w), 0);
  const inputName = model.tensors[op.inputs[worst]].name;
  return {
    op: k,
    name: op.name,
    type: op.type,
    gas: cd.gas(exec),
    chunks,
    taps: work.taps,
    inputChunks: reads.map((r) => r.chunks),
    reason: `${variant.kind === 'segment' ? 'one segment step ' : variant.kind === 'final' ? 'the final step ' : 'it '}reads ${reads[worst].chunks} chunk${reads[worst].chunks === 1 ? '' : 's'} of input ${worst} ("${inputName}")${variant.kind === 'plain' ? whyChunks(model, op, worst, shapes) : ''} and ${work.taps} taps`,
  };
}

function largestInput(model: Model, op: Op): number {
  const size = (id: number) => elementCount(model.tensors[id].shape);
  return op.inputs.reduce((best, id, i) => (size(id) > size(op.inputs[best]) ? i : best), 0);
}

/** How many attribute words the op leaf has (the verifier reads them from calldata). */
function attrCount(op: Op): number {
  switch (op.type) {
    case 'conv':
    case 'avgpool':
      return 11;
    case 'maxpool':
      return 8;
    case 'add':
      return 5;
    case 'layernorm':
      return 5;
    case 'mul':
    case 'reducemean':
      return 4;
    case 'matmul':
      return 2;
    case 'reshape':
      return op.shape.length;
    case 'transpose':
      return op.perm.length;
    case 'concat':
      return 1;
    default:
      return 0;
  }
}

function whyChunks(model: Model, op: Op, i: number, shapes: number[][]): string {
  if (op.type === 'matmul' && i === 1) {
    const N = shapes[1][shapes[1].length - 1];
    return model.tensors[op.inputs[1]].kind === 'const'
      ? ''
      : `, because a column of the activation b has stride ${N}`;
  }
  if (op.type === 'conv' && i === 0) {
    const [, , H, W] = shapes[0];
    return `, because the ${shapes[1][1]} input channels of a tap are ${H * W} bytes apart (NCHW)`;
  }
  if (op.type === 'reducemean' && i === 0) return ', because the reduced axis is strided';
  return '';
}

/** The worst-case one-step gas of every op at batch size `batch` (default 1). */
export function stepCostReport(model: Model, batch = 1): StepCost[] {
  return model.ops.map((_, k) => stepCost(model, k, batch));
}

/**
 * Throws ModelFormatError naming the first op whose one-step proof can exceed STEP_GAS_LIMIT at a
 * batch size up to STEP_BATCH_LIMIT.
 */
export function checkStepCosts(model: Model): void {
  for (let k = 0; k < model.ops.length; k++) {
    const c = stepCost(model, k, STEP_BATCH_LIMIT);
    if (c.gas > STEP_GAS_LIMIT) {
      throw new ModelFormatError(
        `Op "${c.name}" (${c.type}) needs about ${c.gas} gas for one step, over the ${STEP_GAS_LIMIT.toLocaleString('en-US')} limit: ${c.reason}.`,
        {
          metaMessages: [
            'A dispute over this op could not be settled on chain. Split the reduction into smaller ops, or change the layout of the input it reads with strides.',
          ],
        },
      );
    }
  }
}
