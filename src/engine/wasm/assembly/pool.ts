// maxpool and avgpool, one output row at a time: the window rows are first combined column by
// column into a row buffer (max or sum), then each output takes its kw columns from it. The buffer
// holds the left padding and everything right of the input row as zeros, which is what padding
// means for a max of bytes and what it adds to a sum over the in-bounds taps.
import { A, divRound, P } from './arith';
import { high2 } from './divide';
import { globalAvg, isGlobal, isPair, meanLanes, pairPool } from './pool2';

/** Longest window (rows) whose column sums fit the u16 lanes: 257 * 255 < 2^16. */
const MAX_SUM_ROWS = 256;

/**
 * maxpool (5) and avgpool (6). Record: x, y, planes, H, W, OH, OW, kh, kw, sh, sw, pt, pl,
 * zx, zy, countIncludePad, mult, shift, buf (scratch), Wb. The scratch holds the row buffer (Wb
 * bytes, or Wb i32 column sums) and for avgpool the in-bounds width and its reciprocal per output
 * column (i32 [OW], f64 [OW]).
 */
export function pool(r: usize, isAvg: bool): void {
  if (isPair(r) && (!isAvg || P(r, 17) <= 28)) pairPool(r, isAvg);
  else if (!isAvg) maxpool(r);
  else if (isGlobal(r) && globalAvg(r)) return;
  // The vector mean needs its column sums in u16 lanes, |Σ (x - zx)| < 2^24 in i32 lanes and
  // count 2^shift < 2^46 (so that 2 p + q and q * (2q) stay exact in f64, see avgRow).
  else if (P(r, 7) <= MAX_SUM_ROWS && P(r, 7) * P(r, 8) <= 1 << 16 && P(r, 17) <= 30) avgpool(r);
  else avgpoolScalar(r);
}

