// The conv GEMM with its requantization fused: y[m][p] = clamp(zy + rshift((bias[m] + Σ_k
// a[m][k] b[k][p]) * mult[m], shift[m]), qmin, qmax) for p < Pn, from register tiles like those of
// tiles.ts (a: i16 [M][Kp]; b: the pair layout, Np columns), so the i32 accumulators never go to
// memory. The accumulators start at the bias: the sums wrap in i32, and the validator bounds the
// whole sum below 2^31, so the order does not change the result.
import { rqBytes8, storeTail } from './requant';

/** The 8 output bytes of one row and column block, or the first n of them at the last block. */
@inline
function emit(y: usize, n: i32, v: v128): void {
  if (n >= 8) v128.store64_lane(y, v, 0);
  else storeTail(y, v, n);
}

/** Rows i..i+4 of C, requantized into y (see gemmRequant). */
@inline
function tile5(
  a: usize,
  b: usize,
  y: usize,
  bias: usize,
  rq: usize,
  shift: usize,
  i: i32,
  kh: i32,
  Np: i32,
  Pn: i32,
  zy: i32,
  qmin: i32,
  qmax: i32,
  zyv: v128,
  lo8: v128,
  hi8: v128,
  flip: v128,
): void {
  const aRow = (<usize>kh) << 2;
  const bRow = (<usize>Np) << 2;
  const a0 = a + <usize>i * aRow;
  const y0 = y + <usize>(i * Pn);
  const c0 = v128.load32_splat(bias + ((<usize>i) << 2));
  const t0 = rq + <usize>i * 64;
  const S0 = load<i32>(shift + ((<usize>i) << 2));
  const a1 = a + <usize>(i + 1) * aRow;
  const y1 = y + <usize>((i + 1) * Pn);
  const c1 = v128.load32_splat(bias + ((<usize>(i + 1)) << 2));
  const t1 = rq + <usize>(i + 1) * 64;
  const S1 = load<i32>(shift + ((<usize>(i + 1)) << 2));
  const a2 = a + <usize>(i + 2) * aRow;
  const y2 = y + <usize>((i + 2) * Pn);
  const c2 = v128.load32_splat(bias + ((<usize>(i + 2)) << 2));
  const t2 = rq + <usize>(i + 2) * 64;
  const S2 = load<i32>(shift + ((<usize>(i + 2)) << 2));
  const a3 = a + <usize>(i + 3) * aRow;
  const y3 = y + <usize>((i + 3) * Pn);
  const c3 = v128.load32_splat(bias + ((<usize>(i + 3)) << 2));
  const t3 = rq + <usize>(i + 3) * 64;
  const S3 = load<i32>(shift + ((<usize>(i + 3)) << 2));
  const a4 = a + <usize>(i + 4) * aRow;
  const y4 = y + <usize>((i + 4) * Pn);
  const c4 = v128.load32_splat(bias + ((<usize>(i + 4)) << 2));
  const t4 = rq + <usize>(i + 4) * 64;
  const S4 = load<i32>(shift + ((<usize>(i + 4)) << 2));
  let j = 0;
  for (; j + 4 < Pn; j += 8) {
    let s00 = c0;
    let s01 = c0;
    let s10 = c1;
    let s11 = c1;
    let s20 = c2;
    let s21 = c2;
    let s30 = c3;
    let s31 = c3;
    let s40 = c4;
    let s41 = c4;
    let bp = b + ((<usize>j) << 2);
    for (let k = 0; k < kh; k++) {
      const b0 = v128.load(bp);
      const b1 = v128.load(bp, 16);
      const o = (<usize>k) << 2;
      const x0 = v128.load32_splat(a0 + o);
      s00 = i32x4.add(s00, i32x4.dot_i16x8_s(x0, b0));
      s01 = i32x4.add(s01, i32x4.dot_i16x8_s(x0, b1));
      const x1 = v128.load32_splat(a1 + o);
      s10 = i32x4.add(s10, i32x4.dot_i16x8_s(x1, b0));
      s11 = i32x4.add(s11, i32x4.dot_i16x8_s(x1, b1));
      const x2 = v128.load32_splat(a2 + o);
      s20 = i32x4.add(s20, i32x4.dot_i16x8_s(x2, b0));
      s21 = i32x4.add(s21, i32x4.dot_i16x8_s(x2, b1));
      const x3 = v128.load32_splat(a3 + o);
      s30 = i32x4.add(s30, i32x4.dot_i16x8_s(x3, b0));
      s31 = i32x4.add(s31, i32x4.dot_i16x8_s(x3, b1));
      const x4 = v128.load32_splat(a4 + o);
      s40 = i32x4.add(s40, i32x4.dot_i16x8_s(x4, b0));
      s41 = i32x4.add(s41, i32x4.dot_i16x8_s(x4, b1));
      bp += bRow;
    }
    const n = Pn - j;
    emit(y0 + <usize>j, n, rqBytes8(s00, s01, t0, S0, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y1 + <usize>j, n, rqBytes8(s10, s11, t1, S1, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y2 + <usize>j, n, rqBytes8(s20, s21, t2, S2, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y3 + <usize>j, n, rqBytes8(s30, s31, t3, S3, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y4 + <usize>j, n, rqBytes8(s40, s41, t4, S4, zy, qmin, qmax, zyv, lo8, hi8, flip));
  }
  if (j < Pn) {
    // At most 4 columns left: one vector of b per k.
    let s00 = c0;
    let s10 = c1;
    let s20 = c2;
    let s30 = c3;
    let s40 = c4;
    let bp = b + ((<usize>j) << 2);
    for (let k = 0; k < kh; k++) {
      const b0 = v128.load(bp);
      const o = (<usize>k) << 2;
      s00 = i32x4.add(s00, i32x4.dot_i16x8_s(v128.load32_splat(a0 + o), b0));
      s10 = i32x4.add(s10, i32x4.dot_i16x8_s(v128.load32_splat(a1 + o), b0));
      s20 = i32x4.add(s20, i32x4.dot_i16x8_s(v128.load32_splat(a2 + o), b0));
      s30 = i32x4.add(s30, i32x4.dot_i16x8_s(v128.load32_splat(a3 + o), b0));
      s40 = i32x4.add(s40, i32x4.dot_i16x8_s(v128.load32_splat(a4 + o), b0));
      bp += bRow;
    }
    const n = Pn - j;
    emit(y0 + <usize>j, n, rqBytes8(s00, s00, t0, S0, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y1 + <usize>j, n, rqBytes8(s10, s10, t1, S1, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y2 + <usize>j, n, rqBytes8(s20, s20, t2, S2, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y3 + <usize>j, n, rqBytes8(s30, s30, t3, S3, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y4 + <usize>j, n, rqBytes8(s40, s40, t4, S4, zy, qmin, qmax, zyv, lo8, hi8, flip));
  }
}

/** Rows i..i+3 of C, requantized into y (see gemmRequant). */
@inline
function tile4(
  a: usize,
  b: usize,
  y: usize,
  bias: usize,
  rq: usize,
  shift: usize,
  i: i32,
  kh: i32,
  Np: i32,
  Pn: i32,
  zy: i32,
  qmin: i32,
  qmax: i32,
  zyv: v128,
  lo8: v128,
  hi8: v128,
  flip: v128,
): void {
  const aRow = (<usize>kh) << 2;
  const bRow = (<usize>Np) << 2;
  const a0 = a + <usize>i * aRow;
  const y0 = y + <usize>(i * Pn);
  const c0 = v128.load32_splat(bias + ((<usize>i) << 2));
  const t0 = rq + <usize>i * 64;
  const S0 = load<i32>(shift + ((<usize>i) << 2));
  const a1 = a + <usize>(i + 1) * aRow;
  const y1 = y + <usize>((i + 1) * Pn);
  const c1 = v128.load32_splat(bias + ((<usize>(i + 1)) << 2));
  const t1 = rq + <usize>(i + 1) * 64;
  const S1 = load<i32>(shift + ((<usize>(i + 1)) << 2));
  const a2 = a + <usize>(i + 2) * aRow;
  const y2 = y + <usize>((i + 2) * Pn);
  const c2 = v128.load32_splat(bias + ((<usize>(i + 2)) << 2));
  const t2 = rq + <usize>(i + 2) * 64;
  const S2 = load<i32>(shift + ((<usize>(i + 2)) << 2));
  const a3 = a + <usize>(i + 3) * aRow;
  const y3 = y + <usize>((i + 3) * Pn);
  const c3 = v128.load32_splat(bias + ((<usize>(i + 3)) << 2));
  const t3 = rq + <usize>(i + 3) * 64;
  const S3 = load<i32>(shift + ((<usize>(i + 3)) << 2));
  let j = 0;
  for (; j + 4 < Pn; j += 8) {
    let s00 = c0;
    let s01 = c0;
    let s10 = c1;
    let s11 = c1;
    let s20 = c2;
    let s21 = c2;
    let s30 = c3;
    let s31 = c3;
    let bp = b + ((<usize>j) << 2);
    for (let k = 0; k < kh; k++) {
      const b0 = v128.load(bp);
      const b1 = v128.load(bp, 16);
      const o = (<usize>k) << 2;
      const x0 = v128.load32_splat(a0 + o);
      s00 = i32x4.add(s00, i32x4.dot_i16x8_s(x0, b0));
      s01 = i32x4.add(s01, i32x4.dot_i16x8_s(x0, b1));
      const x1 = v128.load32_splat(a1 + o);
      s10 = i32x4.add(s10, i32x4.dot_i16x8_s(x1, b0));
      s11 = i32x4.add(s11, i32x4.dot_i16x8_s(x1, b1));
      const x2 = v128.load32_splat(a2 + o);
      s20 = i32x4.add(s20, i32x4.dot_i16x8_s(x2, b0));
      s21 = i32x4.add(s21, i32x4.dot_i16x8_s(x2, b1));
      const x3 = v128.load32_splat(a3 + o);
      s30 = i32x4.add(s30, i32x4.dot_i16x8_s(x3, b0));
      s31 = i32x4.add(s31, i32x4.dot_i16x8_s(x3, b1));
      bp += bRow;
    }
    const n = Pn - j;
    emit(y0 + <usize>j, n, rqBytes8(s00, s01, t0, S0, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y1 + <usize>j, n, rqBytes8(s10, s11, t1, S1, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y2 + <usize>j, n, rqBytes8(s20, s21, t2, S2, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y3 + <usize>j, n, rqBytes8(s30, s31, t3, S3, zy, qmin, qmax, zyv, lo8, hi8, flip));
  }
  if (j < Pn) {
    // At most 4 columns left: one vector of b per k.
    let s00 = c0;
    let s10 = c1;
    let s20 = c2;
    let s30 = c3;
    let bp = b + ((<usize>j) << 2);
    for (let k = 0; k < kh; k++) {
      const b0 = v128.load(bp);
      const o = (<usize>k) << 2;
      s00 = i32x4.add(s00, i32x4.dot_i16x8_s(v128.load32_splat(a0 + o), b0));
      s10 = i32x4.add(s10, i32x4.dot_i16x8_s(v128.load32_splat(a1 + o), b0));
      s20 = i32x4.add(s20, i32x4.dot_i16x8_s(v128.load32_splat(a2 + o), b0));
      s30 = i32x4.add(s30, i32x4.dot_i16x8_s(v128.load32_splat(a3 + o), b0));
      bp += bRow;
    }
    const n = Pn - j;
    emit(y0 + <usize>j, n, rqBytes8(s00, s00, t0, S0, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y1 + <usize>j, n, rqBytes8(s10, s10, t1, S1, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y2 + <usize>j, n, rqBytes8(s20, s20, t2, S2, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y3 + <usize>j, n, rqBytes8(s30, s30, t3, S3, zy, qmin, qmax, zyv, lo8, hi8, flip));
  }
}

/** Rows i..i+1 of C, requantized into y (see gemmRequant). */
@inline
function tile2(
  a: usize,
  b: usize,
  y: usize,
  bias: usize,
  rq: usize,
  shift: usize,
  i: i32,
  kh: i32,
  Np: i32,
  Pn: i32,
  zy: i32,
  qmin: i32,
  qmax: i32,
  zyv: v128,
  lo8: v128,
  hi8: v128,
  flip: v128,
): void {
  const aRow = (<usize>kh) << 2;
  const bRow = (<usize>Np) << 2;
  const a0 = a + <usize>i * aRow;
  const y0 = y + <usize>(i * Pn);
  const c0 = v128.load32_splat(bias + ((<usize>i) << 2));
  const t0 = rq + <usize>i * 64;
  const S0 = load<i32>(shift + ((<usize>i) << 2));
  const a1 = a + <usize>(i + 1) * aRow;
  const y1 = y + <usize>((i + 1) * Pn);
  const c1 = v128.load32_splat(bias + ((<usize>(i + 1)) << 2));
  const t1 = rq + <usize>(i + 1) * 64;
  const S1 = load<i32>(shift + ((<usize>(i + 1)) << 2));
  let j = 0;
  for (; j + 4 < Pn; j += 8) {
    let s00 = c0;
    let s01 = c0;
    let s10 = c1;
    let s11 = c1;
    let bp = b + ((<usize>j) << 2);
    for (let k = 0; k < kh; k++) {
      const b0 = v128.load(bp);
      const b1 = v128.load(bp, 16);
      const o = (<usize>k) << 2;
      const x0 = v128.load32_splat(a0 + o);
      s00 = i32x4.add(s00, i32x4.dot_i16x8_s(x0, b0));
      s01 = i32x4.add(s01, i32x4.dot_i16x8_s(x0, b1));
      const x1 = v128.load32_splat(a1 + o);
      s10 = i32x4.add(s10, i32x4.dot_i16x8_s(x1, b0));
      s11 = i32x4.add(s11, i32x4.dot_i16x8_s(x1, b1));
      bp += bRow;
    }
    const n = Pn - j;
    emit(y0 + <usize>j, n, rqBytes8(s00, s01, t0, S0, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y1 + <usize>j, n, rqBytes8(s10, s11, t1, S1, zy, qmin, qmax, zyv, lo8, hi8, flip));
  }
  if (j < Pn) {
    // At most 4 columns left: one vector of b per k.
    let s00 = c0;
    let s10 = c1;
    let bp = b + ((<usize>j) << 2);
    for (let k = 0; k < kh; k++) {
      const b0 = v128.load(bp);
      const o = (<usize>k) << 2;
      s00 = i32x4.add(s00, i32x4.dot_i16x8_s(v128.load32_splat(a0 + o), b0));
      s10 = i32x4.add(s10, i32x4.dot_i16x8_s(v128.load32_splat(a1 + o), b0));
      bp += bRow;
    }
    const n = Pn - j;
    emit(y0 + <usize>j, n, rqBytes8(s00, s00, t0, S0, zy, qmin, qmax, zyv, lo8, hi8, flip));
    emit(y1 + <usize>j, n, rqBytes8(s10, s10, t1, S1, zy, qmin, qmax, zyv, lo8, hi8, flip));
  }
}

/** Row i of C, requantized into y (see gemmRequant). */
@inline
function tile1(
  a: usize,
  b: usize,
  y: usize,
  bias: usize,
  rq: usize,
  shift: usize,
  i: i32,
  kh: i32,
  Np: i32,
  Pn: i32,
  zy: i32,
  qmin: i32,
  qmax: i32,
  zyv: v128,
  lo8: v128,
  hi8: v128,
  flip: v128,
): void {
  const aRow = (<usize>kh) << 2;
  const bRow = (<usize>Np) << 2;
  const a0 = a + <usize>i * aRow;
  const y0 = y + <usize>(i * Pn);
  const c0 = v128.load32_splat(bias + ((<usize>i) << 2));
  const t0 = rq + <usize>i * 64;
  const S0 = load<i32>(shift + ((<usize>i) << 2));
  let j = 0;
  for (; j + 4 < Pn; j += 8) {
    let s00 = c0;
    let s01 = c0;
    let bp = b + ((<usize>j) << 2);
    for (let k = 0; k < kh; k++) {
      const b0 = v128.load(bp);
      const b1 = v128.load(bp, 16);
      const o = (<usize>k) << 2;
      const x0 = v128.load32_splat(a0 + o);
      s00 = i32x4.add(s00, i32x4.dot_i16x8_s(x0, b0));
      s01 = i32x4.add(s01, i32x4.dot_i16x8_s(x0, b1));
      bp += bRow;
    }
    const n = Pn - j;
    emit(y0 + <usize>j, n, rqBytes8(s00, s01, t0, S0, zy, qmin, qmax, zyv, lo8, hi8, flip));
  }
  if (j < Pn) {
    // At most 4 columns left: one vector of b per k.
    let s00 = c0;
    let bp = b + ((<usize>j) << 2);
    for (let k = 0; k < kh; k++) {
      const b0 = v128.load(bp);
      const o = (<usize>k) << 2;
      s00 = i32x4.add(s00, i32x4.dot_i16x8_s(v128.load32_splat(a0 + o), b0));
      bp += bRow;
    }
    const n = Pn - j;
    emit(y0 + <usize>j, n, rqBytes8(s00, s00, t0, S0, zy, qmin, qmax, zyv, lo8, hi8, flip));
  }
}

/**
 * y (u8 [M][Pn]) from a (i16 [M][Kp]) and b (pair layout, Np >= ceil8(Pn) columns), with each
 * row's bias and shift (i32 [M]) and its entry of plan.ts's requantSplats (rq, 64 bytes). Row
 * tiles of 5 where M = 5a + 4b allows, as gemm; column blocks of 8, the last one of 4 when at
 * most 4 columns are left.
 */
export function gemmRequant(
  a: usize,
  b: usize,
  y: usize,
  bias: usize,
  rq: usize,
  shift: usize,
  M: i32,
  Kp: i32,
  Np: i32,
  Pn: i32,
  zy: i32,
  qmin: i32,
  qmax: i32,
): void {
  const kh = Kp >> 1;
  const zyv = i32x4.splat(zy);
  const lo8 = i8x16.splat(<i8>qmin);
  const hi8 = i8x16.splat(<i8>qmax);
  const flip = i32x4.splat(0x8000);
  // Rows in tiles of 5 (10 accumulators), the rest in tiles of 4, then 2 and 1.
  const b4 = (4 * M) % 5;
  const m5 = 4 * b4 <= M ? M - 4 * b4 : M;
  let i = 0;
  for (; i + 5 <= m5; i += 5) tile5(a, b, y, bias, rq, shift, i, kh, Np, Pn, zy, qmin, qmax, zyv, lo8, hi8, flip);
  for (; i + 4 <= M; i += 4) tile4(a, b, y, bias, rq, shift, i, kh, Np, Pn, zy, qmin, qmax, zyv, lo8, hi8, flip);
  for (; i + 2 <= M; i += 2) tile2(a, b, y, bias, rq, shift, i, kh, Np, Pn, zy, qmin, qmax, zyv, lo8, hi8, flip);
  for (; i < M; i++) tile1(a, b, y, bias, rq, shift, i, kh, Np, Pn, zy, qmin, qmax, zyv, lo8, hi8, flip);
}
