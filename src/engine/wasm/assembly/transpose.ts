// transpose over collapsed axes (see ops.ts): short contiguous rows by vector copies, a swap of
// the last two axes by 16 x 16 byte blocks, and any other stride byte by byte.
import { A, P } from './arith';

/**
 * n bytes from src to dst (not overlapping): 16-byte vectors, the last one overlapping the one
 * before, for the short rows of transposes, where a memory.copy call costs more than the copy.
 */
@inline
function copyBytes(dst: usize, src: usize, n: i32): void {
  if (n < 16) memory.copy(dst, src, <usize>n);
  else {
    for (let j = 0; j < n; j += 16) {
      const o = <usize>min(j, n - 16);
      v128.store(dst + o, v128.load(src + o));
    }
  }
}

/**
 * dst[c][i] = src[c + i s] for c < R, i < n (both >= 16): the byte transpose of n rows of stride s
 * in 16 x 16 blocks, the last block of each axis overlapping the one before. Four rounds of byte
 * interleaves turn row bits r3 r2 r1 r0 and column bits c3 c2 c1 c0 into c3 c2 c1 c0 and
 * r3 r2 r1 r0: each round moves the top row bit to the bottom of the column and the top column
 * bit to the bottom of the row.
 */
function transposeBlocks(src: usize, dst: usize, R: i32, n: i32, s: i32): void {
  for (let c0 = 0; c0 < R; c0 += 16) {
    const c = <usize>min(c0, R - 16);
    for (let i0 = 0; i0 < n; i0 += 16) {
      const i = min(i0, n - 16);
      const a0 = v128.load(src + <usize>(i * s) + c);
      const a1 = v128.load(src + <usize>((i + 1) * s) + c);
      const a2 = v128.load(src + <usize>((i + 2) * s) + c);
      const a3 = v128.load(src + <usize>((i + 3) * s) + c);
      const a4 = v128.load(src + <usize>((i + 4) * s) + c);
      const a5 = v128.load(src + <usize>((i + 5) * s) + c);
      const a6 = v128.load(src + <usize>((i + 6) * s) + c);
      const a7 = v128.load(src + <usize>((i + 7) * s) + c);
      const a8 = v128.load(src + <usize>((i + 8) * s) + c);
      const a9 = v128.load(src + <usize>((i + 9) * s) + c);
      const a10 = v128.load(src + <usize>((i + 10) * s) + c);
      const a11 = v128.load(src + <usize>((i + 11) * s) + c);
      const a12 = v128.load(src + <usize>((i + 12) * s) + c);
      const a13 = v128.load(src + <usize>((i + 13) * s) + c);
      const a14 = v128.load(src + <usize>((i + 14) * s) + c);
      const a15 = v128.load(src + <usize>((i + 15) * s) + c);
      const b0 = i8x16.shuffle(a0, a8, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const b1 = i8x16.shuffle(a0, a8, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const b2 = i8x16.shuffle(a1, a9, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const b3 = i8x16.shuffle(a1, a9, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const b4 = i8x16.shuffle(a2, a10, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const b5 = i8x16.shuffle(a2, a10, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const b6 = i8x16.shuffle(a3, a11, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const b7 = i8x16.shuffle(a3, a11, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const b8 = i8x16.shuffle(a4, a12, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const b9 = i8x16.shuffle(a4, a12, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const b10 = i8x16.shuffle(a5, a13, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const b11 = i8x16.shuffle(a5, a13, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const b12 = i8x16.shuffle(a6, a14, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const b13 = i8x16.shuffle(a6, a14, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const b14 = i8x16.shuffle(a7, a15, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const b15 = i8x16.shuffle(a7, a15, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const c0 = i8x16.shuffle(b0, b8, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const c1 = i8x16.shuffle(b0, b8, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const c2 = i8x16.shuffle(b1, b9, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const c3 = i8x16.shuffle(b1, b9, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const c4 = i8x16.shuffle(b2, b10, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const c5 = i8x16.shuffle(b2, b10, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const c6 = i8x16.shuffle(b3, b11, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const c7 = i8x16.shuffle(b3, b11, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const c8 = i8x16.shuffle(b4, b12, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const c9 = i8x16.shuffle(b4, b12, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const c10 = i8x16.shuffle(b5, b13, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const c11 = i8x16.shuffle(b5, b13, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const c12 = i8x16.shuffle(b6, b14, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const c13 = i8x16.shuffle(b6, b14, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const c14 = i8x16.shuffle(b7, b15, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const c15 = i8x16.shuffle(b7, b15, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const d0 = i8x16.shuffle(c0, c8, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const d1 = i8x16.shuffle(c0, c8, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const d2 = i8x16.shuffle(c1, c9, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const d3 = i8x16.shuffle(c1, c9, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const d4 = i8x16.shuffle(c2, c10, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const d5 = i8x16.shuffle(c2, c10, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const d6 = i8x16.shuffle(c3, c11, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const d7 = i8x16.shuffle(c3, c11, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const d8 = i8x16.shuffle(c4, c12, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const d9 = i8x16.shuffle(c4, c12, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const d10 = i8x16.shuffle(c5, c13, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const d11 = i8x16.shuffle(c5, c13, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const d12 = i8x16.shuffle(c6, c14, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const d13 = i8x16.shuffle(c6, c14, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const d14 = i8x16.shuffle(c7, c15, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const d15 = i8x16.shuffle(c7, c15, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const e0 = i8x16.shuffle(d0, d8, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const e1 = i8x16.shuffle(d0, d8, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const e2 = i8x16.shuffle(d1, d9, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const e3 = i8x16.shuffle(d1, d9, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const e4 = i8x16.shuffle(d2, d10, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const e5 = i8x16.shuffle(d2, d10, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const e6 = i8x16.shuffle(d3, d11, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const e7 = i8x16.shuffle(d3, d11, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const e8 = i8x16.shuffle(d4, d12, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const e9 = i8x16.shuffle(d4, d12, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const e10 = i8x16.shuffle(d5, d13, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const e11 = i8x16.shuffle(d5, d13, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const e12 = i8x16.shuffle(d6, d14, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const e13 = i8x16.shuffle(d6, d14, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const e14 = i8x16.shuffle(d7, d15, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const e15 = i8x16.shuffle(d7, d15, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      v128.store(dst + <usize>((c + 0) * n + i), e0);
      v128.store(dst + <usize>((c + 1) * n + i), e1);
      v128.store(dst + <usize>((c + 2) * n + i), e2);
      v128.store(dst + <usize>((c + 3) * n + i), e3);
      v128.store(dst + <usize>((c + 4) * n + i), e4);
      v128.store(dst + <usize>((c + 5) * n + i), e5);
      v128.store(dst + <usize>((c + 6) * n + i), e6);
      v128.store(dst + <usize>((c + 7) * n + i), e7);
      v128.store(dst + <usize>((c + 8) * n + i), e8);
      v128.store(dst + <usize>((c + 9) * n + i), e9);
      v128.store(dst + <usize>((c + 10) * n + i), e10);
      v128.store(dst + <usize>((c + 11) * n + i), e11);
      v128.store(dst + <usize>((c + 12) * n + i), e12);
      v128.store(dst + <usize>((c + 13) * n + i), e13);
      v128.store(dst + <usize>((c + 14) * n + i), e14);
      v128.store(dst + <usize>((c + 15) * n + i), e15);
    }
  }
}

/** transpose (12). Record: x, y, dims[6], inStrides[6] (elements). */
export function transpose(r: usize): void {
  const x = A(r, 0);
  let y = A(r, 1);
  const d0 = P(r, 2);
  const d1 = P(r, 3);
  const d2 = P(r, 4);
  const d3 = P(r, 5);
  const d4 = P(r, 6);
  const n = P(r, 7);
  const s5 = P(r, 13);
  // The last two axes swapped (input stride 1 on the fifth): 16 x 16 byte blocks, no byte loop.
  const blocks = s5 !== 1 && P(r, 12) === 1 && d4 >= 16 && n >= 16;
  for (let i0 = 0; i0 < d0; i0++) {
    for (let i1 = 0; i1 < d1; i1++) {
      for (let i2 = 0; i2 < d2; i2++) {
        for (let i3 = 0; i3 < d3; i3++) {
          if (blocks) {
            transposeBlocks(x + <usize>(i0 * P(r, 8) + i1 * P(r, 9) + i2 * P(r, 10) + i3 * P(r, 11)), y, d4, n, s5);
            y += <usize>(d4 * n);
            continue;
          }
          for (let i4 = 0; i4 < d4; i4++) {
            const src = x + <usize>(i0 * P(r, 8) + i1 * P(r, 9) + i2 * P(r, 10) + i3 * P(r, 11) + i4 * P(r, 12));
            if (s5 === 1) copyBytes(y, src, n);
            else for (let i = 0; i < n; i++) store<u8>(y + <usize>i, load<u8>(src + <usize>(i * s5)));
            y += <usize>n;
          }
        }
      }
    }
  }
}
