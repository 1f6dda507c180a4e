// The integer dot products of conv and matmul, and their requantization.
//
// GEMM layout ("c2"): C[M][Np] (i32) = A[M][Kp] (i16, row-major) · B, where B holds the k-pairs of
// every column together: element (k, j) sits at i16 index ((k >> 1) * Np + j) * 2 + (k & 1). One
// i32x4.dot_i16x8_s of a splatted A pair against 4 columns of B adds 8 exact products into 4
// accumulators: |a| <= 255 and |b| <= 255, so each pair sum is below 2^17 and the validator bounds
// every accumulator below 2^31. Kp is even and Np a multiple of 8; the padding of A or of B is zero.
import { A, P, rqClamp } from './arith';

// The host may compute a GEMM itself (the native kernels, src/engine/native): it returns 1 when it
// wrote C, exactly as the loops below would, or 0 to leave the work to them. Without native
// kernels the host passes a function that returns 0, so the engine runs anywhere.
@external('env', 'gemmHook')
declare function gemmHook(a: usize, b: usize, c: usize, M: i32, Kp: i32, Np: i32): i32;

export function gemm(a: usize, b: usize, c: usize, M: i32, Kp: i32, Np: i32): void {
  if (gemmHook(a, b, c, M, Kp, Np)) return;
  const kh = Kp >> 1;
  const aRow = (<usize>Kp) << 1;
  const bRow = (<usize>Np) << 2;
  const cRow = (<usize>Np) << 2;
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const a0 = a + <usize>i * aRow;
    const a1 = a0 + aRow;
    const a2 = a1 + aRow;
    const a3 = a2 + aRow;
    const c0 = c + <usize>i * cRow;
    for (let j = 0; j < Np; j += 8) {
      let s00 = i32x4.splat(0);
      let s01 = i32x4.splat(0);
      let s10 = i32x4.splat(0);
      let s11 = i32x4.splat(0);
      let s20 = i32x4.splat(0);
      let s21 = i32x4.splat(0);
      let s30 = i32x4.splat(0);
      let s31 = i32x4.splat(0);
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
      const cp = c0 + ((<usize>j) << 2);
      v128.store(cp, s00);
      v128.store(cp, s01, 16);
      v128.store(cp + cRow, s10);
      v128.store(cp + cRow, s11, 16);
      v128.store(cp + 2 * cRow, s20);
      v128.store(cp + 2 * cRow, s21, 16);
      v128.store(cp + 3 * cRow, s30);
      v128.store(cp + 3 * cRow, s31, 16);
    }
  }
  for (; i < M; i++) {
    const a0 = a + <usize>i * aRow;
    const c0 = c + <usize>i * cRow;
    for (let j = 0; j < Np; j += 8) {
      let s00 = i32x4.splat(0);
      let s01 = i32x4.splat(0);
      let bp = b + ((<usize>j) << 2);
      for (let k = 0; k < kh; k++) {
        const x0 = v128.load32_splat(a0 + ((<usize>k) << 2));
        s00 = i32x4.add(s00, i32x4.dot_i16x8_s(x0, v128.load(bp)));
        s01 = i32x4.add(s01, i32x4.dot_i16x8_s(x0, v128.load(bp, 16)));
        bp += bRow;
      }
      const cp = c0 + ((<usize>j) << 2);
      v128.store(cp, s00);
      v128.store(cp, s01, 16);
    }
  }
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
): void {
  const rnd = i64x2.splat(S > 0 ? (<i64>1) << (<i64>(S - 1)) : 0);
  const lo = i64x2.splat(<i64>(qmin - zy));
  const hi = i64x2.splat(<i64>(qmax - zy));
  const zyv = i32x4.splat(zy);
  let j = 0;
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
function requantRowScalar(
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
 * conv as one GEMM per sample and group: C[m][p] = W[m][k] · col[k][p] with k = (c, ky, kx) and
 * p = (oy, ox); col is the zero-point-centred input, 0 at padding taps.
 */
export function conv(r: usize): void {
  const x = A(r, 0);
  const w = A(r, 1);
  const bias = A(r, 2);
  const mult = A(r, 3);
  const shift = A(r, 4);
  const y = A(r, 5);
  const N = P(r, 6);
  const C = P(r, 7);
  const H = P(r, 8);
  const W = P(r, 9);
  const M = P(r, 10);
  const OH = P(r, 11);
  const OW = P(r, 12);
  const Cg = P(r, 13);
  const KH = P(r, 14);
  const KW = P(r, 15);
  const sh = P(r, 16);
  const sw = P(r, 17);
  const pt = P(r, 18);
  const pl = P(r, 19);
  const dh = P(r, 20);
  const dw = P(r, 21);
  const group = P(r, 22);
  const zx = P(r, 23);
  const zy = P(r, 24);
  const qmin = P(r, 25);
  const qmax = P(r, 26);
  const col = A(r, 27);
  const acc = A(r, 28);
  const Kp = P(r, 29);
  const Pp = P(r, 30);
  const Mg = M / group;
  const Pn = OH * OW;
  const HW = H * W;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      // im2col into the pair layout.
      for (let c = 0; c < Cg; c++) {
        const plane = x + <usize>((n * C + g * Cg + c) * HW);
        for (let ky = 0; ky < KH; ky++) {
          for (let kx = 0; kx < KW; kx++) {
            const k = (c * KH + ky) * KW + kx;
            const base = col + ((<usize>(((k >> 1) * Pp) * 2 + (k & 1))) << 1);
            const off = kx * dw - pl;
            // Output columns whose tap ox*sw + off lies inside [0, W).
            let ox0 = 0;
            while (ox0 < OW && ox0 * sw + off < 0) ox0++;
            let ox1 = OW;
            while (ox1 > ox0 && (ox1 - 1) * sw + off >= W) ox1--;
            for (let oy = 0; oy < OH; oy++) {
              const iy = oy * sh - pt + ky * dh;
              let dst = base + ((<usize>(oy * OW)) << 2);
              if (iy < 0 || iy >= H) {
                for (let ox = 0; ox < OW; ox++) store<i16>(dst + ((<usize>ox) << 2), 0);
                continue;
              }
              const row = plane + <usize>(iy * W + off);
              for (let ox = 0; ox < ox0; ox++) store<i16>(dst + ((<usize>ox) << 2), 0);
              for (let ox = ox0; ox < ox1; ox++) {
                store<i16>(dst + ((<usize>ox) << 2), <i16>(<i32>load<u8>(row + <usize>(ox * sw)) - zx));
              }
              for (let ox = ox1; ox < OW; ox++) store<i16>(dst + ((<usize>ox) << 2), 0);
            }
          }
        }
      }
      gemm(w + ((<usize>(g * Mg * Kp)) << 1), col, acc, Mg, Kp, Pp);
      for (let m = 0; m < Mg; m++) {
        const mm = g * Mg + m;
        const o = (<usize>mm) << 2;
        requantRow(
          acc + ((<usize>(m * Pp)) << 2),
          y + <usize>((n * M + mm) * Pn),
          Pn,
          load<i32>(bias + o),
          load<i32>(mult + o),
          load<i32>(shift + o),
          zy,
          qmin,
          qmax,
        );
      }
    }
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
      // B: the pair layout of b - zb (the k padding is zero in A already).
      const src = b + <usize>(bi * K * N);
      for (let k = 0; k < K; k++) {
        const s = src + <usize>(k * N);
        const d = bBuf + ((<usize>(((k >> 1) * Np) * 2 + (k & 1))) << 1);
        for (let j = 0; j < N; j++) store<i16>(d + ((<usize>j) << 2), <i16>(<i32>load<u8>(s + <usize>j) - zb));
      }
      bp = bBuf;
    }
    gemm(aBuf, bp, acc, M, Kp, Np);
    for (let i = 0; i < M; i++) {
      const ar = acc + ((<usize>(i * Np)) << 2);
      const yr = y + <usize>((t * M + i) * N);
      if (mode === 0) requantRowV(ar, yr, N, bias, multN, S, zy, qmin, qmax);
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
