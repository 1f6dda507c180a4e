// The vnni512 conv and matmul: operands as raw u8 codes and signed bytes, four k per 32-bit word,
// for the u8 x s8 GEMM of gemm8.h (im2col for a conv, the bytes of b for a matmul), with sums over
// raw codes that the bias turns into sums over centred ones (see gemm8.h). Included by ops.h inside
// kernels.cc's anonymous namespace, after PlaneConv, PlaneOut and NB.
#pragma once

#include "gemm8.h"

thread_local std::vector<int32_t> scratchBias;

// padPlanes (ops.h) with masked 64-byte moves: the plane's rows of at most 64 bytes, each with
// its left and right padding, in one store, and whole padding rows in 64-byte stores, instead of
// a memset of the plane and a memcpy per row (small planes, as in a batch of 14 x 14 maps, spend
// more on those calls than on their products).
__attribute__((target(VNNI512_TARGET))) void padPlanes512(const uint8_t* __restrict x,
                                                          uint8_t* __restrict xp, int64_t Cg,
                                                          int64_t H, int64_t W, int64_t Hp,
                                                          int64_t Wp, int64_t pt, int64_t pl,
                                                          int32_t zx) {
  const int64_t w = W < Wp - pl ? W : Wp - pl;
  if (Wp > 64 || w <= 0) return padPlanes(x, xp, Cg, H, W, Hp, Wp, pt, pl, zx);
  const __m512i fill = _mm512_set1_epi8(static_cast<char>(zx));
  const __mmask64 row = Wp == 64 ? ~__mmask64{0} : (__mmask64{1} << Wp) - 1;
  // The row's bytes pl .. pl + w - 1 come from the input, the rest of its Wp bytes are zx.
  const __mmask64 data = ((w == 64 ? ~__mmask64{0} : (__mmask64{1} << w) - 1) << pl) & row;
  for (int64_t c = 0; c < Cg; c++) {
    uint8_t* plane = xp + c * Hp * Wp;
    const uint8_t* src = x + c * H * W;
    for (int64_t r = 0; r < Hp; r++) {
      const int64_t iy = r - pt;
      __m512i v = fill;
      // The load's lanes are shifted by pl, so lane pl + u reads src[iy * W + u]: nothing outside
      // the row is read (masked lanes never touch memory).
      if (iy >= 0 && iy < H) v = _mm512_mask_loadu_epi8(fill, data, src + iy * W - pl);
      _mm512_mask_storeu_epi8(plane + r * Wp, row, v);
    }
  }
}

