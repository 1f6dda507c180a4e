// A posted output as a person reads it: the raw integers, the top class per row with its label,
// and the scores. The integers are what was verified; the scores are for display only.
import { type Hex, hexToBytes } from 'viem';
import type { Model } from '../engine/graph.ts';

export interface Answer {
  /** The committed output bytes, as numbers. */
  bytes: number[];
  /** The output tensor's integer values (signed for i8, big-endian words for i32). */
  values: number[];
  /** Index of the largest value per row. */
  top: number[];
  labels: (string | undefined)[];
  /** scale * (q - zeroPoint) of every value (display only). */
  scores: number[];
}

export function answerOf(model: Model, output: Hex): Answer {
  const info = model.tensors[model.output];
  const raw = hexToBytes(output);
  let values: number[];
  if (info.dtype === 'i32') {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    values = Array.from({ length: Math.floor(raw.length / 4) }, (_, i) => view.getInt32(i * 4));
  } else if (info.dtype === 'i8') {
    values = Array.from(new Int8Array(raw.buffer, raw.byteOffset, raw.byteLength));
  } else {
    values = Array.from(raw);
  }
  const width = Math.max(1, info.shape[info.shape.length - 1] ?? 1);
  const top: number[] = [];
  for (let r = 0; r * width < values.length; r++) {
    let best = 0;
    for (let i = 1; i < width && r * width + i < values.length; i++)
      if (values[r * width + i] > values[r * width + best]) best = i;
    top.push(best);
  }
  return {
    bytes: Array.from(raw),
    values,
    top,
    labels: top.map((i) => model.meta.labels?.[i]),
    scores: values.map((q) => info.scale * (q - info.zeroPoint)),
  };
}

/** "7 (0.982), 1 (0.011), 9 (0.004)" for row `row`. */
export function describeRow(model: Model, a: Answer, row: number): string {
  const width = a.values.length / a.top.length;
  return a.scores
    .slice(row * width, (row + 1) * width)
    .map((s, i) => [i, s] as const)
    .sort((x, y) => y[1] - x[1] || x[0] - y[0])
    .slice(0, 3)
    .map(([i, s]) => `${model.meta.labels?.[i] ?? i} (${s.toFixed(3)})`)
    .join(', ');
}
