// keccak256 of two messages of the same length at once: the 25 lanes of both states side by side
// in i64x2 locals (message a in lane 0, b in lane 1), so one round function serves both. The
// Merkle tree of src/commit/tensorRoot.ts has its leaves and the nodes of each level in pairs.
// Generated layout, as in keccak.ts: lane (x, y) is a{x + 5y}.
import { RC } from './keccak';

/** The last, padded blocks of the two messages. */
const PAD_A: usize = memory.data(136, 16);
const PAD_B: usize = memory.data(136, 16);

/** Copies the last rest < 136 bytes of a message into pad with keccak's padding. */
@inline
function padBlock(pad: usize, p: usize, rest: i32): void {
  memory.fill(pad, 0, 136);
  memory.copy(pad, p, <usize>rest);
  store<u8>(pad + <usize>rest, load<u8>(pad + <usize>rest) ^ 0x01);
  store<u8>(pad + 135, load<u8>(pad + 135) ^ 0x80);
}

/** Both words at offset k of two blocks, as one i64x2. */
@inline
function pair(pa: usize, pb: usize, k: usize): v128 {
  return v128.load64_lane(pb + k, v128.load64_zero(pa + k), 1);
}

/** Each i64 lane of v rotated left by n (0 < n < 64); rotations by 8 and 56 are byte shuffles. */
@inline
function rotl2(v: v128, n: i32): v128 {
  return v128.or(i64x2.shl(v, n), i64x2.shr_u(v, 64 - n));
}

