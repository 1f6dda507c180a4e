// The integer dot products of conv and matmul, and their requantization.
//
// GEMM layout ("c2"): C[M][Np] (i32) = A[M][Kp] (i16, row-major) · B, where B holds the k-pairs of
// every column together: element (k, j) sits at i16 index ((k >> 1) * Np + j) * 2 + (k & 1). One
// i32x4.dot_i16x8_s of a splatted A pair against 4 columns of B adds 8 exact products into 4
// accumulators: |a| <= 255 and |b| <= 255, so each pair sum is below 2^17 and the validator bounds
// every accumulator below 2^31. Kp is even and Np a multiple of 8; the padding of A or of B is zero.
import { A, P, rqClamp } from './arith';
import { gemm } from './tiles';

export { gemm };

// The host may also run a whole conv (code 1) or matmul (code 2) from its record r: it returns 1
// when it wrote the op's output, or 0 to leave the op to the engine. macs is the op's number of
// multiply-adds, so that small ops need not leave WebAssembly at all.
@external('env', 'opHook')
export declare function opHook(code: i32, r: usize, macs: f64): i32;

/** The i16 lanes 0..3 of a and b interleaved (a0 b0 a1 b1 ...), then lanes 4..7. */
@inline
export function pairsLow(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
}

@inline
export function pairsHigh(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
}

/** clamp(zy + rshift(v * m, S), qmin, qmax) on 4 lanes in i64: |v| < 2^31, 0 <= m < 2^31, S <= 40. */
@inline
export function rq4(v: v128, m: v128, rnd: v128, S: i32, lo: v128, hi: v128, zyv: v128): v128 {
  let x = i64x2.shr_s(i64x2.add(i64x2.extmul_low_i32x4_s(v, m), rnd), S);
  let y = i64x2.shr_s(i64x2.add(i64x2.extmul_high_i32x4_s(v, m), rnd), S);
  x = v128.bitselect(lo, x, i64x2.lt_s(x, lo));
  x = v128.bitselect(hi, x, i64x2.gt_s(x, hi));
  y = v128.bitselect(lo, y, i64x2.lt_s(y, lo));
  y = v128.bitselect(hi, y, i64x2.gt_s(y, hi));
  return i32x4.add(i8x16.shuffle(x, y, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27), zyv);
}

/**
 * The same for S >= 16 and 0 <= m < 2^15, in i32 lanes: v = vh * 2^16 + vl with 0 <= vl < 2^16,
 * so v * m + 2^(S-1) = (vh * m + rhi) * 2^16 + (vl * m + rlo), where rhi = 2^(S-17) and rlo = 0
 * for S > 16, rhi = 0 and rlo = 2^15 for S = 16; |vh * m + rhi| < 2^31 and 0 <= vl * m + rlo <
 * 2^31, and floor(X / 2^S) = (vh * m + rhi + floor((vl * m + rlo) / 2^16)) >> (S - 16) exactly.
 * lo and hi are qmin and qmax (i32).
 */
@inline
export function rq4s(v: v128, m: v128, rlo: v128, rhi: v128, s16: i32, lo: v128, hi: v128, zyv: v128): v128 {
  const a = i32x4.add(i32x4.mul(i32x4.shr_s(v, 16), m), rhi);
  const l = i32x4.add(i32x4.mul(v128.and(v, i32x4.splat(0xffff)), m), rlo);
  const t = i32x4.shr_s(i32x4.add(a, i32x4.shr_u(l, 16)), s16);
  return i32x4.min_s(i32x4.max_s(i32x4.add(t, zyv), lo), hi);
}

/** rlo and rhi of rq4s for a shift S >= 16. */
@inline
export function rqLow(S: i32): v128 {
  return i32x4.splat(S === 16 ? 1 << 15 : 0);
}

@inline
export function rqHigh(S: i32): v128 {
  return i32x4.splat(S > 16 ? 1 << (S - 17) : 0);
}

/** Eight clamped lanes (0..255) as bytes. */
@inline
export function store8(y: usize, r0: v128, r1: v128): void {
  const n = i16x8.narrow_i32x4_s(r0, r1);
  v128.store64_lane(y, i8x16.narrow_i16x8_u(n, n), 0);
}

@inline
function store4(y: usize, r: v128): void {
  const n = i16x8.narrow_i32x4_u(r, r);
  v128.store32_lane(y, i8x16.narrow_i16x8_u(n, n), 0);
}

/**
 * y[p] = clamp(zy + rshift((acc[p] + bias) * mult, S), qmin, qmax) for p < n: one conv output row,
 * whose channel has one bias, multiplier and shift.
 */
