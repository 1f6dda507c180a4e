// conv as one GEMM per sample and group: C[m][p] = W[m][k] · col[k][p] with k = (c, ky, kx) and
// p = (oy, ox); col is the zero-point-centred input, 0 at padding taps, in the pair layout of
// gemm.ts. The GEMM requantizes its tiles in registers (gemmRequant.ts) unless the host takes it.
//
// A 1x1 conv at stride 1 without padding pairs its input planes directly. With a horizontal
// stride of 1 or 2 each tap's row of outputs reads a run of input (every second element for
// stride 2), so the input is first copied, centred and zero-padded, into an i16 plane (xp) wide
// enough that every tap reads 8 outputs at a time with no bounds checks; two taps' runs are then
// interleaved into pairs by one shuffle. Depthwise convs (one input plane per output channel,
// few outputs per group) skip the GEMM: depthwise.ts sums their taps from pair planes. Other
// strides take a scalar im2col.
import { A, P } from './arith';
import { depthwiseConv } from './depthwise';
import { opHook, pairsHigh, pairsLow, requantRow } from './gemm';
import { gemmRequant } from './gemmRequant';
import { gemmHook } from './tiles';

/**
 * xp[c][r][u] = x[c][r - pt][u - pl] - zx inside the input, else 0, for c < Cg, r < Hp, u < Wp:
 * the centred, zero-padded planes of one group.
 */
function padPlanes(
  x: usize,
  xp: usize,
  Cg: i32,
  H: i32,
  W: i32,
  Hp: i32,
  Wp: i32,
  pt: i32,
  pl: i32,
  zx: i32,
): void {
  memory.fill(xp, 0, (<usize>(Cg * Hp * Wp)) << 1);
  const zxv = i16x8.splat(<i16>zx);
  // Only the columns some tap reads are kept: u < Wp.
  const w = min(W, Wp - pl);
  for (let c = 0; c < Cg; c++) {
    for (let iy = 0; iy < H; iy++) {
      const r = iy + pt;
      if (r >= Hp) break;
      const src = x + <usize>((c * H + iy) * W);
      const dst = xp + ((<usize>((c * Hp + r) * Wp + pl)) << 1);
      let ix = 0;
      for (; ix + 8 <= w; ix += 8) {
        v128.store(dst + ((<usize>ix) << 1), i16x8.sub(v128.load8x8_u(src + <usize>ix), zxv));
      }
      for (; ix < w; ix++) store<i16>(dst + ((<usize>ix) << 1), <i16>(<i32>load<u8>(src + <usize>ix) - zx));
    }
  }
}

/** Eight taps of a row of outputs at stride sw (1 or 2): p[0], p[sw], ..., p[7 sw] (i16). */
@inline
function taps8(p: usize, sw: i32): v128 {
  if (sw === 1) return v128.load(p);
  return i8x16.shuffle(
    v128.load(p),
    v128.load(p, 16),
    0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29,
  );
}

/**
 * col (pair layout, Pp columns) from the padded planes, stride sw (1 or 2) across: tap
 * k = (c, ky, kx) of output (oy, ox) is xp[c][oy*sh + ky*dh][ox*sw + kx*dw]. Each row of OW
 * outputs is written 8 at a time; the overshoot lands in the next row's place (written after it)
 * or in the padding columns (Pp >= (OH - 1) * OW + ceil8(OW)). An odd K's last pair repeats its
 * tap: its weight is 0. The plane is Wp >= sw * ceil8(OW) + (KW - 1) * dw wide, so the furthest
 * read (16 lanes at stride 2) stays inside it.
 */
function im2colPadded(
  xp: usize,
  col: usize,
  K: i32,
  KH: i32,
  KW: i32,
  Hp: i32,
  Wp: i32,
  OH: i32,
  OW: i32,
  sh: i32,
  sw: i32,
  dh: i32,
  dw: i32,
  Pp: i32,
): void {
  const KK = KH * KW;
  const rowStep = (<usize>(sh * Wp)) << 1;
  for (let k = 0; k < K; k += 2) {
    const k1 = k + 1 < K ? k + 1 : k;
    const c0 = k / KK;
    const t0 = k % KK;
    const c1 = k1 / KK;
    const t1 = k1 % KK;
    let s0 = xp + ((<usize>((c0 * Hp + (t0 / KW) * dh) * Wp + (t0 % KW) * dw)) << 1);
    let s1 = xp + ((<usize>((c1 * Hp + (t1 / KW) * dh) * Wp + (t1 % KW) * dw)) << 1);
    const base = col + ((<usize>((k >> 1) * Pp)) << 2);
    for (let oy = 0; oy < OH; oy++) {
      let d = base + ((<usize>(oy * OW)) << 2);
      for (let ox = 0; ox < OW; ox += 8) {
        const o = (<usize>(ox * sw)) << 1;
        const a = taps8(s0 + o, sw);
        const b = taps8(s1 + o, sw);
        v128.store(d, pairsLow(a, b));
        v128.store(d, pairsHigh(a, b), 16);
        d += 32;
      }
      s0 += rowStep;
      s1 += rowStep;
    }
  }
}