/** keccak256 of len bytes at srcA and at srcB, written to outA and outB (32 bytes each). */
export function keccak256x2(srcA: usize, srcB: usize, len: i32, outA: usize, outB: usize): void {
  let a0 = i64x2.splat(0);
  let a1 = i64x2.splat(0);
  let a2 = i64x2.splat(0);
  let a3 = i64x2.splat(0);
  let a4 = i64x2.splat(0);
  let a5 = i64x2.splat(0);
  let a6 = i64x2.splat(0);
  let a7 = i64x2.splat(0);
  let a8 = i64x2.splat(0);
  let a9 = i64x2.splat(0);
  let a10 = i64x2.splat(0);
  let a11 = i64x2.splat(0);
  let a12 = i64x2.splat(0);
  let a13 = i64x2.splat(0);
  let a14 = i64x2.splat(0);
  let a15 = i64x2.splat(0);
  let a16 = i64x2.splat(0);
  let a17 = i64x2.splat(0);
  let a18 = i64x2.splat(0);
  let a19 = i64x2.splat(0);
  let a20 = i64x2.splat(0);
  let a21 = i64x2.splat(0);
  let a22 = i64x2.splat(0);
  let a23 = i64x2.splat(0);
  let a24 = i64x2.splat(0);
  let off = 0;
  let last = false;
  for (;;) {
    let pa = srcA + <usize>off;
    let pb = srcB + <usize>off;
    if (len - off >= 136) {
      off += 136;
    } else {
      padBlock(PAD_A, pa, len - off);
      padBlock(PAD_B, pb, len - off);
      pa = PAD_A;
      pb = PAD_B;
      last = true;
    }
    a0 = v128.xor(a0, pair(pa, pb, 0));
    a1 = v128.xor(a1, pair(pa, pb, 8));
    a2 = v128.xor(a2, pair(pa, pb, 16));
    a3 = v128.xor(a3, pair(pa, pb, 24));
    a4 = v128.xor(a4, pair(pa, pb, 32));
    a5 = v128.xor(a5, pair(pa, pb, 40));
    a6 = v128.xor(a6, pair(pa, pb, 48));
    a7 = v128.xor(a7, pair(pa, pb, 56));
    a8 = v128.xor(a8, pair(pa, pb, 64));
    a9 = v128.xor(a9, pair(pa, pb, 72));
    a10 = v128.xor(a10, pair(pa, pb, 80));
    a11 = v128.xor(a11, pair(pa, pb, 88));
    a12 = v128.xor(a12, pair(pa, pb, 96));
    a13 = v128.xor(a13, pair(pa, pb, 104));
    a14 = v128.xor(a14, pair(pa, pb, 112));
    a15 = v128.xor(a15, pair(pa, pb, 120));
    a16 = v128.xor(a16, pair(pa, pb, 128));
    for (let round = 0; round < 24; round++) {
      const c0 = v128.xor(v128.xor(v128.xor(a0, a5), v128.xor(a10, a15)), a20);
      const c1 = v128.xor(v128.xor(v128.xor(a1, a6), v128.xor(a11, a16)), a21);
      const c2 = v128.xor(v128.xor(v128.xor(a2, a7), v128.xor(a12, a17)), a22);
      const c3 = v128.xor(v128.xor(v128.xor(a3, a8), v128.xor(a13, a18)), a23);
      const c4 = v128.xor(v128.xor(v128.xor(a4, a9), v128.xor(a14, a19)), a24);
      const d0 = v128.xor(c4, rotl2(c1, 1));
      const d1 = v128.xor(c0, rotl2(c2, 1));
      const d2 = v128.xor(c1, rotl2(c3, 1));
      const d3 = v128.xor(c2, rotl2(c4, 1));
      const d4 = v128.xor(c3, rotl2(c0, 1));
      const b0 = v128.xor(a0, d0);
      const b5 = rotl2(v128.xor(a3, d3), 28);
      const b10 = rotl2(v128.xor(a1, d1), 1);
      const b15 = rotl2(v128.xor(a4, d4), 27);
      const b20 = rotl2(v128.xor(a2, d2), 62);
      const b1 = rotl2(v128.xor(a6, d1), 44);
      const b6 = rotl2(v128.xor(a9, d4), 20);
      const b11 = rotl2(v128.xor(a7, d2), 6);
      const b16 = rotl2(v128.xor(a5, d0), 36);
      const b21 = rotl2(v128.xor(a8, d3), 55);
      const b2 = rotl2(v128.xor(a12, d2), 43);
      const b7 = rotl2(v128.xor(a10, d0), 3);
      const b12 = rotl2(v128.xor(a13, d3), 25);
      const b17 = rotl2(v128.xor(a11, d1), 10);
      const b22 = rotl2(v128.xor(a14, d4), 39);
      const b3 = rotl2(v128.xor(a18, d3), 21);
      const b8 = rotl2(v128.xor(a16, d1), 45);
      const t13 = v128.xor(a19, d4);
      const b13 = i8x16.shuffle(t13, t13, 7, 0, 1, 2, 3, 4, 5, 6, 15, 8, 9, 10, 11, 12, 13, 14);
      const b18 = rotl2(v128.xor(a17, d2), 15);
      const b23 = rotl2(v128.xor(a15, d0), 41);
      const b4 = rotl2(v128.xor(a24, d4), 14);
      const b9 = rotl2(v128.xor(a22, d2), 61);
      const b14 = rotl2(v128.xor(a20, d0), 18);
      const t19 = v128.xor(a23, d3);
      const b19 = i8x16.shuffle(t19, t19, 1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8);
      const b24 = rotl2(v128.xor(a21, d1), 2);
      a0 = v128.xor(b0, v128.andnot(b2, b1));
      a1 = v128.xor(b1, v128.andnot(b3, b2));
      a2 = v128.xor(b2, v128.andnot(b4, b3));
      a3 = v128.xor(b3, v128.andnot(b0, b4));
      a4 = v128.xor(b4, v128.andnot(b1, b0));
      a5 = v128.xor(b5, v128.andnot(b7, b6));
      a6 = v128.xor(b6, v128.andnot(b8, b7));
      a7 = v128.xor(b7, v128.andnot(b9, b8));
      a8 = v128.xor(b8, v128.andnot(b5, b9));
      a9 = v128.xor(b9, v128.andnot(b6, b5));
      a10 = v128.xor(b10, v128.andnot(b12, b11));
      a11 = v128.xor(b11, v128.andnot(b13, b12));
      a12 = v128.xor(b12, v128.andnot(b14, b13));
      a13 = v128.xor(b13, v128.andnot(b10, b14));
      a14 = v128.xor(b14, v128.andnot(b11, b10));
      a15 = v128.xor(b15, v128.andnot(b17, b16));
      a16 = v128.xor(b16, v128.andnot(b18, b17));
      a17 = v128.xor(b17, v128.andnot(b19, b18));
      a18 = v128.xor(b18, v128.andnot(b15, b19));
      a19 = v128.xor(b19, v128.andnot(b16, b15));
      a20 = v128.xor(b20, v128.andnot(b22, b21));
      a21 = v128.xor(b21, v128.andnot(b23, b22));
      a22 = v128.xor(b22, v128.andnot(b24, b23));
      a23 = v128.xor(b23, v128.andnot(b20, b24));
      a24 = v128.xor(b24, v128.andnot(b21, b20));
      a0 = v128.xor(a0, i64x2.splat(load<u64>(RC + ((<usize>round) << 3))));
    }
    if (last) break;
  }
  v128.store64_lane(outA, a0, 0, 0);
  v128.store64_lane(outA, a1, 0, 8);
  v128.store64_lane(outA, a2, 0, 16);
  v128.store64_lane(outA, a3, 0, 24);
  v128.store64_lane(outB, a0, 1, 0);
  v128.store64_lane(outB, a1, 1, 8);
  v128.store64_lane(outB, a2, 1, 16);
  v128.store64_lane(outB, a3, 1, 24);
}
