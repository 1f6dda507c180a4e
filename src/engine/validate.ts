// Static checks that make a model safe to run: ids, types, shapes, parameter ranges, the
// accumulator bounds that keep every integer exact (|acc| < 2^31 in conv and matmul), and the
// gas bound of every op's one-step proof (stepCost.ts), so that every dispute can end on chain.
import { InputError, ModelFormatError } from '../errors/base.ts';
import { MAX_SHIFT, MULT_LIMIT } from './arith.ts';
import { type DType, elementCount, type Model, type Op, type TensorData } from './graph.ts';
import { matmulWeightIds } from './layout.ts';
import { inferShape } from './shapes.ts';
import { checkStepCosts, STEP_BATCH_LIMIT } from './stepCost.ts';
import type { Tensor } from './tensor.ts';

const INT32_LIMIT = 2 ** 31;
const MAX_NORM_AXIS = 2048;

function bad(op: Op, why: string): never {
  throw new ModelFormatError(`Op "${op.name}" (${op.type}) is invalid: ${why}`);
}

function dataTypeOf(data: TensorData): DType {
  return data instanceof Uint8Array ? 'u8' : data instanceof Int8Array ? 'i8' : 'i32';
}

function maxAbs(data: TensorData): number {
  let m = 0;
  for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(data[i]));
  return m;
}

/**
 * Throws ModelFormatError unless the model satisfies every rule the interpreter relies on and
 * every op's one-step proof fits STEP_GAS_LIMIT (stepCost.ts): the models a node accepts.
 */
export function validateModel(model: Model): void {
  validateGraph(model);
  checkStepCosts(model);
}

/**
 * The rules the interpreter relies on, without the one-step gas bound: enough to run a model
 * exactly (the engine's own tests use it for reductions too long for one on-chain step).
 */
export function validateGraph(model: Model): void {
  const { tensors, ops, consts } = model;
  tensors.forEach((t, i) => {
    if (t.id !== i) throw new ModelFormatError(`Tensor "${t.name}" has id ${t.id} but sits at index ${i}.`);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ModelFormatError(`Tensor "${t.name}" has an invalid shape [${t.shape.join(',')}].`);
    }
    const zpOk = t.dtype === 'u8' ? t.zeroPoint >= 0 && t.zeroPoint <= 255 : t.zeroPoint === 0;
    if (!Number.isInteger(t.zeroPoint) || !zpOk) {
      throw new ModelFormatError(`Tensor "${t.name}" (${t.dtype}) has an invalid zero point ${t.zeroPoint}.`);
    }
    if (t.kind === 'const') {
      const data = consts.get(i);
      if (!data) throw new ModelFormatError(`Constant tensor "${t.name}" has no data.`);
      if (dataTypeOf(data) !== t.dtype || data.length !== elementCount(t.shape)) {
        throw new ModelFormatError(
          `Constant tensor "${t.name}" data does not match its dtype ${t.dtype} and shape.`,
        );
      }
    }
  });
  const input = tensors[model.input];
  if (input?.kind !== 'input' || (input.dtype !== 'u8' && input.dtype !== 'i32')) {
    throw new ModelFormatError('The model input must be a tensor of kind "input" with dtype u8 or i32.');
  }
  if (ops.length === 0) throw new ModelFormatError('The model has no ops.');
  if (ops[ops.length - 1].output !== model.output) {
    throw new ModelFormatError('The model output must be the output of the last op.');
  }
  const defined = new Set<number>([model.input]);
  for (const op of ops) {
    for (const id of op.inputs) {
      const t = tensors[id];
      if (!t) bad(op, `input tensor id ${id} does not exist.`);
      if (t.kind !== 'const' && !defined.has(id)) bad(op, `input "${t.name}" is used before it is computed.`);
    }
    const out = tensors[op.output];
    if (out?.kind !== 'activation' || out.dtype !== 'u8') bad(op, 'output must be a u8 activation tensor.');
    if (defined.has(op.output)) bad(op, `output "${out.name}" is written twice.`);
    checkOp(model, op);
    const shape = inferShape(
      op,
      op.inputs.map((id) => tensors[id].shape),
    );
    if (shape.join(',') !== out.shape.join(',')) {
      bad(op, `output shape [${out.shape.join(',')}] should be [${shape.join(',')}].`);
    }
    defined.add(op.output);
  }
  checkWeightRoles(model);
}

/**
 * A matmul weight is committed column-major (layout.ts), so a one-step proof of any other op would
 * read it in the wrong order: such a constant may only ever be input b of matmuls.
 */
function checkWeightRoles(model: Model): void {
  const weights = matmulWeightIds(model);
  for (const op of model.ops) {
    op.inputs.forEach((id, k) => {
      if (weights.has(id) && !(op.type === 'matmul' && k === 1)) {
        bad(
          op,
          `input ${k} ("${model.tensors[id].name}") is also the weight (input b) of a matmul, which is committed column by column. Give this op its own copy of the constant.`,
        );
      }
    });
  }
}