function maxpool(r: usize): void {
  const x = A(r, 0);
  let out = A(r, 1);
  const planes = P(r, 2);
  const H = P(r, 3);
  const W = P(r, 4);
  const OH = P(r, 5);
  const OW = P(r, 6);
  const kh = P(r, 7);
  const kw = P(r, 8);
  const sh = P(r, 9);
  const sw = P(r, 10);
  const pt = P(r, 11);
  const pl = P(r, 12);
  const buf = A(r, 18);
  const Wb = P(r, 19);
  memory.fill(buf, 0, <usize>Wb);
  const row = buf + <usize>pl;
  for (let p = 0; p < planes; p++) {
    const plane = x + <usize>(p * H * W);
    for (let oy = 0; oy < OH; oy++) {
      const y0 = max(0, oy * sh - pt);
      const y1 = min(H, oy * sh - pt + kh);
      // row[j] = max over the window rows of x[iy][j]; the last strip may overlap the one before.
      if (W >= 8) {
        const step = W >= 16 ? 16 : 8;
        for (let j = 0; j < W; j += step) {
          const c = min(j, W - step);
          let m = i8x16.splat(0);
          for (let iy = y0; iy < y1; iy++) {
            const at = plane + <usize>(iy * W + c);
            m = i8x16.max_u(m, step === 16 ? v128.load(at) : v128.load64_zero(at));
          }
          if (step === 16) v128.store(row + <usize>c, m);
          else v128.store64_lane(row + <usize>c, m, 0);
        }
      } else {
        for (let j = 0; j < W; j++) {
          let m: u32 = 0;
          for (let iy = y0; iy < y1; iy++) m = max(m, <u32>load<u8>(plane + <usize>(iy * W + j)));
          store<u8>(row + <usize>j, <u8>m);
        }
      }
      // Output ox covers buffer columns [ox sw, ox sw + kw): 16 (or 8) outputs at a time, the last
      // block overlapping the one before.
      if (sw <= 2 && OW >= 8) {
        const step = OW >= 16 ? 16 : 8;
        for (let ox = 0; ox < OW; ox += step) {
          const c = min(ox, OW - step);
          const at = buf + <usize>(c * sw);
          let m = i8x16.splat(0);
          for (let kx = 0; kx < kw; kx++) {
            const a = v128.load(at + <usize>kx);
            if (sw === 1) m = i8x16.max_u(m, a);
            else {
              const b = v128.load(at + <usize>kx, 16);
              m = i8x16.max_u(m, i8x16.shuffle(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
            }
          }
          if (step === 16) v128.store(out + <usize>c, m);
          else v128.store64_lane(out + <usize>c, m, 0);
        }
      } else {
        for (let ox = 0; ox < OW; ox++) {
          const at = buf + <usize>(ox * sw);
          let m: u32 = 0;
          for (let kx = 0; kx < kw; kx++) m = max(m, <u32>load<u8>(at + <usize>kx));
          store<u8>(out + <usize>ox, <u8>m);
        }
      }
      out += <usize>OW;
    }
  }
}

function avgpool(r: usize): void {
  const x = A(r, 0);
  let out = A(r, 1);
  const planes = P(r, 2);
  const H = P(r, 3);
  const W = P(r, 4);
  const OH = P(r, 5);
  const OW = P(r, 6);
  const kh = P(r, 7);
  const kw = P(r, 8);
  const sh = P(r, 9);
  const sw = P(r, 10);
  const pt = P(r, 11);
  const pl = P(r, 12);
  const zx = P(r, 13);
  const zy = P(r, 14);
  const includePad = P(r, 15) !== 0;
  const mult = P(r, 16);
  const shift = P(r, 17);
  const buf = A(r, 18);
  const Wb = P(r, 19);
  const widths = buf + ((<usize>Wb) << 2);
  const invWidths = widths + ((((<usize>OW) << 2) + 15) & ~15);
  memory.fill(buf, 0, (<usize>Wb) << 2);
  for (let ox = 0; ox < OW; ox++) {
    const w = min(W, ox * sw - pl + kw) - max(0, ox * sw - pl);
    store<i32>(widths + ((<usize>ox) << 2), w);
    store<f64>(invWidths + ((<usize>ox) << 3), 1.0 / <f64>w);
  }
  const p2 = <f64>((<i64>1) << (<i64>shift));
  // Every window holds kh kw taps when padding counts or no window crosses an edge; if that count
  // is 2^c, divRound(p, 2^(c + shift)) is (p + 2^(c + shift - 1)) >> (c + shift), in i32 lanes while
  // |p| <= 255 kh kw mult and the rounding term stay below 2^30.
  const inside = pt === 0 && pl === 0 && (OH - 1) * sh + kh <= H && (OW - 1) * sw + kw <= W;
  const taps = kh * kw;
  const k = ctz(taps) + shift;
  const pow2Mean =
    (includePad || inside) && popcnt(taps) === 1 && k <= 30 && <i64>(255 * taps) * <i64>mult < 1 << 30;
  const multv = i32x4.splat(mult);
  const rnd = i32x4.splat(k > 0 ? 1 << (k - 1) : 0);
  const zyi = i32x4.splat(zy);
  const mv = f64x2.splat(<f64>mult);
  const zyv = f64x2.splat(<f64>zy);
  const row = buf + ((<usize>pl) << 2);
  for (let p = 0; p < planes; p++) {
    const plane = x + <usize>(p * H * W);
    for (let oy = 0; oy < OH; oy++) {
      const y0 = max(0, oy * sh - pt);
      const y1 = min(H, oy * sh - pt + kh);
      const rows = y1 - y0;
      // row[j] = Σ over the window rows of x[iy][j] (at most 256 * 255, u16 lanes), 8 columns at a
      // time, the last strip overlapping the one before.
      if (W >= 8) {
        for (let j = 0; j < W; j += 8) {
          const c = min(j, W - 8);
          let s = i16x8.splat(0);
          for (let iy = y0; iy < y1; iy++) s = i16x8.add(s, v128.load8x8_u(plane + <usize>(iy * W + c)));
          v128.store(row + ((<usize>c) << 2), i32x4.extend_low_i16x8_u(s));
          v128.store(row + ((<usize>c) << 2), i32x4.extend_high_i16x8_u(s), 16);
        }
      } else {
        for (let j = 0; j < W; j++) {
          let s = 0;
          for (let iy = y0; iy < y1; iy++) s += <i32>load<u8>(plane + <usize>(iy * W + j));
          store<i32>(row + ((<usize>j) << 2), s);
        }
      }
      // count = kh kw, or rows * width(ox); the reciprocal of 2 count 2^shift as a product of
      // reciprocals is within a few ulps, which is all floorDiv2 needs.
      const qFull = f64x2.splat(<f64>(kh * kw) * p2);
      const invFull = f64x2.splat(1.0 / (2.0 * <f64>(kh * kw) * p2));
      const rowScale = f64x2.splat(1.0 / (2.0 * <f64>rows * p2));
      const rowsv = i32x4.splat(rows);
      const zxv = i32x4.splat(zx);
      const rowsq = f64x2.splat(<f64>rows * p2);
      let ox = 0;
      if (sw <= 2 && OW >= 4) {
        // Four outputs at a time, the last block overlapping the one before.
        for (let o = 0; o < OW; o += 4) {
          ox = min(o, OW - 4);
          let s = i32x4.splat(0);
          const at = buf + ((<usize>(ox * sw)) << 2);
          for (let kx = 0; kx < kw; kx++) {
            const a = v128.load(at + ((<usize>kx) << 2));
            if (sw === 1) s = i32x4.add(s, a);
            else {
              const b = v128.load(at + ((<usize>kx) << 2), 16);
              s = i32x4.add(s, i8x16.shuffle(a, b, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27));
            }
          }
          const valid = i32x4.mul(rowsv, v128.load(widths + ((<usize>ox) << 2)));
          const v = i32x4.sub(s, i32x4.mul(valid, zxv));
          let t = i32x4.splat(0);
          if (pow2Mean) {
            const m = i32x4.shr_s(i32x4.add(i32x4.mul(v, multv), rnd), k);
            t = i32x4.min_s(i32x4.max_s(i32x4.add(m, zyi), i32x4.splat(0)), i32x4.splat(255));
          } else {
            const w0 = invWidths + ((<usize>ox) << 3);
            let q0 = qFull;
            let q1 = qFull;
            let i0 = invFull;
            let i1 = invFull;
            if (!includePad) {
              const wv = v128.load(widths + ((<usize>ox) << 2));
              q0 = f64x2.mul(f64x2.convert_low_i32x4_s(wv), rowsq);
              q1 = f64x2.mul(high2(wv), rowsq);
              i0 = f64x2.mul(v128.load(w0), rowScale);
              i1 = f64x2.mul(v128.load(w0, 16), rowScale);
            }
            const t0 = i32x4.trunc_sat_f64x2_s_zero(meanLanes(f64x2.convert_low_i32x4_s(v), mv, q0, i0, zyv));
            const t1 = i32x4.trunc_sat_f64x2_s_zero(meanLanes(high2(v), mv, q1, i1, zyv));
            t = i8x16.shuffle(t0, t1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
          }
          const n = i16x8.narrow_i32x4_s(t, t);
          v128.store32_lane(out + <usize>ox, i8x16.narrow_i16x8_u(n, n), 0);
        }
        ox = OW;
      }
      for (; ox < OW; ox++) {
        const at = buf + ((<usize>(ox * sw)) << 2);
        let s = 0;
        for (let kx = 0; kx < kw; kx++) s += load<i32>(at + ((<usize>kx) << 2));
        const w = load<i32>(widths + ((<usize>ox) << 2));
        const count = includePad ? kh * kw : rows * w;
        store<u8>(out + <usize>ox, meanClamp(<i64>(s - rows * w * zx) * <i64>mult, count, shift, zy));
      }
      out += <usize>OW;
    }
  }
}

/** avgpool window by window, for windows or shifts beyond the vector path's bounds. */
function avgpoolScalar(r: usize): void {
  const x = A(r, 0);
  const y = A(r, 1);
  const planes = P(r, 2);
  const H = P(r, 3);
  const W = P(r, 4);
  const OH = P(r, 5);
  const OW = P(r, 6);
  const kh = P(r, 7);
  const kw = P(r, 8);
  const sh = P(r, 9);
  const sw = P(r, 10);
  const pt = P(r, 11);
  const pl = P(r, 12);
  const zx = P(r, 13);
  const zy = P(r, 14);
  const includePad = P(r, 15);
  const mult = P(r, 16);
  const shift = P(r, 17);
  let out = y;
  for (let p = 0; p < planes; p++) {
    const plane = x + <usize>(p * H * W);
    for (let oy = 0; oy < OH; oy++) {
      const y0 = max(0, oy * sh - pt);
      const y1 = min(H, oy * sh - pt + kh);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = max(0, ox * sw - pl);
        const x1 = min(W, ox * sw - pl + kw);
        let sum = 0;
        for (let iy = y0; iy < y1; iy++) {
          const row = plane + <usize>(iy * W);
          for (let ix = x0; ix < x1; ix++) sum += <i32>load<u8>(row + <usize>ix) - zx;
        }
        const count = includePad ? kh * kw : (y1 - y0) * (x1 - x0);
        store<u8>(out, meanClamp(<i64>sum * <i64>mult, count, shift, zy));
        out += 1;
      }
    }
  }
}

/** clamp(zy + divRound(p, count * 2^shift), 0, 255) for |p| < 2^49 and count < 2^26. */
@inline
export function meanClamp(p: i64, count: i32, shift: i32, zy: i32): u8 {
  const qf = <f64>count * <f64>((<i64>1) << (<i64>shift));
  // With q >= 2^51 > |2p| the rounded quotient is 0 (the reference's doubles agree: no rounding
  // of 2p + q can cross 0 or 2q at these magnitudes).
  const d = qf >= 2251799813685248.0 ? 0 : divRound(p, <i64>qf);
  let t = <i64>zy + d;
  if (t < 0) t = 0;
  if (t > 255) t = 255;
  return <u8>t;
}