export function requantRow(
  acc: usize,
  y: usize,
  n: i32,
  bias: i32,
  mult: i32,
  S: i32,
  zy: i32,
  qmin: i32,
  qmax: i32,
): void {
  const bv = i32x4.splat(bias);
  const mv = i32x4.splat(mult);
  const rnd = i64x2.splat(S > 0 ? (<i64>1) << (<i64>(S - 1)) : 0);
  const lo = i64x2.splat(<i64>(qmin - zy));
  const hi = i64x2.splat(<i64>(qmax - zy));
  const zyv = i32x4.splat(zy);
  let p = 0;
  if (S >= 16) {
    const rlo = rqLow(S);
    const rhi = rqHigh(S);
    const lo32 = i32x4.splat(qmin);
    const hi32 = i32x4.splat(qmax);
    for (; p + 8 <= n; p += 8) {
      const q = acc + ((<usize>p) << 2);
      const r0 = rq4s(i32x4.add(v128.load(q), bv), mv, rlo, rhi, S - 16, lo32, hi32, zyv);
      const r1 = rq4s(i32x4.add(v128.load(q, 16), bv), mv, rlo, rhi, S - 16, lo32, hi32, zyv);
      store8(y + <usize>p, r0, r1);
    }
  }
  for (; p + 4 <= n; p += 4) {
    const v = i32x4.add(v128.load(acc + ((<usize>p) << 2)), bv);
    store4(y + <usize>p, rq4(v, mv, rnd, S, lo, hi, zyv));
  }
  for (; p < n; p++) {
    const v = <i64>(load<i32>(acc + ((<usize>p) << 2)) + bias);
    store<u8>(y + <usize>p, rqClamp(v, mult, S, zy, qmin, qmax));
  }
}

/**
 * y[j] = clamp(zy + rshift((acc[j] + bias[j]) * mult[j], S), qmin, qmax) for j < n: one matmul
 * output row with per-column parameters brought to one common shift S (the plan scales each
 * multiplier by 2^(S - shift[j]), which leaves every rshift unchanged).
 */
export function requantRowV(
  acc: usize,
  y: usize,
  n: i32,
  bias: usize,
  mult: usize,
  S: i32,
  zy: i32,
  qmin: i32,
  qmax: i32,
  small: bool,
): void {
  const rnd = i64x2.splat(S > 0 ? (<i64>1) << (<i64>(S - 1)) : 0);
  const lo = i64x2.splat(<i64>(qmin - zy));
  const hi = i64x2.splat(<i64>(qmax - zy));
  const zyv = i32x4.splat(zy);
  let j = 0;
  // small: S >= 16 and every multiplier below 2^15 (the plan checks), so rq4s applies.
  if (small) {
    const rlo = rqLow(S);
    const rhi = rqHigh(S);
    const lo32 = i32x4.splat(qmin);
    const hi32 = i32x4.splat(qmax);
    for (; j + 8 <= n; j += 8) {
      const o = (<usize>j) << 2;
      const r0 = rq4s(
        i32x4.add(v128.load(acc + o), v128.load(bias + o)),
        v128.load(mult + o),
        rlo,
        rhi,
        S - 16,
        lo32,
        hi32,
        zyv,
      );
      const r1 = rq4s(
        i32x4.add(v128.load(acc + o, 16), v128.load(bias + o, 16)),
        v128.load(mult + o, 16),
        rlo,
        rhi,
        S - 16,
        lo32,
        hi32,
        zyv,
      );
      store8(y + <usize>j, r0, r1);
    }
  }
  for (; j + 4 <= n; j += 4) {
    const o = (<usize>j) << 2;
    const v = i32x4.add(v128.load(acc + o), v128.load(bias + o));
    store4(y + <usize>j, rq4(v, v128.load(mult + o), rnd, S, lo, hi, zyv));
  }
  for (; j < n; j++) {
    const o = (<usize>j) << 2;
    const v = <i64>(load<i32>(acc + o) + load<i32>(bias + o));
    store<u8>(y + <usize>j, rqClamp(v, load<i32>(mult + o), S, zy, qmin, qmax));
  }
}

/** Scalar requantization of one row with each column's own multiplier and shift. */
export function requantRowScalar(
  acc: usize,
  y: usize,
  n: i32,
  bias: usize,
  mult: usize,
  shift: usize,
  zy: i32,
  qmin: i32,
  qmax: i32,
): void {
  for (let j = 0; j < n; j++) {
    const o = (<usize>j) << 2;
    const v = <i64>(load<i32>(acc + o) + load<i32>(bias + o));
    store<u8>(y + <usize>j, rqClamp(v, load<i32>(mult + o), load<i32>(shift + o), zy, qmin, qmax));
  }
}

/**
 * matmul over T broadcast slices: y[t][i][j] = requant(bias[j] + Σ_k (a - za)(b - zb)).
 * A constant b is packed once by the plan; an activation b is packed here, per slice.
 */
