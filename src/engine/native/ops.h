// The whole-op kernels of the native addon: conv and matmul run from their plan records. Included
// by kernels.cc inside its anonymous namespace, after the GEMM kernels, which these call.
#pragma once

// ---- whole ops: conv and matmul from their plan records ------------------------------------
//
// The engine's conv and matmul records (src/engine/wasm/plan.ts; assembly/conv.ts and
// assembly/gemm.ts read the same words) are read in place and the whole op runs here: im2col or
// packing, the GEMM of the chosen path, requantization and clamping, in the engine's arithmetic
// (32-bit wrap-around sums, i64 rshift, or the exact 32-bit split of gemm.ts's rq4s). Every
// address a record names is checked against the memory first, so a corrupt record throws instead
// of touching anything outside it.

typedef void (*GemmFn)(const int16_t*, const int32_t*, int32_t*, int64_t, int64_t, int64_t);

struct Mem {
  uint8_t* base;
  uint64_t len;
  bool ok;
  // [at, at + bytes) inside the memory and aligned, else the record is marked bad.
  uint8_t* span(int64_t at, int64_t bytes, int64_t align = 1) {
    if (at < 0 || bytes < 0 || (at % align) != 0 || static_cast<uint64_t>(at) > len ||
        static_cast<uint64_t>(bytes) > len - static_cast<uint64_t>(at)) {
      ok = false;
      return nullptr;
    }
    return base + at;
  }
};

// a * b * ..., or -1 (which every span rejects) once the product passes 2^48.
inline int64_t prod(std::initializer_list<int64_t> xs) {
  int64_t p = 1;
  for (const int64_t x : xs) {
    if (x < 0 || (x != 0 && p > (int64_t{1} << 48) / x)) return -1;
    p *= x;
  }
  return p;
}

// Address word k of a record: wasm addresses are unsigned 32-bit.
inline int64_t addr(const int32_t* r, int k) { return static_cast<uint32_t>(r[k]); }

// base + d, or -1 (rejected by every span) when d is.
inline int64_t offset(int64_t base, int64_t d) { return d < 0 ? -1 : base + d; }

inline int32_t wrapAdd(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
inline int32_t wrapMul(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
}

#include "requant.h"

// One tap over all outputs: d[oy * OW + ox] = x[iy][ox * sw + off] - zx inside the input, else 0
// (iy = iy0 + oy * sh).
__attribute__((always_inline)) inline void tapPlane(const uint8_t* __restrict plane, int16_t* __restrict d, int64_t H,
                                                    int64_t W, int64_t OH, int64_t OW, int64_t sh,
                                                    int64_t sw, int64_t iy0, int64_t off,
                                                    int32_t zx) {
  int64_t ox0 = 0;
  while (ox0 < OW && ox0 * sw + off < 0) ox0++;
  int64_t ox1 = OW;
  while (ox1 > ox0 && (ox1 - 1) * sw + off >= W) ox1--;
  for (int64_t oy = 0; oy < OH; oy++, d += OW) {
    const int64_t iy = iy0 + oy * sh;
    if (iy < 0 || iy >= H) {
      for (int64_t ox = 0; ox < OW; ox++) d[ox] = 0;
      continue;
    }
    const uint8_t* __restrict s = plane + iy * W + off;
    for (int64_t ox = 0; ox < ox0; ox++) d[ox] = 0;
    if (sw == 1) {
      for (int64_t ox = ox0; ox < ox1; ox++) d[ox] = static_cast<int16_t>(s[ox] - zx);
    } else {
      for (int64_t ox = ox0; ox < ox1; ox++) d[ox] = static_cast<int16_t>(s[ox * sw] - zx);
    }
    for (int64_t ox = ox1; ox < OW; ox++) d[ox] = 0;
  }
}

// Two rows of i16 as the pair layout's words: w[p] = lo[p] | hi[p] << 16.
__attribute__((always_inline)) inline void interleave(const int16_t* __restrict lo,
                                                      const int16_t* __restrict hi,
                                                      int32_t* __restrict w, int64_t n) {
  for (int64_t p = 0; p < n; p++)
    w[p] = static_cast<int32_t>(static_cast<uint16_t>(lo[p]) |
                                (static_cast<uint32_t>(static_cast<uint16_t>(hi[p])) << 16));
}

thread_local std::vector<int16_t> scratch16;

int16_t* scratch(int64_t n) {
  if (static_cast<int64_t>(scratch16.size()) < n) scratch16.resize(n);
  return scratch16.data();
}

const int64_t SIZE_LIM = int64_t{1} << 24;

thread_local std::vector<uint8_t> scratchBytes;
thread_local std::vector<int32_t> scratchCol, scratchAcc;
thread_local std::vector<int64_t> scratchTaps;

template <typename T>
T* grow(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
  return v.data();
}

// The planes of one group, padded with zx (so that a padding tap centres to 0), in u8:
// xp[c][r][u] = x[c][r - pt][u - pl] inside the input, else zx.
__attribute__((always_inline)) inline void padPlanes(const uint8_t* __restrict x,
                                                     uint8_t* __restrict xp, int64_t Cg, int64_t H,
                                                     int64_t W, int64_t Hp, int64_t Wp, int64_t pt,
                                                     int64_t pl, int32_t zx) {
  std::memset(xp, zx, Cg * Hp * Wp);
  const int64_t w = W < Wp - pl ? W : Wp - pl;
  if (w <= 0) return;
  for (int64_t c = 0; c < Cg; c++) {
    for (int64_t iy = 0; iy < H && iy + pt < Hp; iy++)
      std::memcpy(xp + (c * Hp + iy + pt) * Wp + pl, x + (c * H + iy) * W, w);
  }
}

// Eight centred taps of one row of outputs from a padded plane: p[0], p[sw], ..., p[7 sw] - zx,
// for a horizontal stride sw of 1 or 2 (SSE2, the x86-64 baseline, so every path has it).
__attribute__((always_inline)) inline __m128i taps8(const uint8_t* p, int64_t sw, __m128i zxv) {
  const __m128i v =
      sw == 1 ? _mm_unpacklo_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)),
                                  _mm_setzero_si128())
              : _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)),
                              _mm_set1_epi16(0xff));
  return _mm_sub_epi16(v, zxv);
}

