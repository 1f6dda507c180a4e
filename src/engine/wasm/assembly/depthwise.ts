// Depthwise conv (one input plane per group, Mg <= 3 output channels): two taps per i32 lane.
//
// The centred, zero-padded plane xp (Hx x Wx, i16) is rearranged into pair planes q whose i32
// element holds xp[r][u * sw + p] in its low half and xp[r + dh][u * sw + p] in its high half: the
// same column of two kernel rows, ky and ky + 1. One i32x4.dot_i16x8_s of 4 such elements against
// the splatted weight pair (w[ky][kx], w[ky + 1][kx]) adds both taps of 4 outputs, so a 3x3
// kernel is 6 dot products per 4 outputs (its last row pairs with a zero weight).
//
// q has one plane per column phase p (u * sw + p) and row class c (r = R * sh + c), each HR rows
// of Wq = OW + (KW - 1) * dw / sw elements. Output (oy, ox) then reads tap (ky, kx) at element
// off(ky, kx) + oy * Wq + ox: affine in f = oy * Wq + ox, so the whole plane is swept in blocks of
// 16 f, row ends included (the Wq - OW extra outputs of each row are computed and dropped). For
// sh <= 2 every even ky * dh is a multiple of sh and there is one class; sh > 2 has sh classes.
// Outputs are requantized in the same loop into a byte row buffer tb, then copied row by row.
//
// Exactness: each lane is x0 * w0 + x1 * w1 with |x| <= 255 and |w| <= 128, and the lanes add up
// in wrapping i32 from the bias, which the validator bounds together with the taps below 2^31.
import { A, P } from './arith';
import { rq4 } from './gemm';
import { rqSmall, rqSplit, storeTail } from './requant';

/**
 * xp[r][u] = x[r - pt][u - pl] - zx inside the input, else 0, for r < Hx, u < Wx. Rows are
 * written 8 columns at a time, the last step masked to zeros past the input: its overshoot lands
 * in padding, in the next row's place (written after it) or in the slack after the plane. It reads
 * up to 7 bytes past a row (still inside memory: scratch and the plan follow every tensor).
 */
function padPlane(x: usize, xp: usize, H: i32, W: i32, Hx: i32, Wx: i32, pt: i32, pl: i32, zx: i32): void {
  memory.fill(xp, 0, (<usize>(Hx * Wx)) << 1);
  const zxv = i16x8.splat(<i16>zx);
  const lanes = v128(0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0);
  const w = min(W, Wx - pl);
  for (let iy = 0; iy < H; iy++) {
    const r = iy + pt;
    if (r >= Hx) break;
    const src = x + <usize>(iy * W);
    const dst = xp + ((<usize>(r * Wx + pl)) << 1);
    let ix = 0;
    for (; ix + 8 <= w; ix += 8) {
      v128.store(dst + ((<usize>ix) << 1), i16x8.sub(v128.load8x8_u(src + <usize>ix), zxv));
    }
    if (ix < w) {
      const v = i16x8.sub(v128.load8x8_u(src + <usize>ix), zxv);
      v128.store(dst + ((<usize>ix) << 1), v128.and(v, i16x8.lt_s(lanes, i16x8.splat(<i16>(w - ix)))));
    }
  }
}

/**
 * One row of every phase: elements u < ceil8(Wq) of xp rows s0 and s1 (= s0 + dh rows), paired,
 * phase 1 (stride 2's odd columns) at dst + phase. The overshoot past Wq lands in the next row's
 * place or in the gap after each plane.
 */
