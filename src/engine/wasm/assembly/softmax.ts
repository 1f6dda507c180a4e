// softmax over the last axis. e_i = expTable[m - x_i] <= 2^16, S = Σ e_i <= 2^32 and
// y_i = floor((510 e_i + S) / 2S) <= 255. A row whose differences d_i = m - x_i only reach a few
// 16-entry blocks of the table (or whose table is zero past a few blocks) is looked up with byte
// swizzles: the table split into three byte planes for S, then the row's quotients per table
// entry, Y[d], for y. Other rows look e_i up one by one.
import { A, P } from './arith';
import { floorDiv2, floorDivNear, high2, join2, low2, sum4, sums4 } from './divide';
import { store8 } from './gemm';

/** The largest byte lane of v (min: the smallest). */
@inline
function maxLane(v: v128): u32 {
  let m = i8x16.max_u(v, i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  m = i8x16.max_u(m, i8x16.shuffle(m, m, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
  m = i8x16.max_u(m, i8x16.shuffle(m, m, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
  m = i8x16.max_u(m, i8x16.shuffle(m, m, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0));
  return i8x16.extract_lane_u(m, 0);
}

@inline
function minLane(v: v128): u32 {
  let m = i8x16.min_u(v, i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  m = i8x16.min_u(m, i8x16.shuffle(m, m, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
  m = i8x16.min_u(m, i8x16.shuffle(m, m, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
  m = i8x16.min_u(m, i8x16.shuffle(m, m, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0));
  return i8x16.extract_lane_u(m, 0);
}

/**
 * out[j] = floor((510 e_j + S) / 2S) for j < n, e i32 [n], 2^16 <= S <= 2^32. For S < 2^24 the
 * four-lane quotient applies: 510 e_j + S + 2S < 2^25 + 3 * 2^24 < 2^31 and the quotient is below
 * 2^8; above, every f64 is an integer below 2^42.
 */
function quotients(e: usize, n: i32, S: i64, out: usize): void {
  let i = 0;
  if (S < 1 << 24) {
    const s32 = <i32>S;
    const sv = i32x4.splat(s32);
    const k510 = i32x4.splat(510);
    const den = i32x4.splat(2 * s32);
    const inv = f32x4.splat(<f32>(1.0 / (2.0 * <f64>s32)));
    // 16 at a time where possible: one 16-byte store, which a 16-byte load can forward from.
    for (; i + 16 <= n; i += 16) {
      const ep = e + ((<usize>i) << 2);
      const q0 = floorDivNear(i32x4.add(i32x4.mul(v128.load(ep), k510), sv), den, inv);
      const q1 = floorDivNear(i32x4.add(i32x4.mul(v128.load(ep, 16), k510), sv), den, inv);
      const q2 = floorDivNear(i32x4.add(i32x4.mul(v128.load(ep, 32), k510), sv), den, inv);
      const q3 = floorDivNear(i32x4.add(i32x4.mul(v128.load(ep, 48), k510), sv), den, inv);
      v128.store(out + <usize>i, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    }
    for (; i + 8 <= n; i += 8) {
      const ep = e + ((<usize>i) << 2);
      const q0 = floorDivNear(i32x4.add(i32x4.mul(v128.load(ep), k510), sv), den, inv);
      const q1 = floorDivNear(i32x4.add(i32x4.mul(v128.load(ep, 16), k510), sv), den, inv);
      store8(out + <usize>i, q0, q1);
    }
  } else {
    const k510 = f64x2.splat(510.0);
    const Sf = <f64>S;
    const sv = f64x2.splat(Sf);
    const den = f64x2.splat(2.0 * Sf);
    const inv = f64x2.splat(1.0 / (2.0 * Sf));
    for (; i + 8 <= n; i += 8) {
      const ep = e + ((<usize>i) << 2);
      const e0 = v128.load(ep);
      const e1 = v128.load(ep, 16);
      const q0 = join2(
        floorDiv2(f64x2.add(f64x2.mul(low2(e0), k510), sv), den, inv),
        floorDiv2(f64x2.add(f64x2.mul(high2(e0), k510), sv), den, inv),
      );
      const q1 = join2(
        floorDiv2(f64x2.add(f64x2.mul(low2(e1), k510), sv), den, inv),
        floorDiv2(f64x2.add(f64x2.mul(high2(e1), k510), sv), den, inv),
      );
      store8(out + <usize>i, q0, q1);
    }
  }
  for (; i < n; i++) {
    const num = 510 * <i64>load<i32>(e + ((<usize>i) << 2)) + S;
    store<u8>(out + <usize>i, <u8>(num / (2 * S)));
  }
}

/**
 * softmax (8). Record: x, expTable (i32 [256]), y, rows, L, scratch: the byte planes of the table
 * (3 x 256), the row's quotients Y (256) and e (i32 [L]).
 */
export function softmax(r: usize): void {
  const x = A(r, 0);
  const table = A(r, 1);
  const y = A(r, 2);
  const rows = P(r, 3);
  const L = P(r, 4);
  const t0 = A(r, 5);
  const t1 = t0 + 256;
  const t2 = t0 + 512;
  const yt = t0 + 768;
  const e = t0 + 1024;
  // nz: 1 + the last d with expTable[d] > 0; n2: 1 + the last d with expTable[d] = 2^16 (>= 1).
  let nz = 0;
  let n2 = 0;
  let planes = false;
  const groups = L >> 4;
  let row = 0;
  // Rows of 16 to 128 bytes, four at a time: S < 2^23 for each, so their sums share one i32
  // vector and one vector reciprocal, and no row waits on its own latency chain.
  if ((L & 15) === 0 && L <= 128 && rows >= 4) {
    for (let d = 0; d < 256; d++) {
      const v = load<i32>(table + ((<usize>d) << 2));
      store<u8>(t0 + <usize>d, <u8>v);
      store<u8>(t1 + <usize>d, <u8>(v >> 8));
      store<u8>(t2 + <usize>d, <u8>(v >> 16));
      if (v !== 0) nz = d + 1;
      if (v >> 16) n2 = d + 1;
    }
    planes = true;
  }
  const quad = planes;
  for (; row < rows; row++) {
    if (quad && (row & 3) === 0 && row + 4 <= rows) {
      if (fourRows(x + <usize>(row * L), y + <usize>(row * L), groups, table, t0, nz, n2, yt)) {
        row += 3;
        continue;
      }
    }
    const xr = x + <usize>(row * L);
    const yr = y + <usize>(row * L);
    let i = 0;
    let mv = i8x16.splat(0);
    let nv = i8x16.splat(-1);
    for (; i + 16 <= L; i += 16) {
      const v = v128.load(xr + <usize>i);
      mv = i8x16.max_u(mv, v);
      nv = i8x16.min_u(nv, v);
    }
    let m = maxLane(mv);
    let mn = minLane(nv);
    for (; i < L; i++) {
      const v = <u32>load<u8>(xr + <usize>i);
      m = max(m, v);
      mn = min(mn, v);
    }
    if (groups > 0 && !planes) {
      for (let d = 0; d < 256; d++) {
        const v = load<i32>(table + ((<usize>d) << 2));
        store<u8>(t0 + <usize>d, <u8>v);
        store<u8>(t1 + <usize>d, <u8>(v >> 8));
        store<u8>(t2 + <usize>d, <u8>(v >> 16));
        if (v !== 0) nz = d + 1;
        if (v >> 16) n2 = d + 1;
      }
      planes = true;
    }
    // Every d_i lies below 16 K, or past nz where e_i = 0 = Y[d_i]. Per 16 elements the swizzle
    // path costs about 15 operations for each of the K blocks, and 40 per 16 table entries for Y;
    // the scalar one about 136.
    const K = <i32>min((m - mn + 16) >> 4, (<u32>nz + 15) >> 4);
    if (groups > 0 && K * (15 * groups + 40) < 136 * groups) {
      const K2 = min(K, (n2 + 15) >> 4);
      // Block k of a plane gives the entry of d where d - 16 k lies in [0, 16), and 0 elsewhere
      // (the byte index wraps to 16 or more), so S is the sum over the blocks. The blocks run in
      // the outer loop, whose trip count changes from row to row, and the row in the inner one.
      let a0 = i32x4.splat(0);
      let a1 = a0;
      let a2 = a0;
      for (let k = 0; k < K; k++) {
        const o = (<usize>k) << 4;
        const md = i8x16.splat(<i8>(m - (<u32>k << 4)));
        const p0 = v128.load(t0 + o);
        const p1 = v128.load(t1 + o);
        const p2 = v128.load(t2 + o);
        // u16 lanes: each step adds at most 2 * 255, at most 128 steps per chunk.
        for (let g0 = 0; g0 < groups; g0 += 128) {
          const g1 = min(groups, g0 + 128);
          let s0 = i16x8.splat(0);
          let s1 = s0;
          let s2 = s0;
          for (let g = g0; g < g1; g++) {
            const d = i8x16.sub(md, v128.load(xr + ((<usize>g) << 4)));
            s0 = i16x8.add(s0, i16x8.extadd_pairwise_i8x16_u(i8x16.swizzle(p0, d)));
            s1 = i16x8.add(s1, i16x8.extadd_pairwise_i8x16_u(i8x16.swizzle(p1, d)));
            if (k < K2) s2 = i16x8.add(s2, i16x8.extadd_pairwise_i8x16_u(i8x16.swizzle(p2, d)));
          }
          a0 = i32x4.add(a0, i32x4.extadd_pairwise_i16x8_u(s0));
          a1 = i32x4.add(a1, i32x4.extadd_pairwise_i16x8_u(s1));
          a2 = i32x4.add(a2, i32x4.extadd_pairwise_i16x8_u(s2));
        }
      }
      // Each plane's lanes sum at most 255 L <= 2^24.
      let S = <i64>sum4(a0) + ((<i64>sum4(a1)) << 8) + ((<i64>sum4(a2)) << 16);
      for (i = groups << 4; i < L; i++) {
        S += <i64>load<i32>(table + ((<usize>(m - <u32>load<u8>(xr + <usize>i))) << 2));
      }
      const n = K << 4;
      quotients(table, n, S, yt);
      // y = the OR over the blocks of Y's block k at d - 16 k.
      for (let k = 0; k < K; k++) {
        const md = i8x16.splat(<i8>(m - (<u32>k << 4)));
        const yk = v128.load(yt + ((<usize>k) << 4));
        for (let g = 0; g < groups; g++) {
          const o = (<usize>g) << 4;
          const q = i8x16.swizzle(yk, i8x16.sub(md, v128.load(xr + o)));
          v128.store(yr + o, k > 0 ? v128.or(q, v128.load(yr + o)) : q);
        }
      }
      for (i = groups << 4; i < L; i++) {
        const d = <i32>(m - <u32>load<u8>(xr + <usize>i));
        store<u8>(yr + <usize>i, d < n ? load<u8>(yt + <usize>d) : 0);
      }
    } else {
      let S: i64 = 0;
      for (i = 0; i < L; i++) {
        const v = load<i32>(table + ((<usize>(m - <u32>load<u8>(xr + <usize>i))) << 2));
        store<i32>(e + ((<usize>i) << 2), v);
        S += <i64>v;
      }
      quotients(e, L, S, yr);
    }
  }
}

/** The byte lanes of a, b, c and d, reduced (max_u, or min_u for !isMax): lanes 4 k to 4 k + 3 hold row k's. */
@inline
function reduce4(a: v128, b: v128, c: v128, d: v128, isMax: bool): v128 {
  let ab = i8x16.shuffle(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
  let ab2 = i8x16.shuffle(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  let cd = i8x16.shuffle(c, d, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
  let cd2 = i8x16.shuffle(c, d, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  ab = isMax ? i8x16.max_u(ab, ab2) : i8x16.min_u(ab, ab2);
  cd = isMax ? i8x16.max_u(cd, cd2) : i8x16.min_u(cd, cd2);
  let v = i8x16.shuffle(ab, cd, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  let w = i8x16.shuffle(ab, cd, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  v = isMax ? i8x16.max_u(v, w) : i8x16.min_u(v, w);
  w = i8x16.shuffle(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  v = isMax ? i8x16.max_u(v, w) : i8x16.min_u(v, w);
  w = i8x16.shuffle(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
  return isMax ? i8x16.max_u(v, w) : i8x16.min_u(v, w);
}

/** max_u and min_u over the byte lanes of one row of 16 * groups bytes. */
@inline
function rowMax(xr: usize, groups: i32): v128 {
  let m = v128.load(xr);
  for (let g = 1; g < groups; g++) m = i8x16.max_u(m, v128.load(xr + ((<usize>g) << 4)));
  return m;
}

@inline
function rowMin(xr: usize, groups: i32): v128 {
  let m = v128.load(xr);
  for (let g = 1; g < groups; g++) m = i8x16.min_u(m, v128.load(xr + ((<usize>g) << 4)));
  return m;
}

/**
 * One row's share of S from table block k (byte planes p0, p1, p2; md = m - 16 k splatted), in
 * i32 lanes: each u16 lane of a plane's sum gathers at most 2 * 255 per group, 8 groups at most.
 */
@inline
function blockShare(xr: usize, groups: i32, md: v128, p0: v128, p1: v128, p2: v128, third: bool): v128 {
  let s0 = i16x8.splat(0);
  let s1 = s0;
  let s2 = s0;
  for (let g = 0; g < groups; g++) {
    const d = i8x16.sub(md, v128.load(xr + ((<usize>g) << 4)));
    s0 = i16x8.add(s0, i16x8.extadd_pairwise_i8x16_u(i8x16.swizzle(p0, d)));
    s1 = i16x8.add(s1, i16x8.extadd_pairwise_i8x16_u(i8x16.swizzle(p1, d)));
    if (third) s2 = i16x8.add(s2, i16x8.extadd_pairwise_i8x16_u(i8x16.swizzle(p2, d)));
  }
  const a = i32x4.add(i32x4.extadd_pairwise_i16x8_u(s0), i32x4.shl(i32x4.extadd_pairwise_i16x8_u(s1), 8));
  return third ? i32x4.add(a, i32x4.shl(i32x4.extadd_pairwise_i16x8_u(s2), 16)) : a;
}

/** One row's S in i32 lanes from its first K table blocks (n2b: the blocks with 2^16 entries). */
@inline
function rowShare(xr: usize, groups: i32, m: u32, K: i32, n2b: i32, t0: usize): v128 {
  let a = i32x4.splat(0);
  for (let k = 0; k < K; k++) {
    const o = (<usize>k) << 4;
    const md = i8x16.splat(<i8>(m - (<u32>k << 4)));
    a = i32x4.add(a, blockShare(xr, groups, md, v128.load(t0 + o), v128.load(t0 + 256 + o), v128.load(t0 + 512 + o), k < n2b));
  }
  return a;
}

/**
 * One row's output from its S (sv, den = 2S and inv = f32(1 / den), splatted): the quotients of
 * the table's first 16 K entries, Y[d], then y_i = Y[d_i] by swizzles (0 past 16 K, where e = 0).
 */
@inline
function rowOut(xr: usize, yr: usize, groups: i32, m: u32, K: i32, table: usize, sv: v128, den: v128, inv: v128, yt: usize): void {
  const k510 = i32x4.splat(510);
  for (let k = 0; k < K; k++) {
    const ep = table + ((<usize>k) << 6);
    const q0 = floorDivNear(i32x4.add(i32x4.mul(v128.load(ep), k510), sv), den, inv);
    const q1 = floorDivNear(i32x4.add(i32x4.mul(v128.load(ep, 16), k510), sv), den, inv);
    const q2 = floorDivNear(i32x4.add(i32x4.mul(v128.load(ep, 32), k510), sv), den, inv);
    const q3 = floorDivNear(i32x4.add(i32x4.mul(v128.load(ep, 48), k510), sv), den, inv);
    v128.store(yt + ((<usize>k) << 4), i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
  }
  for (let g = 0; g < groups; g++) {
    const o = (<usize>g) << 4;
    const xv = v128.load(xr + o);
    let q = i8x16.swizzle(v128.load(yt), i8x16.sub(i8x16.splat(<i8>m), xv));
    for (let k = 1; k < K; k++) {
      const md = i8x16.splat(<i8>(m - (<u32>k << 4)));
      q = v128.or(q, i8x16.swizzle(v128.load(yt + ((<usize>k) << 4)), i8x16.sub(md, xv)));
    }
    v128.store(yr + o, q);
  }
}

/**
 * Four rows of 16 * groups <= 128 bytes by the swizzle lookups, each over the table blocks that
 * its range reaches. Returns false, having written nothing, when one of them needs so many
 * blocks that the lookups cost more than the scalar path.
 */
function fourRows(xr: usize, yr: usize, groups: i32, table: usize, t0: usize, nz: i32, n2: i32, yt: usize): bool {
  const L = <usize>(groups << 4);
  const x1 = xr + L;
  const x2 = x1 + L;
  const x3 = x2 + L;
  const mx = reduce4(rowMax(xr, groups), rowMax(x1, groups), rowMax(x2, groups), rowMax(x3, groups), true);
  const mn = reduce4(rowMin(xr, groups), rowMin(x1, groups), rowMin(x2, groups), rowMin(x3, groups), false);
  const m0 = i8x16.extract_lane_u(mx, 0);
  const m1 = i8x16.extract_lane_u(mx, 4);
  const m2 = i8x16.extract_lane_u(mx, 8);
  const m3 = i8x16.extract_lane_u(mx, 12);
  // Each row's own block count: a row's work stays that of its range.
  const r4 = i8x16.sub(mx, mn);
  const nb = (<u32>nz + 15) >> 4;
  const K0 = <i32>min((<u32>i8x16.extract_lane_u(r4, 0) + 16) >> 4, nb);
  const K1 = <i32>min((<u32>i8x16.extract_lane_u(r4, 4) + 16) >> 4, nb);
  const K2 = <i32>min((<u32>i8x16.extract_lane_u(r4, 8) + 16) >> 4, nb);
  const K3 = <i32>min((<u32>i8x16.extract_lane_u(r4, 12) + 16) >> 4, nb);
  if (<i32>max(max(K0, K1), max(K2, K3)) * (15 * groups + 40) >= 136 * groups) return false;
  const n2b = (n2 + 15) >> 4;
  const a0 = rowShare(xr, groups, m0, K0, n2b, t0);
  const a1 = rowShare(x1, groups, m1, K1, n2b, t0);
  const a2 = rowShare(x2, groups, m2, K2, n2b, t0);
  const a3 = rowShare(x3, groups, m3, K3, n2b, t0);
  // S <= 128 * 2^16 = 2^23, so 2S is exact in f32 and its f32 reciprocal correctly rounded.
  const S = sums4(a0, a1, a2, a3);
  const den = i32x4.shl(S, 1);
  const inv = f32x4.div(f32x4.splat(1.0), f32x4.convert_i32x4_s(den));
  const y1 = yr + L;
  const y2 = y1 + L;
  const y3 = y2 + L;
  rowOut(xr, yr, groups, m0, K0, table, v128.shuffle<i32>(S, S, 0, 0, 0, 0), v128.shuffle<i32>(den, den, 0, 0, 0, 0), v128.shuffle<i32>(inv, inv, 0, 0, 0, 0), yt);
  rowOut(x1, y1, groups, m1, K1, table, v128.shuffle<i32>(S, S, 1, 1, 1, 1), v128.shuffle<i32>(den, den, 1, 1, 1, 1), v128.shuffle<i32>(inv, inv, 1, 1, 1, 1), yt);
  rowOut(x2, y2, groups, m2, K2, table, v128.shuffle<i32>(S, S, 2, 2, 2, 2), v128.shuffle<i32>(den, den, 2, 2, 2, 2), v128.shuffle<i32>(inv, inv, 2, 2, 2, 2), yt);
  rowOut(x3, y3, groups, m3, K3, table, v128.shuffle<i32>(S, S, 3, 3, 3, 3), v128.shuffle<i32>(den, den, 3, 3, 3, 3), v128.shuffle<i32>(inv, inv, 3, 3, 3, 3), yt);
  return true;
}
