// The depthwise conv channels of the native addon's whole-op conv (ops.h): one channel's outputs
// from its zx-padded plane, summed in registers. Included by ops.h inside kernels.cc's anonymous
// namespace, after taps8 and PlaneConv.
#pragma once

// Eight depthwise outputs of one row, at q in the padded plane, into a: two taps per 32-bit lane
// (vpmaddwd; an odd tap count pairs the last tap with a zero weight).
__attribute__((always_inline)) inline void dwChunk8(const PlaneConv& c, const uint8_t* q,
                                                    const int16_t* wr, int32_t* a,
                                                    const int64_t* taps, __m128i zxv) {
  const int64_t KK = c.KH * c.KW;
  __m128i lo = _mm_setzero_si128(), hi = _mm_setzero_si128();
  for (int64_t t = 0; t < KK; t += 2) {
    const bool two = t + 1 < KK;
    const __m128i x0 = taps8(q + taps[t], c.sw, zxv);
    const __m128i x1 = two ? taps8(q + taps[t + 1], c.sw, zxv) : _mm_setzero_si128();
    const __m128i wv = _mm_set1_epi32(static_cast<int32_t>(
        static_cast<uint16_t>(wr[t]) |
        (static_cast<uint32_t>(static_cast<uint16_t>(two ? wr[t + 1] : 0)) << 16)));
    lo = _mm_add_epi32(lo, _mm_madd_epi16(_mm_unpacklo_epi16(x0, x1), wv));
    hi = _mm_add_epi32(hi, _mm_madd_epi16(_mm_unpackhi_epi16(x0, x1), wv));
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(a), lo);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(a + 4), hi);
}

// One depthwise channel: a[oy * OW + ox] for every output, from its padded plane and weights wr.
typedef void (*DwFn)(const PlaneConv&, const uint8_t*, const int16_t*, int32_t*, const int64_t*,
                     int32_t);

void depthwise8(const PlaneConv& c, const uint8_t* xp, const int16_t* wr, int32_t* a,
                const int64_t* taps, int32_t zx) {
  const __m128i zxv = _mm_set1_epi16(static_cast<int16_t>(zx));
  for (int64_t oy = 0; oy < c.OH; oy++) {
    const uint8_t* row = xp + oy * c.sh * c.Wp;
    for (int64_t ox = 0; ox < c.OW; ox += 8) dwChunk8(c, row + ox * c.sw, wr, a + oy * c.OW + ox, taps, zxv);
  }
}

// The same 16 outputs at a time on ymm while a whole 16 fit below ceil8(OW), so that it reads and
// writes nothing that depthwise8 would not; vpunpck*wd work within 128-bit lanes, so the sums hold
// outputs 0-3 and 8-11 (lo) and 4-7 and 12-15 (hi) and are put back in order once, at the end.
__attribute__((target("avx2"))) void depthwise16(const PlaneConv& c, const uint8_t* xp,
                                                 const int16_t* wr, int32_t* a,
                                                 const int64_t* taps, int32_t zx) {
  const __m128i zx8 = _mm_set1_epi16(static_cast<int16_t>(zx));
  const __m256i zxv = _mm256_set1_epi16(static_cast<int16_t>(zx));
  const __m256i low8 = _mm256_set1_epi16(0xff);
  const int64_t KK = c.KH * c.KW, c8 = (c.OW + 7) & ~int64_t{7};
  for (int64_t oy = 0; oy < c.OH; oy++) {
    const uint8_t* row = xp + oy * c.sh * c.Wp;
    int32_t* d = a + oy * c.OW;
    int64_t ox = 0;
    for (; ox + 16 <= c8; ox += 16) {
      const uint8_t* q = row + ox * c.sw;
      __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
      for (int64_t t = 0; t < KK; t += 2) {
        const bool two = t + 1 < KK;
        const uint8_t* q0 = q + taps[t];
        const uint8_t* q1 = q + taps[two ? t + 1 : t];
        __m256i x0, x1;
        if (c.sw == 1) {
          x0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q0)));
          x1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q1)));
        } else {
          x0 = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q0)), low8);
          x1 = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q1)), low8);
        }
        x0 = _mm256_sub_epi16(x0, zxv);
        x1 = two ? _mm256_sub_epi16(x1, zxv) : _mm256_setzero_si256();
        const __m256i wv = _mm256_set1_epi32(static_cast<int32_t>(
            static_cast<uint16_t>(wr[t]) |
            (static_cast<uint32_t>(static_cast<uint16_t>(two ? wr[t + 1] : 0)) << 16)));
        lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), wv));
        hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), wv));
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + ox), _mm256_permute2x128_si256(lo, hi, 0x20));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + ox + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
    for (; ox < c.OW; ox += 8) dwChunk8(c, row + ox * c.sw, wr, d + ox, taps, zx8);
  }
}
