// Requantization of the native addon's whole ops (ops.h): 32-bit sums to clamped u8 codes, in
// the engine's arithmetic. Included by ops.h inside kernels.cc's anonymous namespace. The scalar
// forms are the definition; the AVX-512 forms compute the same values 16 lanes at a time, and the
// native tests force both on every path's inputs.
#pragma once

// y[p] = clamp(zy + rshift((acc[p] + bias) * m, S), qmin, qmax), the sum wrapped to 32 bits like
// the engine's. Where S >= 16 and 0 <= m < 2^15 the product splits into 16-bit halves exactly
// (gemm.ts, rq4s), keeping every lane in 32 bits.
__attribute__((always_inline)) inline void requantRun(const int32_t* __restrict acc,
                                                      uint8_t* __restrict y, int64_t n,
                                                      int32_t bias, int32_t m, int32_t S,
                                                      int32_t zy, int32_t qmin, int32_t qmax) {
  if (S >= 16 && m >= 0 && m < 32768) {
    const int32_t rlo = S == 16 ? 1 << 15 : 0;
    const int32_t rhi = S > 16 ? 1 << (S - 17) : 0;
    const int32_t s16 = S - 16;
    for (int64_t p = 0; p < n; p++) {
      const int32_t v = wrapAdd(acc[p], bias);
      const int32_t a = (v >> 16) * m + rhi;
      const int32_t l = (v & 0xffff) * m + rlo;
      int32_t t = ((a + static_cast<int32_t>(static_cast<uint32_t>(l) >> 16)) >> s16) + zy;
      t = t < qmin ? qmin : t;
      t = t > qmax ? qmax : t;
      y[p] = static_cast<uint8_t>(t);
    }
    return;
  }
  const int64_t rnd = S > 0 ? int64_t{1} << (S - 1) : 0;
  for (int64_t p = 0; p < n; p++) {
    const int64_t v = wrapAdd(acc[p], bias);
    int64_t t = ((v * m + rnd) >> S) + zy;
    t = t < qmin ? qmin : t;
    t = t > qmax ? qmax : t;
    y[p] = static_cast<uint8_t>(t);
  }
}

// The same with each column's own bias, multiplier and shift (a matmul row).
__attribute__((always_inline)) inline void requantCols(const int32_t* __restrict acc,
                                                       uint8_t* __restrict y, int64_t n,
                                                       const int32_t* __restrict bias,
                                                       const int32_t* __restrict m,
                                                       const int32_t* __restrict S, int32_t zy,
                                                       int32_t qmin, int32_t qmax) {
  for (int64_t p = 0; p < n; p++) {
    const int64_t v = wrapAdd(acc[p], bias[p]);
    const int32_t s = S[p];
    const int64_t rnd = s > 0 ? int64_t{1} << (s - 1) : 0;
    int64_t t = ((v * m[p] + rnd) >> s) + zy;
    t = t < qmin ? qmin : t;
    t = t > qmax ? qmax : t;
    y[p] = static_cast<uint8_t>(t);
  }
}

// The same for per-column parameters brought to one shift S (plan.ts: multN, `small`: S >= 16 and
// every multiplier below 2^15), in 32-bit lanes.
__attribute__((always_inline)) inline void requantColsSmall(const int32_t* __restrict acc,
                                                            uint8_t* __restrict y, int64_t n,
                                                            const int32_t* __restrict bias,
                                                            const int32_t* __restrict m, int32_t S,
                                                            int32_t zy, int32_t qmin, int32_t qmax) {
  const int32_t rlo = S == 16 ? 1 << 15 : 0;
  const int32_t rhi = S > 16 ? 1 << (S - 17) : 0;
  const int32_t s16 = S - 16;
  for (int64_t p = 0; p < n; p++) {
    const int32_t v = wrapAdd(acc[p], bias[p]);
    const int32_t a = (v >> 16) * m[p] + rhi;
    const int32_t l = (v & 0xffff) * m[p] + rlo;
    int32_t t = ((a + static_cast<int32_t>(static_cast<uint32_t>(l) >> 16)) >> s16) + zy;
    t = t < qmin ? qmin : t;
    t = t > qmax ? qmax : t;
    y[p] = static_cast<uint8_t>(t);
  }
}


