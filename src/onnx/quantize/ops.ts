// Turns each lowered op into integer ops, choosing weights, biases and requantization factors.
import { LAYERNORM_FRAC_BITS, SOFTMAX_EXP_ONE } from '../../engine/arith.ts';
import { ModelFormatError } from '../../errors/base.ts';
import type { FTensor } from '../float/tensor.ts';
import type { Act, AOp } from '../lower/types.ts';
import type { Builder } from './builder.ts';
import {
  clampBias,
  clampInt,
  type QParams,
  qparamsFor,
  quantizePair,
  quantizeU8,
  quantizeWeights,
  requireFinite,
  roundHalfAway,
} from './params.ts';

const INT32_LIMIT = 2 ** 31;

function clampRange(act: Act | null, q: QParams): { qmin: number; qmax: number } {
  if (!act) return { qmin: 0, qmax: 255 };
  const qmin = Number.isFinite(act.lo) ? quantizeU8(act.lo, q) : 0;
  const qmax = Number.isFinite(act.hi) ? quantizeU8(act.hi, q) : 255;
  return { qmin, qmax: Math.max(qmin, qmax) };
}

function checkAcc(op: AOp, taps: number, maxProduct: number, bias: Int32Array): void {
  let maxBias = 0;
  for (const b of bias) maxBias = Math.max(maxBias, Math.abs(b));
  if (taps * maxProduct + maxBias >= INT32_LIMIT) {
    throw new ModelFormatError(
      `Op "${op.name}" (${op.kind}): the integer accumulator could exceed int32 (${taps} taps, bias up to ${maxBias}). ` +
        'The reduction is too long or the bias too large for the chosen scales.',
    );
  }
}

/** Per-channel requantization plus the i32 bias at scale sx * sw[c]. */
function perChannel(
  b: Builder,
  op: AOp,
  base: string,
  sx: number,
  sw: Float64Array,
  sy: number,
  bias: Float64Array,
  taps: number,
) {
  requireFinite(bias, `biases of "${op.name}"`);
  const n = sw.length;
  const mult = new Int32Array(n);
  const shift = new Int32Array(n);
  const bq = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    const r = b.requant((sx * sw[c]) / sy, op.name, `Op "${op.name}" channel ${c}`);
    mult[c] = r.mult;
    shift[c] = r.shift;
    const raw = roundHalfAway(bias[c] / (sx * sw[c]));
    bq[c] = clampBias(raw, taps * 255 * 128, r.mult / 2 ** r.shift);
  }
  checkAcc(op, taps, 255 * 128, bq);
  return {
    bias: b.constTensor(`${base}.bias`, 'i32', [n], bq, undefined, true),
    mult: b.i32(`${base}.mult`, mult),
    shift: b.i32(`${base}.shift`, shift),
  };
}

function lutTable(b: Builder, name: string, fn: (v: number) => number, qx: QParams, qy: QParams): Uint8Array {
  const t = new Uint8Array(256);
  let nan = 0;
  for (let i = 0; i < 256; i++) {
    const y = fn(qx.scale * (i - qx.zeroPoint));
    if (Number.isNaN(y)) nan += 1;
    t[i] = quantizeU8(y, qy);
  }
  if (nan > 0)
    b.warn(
      `Op "${name}": the function is undefined (NaN) for ${nan} of 256 input codes outside the calibrated values; they map to 0.`,
    );
  return t;
}

function constU8(b: Builder, name: string, t: FTensor): number {
  requireFinite(t.data, `constants of "${name}"`);
  let lo = 0;
  let hi = 0;
  for (const v of t.data) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const q = qparamsFor(lo, hi);
  return b.constTensor(
    name,
    'u8',
    t.shape,
    Uint8Array.from(t.data, (v) => quantizeU8(v, q)),
    q,
    true,
  );
}

export interface WeightOptions {
  weightBits: number;
  /** One weight scale per tensor instead of per output channel (for comparison; less accurate). */
  perTensorWeights: boolean;
}