// conv of one sample and group with horizontal stride 1 or 2, from padded planes: every row of
// outputs is read 8 at a time with no bounds checks. Planes are Hp x Wp with
// Hp = (OH - 1) sh + (KH - 1) dh + 1 and Wp = sw ceil8(OW) + (KW - 1) dw, so the furthest read,
// 8 bytes (sw 1) or 16 (sw 2) at the last chunk of the last tap, stays inside; the 8-wide stores
// of a row overshoot into the next row's place (written later) or into Pq's padding.
struct PlaneConv {
  int64_t Cg, KH, KW, OH, OW, sh, sw, dh, dw, Hp, Wp, Kp, Pq, Mg;
};

#include "depthwise.h"

// The requantization of one group's Mg output planes of Pn bytes each (y, bias, mult and shift
// already offset to the group's first channel).
struct PlaneOut {
  uint8_t* y;
  const int32_t *bias, *mult, *shift;
  int64_t Pn;
  int32_t zy, qmin, qmax;
};

// Columns per GEMM block: the block's B (Kp/2 x NB words) and sums (Mg x NB) stay in L2 and are
// requantized while there, instead of the whole Mg x Pq sums going out to memory and back.
const int64_t NB = 512;

#include "ops8.h"

// The offset of every tap k (c, ky, kx) in the padded planes, once per op; taps past K (the byte
// kernels' k padding, whose weights are 0) read tap 0 again.
inline void planeTaps(const PlaneConv& c, int64_t* taps, int64_t n) {
  const int64_t KK = c.KH * c.KW, K = c.Cg * KK;
  for (int64_t k = 0; k < K; k++)
    taps[k] = ((k / KK) * c.Hp + ((k % KK) / c.KW) * c.dh) * c.Wp + (k % c.KW) * c.dw;
  for (int64_t k = K; k < n; k++) taps[k] = taps[0];
}

