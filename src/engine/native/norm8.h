// softmax, layernorm and lookup tables on the vnni512 path (AVX-512 with VBMI), run whole from
// their plan records (src/engine/wasm/plan.ts; assembly/softmax.ts, norm.ts and ops.ts read the
// same words). Each computes the reference interpreter's formulas (src/engine/reference/
// normalize.ts) in the same exact arithmetic: integer sums, then f64 lanes where every value is an
// integer below 2^53, so that each add and multiply is exact, a product by 2^-s is exact, and
// floor(a / b) of integers with |a| < 2^53 and b >= 1 is exact (a non-integer quotient lies at
// least 1/b from the next integer, and the division errs by at most |a / b| 2^-53 < 1/b).
// Included by kernels.cc inside its anonymous namespace, after ops.h.
#pragma once

#define NORM8_TARGET VNNI512_TARGET ",avx512vbmi"

thread_local std::vector<int32_t> scratchNorm;

__attribute__((target(NORM8_TARGET), always_inline)) inline __m512d floorPd(__m512d v) {
  return _mm512_roundscale_pd(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}

// Eight clamped codes (integers in [0, 255] as doubles) to eight bytes at y.
__attribute__((target(NORM8_TARGET), always_inline)) inline void storeCodes8(uint8_t* y, __m512d v,
                                                                            int64_t left) {
  const __m128i b = _mm256_cvtepi32_epi8(_mm512_cvtpd_epi32(v));
  _mm_mask_storeu_epi8(y, static_cast<__mmask16>(left >= 8 ? 0xff : (1u << left) - 1), b);
}

// floor(sqrt(v)) for 0 <= v < 2^53, from the double square root corrected by integer squares.
inline int64_t isqrt64(int64_t v) {
  if (v < 2) return v;
  int64_t s = static_cast<int64_t>(__builtin_sqrt(static_cast<double>(v)));
  while (s * s > v) s--;
  while ((s + 1) * (s + 1) <= v) s++;
  return s;
}

// A 256-entry byte table, as four 64-byte registers, looked up by 64 byte indices: two vpermi2b
// by the low seven bits, bit 7 picks between them.
struct Table256 {
  __m512i q0, q1, q2, q3;
};
__attribute__((target(NORM8_TARGET), always_inline)) inline __m512i lookup256(const Table256& t,
                                                                             __m512i v) {
  const __m512i low = _mm512_permutex2var_epi8(t.q0, v, t.q1);
  const __m512i high = _mm512_permutex2var_epi8(t.q2, v, t.q3);
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), low, high);
}