function checkOp(model: Model, op: Op): void {
  const t = (k: number) => model.tensors[op.inputs[k]];
  const c = (k: number) => {
    const data = model.consts.get(op.inputs[k]);
    if (!data) bad(op, `input ${k} ("${t(k).name}") must be a constant.`);
    return data;
  };
  const expect = (k: number, dtype: DType) => {
    if (t(k).dtype !== dtype) bad(op, `input ${k} ("${t(k).name}") must be ${dtype}, not ${t(k).dtype}.`);
  };
  const clampRange = (o: { qmin: number; qmax: number }) => {
    if (
      !(
        Number.isInteger(o.qmin) &&
        Number.isInteger(o.qmax) &&
        0 <= o.qmin &&
        o.qmin <= o.qmax &&
        o.qmax <= 255
      )
    ) {
      bad(op, `clamp range [${o.qmin}, ${o.qmax}] must lie within [0, 255].`);
    }
  };
  const requant = (mult: number, shift: number) => {
    if (!Number.isInteger(mult) || mult < 0 || mult >= MULT_LIMIT)
      bad(op, `multiplier ${mult} outside [0, 2^15).`);
    if (!Number.isInteger(shift) || shift < 0 || shift > MAX_SHIFT)
      bad(op, `shift ${shift} outside [0, ${MAX_SHIFT}].`);
  };
  const requantVectors = (mk: number, sk: number, len: number) => {
    expect(mk, 'i32');
    expect(sk, 'i32');
    const m = c(mk);
    const s = c(sk);
    if (m.length !== s.length || (m.length !== len && m.length !== 1))
      bad(op, `multiplier/shift length must be ${len} or 1.`);
    for (let i = 0; i < m.length; i++) requant(m[i], s[i]);
  };
  switch (op.type) {
    case 'conv': {
      expect(0, 'u8');
      expect(1, 'i8');
      expect(2, 'i32');
      const [M, Cg, KH, KW] = t(1).shape;
      if (t(2).shape.join() !== `${M}`) bad(op, `bias must have shape [${M}].`);
      requantVectors(3, 4, M);
      clampRange(op);
      if (![...op.strides, ...op.dilations].every((v) => Number.isInteger(v) && v >= 1))
        bad(op, 'strides and dilations must be >= 1.');
      if (!op.pads.every((v) => Number.isInteger(v) && v >= 0)) bad(op, 'pads must be >= 0.');
      if (op.pads[0] >= KH * op.dilations[0] || op.pads[1] >= KW * op.dilations[1])
        bad(op, 'pads must be smaller than the kernel.');
      checkAccumulator(op, Cg * KH * KW, 255 * 128, maxAbs(c(2)));
      return;
    }
    case 'matmul': {
      expect(0, 'u8');
      const b = t(1);
      if (b.kind === 'const' ? b.dtype !== 'i8' : b.dtype !== 'u8')
        bad(op, 'b must be an i8 constant or a u8 activation.');
      expect(2, 'i32');
      const N = b.shape[b.shape.length - 1];
      if (t(2).shape.join() !== `${N}`) bad(op, `bias must have shape [${N}].`);
      requantVectors(3, 4, N);
      clampRange(op);
      const K = t(0).shape[t(0).shape.length - 1];
      checkAccumulator(op, K, b.kind === 'const' ? 255 * 128 : 255 * 255, maxAbs(c(2)));
      return;
    }
    case 'add':
      expect(0, 'u8');
      expect(1, 'u8');
      requant(op.multA, op.shift);
      requant(op.multB, op.shift);
      clampRange(op);
      return;
    case 'mul':
      expect(0, 'u8');
      expect(1, 'u8');
      requant(op.mult, op.shift);
      clampRange(op);
      return;
    case 'lut':
      expect(0, 'u8');
      expect(1, 'u8');
      if (elementCount(t(1).shape) !== 256) bad(op, 'table must have 256 entries.');
      c(1);
      return;
    case 'maxpool':
    case 'avgpool':
      expect(0, 'u8');
      if (![...op.kernel, ...op.strides].every((v) => Number.isInteger(v) && v >= 1))
        bad(op, 'kernel and strides must be >= 1.');
      // The one-step verifier reads the pads as unsigned offsets, as it does conv's.
      if (!op.pads.every((v) => Number.isInteger(v) && v >= 0)) bad(op, 'pads must be >= 0.');
      if (
        op.pads[0] >= op.kernel[0] ||
        op.pads[1] >= op.kernel[1] ||
        op.pads[2] >= op.kernel[0] ||
        op.pads[3] >= op.kernel[1]
      ) {
        bad(op, 'pads must be smaller than the kernel, so that no window is empty.');
      }
      if (op.type === 'avgpool') {
        requant(op.mult, op.shift);
        if (op.kernel[0] * op.kernel[1] * 255 * MULT_LIMIT >= 2 ** 49) bad(op, 'window too large.');
      }
      return;
    case 'reducemean':
      expect(0, 'u8');
      requant(op.mult, op.shift);
      if (t(0).shape[op.axis] * 255 * MULT_LIMIT >= 2 ** 49) bad(op, 'reduced axis too long.');
      return;
    case 'softmax': {
      expect(0, 'u8');
      expect(1, 'i32');
      const table = c(1);
      if (table.length !== 256 || table[0] !== 2 ** 16)
        bad(op, 'expTable must have 256 entries with expTable[0] = 2^16.');
      for (let i = 0; i < 256; i++)
        if (table[i] < 0 || table[i] > 2 ** 16) bad(op, 'expTable entries must lie in [0, 2^16].');
      if (t(0).shape[t(0).shape.length - 1] > 2 ** 16) bad(op, 'softmax axis longer than 2^16.');
      return;
    }
    case 'layernorm': {
      expect(0, 'u8');
      expect(1, 'i32');
      expect(2, 'i32');
      const D = t(0).shape[t(0).shape.length - 1];
      if (D > MAX_NORM_AXIS) bad(op, `normalized axis ${D} longer than ${MAX_NORM_AXIS}.`);
      if (t(1).shape.join() !== `${D}` || t(2).shape.join() !== `${D}`)
        bad(op, `gamma and beta must have shape [${D}].`);
      if (maxAbs(c(1)) > 2 ** 15 || maxAbs(c(2)) >= INT32_LIMIT)
        bad(op, 'gamma must lie within ±2^15 and beta within int32.');
      if (!Number.isInteger(op.eps) || op.eps < 0 || op.eps >= 2 ** 40)
        bad(op, 'eps must be an integer in [0, 2^40).');
      requant(op.mult, op.shift);
      clampRange(op);
      return;
    }
    case 'gather':
      if (t(0).kind !== 'const' || t(0).dtype !== 'u8' || t(0).shape.length !== 2)
        bad(op, 'table must be a u8 constant of rank 2.');
      expect(1, 'i32');
      return;
    case 'reshape':
    case 'transpose':
      expect(0, 'u8');
      return;
    case 'concat': {
      const out = model.tensors[op.output];
      op.inputs.forEach((_, k) => {
        expect(k, 'u8');
        if (t(k).zeroPoint !== out.zeroPoint || t(k).scale !== out.scale)
          bad(op, 'every input must share the output quantization.');
      });
      return;
    }
  }
}