@inline
function pairRow(s0: usize, s1: usize, dst: usize, phase: usize, Wq: i32, sw: i32): void {
  if (sw === 1) {
    for (let u = 0; u < Wq; u += 8) {
      const a = v128.load(s0 + ((<usize>u) << 1));
      const b = v128.load(s1 + ((<usize>u) << 1));
      const d = dst + ((<usize>u) << 2);
      v128.store(d, i8x16.shuffle(a, b, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23));
      v128.store(d, i8x16.shuffle(a, b, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), 16);
    }
    return;
  }
  for (let u = 0; u < Wq; u += 8) {
    const o = (<usize>u) << 2;
    const a0 = v128.load(s0 + o);
    const a1 = v128.load(s0 + o, 16);
    const b0 = v128.load(s1 + o);
    const b1 = v128.load(s1 + o, 16);
    // The even and the odd i16 lanes of 16 columns.
    const ae = i8x16.shuffle(a0, a1, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29);
    const ao = i8x16.shuffle(a0, a1, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
    const be = i8x16.shuffle(b0, b1, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29);
    const bo = i8x16.shuffle(b0, b1, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
    const de = dst + o;
    const dd = de + phase;
    v128.store(de, i8x16.shuffle(ae, be, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23));
    v128.store(de, i8x16.shuffle(ae, be, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), 16);
    v128.store(dd, i8x16.shuffle(ao, bo, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23));
    v128.store(dd, i8x16.shuffle(ao, bo, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), 16);
  }
}

/**
 * The pair taps: for each even ky and each kx, off[t] = the element offset of tap (ky, kx) from
 * output f in q (plane pitch pp elements, NC row classes). Returns T.
 */
function pairTaps(
  off: usize,
  KH: i32,
  KW: i32,
  sh: i32,
  sw: i32,
  dh: i32,
  dw: i32,
  NC: i32,
  pp: i32,
  Wq: i32,
): i32 {
  let t = 0;
  for (let ky = 0; ky < KH; ky += 2) {
    const c = NC > 1 ? (ky * dh) % sh : 0;
    const R = (ky * dh) / sh;
    for (let kx = 0; kx < KW; kx++) {
      const u = kx * dw;
      store<i32>(off + ((<usize>t) << 2), ((u % sw) * NC + c) * pp + R * Wq + u / sw);
      t++;
    }
  }
  return t;
}

/** wp[t] = (w[ky][kx], w[ky + 1][kx] or 0) as two i16 in one i32, in pairTaps's order. */
function pairWeights(wp: usize, w: usize, KH: i32, KW: i32): void {
  let t = 0;
  for (let ky = 0; ky < KH; ky += 2) {
    for (let kx = 0; kx < KW; kx++) {
      const w0 = <i32>load<u16>(w + ((<usize>(ky * KW + kx)) << 1));
      const w1 = ky + 1 < KH ? <i32>load<u16>(w + ((<usize>((ky + 1) * KW + kx)) << 1)) : 0;
      store<i32>(wp + ((<usize>t) << 2), w0 | (w1 << 16));
      t++;
    }
  }
}

/** 4 lanes of depthwiseChannel's requantization: rqSplit for S >= 16, else rq4. */
@inline
function rqLanes(
  v: v128,
  mlo: v128,
  mhi: v128,
  lc: v128,
  rhi: v128,
  S: i32,
  rnd: v128,
  lo64: v128,
  hi64: v128,
  zyv: v128,
  flip: v128,
): v128 {
  return S >= 16 ? rqSplit(v, mlo, mhi, lc, rhi, S, zyv, flip) : rq4(v, mlo, rnd, S, lo64, hi64, zyv);
}

/**
 * Whether every accumulator of the channel (bias plus its taps, x - zx in [-zx, 255 - zx]) times
 * mult stays below 2^31, so that rqSmall's single i32 product is exact, and S >= 2 (at S = 1
 * rqSmall adds 1 to the product itself, which overflows when it is 2^31 - 1).
 */
function fitsSmall(wp: usize, T: i32, bias: i32, mult: i32, S: i32, zx: i32): bool {
  if (S < 2) return false;
  let lo = <i64>bias;
  let hi = <i64>bias;
  for (let t = 0; t < T; t++) {
    const pair = load<i32>(wp + ((<usize>t) << 2));
    for (let h = 0; h < 2; h++) {
      const w = <i64>(h ? pair >> 16 : (pair << 16) >> 16);
      const a = w * <i64>-zx;
      const b = w * <i64>(255 - zx);
      lo += a < b ? a : b;
      hi += a < b ? b : a;
    }
  }
  const big = -lo > hi ? -lo : hi;
  return big * <i64>mult < (<i64>1) << 31;
}

/**
 * tb[f] = clamp(zy + rshift((bias + Σ_t dot(q[f + off[t]], wp[t])) * mult, S), qmin, qmax) for
 * f < ceil16(nF): one channel's outputs, row ends included; small: rqSmall's route (fitsSmall).
 */
function depthwiseChannel(
  q: usize,
  off: usize,
  wp: usize,
  T: i32,
  tb: usize,
  nF: i32,
  bias: i32,
  mult: i32,
  S: i32,
  zy: i32,
  qmin: i32,
  qmax: i32,
  small: bool,
): void {
  const s1c = S - 1 < 31 ? S - 1 : 31;
  const mv = i32x4.splat(mult);
  const rnd = i64x2.splat(S > 0 ? (<i64>1) << (<i64>(S - 1)) : 0);
  const lo64 = i64x2.splat(<i64>(qmin - zy));
  const hi64 = i64x2.splat(<i64>(qmax - zy));
  const mhi = i32x4.splat(mult << 16);
  const lc = i32x4.splat((mult << 15) + (S === 16 ? 1 << 15 : 0));
  const rhi = i32x4.splat(S > 16 ? 1 << (S - 17) : 0);
  const flip = i32x4.splat(0x8000);
  const zyv = i32x4.splat(zy);
  const lo8 = i8x16.splat(<i8>qmin);
  const hi8 = i8x16.splat(<i8>qmax);
  const bv = i32x4.splat(bias);
  // The tables hold at least 6 entries, so these loads stay inside them for any T.
  const w0 = v128.load32_splat(wp);
  const w1 = v128.load32_splat(wp + 4);
  const w2 = v128.load32_splat(wp + 8);
  const w3 = v128.load32_splat(wp + 12);
  const w4 = v128.load32_splat(wp + 16);
  const w5 = v128.load32_splat(wp + 20);
  const o0 = q + ((<usize>load<i32>(off)) << 2);
  const o1 = q + ((<usize>load<i32>(off + 4)) << 2);
  const o2 = q + ((<usize>load<i32>(off + 8)) << 2);
  const o3 = q + ((<usize>load<i32>(off + 12)) << 2);
  const o4 = q + ((<usize>load<i32>(off + 16)) << 2);
  const o5 = q + ((<usize>load<i32>(off + 20)) << 2);
  for (let f = 0; f < nF; f += 16) {
    let s0 = bv;
    let s1 = bv;
    let s2 = bv;
    let s3 = bv;
    const p = (<usize>f) << 2;
    if (T === 6) {
      // Six pair taps with their weights in registers: a 3x3 kernel (or 6x1, 1x6, 2x3, ...).
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(v128.load(o0 + p), w0));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(v128.load(o0 + p, 16), w0));
      s2 = i32x4.add(s2, i32x4.dot_i16x8_s(v128.load(o0 + p, 32), w0));
      s3 = i32x4.add(s3, i32x4.dot_i16x8_s(v128.load(o0 + p, 48), w0));
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(v128.load(o1 + p), w1));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(v128.load(o1 + p, 16), w1));
      s2 = i32x4.add(s2, i32x4.dot_i16x8_s(v128.load(o1 + p, 32), w1));
      s3 = i32x4.add(s3, i32x4.dot_i16x8_s(v128.load(o1 + p, 48), w1));
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(v128.load(o2 + p), w2));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(v128.load(o2 + p, 16), w2));
      s2 = i32x4.add(s2, i32x4.dot_i16x8_s(v128.load(o2 + p, 32), w2));
      s3 = i32x4.add(s3, i32x4.dot_i16x8_s(v128.load(o2 + p, 48), w2));
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(v128.load(o3 + p), w3));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(v128.load(o3 + p, 16), w3));
      s2 = i32x4.add(s2, i32x4.dot_i16x8_s(v128.load(o3 + p, 32), w3));
      s3 = i32x4.add(s3, i32x4.dot_i16x8_s(v128.load(o3 + p, 48), w3));
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(v128.load(o4 + p), w4));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(v128.load(o4 + p, 16), w4));
      s2 = i32x4.add(s2, i32x4.dot_i16x8_s(v128.load(o4 + p, 32), w4));
      s3 = i32x4.add(s3, i32x4.dot_i16x8_s(v128.load(o4 + p, 48), w4));
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(v128.load(o5 + p), w5));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(v128.load(o5 + p, 16), w5));
      s2 = i32x4.add(s2, i32x4.dot_i16x8_s(v128.load(o5 + p, 32), w5));
      s3 = i32x4.add(s3, i32x4.dot_i16x8_s(v128.load(o5 + p, 48), w5));
    } else {
      for (let t = 0; t < T; t++) {
        const pt = q + ((<usize>load<i32>(off + ((<usize>t) << 2))) << 2) + p;
        const wv = v128.load32_splat(wp + ((<usize>t) << 2));
        s0 = i32x4.add(s0, i32x4.dot_i16x8_s(v128.load(pt), wv));
        s1 = i32x4.add(s1, i32x4.dot_i16x8_s(v128.load(pt, 16), wv));
        s2 = i32x4.add(s2, i32x4.dot_i16x8_s(v128.load(pt, 32), wv));
        s3 = i32x4.add(s3, i32x4.dot_i16x8_s(v128.load(pt, 48), wv));
      }
    }
    let n0: v128;
    let n1: v128;
    if (small) {
      n0 = i16x8.narrow_i32x4_s(rqSmall(s0, mv, s1c, zyv), rqSmall(s1, mv, s1c, zyv));
      n1 = i16x8.narrow_i32x4_s(rqSmall(s2, mv, s1c, zyv), rqSmall(s3, mv, s1c, zyv));
    } else {
      n0 = i16x8.narrow_i32x4_s(
        rqLanes(s0, mv, mhi, lc, rhi, S, rnd, lo64, hi64, zyv, flip),
        rqLanes(s1, mv, mhi, lc, rhi, S, rnd, lo64, hi64, zyv, flip),
      );
      n1 = i16x8.narrow_i32x4_s(
        rqLanes(s2, mv, mhi, lc, rhi, S, rnd, lo64, hi64, zyv, flip),
        rqLanes(s3, mv, mhi, lc, rhi, S, rnd, lo64, hi64, zyv, flip),
      );
    }
    v128.store(tb + <usize>f, i8x16.min_u(i8x16.max_u(i8x16.narrow_i16x8_u(n0, n1), lo8), hi8));
  }
}

