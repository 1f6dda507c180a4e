// Clipping ranges chosen from a sample of a tensor's calibration values. Import-time float code
// (never on the verified path); every choice is a pure function of the sorted sample, so the same
// calibration set always gives the same model.

/** The `p`-th and `(100 - p)`-th percentiles of `sorted`, kept inside [lo, hi]. */
export function percentileRange(sorted: Float64Array, lo: number, hi: number, p: number): [number, number] {
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((q / 100) * (sorted.length - 1))))];
  return [Math.max(lo, at(100 - p)), Math.min(hi, at(p))];
}

const BINS = 1024;

/**
 * The range [a, b] ∋ 0 (u8 asymmetric quantization always covers 0) that minimizes the expected
 * squared error of quantizing the sample: values outside are clipped (their exact squared
 * distance), values inside get uniform rounding noise of scale²/12 each (exact zeros none, since
 * the zero point represents 0 exactly). The sample is binned into BINS bins over [min(lo,0),
 * max(hi,0)] and every pair of bin edges around 0 is tried, with prefix sums, so the search is
 * exhaustive on that grid.
 */
export function mseRange(sorted: Float64Array, lo: number, hi: number): [number, number] {
  const a0 = Math.min(lo, 0);
  const b0 = Math.max(hi, 0);
  const width = (b0 - a0) / BINS;
  if (!(width > 0) || !Number.isFinite(width)) return [lo, hi];
  const edge = (k: number) => (k === BINS ? b0 : a0 + k * width);
  // Per-bin count, sum and sum of squares of the nonzero values; zeros counted apart.
  const n = new Float64Array(BINS);
  const s1 = new Float64Array(BINS);
  const s2 = new Float64Array(BINS);
  for (const v of sorted) {
    if (v === 0) continue;
    const k = Math.min(BINS - 1, Math.max(0, Math.floor((v - a0) / width)));
    n[k] += 1;
    s1[k] += v;
    s2[k] += v * v;
  }
  // Prefix sums: P[k] = sum over bins < k.
  const pn = new Float64Array(BINS + 1);
  const p1 = new Float64Array(BINS + 1);
  const p2 = new Float64Array(BINS + 1);
  for (let k = 0; k < BINS; k++) {
    pn[k + 1] = pn[k] + n[k];
    p1[k + 1] = p1[k] + s1[k];
    p2[k + 1] = p2[k] + s2[k];
  }
  // The edge at or just below 0 and the one at or just above it.
  const zLo = Math.min(BINS, Math.floor(-a0 / width));
  const zHi = Math.max(0, Math.min(BINS, Math.ceil(-a0 / width)));
  let best = Number.POSITIVE_INFINITY;
  let range: [number, number] = [lo, hi];
  for (let i = 0; i <= zLo; i++) {
    const e = edge(i);
    // Values below edge i clip to it: sum (v - e)^2.
    const below = p2[i] - 2 * e * p1[i] + pn[i] * e * e;
    if (below >= best) continue;
    for (let j = Math.max(zHi, i + 1); j <= BINS; j++) {
      const f = edge(j);
      const above = p2[BINS] - p2[j] - 2 * f * (p1[BINS] - p1[j]) + (pn[BINS] - pn[j]) * f * f;
      const scale = (f - e) / 255;
      const inside = ((pn[j] - pn[i]) * scale * scale) / 12;
      const err = below + above + inside;
      if (err < best) {
        best = err;
        range = [Math.max(lo, e), Math.min(hi, f)];
      }
    }
  }
  return range;
}
