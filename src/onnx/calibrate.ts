// Runs the float graph on the calibration samples and records the range of every probed tensor.

import { mseRange, percentileRange } from './calibrationRange.ts';
import type { FTensor } from './float/tensor.ts';
import { type DynGraph, runDynamic } from './fold.ts';
import type { Probe } from './lower/types.ts';

/**
 * How an activation's range is estimated from its calibration values: 'minmax' takes the extremes,
 * 'percentile' clips to the given percentile on both sides, 'mse' picks the clipping range with
 * the least expected squared quantization error.
 */
export type CalibrationMethod = 'minmax' | 'percentile' | 'mse';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'mse'];

export interface CalibrationResult {
  /** [lo, hi] per probe. */
  ranges: [number, number][];
  /** Float output of every sample (own evaluator). */
  outputs: FTensor[];
  /** Probes that saw non-finite values (ignored). */
  nonFinite: string[];
}

/** Uniform reservoir sample of at most `cap` values (seeded, so calibration stays deterministic). */
class Reservoir {
  private readonly cap: number;
  values: number[] = [];
  private seen = 0;
  private state = 0x9e3779b9;
  constructor(cap: number) {
    this.cap = cap;
  }
  private random(): number {
    // mulberry32
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  add(v: number): void {
    this.seen += 1;
    if (this.values.length < this.cap) this.values.push(v);
    else {
      const j = Math.floor(this.random() * this.seen);
      if (j < this.cap) this.values[j] = v;
    }
  }
}

export function calibrate(
  g: DynGraph,
  samples: FTensor[],
  probes: Probe[],
  method: CalibrationMethod = 'minmax',
  percentile = 99.99,
  onSample?: (done: number, total: number) => void,
): CalibrationResult {
  const byTensor = new Map<string, number[]>();
  probes.forEach((p, i) => {
    const list = byTensor.get(p.tensor) ?? [];
    list.push(i);
    byTensor.set(p.tensor, list);
  });
  const lo = new Float64Array(probes.length).fill(Number.POSITIVE_INFINITY);
  const hi = new Float64Array(probes.length).fill(Number.NEGATIVE_INFINITY);
  const keep = method !== 'minmax' ? probes.map(() => new Reservoir(200_000)) : null;
  const bad = new Set<number>();
  const outputs: FTensor[] = [];
  samples.forEach((s, k) => {
    const y = runDynamic(g, s, (name, value) => {
      const ids = byTensor.get(name);
      if (!ids) return;
      for (const i of ids) {
        const fn = probes[i].fn;
        const res = keep?.[i];
        for (const raw of value.data) {
          const v = fn ? fn(raw) : raw;
          if (!Number.isFinite(v)) {
            bad.add(i);
            continue;
          }
          if (v < lo[i]) lo[i] = v;
          if (v > hi[i]) hi[i] = v;
          res?.add(v);
        }
      }
    });
    outputs.push(y);
    onSample?.(k + 1, samples.length);
  });
  const ranges = probes.map((_, i): [number, number] => {
    if (!(lo[i] <= hi[i])) return [0, 0];
    const res = keep?.[i];
    if (!res || res.values.length < 1000) return [lo[i], hi[i]];
    const sorted = Float64Array.from(res.values).sort();
    return method === 'mse'
      ? mseRange(sorted, lo[i], hi[i])
      : percentileRange(sorted, lo[i], hi[i], percentile);
  });
  return { ranges, outputs, nonFinite: [...bad].map((i) => probes[i].tensor) };
}