// One sample and group, from zx-padded planes whose geometry (PlaneConv) allows 16-output reads:
// Wp = sw ceil16(OW) + (KW - 1) dw, so the furthest read (16 bytes at sw 1, 32 at sw 2) of the last
// chunk of a row ends inside it, and Pq = (OH - 1) OW + ceil16(OW), so the 16-word stores of the
// last row stay inside the columns; a row's overshoot lands in the next row's place, written later.
// w8 holds the group's Mg weight rows of kq words, bias the Mg biases already less zx * sum w.
__attribute__((target(VNNI512_TARGET))) void convPlanes8(
    const PlaneConv& c, const uint8_t* xp, const int32_t* w8, int64_t kq, const int32_t* bias,
    int32_t* col, int32_t* acc, const int64_t* taps, const PlaneOut& o, bool masked) {
  const int64_t rowStep = c.sh * c.Wp;
  for (int64_t q = 0; q < kq; q++) {
    const uint8_t* p0 = xp + taps[4 * q];
    const uint8_t* p1 = xp + taps[4 * q + 1];
    const uint8_t* p2 = xp + taps[4 * q + 2];
    const uint8_t* p3 = xp + taps[4 * q + 3];
    for (int64_t oy = 0; oy < c.OH; oy++) {
      const int64_t ro = oy * rowStep;
      for (int64_t ox = 0; ox < c.OW; ox += 16) {
        const int64_t at = ro + ox * c.sw;
        __m128i w[4];
        if (masked && c.OW - ox < 16) {
          // Unpadded planes read in place (a pointwise conv): the last chunk reads nothing past OW.
          const __mmask16 k = static_cast<__mmask16>((1u << (c.OW - ox)) - 1);
          quad16(_mm_maskz_loadu_epi8(k, p0 + at), _mm_maskz_loadu_epi8(k, p1 + at),
                 _mm_maskz_loadu_epi8(k, p2 + at), _mm_maskz_loadu_epi8(k, p3 + at), w);
        } else {
          quad16(taps16u8(p0 + at, c.sw), taps16u8(p1 + at, c.sw), taps16u8(p2 + at, c.sw),
                 taps16u8(p3 + at, c.sw), w);
        }
        const int64_t p = oy * c.OW + ox, blk = p / NB, e0 = p - blk * NB;
        const int64_t width = c.Pq - blk * NB < NB ? c.Pq - blk * NB : NB;
        int32_t* d = col + blk * NB * kq + q * width + e0;
        if (e0 + 16 <= width) {
          for (int h = 0; h < 4; h++) _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 4 * h), w[h]);
        } else {
          // The chunk runs into the next block: its words one by one.
          alignas(16) int32_t t[16];
          for (int h = 0; h < 4; h++) _mm_store_si128(reinterpret_cast<__m128i*>(t + 4 * h), w[h]);
          for (int64_t e = 0; e < 16 && p + e < c.Pq; e++) {
            const int64_t pe = p + e, be = pe / NB, we = c.Pq - be * NB < NB ? c.Pq - be * NB : NB;
            col[be * NB * kq + q * we + (pe - be * NB)] = t[e];
          }
        }
      }
    }
  }
  for (int64_t j0 = 0; j0 < c.Pq; j0 += NB) {
    const int64_t width = c.Pq - j0 < NB ? c.Pq - j0 : NB;
    gemm8<true>(w8, kq, col + j0 * kq, acc, c.Mg, kq, width);
    const int64_t n = o.Pn - j0 < width ? o.Pn - j0 : width;
    if (n <= 0) continue;
    for (int64_t m = 0; m < c.Mg; m++)
      requantRunP<VNNI512>(acc + m * width, o.y + m * o.Pn + j0, n, bias[m], o.mult[m], o.shift[m],
                           o.zy, o.qmin, o.qmax);
  }
}

thread_local std::vector<int32_t> scratchRows, scratchB8, scratchRowBias;

// Sum of n bytes (n < 2^23, so the sum fits 32 bits).
__attribute__((target(VNNI512_TARGET), always_inline)) inline int32_t byteSum(const uint8_t* a,
                                                                             int64_t n) {
  __m512i s = _mm512_setzero_si512();
  for (int64_t k = 0; k < n; k += 64) {
    const __mmask64 m = n - k >= 64 ? ~__mmask64{0} : (__mmask64{1} << (n - k)) - 1;
    s = _mm512_add_epi64(s, _mm512_sad_epu8(_mm512_maskz_loadu_epi8(m, a + k), _mm512_setzero_si512()));
  }
  return static_cast<int32_t>(_mm512_reduce_add_epi64(s));
}