/** Symmetric weights with one scale per output channel (`groups` channels), or one per tensor. */
function weightsOf(w: Float64Array, groupOf: (i: number) => number, groups: number, o: WeightOptions) {
  if (!o.perTensorWeights) return quantizeWeights(w, groupOf, groups, o.weightBits);
  const { q, scales } = quantizeWeights(w, () => 0, 1, o.weightBits);
  return { q, scales: new Float64Array(groups).fill(scales[0]) };
}

export function emitOp(b: Builder, op: AOp, weights: WeightOptions): void {
  const name = op.name;
  switch (op.kind) {
    case 'conv': {
      const x = b.id(op.x);
      const sx = b.q(op.x).scale;
      const qy = b.q(op.out);
      const [M, Cg, KH, KW] = op.w.shape;
      const per = Cg * KH * KW;
      const { q, scales } = weightsOf(op.w.data, (i) => Math.floor(i / per), M, weights);
      const w = b.constTensor(`${name}.weight`, 'i8', op.w.shape, q, undefined, true);
      const p = perChannel(b, op, name, sx, scales, qy.scale, op.bias, per);
      const y = b.value(op.out, 'activation');
      const { strides, pads, dilations, group } = op;
      b.ops.push({
        type: 'conv',
        name,
        inputs: [x, w, p.bias, p.mult, p.shift],
        output: y,
        strides,
        pads,
        dilations,
        group,
        ...clampRange(op.act, qy),
      });
      return;
    }
    case 'dense': {
      const x = b.id(op.x);
      const sx = b.q(op.x).scale;
      const qy = b.q(op.out);
      const [K, N] = op.w.shape;
      const { q, scales } = weightsOf(op.w.data, (i) => i % N, N, weights);
      const w = b.constTensor(`${name}.weight`, 'i8', [K, N], q, undefined, true);
      const p = perChannel(b, op, name, sx, scales, qy.scale, op.bias, K);
      const y = b.value(op.out, 'activation');
      b.ops.push({
        type: 'matmul',
        name,
        inputs: [x, w, p.bias, p.mult, p.shift],
        output: y,
        ...clampRange(op.act, qy),
      });
      return;
    }
    case 'matmul': {
      const a = b.id(op.a);
      const bb = b.id(op.b);
      const acc = op.alpha * b.q(op.a).scale * b.q(op.b).scale;
      const qy = b.q(op.out);
      const bShape = b.shape(op.b);
      const N = bShape[bShape.length - 1];
      const K = bShape[bShape.length - 2];
      const r = b.requant(acc / qy.scale, name);
      const bias = Int32Array.from({ length: N }, (_, j) =>
        op.bias ? clampBias(roundHalfAway(op.bias[j] / acc), K * 255 * 255, r.mult / 2 ** r.shift) : 0,
      );
      checkAcc(op, K, 255 * 255, bias);
      const ids = [
        b.i32(`${name}.bias`, bias),
        b.i32(`${name}.mult`, [r.mult]),
        b.i32(`${name}.shift`, [r.shift]),
      ];
      const y = b.value(op.out, 'activation');
      b.ops.push({
        type: 'matmul',
        name,
        inputs: [a, bb, ids[0], ids[1], ids[2]],
        output: y,
        ...clampRange(op.act, qy),
      });
      return;
    }
    case 'add': {
      const a = b.id(op.a);
      const bId = typeof op.b === 'string' ? b.id(op.b) : constU8(b, `${name}.constant`, op.b);
      const sb = b.tensors[bId].scale;
      const qy = b.q(op.out);
      const r = quantizePair(b.q(op.a).scale / qy.scale, sb / qy.scale, `Op "${name}"`);
      const y = b.value(op.out, 'activation');
      b.ops.push({ type: 'add', name, inputs: [a, bId], output: y, ...r, ...clampRange(op.act, qy) });
      return;
    }
    case 'lut': {
      const x = b.id(op.x);
      const table = b.constTensor(
        `${name}.table`,
        'u8',
        [256],
        lutTable(b, name, op.fn, b.q(op.x), b.q(op.out)),
      );
      const y = b.value(op.out, 'activation');
      b.ops.push({ type: 'lut', name, inputs: [x, table], output: y });
      return;
    }
    case 'maxpool': {
      const x = b.id(op.x);
      const y = b.value(op.out, 'activation');
      b.ops.push({
        type: 'maxpool',
        name,
        inputs: [x],
        output: y,
        kernel: op.kernel,
        strides: op.strides,
        pads: op.pads,
      });
      return;
    }
    case 'avgpool': {
      const x = b.id(op.x);
      const r = b.requant(b.q(op.x).scale / b.q(op.out).scale, name);
      const y = b.value(op.out, 'activation');
      const { kernel, strides, pads, countIncludePad } = op;
      b.ops.push({
        type: 'avgpool',
        name,
        inputs: [x],
        output: y,
        kernel,
        strides,
        pads,
        countIncludePad,
        ...r,
      });
      return;
    }
    case 'reducemean': {
      const x = b.id(op.x);
      const len = op.sum ? b.shape(op.x)[op.axis] : 1;
      const r = b.requant((len * b.q(op.x).scale) / b.q(op.out).scale, name);
      const y = b.value(op.out, 'activation');
      b.ops.push({
        type: 'reducemean',
        name,
        inputs: [x],
        output: y,
        axis: op.axis,
        keepDims: op.keepDims,
        ...r,
      });
      return;
    }
    case 'softmax': {
      const x = b.id(op.x);
      const sx = b.q(op.x).scale;
      const table = Int32Array.from({ length: 256 }, (_, d) =>
        Math.round(SOFTMAX_EXP_ONE * Math.exp(-d * sx)),
      );
      const t = b.constTensor(`${name}.expTable`, 'i32', [256], table);
      const y = b.value(op.out, 'activation');
      b.ops.push({ type: 'softmax', name, inputs: [x, t], output: y });
      return;
    }
    case 'layernorm':
      emitLayerNorm(b, op);
      return;
    case 'gather': {
      const table = b.q(op.out);
      // A mask table's masked entries (-1e4, -inf) all take its lowest code (see maskTableQ).
      const lowest = table.scale * (0 - table.zeroPoint);
      const entries = b.isMaskTable(op.out) ? op.table.data.map((v) => Math.max(v, lowest)) : op.table.data;
      requireFinite(entries, `embedding table of "${name}"`);
      const data = Uint8Array.from(entries, (v) => quantizeU8(v, table));
      const t = b.constTensor(`${name}.table`, 'u8', op.table.shape, data, table, true);
      const ids = b.id(op.ids);
      const y = b.value(op.out, 'activation');
      b.ops.push({ type: 'gather', name, inputs: [t, ids], output: y });
      return;
    }
    case 'reshape': {
      const x = b.id(op.x);
      const y = b.value(op.out, 'activation');
      b.ops.push({ type: 'reshape', name, inputs: [x], output: y, shape: op.shape });
      return;
    }
    case 'transpose': {
      const x = b.id(op.x);
      const y = b.value(op.out, 'activation');
      b.ops.push({ type: 'transpose', name, inputs: [x], output: y, perm: op.perm });
      return;
    }
    case 'select': {
      // y[j] = zx + (x[src[j]] - zx) + bias[j]: a matmul by a 0/1 matrix with identity requantization.
      const qx = b.q(op.x);
      const shape = b.shape(op.x);
      const K = shape[shape.length - 1];
      const N = op.src.length;
      const code = Math.round(op.pad / qx.scale) + qx.zeroPoint;
      const padCode = Math.min(255, Math.max(0, code));
      if (
        op.src.includes(-1) &&
        Math.abs(op.pad - qx.scale * (padCode - qx.zeroPoint)) > 1e-6 * (1 + Math.abs(op.pad))
      )
        b.warn(
          `Op "${name}": the pad value ${op.pad} is not a code of its input's quantization; it becomes ${qx.scale * (padCode - qx.zeroPoint)}.`,
        );
      const w = new Int8Array(K * N);
      const bias = new Int32Array(N);
      op.src.forEach((s, j) => {
        if (s >= 0) w[s * N + j] = 1;
        else bias[j] = padCode - qx.zeroPoint;
      });
      const sel = b.constTensor(`${name}.select`, 'i8', [K, N], w);
      const biasId = b.i32(`${name}.bias`, bias);
      const mult = b.i32(`${name}.mult`, [1]);
      const shift = b.i32(`${name}.shift`, [0]);
      const y = b.value(op.out, 'activation');
      b.ops.push({
        type: 'matmul',
        name,
        inputs: [b.id(op.x), sel, biasId, mult, shift],
        output: y,
        qmin: 0,
        qmax: 255,
      });
      return;
    }
    case 'concat': {
      const qy = b.q(op.out);
      const xs = op.xs.map((v) => {
        const qx = b.q(v);
        if (qx.scale === qy.scale && qx.zeroPoint === qy.zeroPoint) return b.id(v);
        const table = b.constTensor(
          `${name}/requant.${v}.table`,
          'u8',
          [256],
          lutTable(b, name, (t) => t, qx, qy),
        );
        const r = b.extra(`${v}/requant`, b.shape(v), qy);
        b.ops.push({ type: 'lut', name: `${name}/requant`, inputs: [b.id(v), table], output: r });
        return r;
      });
      const y = b.value(op.out, 'activation');
      b.ops.push({ type: 'concat', name, inputs: xs, output: y, axis: op.axis });
      return;
    }
  }
}