// softmax record words: x, table, y, rows, L, scratch. m = max x; e_i = table[m - x_i]; S = Σ e;
// y_i = divRound(255 e_i, S) = floor((510 e_i + S) / (2 S)). The validator keeps the table in
// [0, 2^16] with table[0] = 2^16 (so S >= 2^16) and L <= 2^16 (so S <= 2^32). The table is looked
// up as three byte planes (bits 0-7, 8-15 and 16), 64 entries at a time.
__attribute__((target(NORM8_TARGET))) const char* softmax8(Mem& mem, const int32_t* r) {
  const int64_t rows = r[3], L = r[4];
  if (rows < 1 || L < 1 || L > (int64_t{1} << 16) || rows > (int64_t{1} << 40) / L)
    return "a softmax record is inconsistent";
  const uint8_t* x = mem.span(addr(r, 0), rows * L);
  const auto* table = reinterpret_cast<const int32_t*>(mem.span(addr(r, 1), 256 * 4, 4));
  uint8_t* y = mem.span(addr(r, 2), rows * L);
  if (!mem.ok) return "a softmax operand lies outside the memory";
  if (table[0] != (1 << 16)) return "a softmax table is out of range";
  alignas(64) uint8_t planes[3][256];
  for (int i = 0; i < 256; i++) {
    if (table[i] < 0 || table[i] > (1 << 16)) return "a softmax table is out of range";
    for (int b = 0; b < 3; b++) planes[b][i] = static_cast<uint8_t>(table[i] >> (8 * b));
  }
  Table256 plane[3];
  for (int b = 0; b < 3; b++)
    plane[b] = {_mm512_load_si512(planes[b]), _mm512_load_si512(planes[b] + 64),
                _mm512_load_si512(planes[b] + 128), _mm512_load_si512(planes[b] + 192)};
  int32_t* e = grow(scratchNorm, L + 64);
  const __m512i zero = _mm512_setzero_si512();
  for (int64_t row = 0; row < rows; row++) {
    const uint8_t* xr = x + row * L;
    __m512i mx = zero;
    for (int64_t i = 0; i < L; i += 64) mx = _mm512_max_epu8(mx, _mm512_maskz_loadu_epi8(mask64(L - i), xr + i));
    __m512i m32 = _mm512_cvtepu8_epi32(_mm512_castsi512_si128(mx));
    for (int q = 1; q < 4; q++) m32 = _mm512_max_epi32(m32, _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(mx, q)));
    const __m512i m = _mm512_set1_epi8(static_cast<char>(_mm512_reduce_max_epi32(m32)));
    // e in 32-bit lanes, and S from the planes' byte sums (vpsadbw): S = s0 + 2^8 s1 + 2^16 s2.
    __m512i s0 = zero, s1 = zero, s2 = zero;
    for (int64_t i = 0; i < L; i += 64) {
      const __mmask64 k = mask64(L - i);
      const __m512i d = _mm512_sub_epi8(m, _mm512_maskz_loadu_epi8(k, xr + i));
      const __m512i b0 = _mm512_maskz_mov_epi8(k, lookup256(plane[0], d));
      const __m512i b1 = _mm512_maskz_mov_epi8(k, lookup256(plane[1], d));
      const __m512i b2 = _mm512_maskz_mov_epi8(k, lookup256(plane[2], d));
      s0 = _mm512_add_epi64(s0, _mm512_sad_epu8(b0, zero));
      s1 = _mm512_add_epi64(s1, _mm512_sad_epu8(b1, zero));
      s2 = _mm512_add_epi64(s2, _mm512_sad_epu8(b2, zero));
      for (int q = 0; q < 4; q++) {
        const __m512i e0 = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(b0, q));
        const __m512i e1 = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(b1, q));
        const __m512i e2 = _mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(b2, q));
        const __m512i ev = _mm512_or_si512(_mm512_or_si512(e0, _mm512_slli_epi32(e1, 8)), _mm512_slli_epi32(e2, 16));
        _mm512_storeu_si512(e + i + 16 * q, ev);
      }
    }
    const int64_t S = _mm512_reduce_add_epi64(s0) + (_mm512_reduce_add_epi64(s1) << 8) +
                      (_mm512_reduce_add_epi64(s2) << 16);
    const double den = 2.0 * static_cast<double>(S);
    const __m512d Sd = _mm512_set1_pd(static_cast<double>(S)), dv = _mm512_set1_pd(den);
    const __m512d k510 = _mm512_set1_pd(510.0);
    uint8_t* yr = y + row * L;
    for (int64_t i = 0; i < L; i += 8) {
      const __m512d ev = _mm512_cvtepi32_pd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(e + i)));
      storeCodes8(yr + i, floorPd(_mm512_div_pd(_mm512_fmadd_pd(ev, k510, Sd), dv)), L - i);
    }
  }
  return nullptr;
}

