// The u8 x s8 GEMM of the vnni512 path: vpdpbusd on zmm, which multiplies four unsigned bytes by
// four signed bytes and adds the four products and the 32-bit accumulator with wrap-around. It
// never saturates (unlike vpdpbusds, and unlike vpmaddubsw, whose i16 pair sums do), and four
// products of |u8 * s8| <= 255 * 128 sum to at most 130,560, so every step is exact modulo 2^32.
//
// The operands are raw u8 codes and i8 weights: the kernels compute sum x w over the raw codes,
// and the whole ops (ops.h) subtract zx * sum w through the bias, because
// sum (x - zx) w = sum x w - zx sum w holds modulo 2^32, and the validator bounds the true sum
// below 2^31, so the wrapped result is the exact one. Padding taps hold zx (a centred 0) and
// k padding holds weight 0, so neither changes the sum.
// Included by kernels.cc inside its anonymous namespace.
#pragma once

#define VNNI512_TARGET "avx512f,avx512bw,avx512vl,avx512vnni"

// C[M][Np] (i32) = A . B over kq four-k words: row i of A is kq words at A + i * lda, and B is
// kq x Np words (word k * Np + j holds four k of column j). BU8: B holds the unsigned bytes and A
// the signed ones (conv: weights x im2col); otherwise A holds the unsigned ones (matmul:
// activations x weights).
template <int R, bool BU8>
__attribute__((target(VNNI512_TARGET), always_inline)) inline void tile8(
    const int32_t* A, int64_t lda, const int32_t* B, int32_t* C, int64_t kq, int64_t Np,
    __mmask16 m0, __mmask16 m1) {
  __m512i s0[R], s1[R];
  for (int r = 0; r < R; r++) s0[r] = s1[r] = _mm512_setzero_si512();
  for (int64_t k = 0; k < kq; k++) {
    const int32_t* bp = B + k * Np;
    const __m512i b0 = _mm512_maskz_loadu_epi32(m0, bp);
    const __m512i b1 = _mm512_maskz_loadu_epi32(m1, bp + 16);
    for (int r = 0; r < R; r++) {
      const __m512i x = _mm512_set1_epi32(A[r * lda + k]);
      if (BU8) {
        s0[r] = _mm512_dpbusd_epi32(s0[r], b0, x);
        s1[r] = _mm512_dpbusd_epi32(s1[r], b1, x);
      } else {
        s0[r] = _mm512_dpbusd_epi32(s0[r], x, b0);
        s1[r] = _mm512_dpbusd_epi32(s1[r], x, b1);
      }
    }
  }
  for (int r = 0; r < R; r++) {
    _mm512_mask_storeu_epi32(C + r * Np, m0, s0[r]);
    _mm512_mask_storeu_epi32(C + r * Np + 16, m1, s1[r]);
  }
}

template <bool BU8>
__attribute__((target(VNNI512_TARGET))) void gemm8(const int32_t* A, int64_t lda, const int32_t* B,
                                                   int32_t* C, int64_t M, int64_t kq, int64_t Np) {
  for (int64_t j = 0; j < Np; j += 32) {
    const int64_t left = Np - j;
    const __mmask16 m0 = left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1);
    const __mmask16 m1 =
        left >= 32 ? 0xffff : left <= 16 ? 0 : static_cast<__mmask16>((1u << (left - 16)) - 1);
    int64_t i = 0;
    for (; i + 8 <= M; i += 8) tile8<8, BU8>(A + i * lda, lda, B + j, C + i * Np + j, kq, Np, m0, m1);
    const int32_t* a = A + i * lda;
    int32_t* c = C + i * Np + j;
    switch (M - i) {
      case 7: tile8<7, BU8>(a, lda, B + j, c, kq, Np, m0, m1); break;
      case 6: tile8<6, BU8>(a, lda, B + j, c, kq, Np, m0, m1); break;
      case 5: tile8<5, BU8>(a, lda, B + j, c, kq, Np, m0, m1); break;
      case 4: tile8<4, BU8>(a, lda, B + j, c, kq, Np, m0, m1); break;
      case 3: tile8<3, BU8>(a, lda, B + j, c, kq, Np, m0, m1); break;
      case 2: tile8<2, BU8>(a, lda, B + j, c, kq, Np, m0, m1); break;
      case 1: tile8<1, BU8>(a, lda, B + j, c, kq, Np, m0, m1); break;
      default: break;
    }
  }
}

// Sixteen outputs of one tap row from a padded plane, raw u8: p[0], p[sw], ..., p[15 sw] for a
// horizontal stride sw of 1 or 2 (reads 16 or 32 bytes).
__attribute__((target(VNNI512_TARGET), always_inline)) inline __m128i taps16u8(const uint8_t* p,
                                                                              int64_t sw) {
  if (sw == 1) return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i mask = _mm_set1_epi16(0xff);
  const __m128i lo = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), mask);
  const __m128i hi = _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)), mask);
  return _mm_packus_epi16(lo, hi);
}

// Four tap rows of sixteen outputs as sixteen words of four bytes (tap k in byte k & 3).
__attribute__((target(VNNI512_TARGET), always_inline)) inline void quad16(__m128i r0, __m128i r1,
                                                                         __m128i r2, __m128i r3,
                                                                         __m128i out[4]) {
  const __m128i t0 = _mm_unpacklo_epi8(r0, r1), t1 = _mm_unpackhi_epi8(r0, r1);
  const __m128i t2 = _mm_unpacklo_epi8(r2, r3), t3 = _mm_unpackhi_epi8(r2, r3);
  out[0] = _mm_unpacklo_epi16(t0, t2);
  out[1] = _mm_unpackhi_epi16(t0, t2);
  out[2] = _mm_unpacklo_epi16(t1, t3);
  out[3] = _mm_unpackhi_epi16(t1, t3);
}
