// Quantization parameters: activation scales and zero points, weights, requantization multipliers.
import { MAX_SHIFT, MULT_LIMIT } from '../../engine/arith.ts';
import { ModelFormatError } from '../../errors/base.ts';

/** Default weight bit width: symmetric weights in [-127, 127]. */
export const DEFAULT_WEIGHT_BITS = 8;

export interface QParams {
  scale: number;
  zeroPoint: number;
}

/** Round half away from zero. */
export function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

export function clampInt(v: number, lo: number, hi: number): number {
  return v < lo ? lo : Math.min(v, hi);
}

/** u8 asymmetric parameters covering [lo, hi] and 0. */
export function qparamsFor(lo: number, hi: number): QParams {
  let a = Math.min(lo, 0);
  let b = Math.max(hi, 0);
  if (!Number.isFinite(a) || !Number.isFinite(b))
    throw new ModelFormatError(`Cannot quantize the unbounded range [${lo}, ${hi}].`);
  if (!(b > a)) {
    a = 0;
    b = 1;
  }
  const scale = (b - a) / 255;
  return { scale, zeroPoint: clampInt(roundHalfAway(-a / scale), 0, 255) };
}

/** Quantizes a real value with u8 parameters. */
export function quantizeU8(v: number, q: QParams): number {
  if (Number.isNaN(v)) return q.zeroPoint;
  return clampInt(roundHalfAway(v / q.scale) + q.zeroPoint, 0, 255);
}

export interface Requant {
  mult: number;
  shift: number;
}

/** mult/2^shift ≈ m with mult in [2^14, 2^15) where possible, shift in [0, MAX_SHIFT]. */
export function quantizeMultiplier(m: number, what: string): Requant {
  if (!Number.isFinite(m) || m < 0)
    throw new ModelFormatError(`${what}: invalid requantization factor ${m}.`);
  if (m === 0) return { mult: 0, shift: 0 };
  let shift = 14 - Math.floor(Math.log2(m));
  let mult = Math.round(m * 2 ** shift);
  while (mult >= MULT_LIMIT) {
    shift -= 1;
    mult = Math.round(m * 2 ** shift);
  }
  while (mult < MULT_LIMIT / 2 && shift < MAX_SHIFT && Math.round(m * 2 ** (shift + 1)) < MULT_LIMIT) {
    shift += 1;
    mult = Math.round(m * 2 ** shift);
  }
  if (shift > MAX_SHIFT) {
    shift = MAX_SHIFT;
    mult = Math.round(m * 2 ** shift);
  }
  if (shift < 0) {
    throw new ModelFormatError(
      `${what}: the requantization factor ${m} is too large (>= 2^15); the output range is far narrower than the input's.`,
    );
  }
  return { mult, shift };
}

/** Shared shift for two multipliers (the add op). */
export function quantizePair(
  a: number,
  b: number,
  what: string,
): { multA: number; multB: number; shift: number } {
  const big = Math.max(a, b);
  if (!Number.isFinite(big) || a < 0 || b < 0)
    throw new ModelFormatError(`${what}: invalid scale ratios ${a}, ${b}.`);
  let shift = MAX_SHIFT;
  while (shift > 0 && Math.round(big * 2 ** shift) >= MULT_LIMIT) shift -= 1;
  if (Math.round(big * 2 ** shift) >= MULT_LIMIT) {
    throw new ModelFormatError(`${what}: an input scale is 2^15 times larger than the output scale.`);
  }
  return { multA: Math.round(a * 2 ** shift), multB: Math.round(b * 2 ** shift), shift };
}

/** Throws unless every value is a finite number (NaN or infinite parameters make no model). */
export function requireFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]))
      throw new ModelFormatError(`The model's ${what} contain a non-finite value (${values[i]}).`);
  }
}

/** Symmetric weight quantization of `groups` equal groups (per output channel or column). */
export function quantizeWeights(
  w: Float64Array,
  groupOf: (i: number) => number,
  groups: number,
  weightBits: number,
): { q: Int8Array; scales: Float64Array } {
  requireFinite(w, 'weights');
  const qmax = 2 ** (weightBits - 1) - 1;
  const maxAbs = new Float64Array(groups);
  for (let i = 0; i < w.length; i++) maxAbs[groupOf(i)] = Math.max(maxAbs[groupOf(i)], Math.abs(w[i]));
  const scales = maxAbs.map((m) => (m > 0 ? m / qmax : 1));
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = clampInt(roundHalfAway(w[i] / scales[groupOf(i)]), -qmax, qmax);
  return { q, scales };
}

/** The largest |bias| that can still change an output; larger biases saturate the same way. */
export function clampBias(bias: number, accMax: number, ratio: number): number {
  if (ratio <= 0) return 0;
  const limit = accMax + Math.ceil(256 / ratio) + 1;
  return clampInt(bias, -limit, limit);
}