// An activation b (K x N u8 codes) as signed bytes b - 128 (b ^ 0x80) in the quad layout, k
// padding 0, and the column sums of those bytes: sums[j] = sum_k (b[k][j] - 128). d has room for
// kq * Np + 16 words: the 16-column stores of a row's last chunk run into the next row's place
// (written later) or into the slack.
__attribute__((target(VNNI512_TARGET), always_inline)) inline void packActivationB(
    const uint8_t* b, int64_t K, int64_t N, int64_t Np, int64_t kq, int32_t* d, int32_t* sums) {
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  for (int64_t q = 0; q < kq; q++) {
    for (int64_t j = 0; j < N; j += 16) {
      const __mmask16 m = N - j >= 16 ? 0xffff : static_cast<__mmask16>((1u << (N - j)) - 1);
      __m128i rows[4];
      for (int h = 0; h < 4; h++) {
        const int64_t k = 4 * q + h;
        rows[h] = k < K ? _mm_xor_si128(_mm_maskz_loadu_epi8(m, b + k * N + j), flip)
                        : _mm_setzero_si128();
      }
      __m128i w[4];
      quad16(rows[0], rows[1], rows[2], rows[3], w);
      for (int h = 0; h < 4; h++)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + q * Np + j + 4 * h), w[h]);
    }
  }
  // Column sums of the signed bytes: vpdpbusd with every unsigned byte 1.
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t j = 0; j < Np; j += 16) {
    const __mmask16 m = Np - j >= 16 ? 0xffff : static_cast<__mmask16>((1u << (Np - j)) - 1);
    __m512i s = _mm512_setzero_si512();
    for (int64_t q = 0; q < kq; q++) s = _mm512_dpbusd_epi32(s, ones, _mm512_maskz_loadu_epi32(m, d + q * Np + j));
    _mm512_mask_storeu_epi32(sums + j, m, s);
  }
}

// A matmul on the vnni512 path: the u8 codes of a times signed bytes of b.
// - A constant b: its bytes and column sums from plan.ts (byteColumns; record words 29-32 are
//   their address, the sums' address, Kq and the bytes per slice), and
//   sum (a - za) b = sum a b - za sum b.
// - An activation b: packed here as b' = b - 128, and
//   sum (a - za)(b - zb) = sum a b' - za sum b' + (128 - zb) sum (a - za),
//   the last term per row of a.
// All of it modulo 2^32, as gemm8.h explains. requant(bias, sums row, output row) requantizes one
// row of sums with per-column biases.
template <typename Requant>
__attribute__((target(VNNI512_TARGET))) const char* matmul8(
    Mem& mem, const int32_t* r, int64_t T, int64_t M, int64_t K, int64_t N, int64_t Np, int32_t za,
    int32_t zb, bool bConst, const int32_t* bias, const int32_t* aMap, const int32_t* bMap,
    int32_t* acc, Requant requant, uint8_t* y) {
  const int64_t Kq = (K + 3) & ~int64_t{3}, kq = Kq >> 2;
  const int64_t slice8 = r[32];
  if (bConst && (r[31] != Kq || slice8 != prod({Kq, Np}))) return "a matmul record is inconsistent";
  // Rows whose length is not a multiple of 4 are copied with zero padding (b's padding is 0).
  const bool copy = (K & 3) != 0 || (addr(r, 0) & 3) != 0;
  int32_t* rows = copy ? grow(scratchRows, prod({M, kq})) : nullptr;
  int32_t* adj = grow(scratchBias, Np);
  int32_t* rowTerm = grow(scratchRowBias, M + Np);
  int32_t* rowBias = rowTerm + M;
  int32_t* packed = bConst ? nullptr : grow(scratchB8, prod({kq, Np}) + 16);
  int32_t* sums = bConst ? nullptr : grow(scratchCol, Np);
  int64_t lastA = -1, lastB = -1;
  const int32_t* A = nullptr;
  for (int64_t t = 0; t < T; t++) {
    const int64_t ai = aMap[t], bi = bMap[t];
    if (ai < 0 || bi < 0) return "a matmul slice index is negative";
    if (ai != lastA) {
      const uint8_t* a = mem.span(offset(addr(r, 0), prod({ai, M, K})), prod({M, K}));
      if (!a) return "a matmul operand lies outside the memory";
      if (copy) {
        auto* d = reinterpret_cast<uint8_t*>(rows);
        for (int64_t i = 0; i < M; i++) {
          std::memcpy(d + i * Kq, a + i * K, K);
          std::memset(d + i * Kq + K, 0, Kq - K);
        }
        A = rows;
      } else {
        A = reinterpret_cast<const int32_t*>(a);
      }
      if (!bConst) {
        for (int64_t i = 0; i < M; i++)
          rowTerm[i] = wrapMul(128 - zb, wrapAdd(byteSum(a + i * K, K), wrapMul(-za, static_cast<int32_t>(K))));
      }
      lastA = ai;
    }
    const int32_t* b8;
    if (bConst) {
      b8 = reinterpret_cast<const int32_t*>(mem.span(offset(addr(r, 29), prod({bi, slice8})), slice8, 4));
      const auto* bsum = reinterpret_cast<const int32_t*>(
          mem.span(offset(addr(r, 30), prod({bi, Np, 4})), Np * 4, 4));
      if (!b8 || !bsum) return "a matmul operand lies outside the memory";
      if (bi != lastB)
        for (int64_t j = 0; j < N; j++) adj[j] = wrapAdd(bias[j], wrapMul(-za, bsum[j]));
    } else {
      const uint8_t* b = mem.span(offset(addr(r, 1), prod({bi, K, N})), prod({K, N}));
      if (!b) return "a matmul operand lies outside the memory";
      if (bi != lastB) {
        packActivationB(b, K, N, Np, kq, packed, sums);
        for (int64_t j = 0; j < N; j++) adj[j] = wrapAdd(bias[j], wrapMul(-za, sums[j]));
      }
      b8 = packed;
    }
    lastB = bi;
    gemm8<false>(A, kq, b8, acc, M, kq, Np);
    for (int64_t i = 0; i < M; i++) {
      const int32_t* bi32 = adj;
      if (!bConst) {
        for (int64_t j = 0; j < N; j++) rowBias[j] = wrapAdd(adj[j], rowTerm[i]);
        bi32 = rowBias;
      }
      requant(bi32, acc + i * Np, y + (t * M + i) * N);
    }
  }
  return nullptr;
}

