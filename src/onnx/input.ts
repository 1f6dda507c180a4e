// Float inputs: parsing JSON, quantizing for a model, and reading quantized outputs as floats.
import { elementCount, type Model } from '../engine/graph.ts';
import type { Tensor } from '../engine/tensor.ts';
import { InputError } from '../errors/base.ts';
import { clampInt, roundHalfAway } from './quantize/params.ts';

/** A float tensor as supplied by users (calibration samples, inputs). */
export interface FloatTensor {
  shape: number[];
  data: Float32Array | number[];
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function checkNumber(v: unknown, where: string): number {
  if (typeof v !== 'number') throw new InputError(`Expected a number at ${where}, found ${describe(v)}.`);
  if (!Number.isFinite(v))
    throw new InputError(`The value at ${where} is ${v}; only finite numbers are allowed.`);
  return v;
}

function parseNested(json: unknown[]): FloatTensor {
  const shape: number[] = [];
  for (let level: unknown = json; Array.isArray(level); level = level[0]) {
    if (level.length === 0)
      throw new InputError(`Empty array at depth ${shape.length}: every dimension must be at least 1.`);
    shape.push(level.length);
  }
  const data: number[] = [];
  const walk = (v: unknown, depth: number, path: string) => {
    if (depth === shape.length) {
      data.push(checkNumber(v, path || 'the top level'));
      return;
    }
    if (!Array.isArray(v)) {
      throw new InputError(
        `Ragged array: expected an array of length ${shape[depth]} at ${path || 'the top level'}, found ${describe(v)}.`,
      );
    }
    if (v.length !== shape[depth]) {
      throw new InputError(
        `Ragged array: ${path || 'the top level'} has length ${v.length}, but its siblings have length ${shape[depth]}.`,
      );
    }
    for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, `${path}[${i}]`);
  };
  walk(json, 0, '');
  return { shape, data };
}

/**
 * Parses a float tensor from JSON: nested arrays (the shape is their nesting) or
 * `{ "shape": [...], "data": [...] }` with row-major data. Throws InputError for anything malformed.
 */
export function parseFloatInput(json: unknown): FloatTensor {
  if (Array.isArray(json)) return parseNested(json);
  if (json === null || typeof json !== 'object') {
    throw new InputError(
      `Expected a tensor (nested arrays or { "shape": [...], "data": [...] }), found ${describe(json)}.`,
    );
  }
  const obj = json as Record<string, unknown>;
  if (!('shape' in obj) || !('data' in obj)) {
    throw new InputError(
      'A tensor object needs both "shape" and "data" fields, e.g. { "shape": [1, 3], "data": [0.1, 0.2, 0.3] }.',
    );
  }
  const { shape, data } = obj;
  if (!Array.isArray(shape) || shape.length === 0)
    throw new InputError(`"shape" must be a non-empty array of positive integers, found ${describe(shape)}.`);
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) {
      throw new InputError(`"shape"[${i}] must be a positive integer, found ${describe(d)}.`);
    }
  });
  if (!Array.isArray(data))
    throw new InputError(`"data" must be an array of numbers, found ${describe(data)}.`);
  const flat = data.map((v, i) => checkNumber(v, `"data"[${i}]`));
  const n = elementCount(shape as number[]);
  if (flat.length !== n) {
    throw new InputError(`"data" has ${flat.length} values, but shape [${shape.join(',')}] needs ${n}.`);
  }
  return { shape: [...(shape as number[])], data: flat };
}

function stripOnes(s: readonly number[]): number[] {
  let i = 0;
  while (i < s.length - 1 && s[i] === 1) i++;
  return s.slice(i);
}

/** Checks a float tensor and returns its batch size for the model input. */
function fitShape(model: Model, t: FloatTensor): number {
  const info = model.tensors[model.input];
  const want = info.shape.slice(1);
  if (!t || !Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new InputError('The input tensor has an invalid shape.');
  }
  if (!t.data || t.data.length !== elementCount(t.shape)) {
    throw new InputError(
      `The input has ${t.data?.length ?? 0} values, but its shape [${t.shape.join(',')}] needs ${elementCount(t.shape)}.`,
    );
  }
  if (t.shape.length === info.shape.length && t.shape.slice(1).join() === want.join()) return t.shape[0];
  if (t.shape.join() === want.join() || stripOnes(t.shape).join() === stripOnes(info.shape).join()) return 1;
  throw new InputError(
    `Input shape [${t.shape.join(',')}] does not fit the model input [B,${want.join(',')}] (B = batch size >= 1).`,
  );
}

/**
 * Quantizes a float tensor for the model input: u8 inputs use q = clamp(round(x / scale) + zp, 0, 255)
 * (round half away from zero); integer inputs (token ids) must hold integers and pass through.
 */
export function quantizeInput(model: Model, t: FloatTensor): Tensor {
  const info = model.tensors[model.input];
  const batch = fitShape(model, t);
  const shape = [batch, ...info.shape.slice(1)];
  const n = t.data.length;
  if (info.dtype === 'i32') {
    const data = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = t.data[i];
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
        throw new InputError(`Input value ${v} at position ${i} is not an integer token id.`);
      }
      data[i] = v;
    }
    return { dtype: 'i32', shape, data, zeroPoint: 0 };
  }
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = t.data[i];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new InputError(`Input value ${v} at position ${i} is not a finite number.`);
    data[i] = clampInt(roundHalfAway(v / info.scale) + info.zeroPoint, 0, 255);
  }
  return { dtype: 'u8', shape, data, zeroPoint: info.zeroPoint };
}

/** Real values of a model output tensor: scale * (q - zeroPoint). */
export function dequantize(model: Model, t: Tensor): number[] {
  const info = model.tensors[model.output];
  return Array.from(t.data, (q) => info.scale * (q - info.zeroPoint));
}