// ---- AVX-512: the int64 forms, 16 lanes at a time ----------------------------------------------
//
// Each 32-bit lane's v * m is formed exactly in 64 bits (vpmuldq on the even lanes, and on the odd
// lanes shifted down), the rounding constant 2^(s-1) added (|v * m| < 2^62 and 2^(s-1) <= 2^61, so
// no sum overflows), shifted arithmetically by the lane's own s (vpsravq), offset by zy and clamped
// in 64 bits, exactly as the scalar loop does; the two halves are then merged and narrowed.

#define RQ512 __attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) inline

// One 64-bit half: lanes hold v and m (sign-extended products come from their low dwords) and s.
RQ512 __m512i rqHalf512(__m512i v, __m512i m, __m512i s, __m512i zy, __m512i lo, __m512i hi) {
  const __m512i one = _mm512_set1_epi64(1);
  const __m512i rnd = _mm512_srli_epi64(_mm512_sllv_epi64(one, s), 1);
  __m512i t = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(v, m), rnd), s);
  t = _mm512_add_epi64(t, zy);
  return _mm512_min_epi64(_mm512_max_epi64(t, lo), hi);
}

// 16 sums (already + bias, wrapped) to 16 clamped codes, one per dword.
RQ512 __m512i rq16(__m512i v, __m512i m, __m512i s, __m512i zy, __m512i lo, __m512i hi) {
  const __m512i low = _mm512_set1_epi64(0xffffffff);
  const __m512i even = rqHalf512(v, m, _mm512_and_si512(s, low), zy, lo, hi);
  const __m512i odd = rqHalf512(_mm512_srli_epi64(v, 32), _mm512_srli_epi64(m, 32),
                                _mm512_srli_epi64(s, 32), zy, lo, hi);
  return _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

// The 32-bit split forms (S >= 16, 0 <= m < 2^15), 16 lanes at a time: the same wrapped sum,
// the same two 16-bit half products and the same shifts as the scalar loops.
RQ512 __m512i rqSmall16(__m512i v, __m512i m, __m512i rlo, __m512i rhi, __m128i s16, __m512i zy,
                        __m512i lo, __m512i hi) {
  const __m512i a = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_srai_epi32(v, 16), m), rhi);
  const __m512i l = _mm512_add_epi32(
      _mm512_mullo_epi32(_mm512_and_si512(v, _mm512_set1_epi32(0xffff)), m), rlo);
  __m512i t = _mm512_sra_epi32(_mm512_add_epi32(a, _mm512_srli_epi32(l, 16)), s16);
  t = _mm512_add_epi32(t, zy);
  return _mm512_min_epi32(_mm512_max_epi32(t, lo), hi);
}

// Four vectors of 16 codes (each in [0, 255], so the saturating packs change nothing) as 64 bytes
// in order. After the packs, 128-bit lane L holds dword L of each of a, b, c, d; the permutation
// puts them back. One 64-byte store instead of four narrowing stores (vpmovdb to memory is slow).
RQ512 __m512i pack64(__m512i a, __m512i b, __m512i c, __m512i d) {
  const __m512i bytes = _mm512_packus_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_epi32(order, bytes);
}

RQ512 __mmask16 mask16(int64_t left) {
  return left >= 16 ? 0xffff : left <= 0 ? 0 : static_cast<__mmask16>((1u << left) - 1);
}
RQ512 __mmask64 mask64(int64_t left) {
  return left >= 64 ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
}

// y[p .. p + 63] from four 16-lane results EXPR, evaluated with q = p + 16 h and its mask k (the
// lanes past n load nothing and are never stored).
#define RQ_STORE64(EXPR)                                                     \
  for (int64_t p = 0; p < n; p += 64) {                                      \
    __m512i r[4];                                                            \
    for (int h = 0; h < 4; h++) {                                            \
      const int64_t q = p + 16 * h;                                          \
      const __mmask16 k = mask16(n - q);                                     \
      r[h] = k ? (EXPR) : _mm512_setzero_si512();                            \
    }                                                                        \
    _mm512_mask_storeu_epi8(y + p, mask64(n - p), pack64(r[0], r[1], r[2], r[3])); \
  }

// requantCols, 16 columns at a time; nothing past n is read or written.
__attribute__((target("avx512f,avx512bw,avx512vl"))) void requantCols512(
    const int32_t* __restrict acc, uint8_t* __restrict y, int64_t n, const int32_t* __restrict bias,
    const int32_t* __restrict m, const int32_t* __restrict S, int32_t zy, int32_t qmin,
    int32_t qmax) {
  const __m512i zyv = _mm512_set1_epi64(zy), lo = _mm512_set1_epi64(qmin), hi = _mm512_set1_epi64(qmax);
  RQ_STORE64(rq16(_mm512_add_epi32(_mm512_maskz_loadu_epi32(k, acc + q), _mm512_maskz_loadu_epi32(k, bias + q)),
                  _mm512_maskz_loadu_epi32(k, m + q), _mm512_maskz_loadu_epi32(k, S + q), zyv, lo, hi))
}

