// The native addon's whole matmul (ops.h includes it inside kernels.cc's anonymous namespace,
// after the conv and the vnni512 kernels of ops8.h): packing, the GEMM of the chosen path and
// requantization, straight from the matmul's plan record.
#pragma once

// matmul record words (assembly/gemm.ts): a, b, bias, multN, S, mode, mult, shift, y, T, aMap,
// bMap, M, K, N, Kp, Np, za, zb, bConst, aBuf, bBuf, acc, zy, qmin, qmax, bSlice, direct, small.
template <int P>
__attribute__((always_inline)) inline const char* matmulOp(Mem& mem, const int32_t* r, GemmFn gemm) {
  const int64_t T = r[9], M = r[12], K = r[13], N = r[14], Kp = r[15], Np = r[16];
  const int32_t za = r[17], zb = r[18], zy = r[23], qmin = r[24], qmax = r[25];
  const bool bConst = r[19] != 0;
  const int64_t bSlice = r[26];
  if (T < 1 || M < 1 || K < 1 || N < 1 || T > SIZE_LIM || M > SIZE_LIM || K > SIZE_LIM ||
      N > SIZE_LIM || Kp != K + (K & 1) || Np != ((N + 7) & ~int64_t{7}) || qmin < 0 ||
      qmax > 255 || qmin > qmax || za < 0 || za > 255 || zb < 0 || zb > 255 || bSlice < 0)
    return "a matmul record is inconsistent";
  const auto* bias = reinterpret_cast<const int32_t*>(mem.span(addr(r, 2), N * 4, 4));
  const auto* mult = reinterpret_cast<const int32_t*>(mem.span(addr(r, 6), N * 4, 4));
  const auto* multN = reinterpret_cast<const int32_t*>(mem.span(addr(r, 3), N * 4, 4));
  const int32_t S = r[4];
  // plan.ts sets small only when S >= 16 and every multN is in [0, 2^15): checked again here.
  bool small = r[5] == 0 && r[28] != 0 && S >= 16 && S <= 62;
  const auto* shift = reinterpret_cast<const int32_t*>(mem.span(addr(r, 7), N * 4, 4));
  const auto* aMap = reinterpret_cast<const int32_t*>(mem.span(addr(r, 10), T * 4, 4));
  const auto* bMap = reinterpret_cast<const int32_t*>(mem.span(addr(r, 11), T * 4, 4));
  uint8_t* y = mem.span(addr(r, 8), prod({T, M, N}));
  auto* aBuf = reinterpret_cast<int16_t*>(mem.span(addr(r, 20), prod({M, Kp, 2}), 4));
  auto* acc = reinterpret_cast<int32_t*>(mem.span(addr(r, 22), prod({M, Np, 4}), 4));
  auto* bBuf = bConst ? nullptr : reinterpret_cast<int32_t*>(mem.span(addr(r, 21), prod({Kp, Np, 2}), 4));
  if (!mem.ok) return "a matmul operand lies outside the memory";
  for (int64_t j = 0; j < N; j++)
    if (shift[j] < 0 || shift[j] > 62) return "a matmul shift is out of range";
  for (int64_t j = 0; j < N && small; j++) small = multN[j] >= 0 && multN[j] < 32768;
  if constexpr (P == VNNI512) {
    if (!bConst || r[29] != 0) {
      const auto rq = [&](const int32_t* b, const int32_t* row, uint8_t* out) {
        if (small) requantColsSmallP<P>(row, out, N, b, multN, S, zy, qmin, qmax);
        else requantColsP<P>(row, out, N, b, mult, shift, zy, qmin, qmax);
      };
      return matmul8(mem, r, T, M, K, N, Np, za, zb, bConst, bias, aMap, bMap, acc, rq, y);
    }
  }
  int64_t lastA = -1;
  for (int64_t t = 0; t < T; t++) {
    const int64_t ai = aMap[t], bi = bMap[t];
    if (ai < 0 || bi < 0) return "a matmul slice index is negative";
    if (ai != lastA) {
      const uint8_t* a = mem.span(offset(addr(r, 0), prod({ai, M, K})), prod({M, K}));
      if (!a) return "a matmul operand lies outside the memory";
      for (int64_t i = 0; i < M; i++) {
        int16_t* d = aBuf + i * Kp;
        for (int64_t k = 0; k < K; k++) d[k] = static_cast<int16_t>(a[i * K + k] - za);
        if (K < Kp) d[K] = 0;
      }
      lastA = ai;
    }
    const int32_t* bp;
    if (bConst) {
      bp = reinterpret_cast<const int32_t*>(mem.span(offset(addr(r, 1), prod({bi, bSlice})), prod({Kp, Np, 2}), 4));
      if (!bp) return "a matmul operand lies outside the memory";
    } else {
      const uint8_t* b = mem.span(offset(addr(r, 1), prod({bi, K, N})), prod({K, N}));
      if (!b) return "a matmul operand lies outside the memory";
      // The pair layout of b - zb; the k padding is zero in A, the column padding zero here.
      for (int64_t k = 0; k < K; k += 2) {
        const uint8_t* s0 = b + k * N;
        const uint8_t* s1 = k + 1 < K ? s0 + N : s0;
        int32_t* d = bBuf + (k >> 1) * Np;
        for (int64_t j = 0; j < N; j++)
          d[j] = static_cast<int32_t>(
              static_cast<uint16_t>(s0[j] - zb) |
              (static_cast<uint32_t>(static_cast<uint16_t>(s1[j] - zb)) << 16));
        for (int64_t j = N; j < Np; j++) d[j] = 0;
      }
      bp = bBuf;
    }
    gemm(aBuf, bp, acc, M, Kp, Np);
    for (int64_t i = 0; i < M; i++) {
      if (small) requantColsSmallP<P>(acc + i * Np, y + (t * M + i) * N, N, bias, multN, S, zy, qmin, qmax);
      else requantColsP<P>(acc + i * Np, y + (t * M + i) * N, N, bias, mult, shift, zy, qmin, qmax);
    }
  }
  return nullptr;
}