export function matmul(r: usize): void {
  const a = A(r, 0);
  const b = A(r, 1);
  const bias = A(r, 2);
  const multN = A(r, 3);
  const S = P(r, 4);
  const mode = P(r, 5);
  const multRaw = A(r, 6);
  const shiftRaw = A(r, 7);
  const y = A(r, 8);
  const T = P(r, 9);
  const aMap = A(r, 10);
  const bMap = A(r, 11);
  const M = P(r, 12);
  const K = P(r, 13);
  const N = P(r, 14);
  const Kp = P(r, 15);
  const Np = P(r, 16);
  const za = P(r, 17);
  const zb = P(r, 18);
  const bConst = P(r, 19);
  const aBuf = A(r, 20);
  const bBuf = A(r, 21);
  const acc = A(r, 22);
  const zy = P(r, 23);
  const qmin = P(r, 24);
  const qmax = P(r, 25);
  const bSlice = P(r, 26);
  const small = P(r, 28) !== 0;
  if (opHook(2, r, <f64>T * <f64>M * <f64>K * <f64>N)) return;
  let lastA = -1;
  for (let t = 0; t < T; t++) {
    const ai = load<i32>(aMap + ((<usize>t) << 2));
    const bi = load<i32>(bMap + ((<usize>t) << 2));
    if (ai !== lastA) {
      // A: rows of a - za, zero-padded to Kp.
      const src = a + <usize>(ai * M * K);
      for (let i = 0; i < M; i++) {
        const s = src + <usize>(i * K);
        const d = aBuf + ((<usize>(i * Kp)) << 1);
        let k = 0;
        const zav = i16x8.splat(<i16>za);
        for (; k + 8 <= K; k += 8) {
          v128.store(d + ((<usize>k) << 1), i16x8.sub(v128.load8x8_u(s + <usize>k), zav));
        }
        for (; k < K; k++) store<i16>(d + ((<usize>k) << 1), <i16>(<i32>load<u8>(s + <usize>k) - za));
        if (K < Kp) store<i16>(d + ((<usize>K) << 1), 0);
      }
      lastA = ai;
    }
    let bp: usize;
    if (bConst) {
      bp = b + <usize>(bi * bSlice);
    } else {
      // B: the pair layout of b - zb, 8 columns of two rows at a time. The k padding is zero in
      // A already, so an odd K's last pair repeats its row; the columns past N read up to 7
      // bytes beyond the row (still inside memory: scratch and the plan follow every tensor),
      // and their sums are never requantized.
      const src = b + <usize>(bi * K * N);
      const zbv = i16x8.splat(<i16>zb);
      for (let k = 0; k < K; k += 2) {
        const s0 = src + <usize>(k * N);
        const s1 = k + 1 < K ? s0 + <usize>N : s0;
        let d = bBuf + ((<usize>((k >> 1) * Np)) << 2);
        for (let j = 0; j < N; j += 8) {
          const r0 = i16x8.sub(v128.load8x8_u(s0 + <usize>j), zbv);
          const r1 = i16x8.sub(v128.load8x8_u(s1 + <usize>j), zbv);
          v128.store(d, pairsLow(r0, r1));
          v128.store(d, pairsHigh(r0, r1), 16);
          d += 32;
        }
      }
      bp = bBuf;
    }
    gemm(aBuf, bp, acc, M, Kp, Np);
    for (let i = 0; i < M; i++) {
      const ar = acc + ((<usize>(i * Np)) << 2);
      const yr = y + <usize>((t * M + i) * N);
      if (mode === 0) requantRowV(ar, yr, N, bias, multN, S, zy, qmin, qmax, small);
      else requantRowScalar(ar, yr, N, bias, multRaw, shiftRaw, zy, qmin, qmax);
    }
  }
}

/** matmul with tiny K and N (gates, broadcast products): plain loops, b read in place. */
export function matmulDirect(r: usize): void {
  const a = A(r, 0);
  const b = A(r, 1);
  const bias = A(r, 2);
  const multRaw = A(r, 6);
  const shiftRaw = A(r, 7);
  const y = A(r, 8);
  const T = P(r, 9);
  const aMap = A(r, 10);
  const bMap = A(r, 11);
  const M = P(r, 12);
  const K = P(r, 13);
  const N = P(r, 14);
  const za = P(r, 17);
  const zb = P(r, 18);
  const bConst = P(r, 19);
  const zy = P(r, 23);
  const qmin = P(r, 24);
  const qmax = P(r, 25);
  for (let t = 0; t < T; t++) {
    const ab = a + <usize>(load<i32>(aMap + ((<usize>t) << 2)) * M * K);
    const bb = b + <usize>(load<i32>(bMap + ((<usize>t) << 2)) * K * N);
    for (let i = 0; i < M; i++) {
      const ar = ab + <usize>(i * K);
      const yr = y + <usize>((t * M + i) * N);
      for (let j = 0; j < N; j++) {
        const o = (<usize>j) << 2;
        let s = load<i32>(bias + o);
        for (let k = 0; k < K; k++) {
          const bv = bConst ? <i32>load<i8>(bb + <usize>(k * N + j)) : <i32>load<u8>(bb + <usize>(k * N + j)) - zb;
          s += (<i32>load<u8>(ar + <usize>k) - za) * bv;
        }
        store<u8>(yr + <usize>j, rqClamp(<i64>s, load<i32>(multRaw + o), load<i32>(shiftRaw + o), zy, qmin, qmax));
      }
    }
  }
}