// requantRun's int64 form (one bias, multiplier and shift).
__attribute__((target("avx512f,avx512bw,avx512vl"))) void requantRun512(
    const int32_t* __restrict acc, uint8_t* __restrict y, int64_t n, int32_t bias, int32_t m,
    int32_t S, int32_t zy, int32_t qmin, int32_t qmax) {
  const __m512i zyv = _mm512_set1_epi64(zy), lo = _mm512_set1_epi64(qmin), hi = _mm512_set1_epi64(qmax);
  const __m512i bv = _mm512_set1_epi32(bias), mv = _mm512_set1_epi32(m), sv = _mm512_set1_epi32(S);
  RQ_STORE64(rq16(_mm512_add_epi32(_mm512_maskz_loadu_epi32(k, acc + q), bv), mv, sv, zyv, lo, hi))
}

// requantColsSmall (per-column bias and multiplier), and requantRun's split form when bias and m
// point at one value each.
__attribute__((target("avx512f,avx512bw,avx512vl"))) void requantSmall512(
    const int32_t* __restrict acc, uint8_t* __restrict y, int64_t n, const int32_t* __restrict bias,
    const int32_t* __restrict m, bool perColumn, int32_t S, int32_t zy, int32_t qmin,
    int32_t qmax) {
  const __m512i rlo = _mm512_set1_epi32(S == 16 ? 1 << 15 : 0);
  const __m512i rhi = _mm512_set1_epi32(S > 16 ? 1 << (S - 17) : 0);
  const __m128i s16 = _mm_cvtsi32_si128(S - 16);
  const __m512i zyv = _mm512_set1_epi32(zy), lo = _mm512_set1_epi32(qmin), hi = _mm512_set1_epi32(qmax);
  const __m512i b1 = _mm512_set1_epi32(bias[0]), m1 = _mm512_set1_epi32(m[0]);
  RQ_STORE64(rqSmall16(_mm512_add_epi32(_mm512_maskz_loadu_epi32(k, acc + q),
                                        perColumn ? _mm512_maskz_loadu_epi32(k, bias + q) : b1),
                       perColumn ? _mm512_maskz_loadu_epi32(k, m + q) : m1, rlo, rhi, s16, zyv, lo, hi))
}

// The requantization each path runs: AVX-512 for the int64 forms on vnni512, the scalar loops
// (which the compiler vectorises for the path's target where it can) elsewhere.
template <int P>
__attribute__((always_inline)) inline void requantRunP(const int32_t* acc, uint8_t* y, int64_t n,
                                                       int32_t bias, int32_t m, int32_t S,
                                                       int32_t zy, int32_t qmin, int32_t qmax) {
  if constexpr (P == VNNI512) {
    if (S >= 16 && m >= 0 && m < 32768) return requantSmall512(acc, y, n, &bias, &m, false, S, zy, qmin, qmax);
    return requantRun512(acc, y, n, bias, m, S, zy, qmin, qmax);
  }
  requantRun(acc, y, n, bias, m, S, zy, qmin, qmax);
}

template <int P>
__attribute__((always_inline)) inline void requantColsP(const int32_t* acc, uint8_t* y, int64_t n,
                                                        const int32_t* bias, const int32_t* m,
                                                        const int32_t* S, int32_t zy, int32_t qmin,
                                                        int32_t qmax) {
  if constexpr (P == VNNI512) return requantCols512(acc, y, n, bias, m, S, zy, qmin, qmax);
  requantCols(acc, y, n, bias, m, S, zy, qmin, qmax);
}

template <int P>
__attribute__((always_inline)) inline void requantColsSmallP(const int32_t* acc, uint8_t* y,
                                                             int64_t n, const int32_t* bias,
                                                             const int32_t* m, int32_t S,
                                                             int32_t zy, int32_t qmin, int32_t qmax) {
  if constexpr (P == VNNI512) return requantSmall512(acc, y, n, bias, m, true, S, zy, qmin, qmax);
  requantColsSmall(acc, y, n, bias, m, S, zy, qmin, qmax);
}