// layernorm record words: x, gamma, beta, y, rows, D, zx, zy, eps (low, high words), mult, shift,
// qmin, qmax, scratch. v = x - zx; S = Σ v; c_i = D v_i - S; sigma = isqrt(floor(Σ c^2 / D) + eps);
// n_i = sigma ? divRound(c_i 2^10, sigma) : 0; y_i = clamp(zy + rq(n_i gamma_i + beta_i, mult,
// shift), qmin, qmax). With D <= 2048: |c| < 2^20, Σ c^2 < 2^49, |n| <= 2^10 sqrt(D) + 1 < 2^16,
// |n gamma + beta| < 2^32 and |(n gamma + beta) mult| < 2^47 (validate.ts bounds gamma, beta,
// mult, shift and eps).
__attribute__((target(NORM8_TARGET))) const char* layernorm8(Mem& mem, const int32_t* r) {
  const int64_t rows = r[4], D = r[5];
  const int32_t zx = r[6], zy = r[7], mult = r[10], shift = r[11], qmin = r[12], qmax = r[13];
  const int64_t eps = static_cast<int64_t>(static_cast<uint32_t>(r[8])) | (static_cast<int64_t>(r[9]) << 32);
  if (rows < 1 || D < 1 || D > 2048 || rows > (int64_t{1} << 40) / D || zx < 0 || zx > 255 ||
      mult < 0 || mult >= 32768 || shift < 0 || shift > 40 || eps < 0 || eps >= (int64_t{1} << 40) ||
      qmin < 0 || qmax > 255 || qmin > qmax)
    return "a layernorm record is inconsistent";
  const uint8_t* x = mem.span(addr(r, 0), rows * D);
  const auto* gamma = reinterpret_cast<const int32_t*>(mem.span(addr(r, 1), D * 4, 4));
  const auto* beta = reinterpret_cast<const int32_t*>(mem.span(addr(r, 2), D * 4, 4));
  uint8_t* y = mem.span(addr(r, 3), rows * D);
  if (!mem.ok) return "a layernorm operand lies outside the memory";
  for (int64_t i = 0; i < D; i++)
    if (gamma[i] < -32768 || gamma[i] > 32768) return "a layernorm gamma is out of range";
  int32_t* c = grow(scratchNorm, D + 16);
  const __m512i zxv = _mm512_set1_epi32(zx), Dv = _mm512_set1_epi32(static_cast<int32_t>(D));
  const __m512d md = _mm512_set1_pd(mult), zyd = _mm512_set1_pd(zy);
  const __m512d lo = _mm512_set1_pd(qmin), hi = _mm512_set1_pd(qmax);
  const __m512d half = _mm512_set1_pd(shift > 0 ? static_cast<double>(int64_t{1} << (shift - 1)) : 0.0);
  const __m512d scale = _mm512_set1_pd(1.0 / static_cast<double>(int64_t{1} << shift));
  for (int64_t row = 0; row < rows; row++) {
    const uint8_t* xr = x + row * D;
    __m512i sv = _mm512_setzero_si512();
    for (int64_t i = 0; i < D; i += 16) {
      const __mmask16 k = mask16(D - i);
      sv = _mm512_add_epi32(sv, _mm512_maskz_sub_epi32(k, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, xr + i)), zxv));
    }
    const __m512i S = _mm512_set1_epi32(_mm512_reduce_add_epi32(sv));
    __m512i q0 = _mm512_setzero_si512(), q1 = _mm512_setzero_si512();
    for (int64_t i = 0; i < D; i += 16) {
      const __mmask16 k = mask16(D - i);
      const __m512i v = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, xr + i)), zxv);
      const __m512i cv = _mm512_maskz_sub_epi32(k, _mm512_mullo_epi32(v, Dv), S);
      _mm512_storeu_si512(c + i, cv);
      q0 = _mm512_add_epi64(q0, _mm512_mul_epi32(cv, cv));
      const __m512i odd = _mm512_srli_epi64(cv, 32);
      q1 = _mm512_add_epi64(q1, _mm512_mul_epi32(odd, odd));
    }
    const int64_t Q = _mm512_reduce_add_epi64(_mm512_add_epi64(q0, q1));
    // floor(Q / D) by one double division: exact, as Q < 2^53 (see the top of this file).
    const int64_t sigma = isqrt64(static_cast<int64_t>(__builtin_floor(static_cast<double>(Q) / static_cast<double>(D))) + eps);
    const __m512d sg = _mm512_set1_pd(static_cast<double>(sigma));
    const __m512d den = _mm512_set1_pd(2.0 * static_cast<double>(sigma));
    const __m512d k2048 = _mm512_set1_pd(2048.0);
    uint8_t* yr = y + row * D;
    for (int64_t i = 0; i < D; i += 8) {
      const __mmask8 k = static_cast<__mmask8>(D - i >= 8 ? 0xff : (1u << (D - i)) - 1);
      const __m512d cd = _mm512_cvtepi32_pd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + i)));
      const __m512d n = sigma > 0 ? floorPd(_mm512_div_pd(_mm512_fmadd_pd(cd, k2048, sg), den))
                                  : _mm512_setzero_pd();
      const __m512d g = _mm512_cvtepi32_pd(_mm256_maskz_loadu_epi32(k, gamma + i));
      const __m512d b = _mm512_cvtepi32_pd(_mm256_maskz_loadu_epi32(k, beta + i));
      __m512d t = _mm512_mul_pd(_mm512_fmadd_pd(n, g, b), md);
      if (shift > 0) t = floorPd(_mm512_mul_pd(_mm512_add_pd(t, half), scale));
      t = _mm512_min_pd(_mm512_max_pd(_mm512_add_pd(t, zyd), lo), hi);
      storeCodes8(yr + i, t, D - i);
    }
  }
  return nullptr;
}

// lut record words: x, table, y, n. y_i = table[x_i], 64 bytes at a time: two vpermi2b look up
// the table's halves by the low seven bits and bit 7 picks between them.
__attribute__((target(NORM8_TARGET))) const char* lut8(Mem& mem, const int32_t* r) {
  const int64_t n = r[3];
  if (n < 0 || n > (int64_t{1} << 40)) return "a lut record is inconsistent";
  const uint8_t* x = mem.span(addr(r, 0), n);
  const uint8_t* table = mem.span(addr(r, 1), 256);
  uint8_t* y = mem.span(addr(r, 2), n);
  if (!mem.ok) return "a lut operand lies outside the memory";
  const Table256 t{_mm512_loadu_si512(table), _mm512_loadu_si512(table + 64),
                   _mm512_loadu_si512(table + 128), _mm512_loadu_si512(table + 192)};
  for (int64_t i = 0; i < n; i += 64) {
    const __mmask64 k = mask64(n - i);
    _mm512_mask_storeu_epi8(y + i, k, lookup256(t, _mm512_maskz_loadu_epi8(k, x + i)));
  }
  return nullptr;
}