/**
 * col (pair layout, Pp columns) of a 1x1 stride-1 unpadded conv straight from the Cg input planes
 * of H * W = Pn bytes: col[k][p] = x[k][p] - zx, 8 columns of two planes per step. An odd Cg's
 * last pair repeats its plane (its weight is 0). The last step reads up to 7 bytes past a plane
 * (still inside memory: scratch and the plan follow every tensor); those columns are never
 * requantized.
 */
function pairsFromPlanes(plane0: usize, col: usize, Cg: i32, Pn: i32, zx: i32, Pp: i32): void {
  const zxv = i16x8.splat(<i16>zx);
  for (let k = 0; k < Cg; k += 2) {
    const s0 = plane0 + <usize>(k * Pn);
    const s1 = k + 1 < Cg ? s0 + <usize>Pn : s0;
    let d = col + ((<usize>((k >> 1) * Pp)) << 2);
    for (let p = 0; p < Pn; p += 8) {
      const a = i16x8.sub(v128.load8x8_u(s0 + <usize>p), zxv);
      const b = i16x8.sub(v128.load8x8_u(s1 + <usize>p), zxv);
      v128.store(d, pairsLow(a, b));
      v128.store(d, pairsHigh(a, b), 16);
      d += 32;
    }
  }
}

/** col (pair layout) straight from the input, any strides: the general, scalar im2col. */
function im2colScalar(
  plane0: usize,
  col: usize,
  Cg: i32,
  H: i32,
  W: i32,
  KH: i32,
  KW: i32,
  OH: i32,
  OW: i32,
  sh: i32,
  sw: i32,
  pt: i32,
  pl: i32,
  dh: i32,
  dw: i32,
  zx: i32,
  Pp: i32,
): void {
  const HW = H * W;
  for (let c = 0; c < Cg; c++) {
    const plane = plane0 + <usize>(c * HW);
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
          const dst = base + ((<usize>(oy * OW)) << 2);
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
}

/**
 * conv (1). Record: x, w (i16 [M][Kp]), bias, mult, shift, y, N, C, H, W, M, OH, OW, Cg, KH, KW,
 * sh, sw, pt, pl, dh, dw, group, zx, zy, qmin, qmax, col, acc, Kp, Pp, xp, Hp, Wp (Hp = 0: the
 * scalar im2col), direct (1: the depthwise kernel, no GEMM), w8, wsum, Kq (the native kernels'
 * byte weights), rq (plan.ts's requantSplats), then for a direct conv (depthwise.ts) its pair
 * planes q, HR, Wq, NC, their pitch, its padded plane's Hx and Wx, and its byte row buffer tb.
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
  const xp = A(r, 31);
  const Hp = P(r, 32);
  const Wp = P(r, 33);
  const direct = P(r, 34);
  const rq = A(r, 38);
  const Mg = M / group;
  const Pn = OH * OW;
  const HW = H * W;
  const K = Cg * KH * KW;
  if (opHook(1, r, <f64>N * <f64>M * <f64>K * <f64>Pn)) return;
  if (direct) {
    depthwiseConv(r);
    return;
  }
  // A 1x1 conv at stride 1 without padding reads its planes as they are.
  const flat = KH === 1 && KW === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && OH === H && OW === W;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      const plane = x + <usize>((n * C + g * Cg) * HW);
      const wg = w + ((<usize>(g * Mg * Kp)) << 1);
      if (flat) {
        pairsFromPlanes(plane, col, Cg, Pn, zx, Pp);
      } else if (Hp > 0) {
        padPlanes(plane, xp, Cg, H, W, Hp, Wp, pt, pl, zx);
        im2colPadded(xp, col, K, KH, KW, Hp, Wp, OH, OW, sh, sw, dh, dw, Pp);
      } else {
        im2colScalar(plane, col, Cg, H, W, KH, KW, OH, OW, sh, sw, pt, pl, dh, dw, zx, Pp);
      }
      const o = (<usize>(g * Mg)) << 2;
      const yg = y + <usize>((n * M + g * Mg) * Pn);
      if (!gemmHook(wg, col, acc, Mg, Kp, Pp)) {
        gemmRequant(wg, col, yg, bias + o, rq + o * 16, shift + o, Mg, Kp, Pp, Pn, zy, qmin, qmax);
        continue;
      }
      // The host computed the accumulators (the native GEMM kernels): requantize them here.
      for (let m = 0; m < Mg; m++) {
        const c = o + ((<usize>m) << 2);
        requantRow(
          acc + ((<usize>(m * Pp)) << 2),
          yg + <usize>(m * Pn),
          Pn,
          load<i32>(bias + c),
          load<i32>(mult + c),
          load<i32>(shift + c),
          zy,
          qmin,
          qmax,
        );
      }
    }
  }
}