function checkAccumulator(op: Op, taps: number, maxProduct: number, maxBias: number): void {
  const bound = taps * maxProduct + maxBias;
  if (bound >= INT32_LIMIT) {
    bad(
      op,
      `the accumulator can reach ${bound}, beyond int32. Split the reduction (${taps} taps) into smaller ops.`,
    );
  }
}

/** Checks a quantized input against the model and returns its batch size. */
export function checkInput(model: Model, input: Tensor): number {
  const info = model.tensors[model.input];
  if (input.dtype !== info.dtype) {
    throw new InputError(`The model expects a ${info.dtype} input, got ${input.dtype}.`);
  }
  const want = info.shape.slice(1);
  const got = input.shape.slice(1);
  if (input.shape.length !== info.shape.length || want.join(',') !== got.join(',') || input.shape[0] < 1) {
    throw new InputError(
      `Input shape [${input.shape.join(',')}] does not fit the model's input [B,${want.join(',')}] (B = batch size >= 1).`,
    );
  }
  if (input.data.length !== elementCount(input.shape)) {
    throw new InputError(
      `Input data has ${input.data.length} values, shape [${input.shape.join(',')}] needs ${elementCount(input.shape)}.`,
    );
  }
  if (input.zeroPoint !== info.zeroPoint) {
    throw new InputError(`Input zero point ${input.zeroPoint} differs from the model's ${info.zeroPoint}.`);
  }
  return input.shape[0];
}

/**
 * checkInput, plus the protocol's batch cap for a result that goes on chain: the validator bounds
 * every one-step only up to STEP_BATCH_LIMIT samples, and the dispute game refuses a larger batch,
 * so a worker must not post a result for one (it could not defend it).
 */
export function checkSettleableInput(model: Model, input: Tensor): number {
  const batch = checkInput(model, input);
  if (batch > STEP_BATCH_LIMIT) {
    throw new InputError(
      `A task settles at most ${STEP_BATCH_LIMIT} samples, and this input has ${batch}. ` +
        `Split it into tasks of at most ${STEP_BATCH_LIMIT} samples.`,
    );
  }
  return batch;
}