// ---- depthwise on vnni512 with VBMI ------------------------------------------------------------
//
// Sixteen outputs of one channel per zmm: for each kernel row and each group of four kernel
// columns, one vpermb gathers every output's four taps (bytes d sw + j dw of a window of at most
// 64 bytes, as 15 sw + 3 dw < 64) into its 32-bit lane, and one vpdpbusd adds their products with
// the four weights (0 past the kernel's last column, so that those bytes never count). The
// reads of a row's last chunks run up to 32 sw + 3 dw bytes past the plane, inside the scratch's
// 256 bytes of slack.

// VERINFER_NATIVE_NO_VBMI=1 runs vnni512 as on an AVX-512 VNNI CPU without VBMI (the 16-bit
// depthwise kernel, and softmax, layernorm and lookup tables in WebAssembly), for tests.
bool hasVbmi() {
  static const bool has = (__builtin_cpu_init(), __builtin_cpu_supports("avx512vbmi")) &&
                          !std::getenv("VERINFER_NATIVE_NO_VBMI");
  return has;
}

// The depthwise geometries this kernel takes (its window, and at most 64 weight words).
inline bool depthwiseVbmiFits(int64_t KH, int64_t KW, int64_t sw, int64_t dw) {
  return sw <= 2 && 15 * sw + 3 * dw < 64 && KH * ((KW + 3) / 4) <= 64;
}

