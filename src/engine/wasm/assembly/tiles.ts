// The GEMM of conv and matmul in the "c2" layout of gemm.ts: C[M][Np] (i32) = A[M][Kp] (i16,
// row-major) · B, B's element (k, j) at i16 index ((k >> 1) * Np + j) * 2 + (k & 1). Register
// tiles of 5 or 4 rows by 8 columns; each k step splats one A pair per row against two vectors
// of B, so a tile of r rows loads 2 + r vectors for 2r dot products.

// The host may compute a GEMM itself (the native kernels, src/engine/native): it returns 1 when it
// wrote C, exactly as the loops below would, or 0 to leave the work to them. Without native
// kernels the host passes a function that returns 0, so the engine runs anywhere.
@external('env', 'gemmHook')
export declare function gemmHook(a: usize, b: usize, c: usize, M: i32, Kp: i32, Np: i32): i32;

export function gemm(a: usize, b: usize, c: usize, M: i32, Kp: i32, Np: i32): void {
  if (gemmHook(a, b, c, M, Kp, Np)) return;
  const kh = Kp >> 1;
  const aRow = (<usize>Kp) << 1;
  const bRow = (<usize>Np) << 2;
  const cRow = (<usize>Np) << 2;
  // Rows in tiles of 5 (10 accumulators, the most that stay in x64's 16 vector registers), with
  // the rest in tiles of 4 where M = 5a + 4b allows (conv channel counts are multiples of 4 or 8).
  const b4 = (4 * M) % 5;
  const m5 = 4 * b4 <= M ? M - 4 * b4 : M;
  let i = 0;
  for (; i + 5 <= m5; i += 5) {
    const a0 = a + <usize>i * aRow;
    const a1 = a0 + aRow;
    const a2 = a1 + aRow;
    const a3 = a2 + aRow;
    const a4 = a3 + aRow;
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
      let s40 = i32x4.splat(0);
      let s41 = i32x4.splat(0);
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
      const cp = c0 + ((<usize>j) << 2);
      v128.store(cp, s00);
      v128.store(cp, s01, 16);
      v128.store(cp + cRow, s10);
      v128.store(cp + cRow, s11, 16);
      v128.store(cp + 2 * cRow, s20);
      v128.store(cp + 2 * cRow, s21, 16);
      v128.store(cp + 3 * cRow, s30);
      v128.store(cp + 3 * cRow, s31, 16);
      v128.store(cp + 4 * cRow, s40);
      v128.store(cp + 4 * cRow, s41, 16);
    }
  }
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
  for (; i + 2 <= M; i += 2) {
    const a0 = a + <usize>i * aRow;
    const a1 = a0 + aRow;
    const c0 = c + <usize>i * cRow;
    for (let j = 0; j < Np; j += 8) {
      let s00 = i32x4.splat(0);
      let s01 = i32x4.splat(0);
      let s10 = i32x4.splat(0);
      let s11 = i32x4.splat(0);
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
      const cp = c0 + ((<usize>j) << 2);
      v128.store(cp, s00);
      v128.store(cp, s01, 16);
      v128.store(cp + cRow, s10);
      v128.store(cp + cRow, s11, 16);
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