function emitLayerNorm(b: Builder, op: Extract<AOp, { kind: 'layernorm' }>): void {
  const name = op.name;
  const x = b.id(op.x);
  const sx = b.q(op.x).scale;
  const qy = b.q(op.out);
  const D = op.gamma.length;
  requireFinite(op.gamma, `scale of "${name}"`);
  requireFinite(op.beta, `bias of "${name}"`);
  const epsInt = roundHalfAway((op.eps * D * D) / (sx * sx));
  if (epsInt >= 2 ** 40) {
    throw new ModelFormatError(
      `Op "${name}" (layernorm): epsilon ${op.eps} is too large for the input scale ${sx}.`,
    );
  }
  let gmax = 0;
  for (const g of op.gamma) gmax = Math.max(gmax, Math.abs(g));
  const sg = gmax > 0 ? gmax / 32767 : 1;
  const one = 2 ** LAYERNORM_FRAC_BITS;
  const r = b.requant(sg / (one * qy.scale), name);
  const gamma = Int32Array.from(op.gamma, (g) => clampInt(roundHalfAway(g / sg), -32767, 32767));
  const nMax = Math.ceil(Math.sqrt(D) * one) + 1;
  const beta = Int32Array.from(op.beta, (v) =>
    clampBias(roundHalfAway((v * one) / sg), nMax * 32767, r.mult / 2 ** r.shift),
  );
  for (const v of beta) {
    if (Math.abs(v) >= INT32_LIMIT)
      throw new ModelFormatError(`Op "${name}" (layernorm): beta ${v} does not fit int32.`);
  }
  const g = b.constTensor(`${name}.gamma`, 'i32', [D], gamma, undefined, true);
  const bt = b.constTensor(`${name}.beta`, 'i32', [D], beta, undefined, true);
  const y = b.value(op.out, 'activation');
  b.ops.push({
    type: 'layernorm',
    name,
    inputs: [x, g, bt],
    output: y,
    eps: epsInt,
    ...r,
    ...clampRange(op.act, qy),
  });
}