/** y[oy][ox] = tb[oy * Wq + ox] for ox < OW: drops each row's extra outputs. */
function compactRows(tb: usize, y: usize, OH: i32, OW: i32, Wq: i32): void {
  for (let oy = 0; oy < OH; oy++) {
    const s = tb + <usize>(oy * Wq);
    const d = y + <usize>(oy * OW);
    let x = 0;
    for (; x + 16 <= OW; x += 16) v128.store(d + <usize>x, v128.load(s + <usize>x));
    const n = OW - x;
    if (n === 0) continue;
    let v = v128.load(s + <usize>x);
    // A row's overshoot lands in the next row's place (written after it); the last row's does not.
    if (oy + 1 < OH) {
      v128.store(d + <usize>x, v);
      continue;
    }
    if (n & 8) {
      v128.store64_lane(d + <usize>x, v, 0);
      v = i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 0, 0, 0, 0, 0, 0, 0);
      x += 8;
    }
    storeTail(d + <usize>x, v, n & 7);
  }
}

/**
 * The direct depthwise path of conv (record r, see conv.ts; words 39.. give q, HR, Wq, NC, the
 * plane pitch, Hx, Wx and tb): per group, its padded plane and pair planes, then each channel.
 */
export function depthwiseConv(r: usize): void {
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
  const Kp = P(r, 29);
  const xp = A(r, 31);
  const q = A(r, 39);
  const HR = P(r, 40);
  const Wq = P(r, 41);
  const NC = P(r, 42);
  const pp = P(r, 43);
  const Hx = P(r, 44);
  const Wx = P(r, 45);
  const tb = A(r, 46);
  const Mg = M / group;
  const Pn = OH * OW;
  const nF = OH * Wq;
  const xRow = (<usize>Wx) << 1;
  const phase = (<usize>(NC * pp)) << 2;
  // The tap tables follow the pair planes (plan.ts sizes them for at least 6 taps).
  const off = q + ((<usize>(sw * NC * pp + Wq + 16)) << 2);
  const T = pairTaps(off, KH, KW, sh, sw, dh, dw, NC, pp, Wq);
  const wp = off + ((<usize>(T < 6 ? 6 : T)) << 2);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < group; g++) {
      padPlane(x + <usize>((n * C + g) * H * W), xp, H, W, Hx, Wx, pt, pl, zx);
      for (let c = 0; c < NC; c++) {
        // Row class c holds rows R * sh + c; one that no pair tap reads is skipped.
        let used = false;
        for (let ky = 0; ky < KH; ky += 2) used = used || (ky * dh) % sh === c || NC === 1;
        if (!used) continue;
        for (let R = 0; R < HR; R++) {
          const s0 = xp + <usize>(R * sh + c) * xRow;
          pairRow(s0, s0 + <usize>dh * xRow, q + ((<usize>(c * pp + R * Wq)) << 2), phase, Wq, sw);
        }
      }
      for (let m = 0; m < Mg; m++) {
        const mm = g * Mg + m;
        const o = (<usize>mm) << 2;
        pairWeights(wp, w + ((<usize>(mm * Kp)) << 1), KH, KW);
        const b = load<i32>(bias + o);
        const mu = load<i32>(mult + o);
        const S = load<i32>(shift + o);
        const small = fitsSmall(wp, T, b, mu, S, zx);
        depthwiseChannel(q, off, wp, T, tb, nF, b, mu, S, zy, qmin, qmax, small);
        compactRows(tb, y + <usize>((n * M + mm) * Pn), OH, OW, Wq);
      }
    }
  }
}