template <int P>
__attribute__((always_inline)) inline void convPlanes(const PlaneConv& c, const uint8_t* xp,
                                                      const int16_t* w, int32_t* col, int32_t* acc,
                                                      int64_t* taps, GemmFn gemm, DwFn depth,
                                                      int32_t zx, const PlaneOut& o) {
  const __m128i zxv = _mm_set1_epi16(static_cast<int16_t>(zx));
  const int64_t K = c.Cg * c.KH * c.KW;
  const int64_t rowStep = c.sh * c.Wp;
  if (c.Cg == 1 && c.Mg < 4) {
    // Depthwise: the taps' products summed in registers (see dwChunk8).
    for (int64_t m = 0; m < c.Mg; m++) {
      int32_t* a = acc + m * c.Pq;
      depth(c, xp, w + m * c.Kp, a, taps, zx);
      requantRunP<P>(a, o.y + m * o.Pn, o.Pn, o.bias[m], o.mult[m], o.shift[m], o.zy, o.qmin, o.qmax);
    }
    return;
  }
  // im2col in the pair layout, cut into blocks of NB columns (the last one narrower), each its
  // own c2 matrix: column p sits in block p / NB, at word (k >> 1) * width + p % NB of it.
  const int64_t kh = c.Kp >> 1;
  for (int64_t k = 0; k < K; k += 2) {
    const bool two = k + 1 < K;
    const uint8_t* p0 = xp + taps[k];
    const uint8_t* p1 = xp + taps[two ? k + 1 : k];
    for (int64_t oy = 0; oy < c.OH; oy++) {
      const uint8_t* r0 = p0 + oy * rowStep;
      const uint8_t* r1 = p1 + oy * rowStep;
      for (int64_t ox = 0; ox < c.OW; ox += 8) {
        const __m128i a = taps8(r0 + ox * c.sw, c.sw, zxv);
        const __m128i b = two ? taps8(r1 + ox * c.sw, c.sw, zxv) : _mm_setzero_si128();
        const __m128i lo = _mm_unpacklo_epi16(a, b), hi = _mm_unpackhi_epi16(a, b);
        const int64_t p = oy * c.OW + ox, blk = p / NB, q = p - blk * NB;
        const int64_t width = c.Pq - blk * NB < NB ? c.Pq - blk * NB : NB;
        int32_t* d = col + blk * NB * kh + (k >> 1) * width + q;
        if (q + 8 <= width) {
          _mm_storeu_si128(reinterpret_cast<__m128i*>(d), lo);
          _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 4), hi);
        } else {
          // The chunk runs into the next block: its words one by one.
          alignas(16) int32_t t[8];
          _mm_store_si128(reinterpret_cast<__m128i*>(t), lo);
          _mm_store_si128(reinterpret_cast<__m128i*>(t + 4), hi);
          for (int64_t e = 0; e < 8 && p + e < c.Pq; e++) {
            const int64_t pe = p + e, be = pe / NB, we = c.Pq - be * NB < NB ? c.Pq - be * NB : NB;
            col[be * NB * kh + (k >> 1) * we + (pe - be * NB)] = t[e];
          }
        }
      }
    }
  }
  for (int64_t j0 = 0; j0 < c.Pq; j0 += NB) {
    const int64_t width = c.Pq - j0 < NB ? c.Pq - j0 : NB;
    gemm(w, col + j0 * kh, acc, c.Mg, c.Kp, width);
    const int64_t n = o.Pn - j0 < width ? o.Pn - j0 : width;
    if (n <= 0) continue;
    for (int64_t m = 0; m < c.Mg; m++)
      requantRunP<P>(acc + m * width, o.y + m * o.Pn + j0, n, o.bias[m], o.mult[m], o.shift[m], o.zy,
                 o.qmin, o.qmax);
  }
}