// One channel's outputs, requantized as they are summed: y[oy * OW + ox] from the sums over taps
// of x * w (raw u8 codes) plus bias (which holds -zx sum w), 32 outputs at a time in two chains.
// Lanes past OW are computed from bytes inside the scratch's slack and never stored.
__attribute__((target(VNNI512_TARGET ",avx512vbmi"))) void depthwiseVbmi(
    const PlaneConv& c, const uint8_t* xp, const int8_t* w, uint8_t* y, int32_t bias, int32_t m,
    int32_t S, int32_t zy, int32_t qmin, int32_t qmax) {
  const int64_t nq = (c.KW + 3) / 4, nw = c.KH * nq;
  alignas(64) uint8_t idx[64];
  for (int d = 0; d < 16; d++)
    for (int j = 0; j < 4; j++) idx[4 * d + j] = static_cast<uint8_t>(d * c.sw + j * c.dw);
  const __m512i perm = _mm512_load_si512(idx);
  const int64_t span = 15 * c.sw + 3 * c.dw + 1;
  const __mmask64 load = (__mmask64{1} << span) - 1;
  // Each (kernel row, four columns) step: its weights and its offset in the padded plane.
  int32_t wq[64];
  int64_t off[64];
  for (int64_t ky = 0; ky < c.KH; ky++) {
    for (int64_t q = 0; q < nq; q++) {
      uint32_t v = 0;
      for (int64_t j = 0; j < 4; j++) {
        const int64_t kx = 4 * q + j;
        if (kx < c.KW) v |= static_cast<uint32_t>(static_cast<uint8_t>(w[ky * c.KW + kx])) << (8 * j);
      }
      wq[ky * nq + q] = static_cast<int32_t>(v);
      off[ky * nq + q] = ky * c.dh * c.Wp + 4 * q * c.dw;
    }
  }
  const bool small = S >= 16 && m >= 0 && m < 32768;
  const __m512i bv = _mm512_set1_epi32(bias), mv = _mm512_set1_epi32(m);
  const __m512i rlo = _mm512_set1_epi32(S == 16 ? 1 << 15 : 0);
  const __m512i rhi = _mm512_set1_epi32(S > 16 ? 1 << (S - 17) : 0);
  const __m128i s16 = _mm_cvtsi32_si128(S - 16);
  const __m512i zy32 = _mm512_set1_epi32(zy), lo32 = _mm512_set1_epi32(qmin), hi32 = _mm512_set1_epi32(qmax);
  const __m512i sv = _mm512_set1_epi32(S), zy64 = _mm512_set1_epi64(zy);
  const __m512i lo64 = _mm512_set1_epi64(qmin), hi64 = _mm512_set1_epi64(qmax);
  for (int64_t oy = 0; oy < c.OH; oy++) {
    const uint8_t* row = xp + oy * c.sh * c.Wp;
    uint8_t* yr = y + oy * c.OW;
    for (int64_t ox = 0; ox < c.OW; ox += 32) {
      const uint8_t* b0 = row + ox * c.sw;
      const uint8_t* b1 = b0 + 16 * c.sw;
      __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
      for (int64_t t = 0; t < nw; t++) {
        const __m512i wv = _mm512_set1_epi32(wq[t]);
        s0 = _mm512_dpbusd_epi32(s0, _mm512_permutexvar_epi8(perm, _mm512_maskz_loadu_epi8(load, b0 + off[t])), wv);
        s1 = _mm512_dpbusd_epi32(s1, _mm512_permutexvar_epi8(perm, _mm512_maskz_loadu_epi8(load, b1 + off[t])), wv);
      }
      const __m512i v0 = _mm512_add_epi32(s0, bv), v1 = _mm512_add_epi32(s1, bv);
      const int64_t left = c.OW - ox;
      const __m512i q0 = small ? rqSmall16(v0, mv, rlo, rhi, s16, zy32, lo32, hi32)
                               : rq16(v0, mv, sv, zy64, lo64, hi64);
      const __m512i q1 = small ? rqSmall16(v1, mv, rlo, rhi, s16, zy32, lo32, hi32)
                               : rq16(v1, mv, sv, zy64, lo64, hi64);
      const __m512i z = _mm512_setzero_si512();
      _mm512_mask_storeu_epi8(yr + ox, mask64(left < 32 ? left : 32), pack64(q0, q1, z, z));
    }
  }
}