// conv record words (assembly/conv.ts): x, w, bias, mult, shift, y, N, C, H, W, M, OH, OW, Cg,
// KH, KW, sh, sw, pt, pl, dh, dw, group, zx, zy, qmin, qmax, col, acc, Kp, Pp, ...
template <int P>
__attribute__((always_inline)) inline const char* convOp(Mem& mem, const int32_t* r, GemmFn gemm, DwFn depth) {
  int64_t f[31];
  for (int i = 0; i < 31; i++) f[i] = r[i];
  const int64_t N = f[6], C = f[7], H = f[8], W = f[9], M = f[10], OH = f[11], OW = f[12];
  const int64_t Cg = f[13], KH = f[14], KW = f[15], sh = f[16], sw = f[17], pt = f[18], pl = f[19];
  const int64_t dh = f[20], dw = f[21], group = f[22], Kp = f[29], Pp = f[30];
  const int32_t zx = r[23], zy = r[24], qmin = r[25], qmax = r[26];
  for (int i = 6; i <= 22; i++)
    if (f[i] < (i == 18 || i == 19 ? 0 : 1) || f[i] > SIZE_LIM) return "a conv size is out of range";
  const int64_t K = Cg * KH * KW, Pn = OH * OW, Mg = M / group;
  if (C != Cg * group || M % group != 0 || K > SIZE_LIM || Pn > SIZE_LIM || Kp != K + (K & 1) ||
      Pp < Pn || (Pp & 7) || qmin < 0 || qmax > 255 || qmin > qmax || zx < 0 || zx > 255)
    return "a conv record is inconsistent";
  const int64_t HW = H * W;
  const uint8_t* x = mem.span(addr(r, 0), prod({N, C, HW}));
  const auto* w = reinterpret_cast<const int16_t*>(mem.span(addr(r, 1), prod({M, Kp, 2}), 2));
  const auto* bias = reinterpret_cast<const int32_t*>(mem.span(addr(r, 2), M * 4, 4));
  const auto* mult = reinterpret_cast<const int32_t*>(mem.span(addr(r, 3), M * 4, 4));
  const auto* shift = reinterpret_cast<const int32_t*>(mem.span(addr(r, 4), M * 4, 4));
  uint8_t* y = mem.span(addr(r, 5), prod({N, M, Pn}));
  if (!mem.ok) return "a conv operand lies outside the memory";
  for (int64_t m = 0; m < M; m++)
    if (shift[m] < 0 || shift[m] > 62) return "a conv shift is out of range";
  if (sw <= 2) {
    // vnni512 with the weights as bytes (plan.ts, bytePacked): the u8 x s8 kernels of conv8.h,
    // whose chunks are 16 outputs wide; depthwise convs keep their own kernel.
    const int32_t* w8 = nullptr;
    int64_t kq = 0;
    if constexpr (P == VNNI512) {
      const int64_t Kq = r[37];
      const bool depthwise = Cg == 1 && Mg < 4;
      if (r[35] != 0 && (!depthwise || (hasVbmi() && depthwiseVbmiFits(KH, KW, sw, dw)))) {
        if (Kq != ((K + 3) & ~int64_t{3})) return "a conv record is inconsistent";
        w8 = reinterpret_cast<const int32_t*>(mem.span(addr(r, 35), prod({M, Kq}), 4));
        const auto* wsum = reinterpret_cast<const int32_t*>(mem.span(addr(r, 36), M * 4, 4));
        if (!mem.ok) return "a conv operand lies outside the memory";
        kq = Kq >> 2;
        // bias - zx * sum w, wrapped like every sum of the engine.
        int32_t* adj = grow(scratchBias, M);
        for (int64_t m = 0; m < M; m++) adj[m] = wrapAdd(bias[m], wrapMul(-zx, wsum[m]));
        bias = adj;
      }
    }
    const int64_t cw16 = w8 ? 15 : 7;
    const int64_t c8 = (OW + cw16) & ~cw16;
    PlaneConv pc{Cg, KH, KW, OH, OW, sh, sw, dh, dw, (OH - 1) * sh + (KH - 1) * dh + 1,
                 sw * c8 + (KW - 1) * dw, Kp, (((OH - 1) * OW + c8) + 7) & ~int64_t{7}, Mg};
    const int64_t planeBytes = prod({Cg, pc.Hp, pc.Wp});
    // A pointwise conv at stride 1 without padding on the byte kernels: a GEMM over the unpadded
    // planes, each read in place as one row of H * W outputs.
    const bool inPlace = w8 && KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 &&
                         OH == H && OW == W && !(Cg == 1 && Mg < 4);
    const PlaneConv flat{Cg, 1, 1, 1, Pn, 1, 1, 1, 1, 1, Pn, Kp, (Pn + 15) & ~int64_t{15}, Mg};
    const int64_t cols = inPlace && flat.Pq > pc.Pq ? flat.Pq : pc.Pq;
    const int64_t colWords = prod({w8 ? kq : Kp / 2, cols}), accWords = prod({Mg, cols});
    const int64_t GIB = int64_t{1} << 30;
    if (planeBytes < 0 || planeBytes > GIB || colWords < 0 || colWords > GIB / 4 ||
        accWords < 0 || accWords > GIB / 4)
      return "a conv needs too much scratch memory";
    uint8_t* xp = grow(scratchBytes, planeBytes + 256);
    int32_t* cw = grow(scratchCol, colWords);
    int32_t* aw = grow(scratchAcc, accWords);
    int64_t* taps = grow(scratchTaps, K + 3);
    planeTaps(inPlace ? flat : pc, taps, w8 ? 4 * kq : K);
    for (int64_t n = 0; n < N; n++) {
      for (int64_t g = 0; g < group; g++) {
        if (!inPlace) {
          if constexpr (P == VNNI512) padPlanes512(x + (n * C + g * Cg) * HW, xp, Cg, H, W, pc.Hp, pc.Wp, pt, pl, zx);
          else padPlanes(x + (n * C + g * Cg) * HW, xp, Cg, H, W, pc.Hp, pc.Wp, pt, pl, zx);
        }
        const int64_t m0 = g * Mg;
        const PlaneOut o{y + (n * M + m0) * Pn, bias + m0, mult + m0, shift + m0, Pn, zy, qmin, qmax};
        if constexpr (P == VNNI512) {
          if (w8 && Cg == 1 && Mg < 4) {
            for (int64_t m = 0; m < Mg; m++)
              depthwiseVbmi(pc, xp, reinterpret_cast<const int8_t*>(w8 + (m0 + m) * kq), o.y + m * Pn,
                            bias[m0 + m], o.mult[m], o.shift[m], zy, qmin, qmax);
            continue;
          }
          if (inPlace) {
            convPlanes8(flat, x + (n * C + g * Cg) * HW, w8 + m0 * kq, kq, bias + m0, cw, aw, taps, o, true);
            continue;
          }
          if (w8) {
            convPlanes8(pc, xp, w8 + m0 * kq, kq, bias + m0, cw, aw, taps, o, false);
            continue;
          }
        }
        convPlanes<P>(pc, xp, w + m0 * Kp, cw, aw, taps, gemm, depth, zx, o);
      }
    }
    return nullptr;
  }
  // Other strides: each tap's outputs gathered with bounds checks, then paired.
  auto* col = reinterpret_cast<int32_t*>(mem.span(addr(r, 27), prod({Kp, Pp, 2}), 4));
  auto* acc = reinterpret_cast<int32_t*>(mem.span(addr(r, 28), prod({Mg, Pp, 4}), 4));
  if (!mem.ok) return "a conv scratch area lies outside the memory";
  int16_t* t0 = scratch(2 * Pn);
  int16_t* t1 = t0 + Pn;
  for (int64_t n = 0; n < N; n++) {
    for (int64_t g = 0; g < group; g++) {
      const uint8_t* planes = x + (n * C + g * Cg) * HW;
      if (Cg == 1 && Mg < 4) {
        // Depthwise: each tap's plane straight into the sums (a GEMM of K = KH * KW and one or
        // two rows would spend more on packing than on products).
        for (int64_t m = 0; m < Mg; m++) {
          const int64_t mm = g * Mg + m;
          for (int64_t p = 0; p < Pn; p++) acc[p] = 0;
          for (int64_t t = 0; t < KH * KW; t++) {
            const int32_t wt = w[mm * Kp + t];
            tapPlane(planes, t0, H, W, OH, OW, sh, sw, (t / KW) * dh - pt, (t % KW) * dw - pl, zx);
            for (int64_t p = 0; p < Pn; p++) acc[p] = wrapAdd(acc[p], wrapMul(wt, t0[p]));
          }
          requantRunP<P>(acc, y + (n * M + mm) * Pn, Pn, bias[mm], mult[mm], shift[mm], zy, qmin, qmax);
        }
        continue;
      }
      // im2col in the pair layout, a pair of taps at a time; an odd K's last pair gets zeros.
      for (int64_t k = 0; k < K; k += 2) {
        for (int64_t h = 0; h < 2; h++) {
          int16_t* d = h ? t1 : t0;
          const int64_t kk = k + h;
          if (kk >= K) {
            for (int64_t p = 0; p < Pn; p++) d[p] = 0;
            continue;
          }
          const int64_t cc = kk / (KH * KW), t = kk % (KH * KW);
          tapPlane(planes + cc * HW, d, H, W, OH, OW, sh, sw, (t / KW) * dh - pt,
                   (t % KW) * dw - pl, zx);
        }
        interleave(t0, t1, col + (k >> 1) * Pp, Pn);
        for (int64_t p = Pn; p < Pp; p++) col[(k >> 1) * Pp + p] = 0;
      }
      gemm(w + g * Mg * Kp, col, acc, Mg, Kp, Pp);
      for (int64_t m = 0; m < Mg; m++) {
        const int64_t mm = g * Mg + m;
        requantRunP<P>(acc + m * Pp, y + (n * M + mm) * Pn, Pn, bias[mm], mult[mm], shift[mm], zy, qmin,
                   qmax);
      }
    }
  }
  return nullptr;
}

#include "matmul.h"

const char* ops_scalar(Mem& mem, int code, const int32_t* r) {
  return code == 1 ? convOp<SCALAR>(mem, r, gemm_scalar, depthwise8) : matmulOp<SCALAR>(mem, r, gemm_scalar);
}

// One instance of both ops per vector path, so that their loops vectorise for that path's target.
#define OPS(NAME, TARGET, P, GEMM)                                                                  \
  __attribute__((target(TARGET))) const char* NAME(Mem& mem, int code, const int32_t* r) {       \
    return code == 1 ? convOp<P>(mem, r, GEMM, depthwise16) : matmulOp<P>(mem, r, GEMM);                            \
  }
OPS(ops_avx2, "avx2", AVX2, gemm_avx2)
OPS(ops_avxvnni, "avx2,avxvnni", AVXVNNI, gemm_avxvnni)
OPS(ops_vnni512, "avx512f,avx512bw,avx512vl,avx512vnni", VNNI512, gemm_vnni512)
