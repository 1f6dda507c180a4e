// keccak256 (Ethereum's: Keccak-f[1600], rate 136 bytes, padding 0x01 ... 0x80) eight messages at
// a time on AVX-512, for tensor roots (src/commit/tensorRoot.ts): the 1 KiB chunk leaves and the
// Merkle levels are independent hashes, so lane j of every zmm holds message j's state word.
// Lanes take messages of any lengths. It is the plain definition; test/engine/native-hash.test.ts checks them against the reference on many lengths.
// Included by kernels.cc inside its anonymous namespace.
#pragma once

const uint64_t KECCAK_RC[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

// rho rotation of lane x + 5 y, and pi's destination of that lane: B[y + 5 ((2x + 3y) % 5)].
const int KECCAK_ROT[25] = {0,  1,  62, 28, 27, 36, 44, 6,  55, 20, 3,  10, 43,
                            25, 39, 41, 45, 15, 21, 8,  18, 2,  61, 56, 14};

#define KECCAK8_TARGET "avx512f,avx512vl"

// One Keccak-f[1600] permutation of eight states. The rho rotations are written out with their
// constant counts, so that each is one vprolq with an immediate.
__attribute__((target(KECCAK8_TARGET), always_inline)) inline void keccakf8(__m512i* A) {
  for (int round = 0; round < 24; round++) {
    __m512i C[5], D[5], B[25];
    for (int x = 0; x < 5; x++)
      C[x] = _mm512_ternarylogic_epi64(_mm512_ternarylogic_epi64(A[x], A[x + 5], A[x + 10], 0x96),
                                       A[x + 15], A[x + 20], 0x96);
    for (int x = 0; x < 5; x++)
      D[x] = _mm512_xor_si512(C[(x + 4) % 5], _mm512_rol_epi64(C[(x + 1) % 5], 1));
    // theta, rho and pi: B[y + 5 ((2x + 3y) % 5)] = rol(A[x + 5y] ^ D[x], KECCAK_ROT[x + 5y]).
    B[0] = _mm512_rol_epi64(_mm512_xor_si512(A[0], D[0]), 0);
    B[10] = _mm512_rol_epi64(_mm512_xor_si512(A[1], D[1]), 1);
    B[20] = _mm512_rol_epi64(_mm512_xor_si512(A[2], D[2]), 62);
    B[5] = _mm512_rol_epi64(_mm512_xor_si512(A[3], D[3]), 28);
    B[15] = _mm512_rol_epi64(_mm512_xor_si512(A[4], D[4]), 27);
    B[16] = _mm512_rol_epi64(_mm512_xor_si512(A[5], D[0]), 36);
    B[1] = _mm512_rol_epi64(_mm512_xor_si512(A[6], D[1]), 44);
    B[11] = _mm512_rol_epi64(_mm512_xor_si512(A[7], D[2]), 6);
    B[21] = _mm512_rol_epi64(_mm512_xor_si512(A[8], D[3]), 55);
    B[6] = _mm512_rol_epi64(_mm512_xor_si512(A[9], D[4]), 20);
    B[7] = _mm512_rol_epi64(_mm512_xor_si512(A[10], D[0]), 3);
    B[17] = _mm512_rol_epi64(_mm512_xor_si512(A[11], D[1]), 10);
    B[2] = _mm512_rol_epi64(_mm512_xor_si512(A[12], D[2]), 43);
    B[12] = _mm512_rol_epi64(_mm512_xor_si512(A[13], D[3]), 25);
    B[22] = _mm512_rol_epi64(_mm512_xor_si512(A[14], D[4]), 39);
    B[23] = _mm512_rol_epi64(_mm512_xor_si512(A[15], D[0]), 41);
    B[8] = _mm512_rol_epi64(_mm512_xor_si512(A[16], D[1]), 45);
    B[18] = _mm512_rol_epi64(_mm512_xor_si512(A[17], D[2]), 15);
    B[3] = _mm512_rol_epi64(_mm512_xor_si512(A[18], D[3]), 21);
    B[13] = _mm512_rol_epi64(_mm512_xor_si512(A[19], D[4]), 8);
    B[14] = _mm512_rol_epi64(_mm512_xor_si512(A[20], D[0]), 18);
    B[24] = _mm512_rol_epi64(_mm512_xor_si512(A[21], D[1]), 2);
    B[9] = _mm512_rol_epi64(_mm512_xor_si512(A[22], D[2]), 61);
    B[19] = _mm512_rol_epi64(_mm512_xor_si512(A[23], D[3]), 56);
    B[4] = _mm512_rol_epi64(_mm512_xor_si512(A[24], D[4]), 14);
    for (int y = 0; y < 5; y++)
      for (int x = 0; x < 5; x++)
        A[x + 5 * y] = _mm512_ternarylogic_epi64(B[x + 5 * y], B[(x + 1) % 5 + 5 * y],
                                                 B[(x + 2) % 5 + 5 * y], 0xD2);
    A[0] = _mm512_xor_si512(A[0], _mm512_set1_epi64(static_cast<int64_t>(KECCAK_RC[round])));
  }
}

// keccak256 of eight messages at once, message j at ptrs[j] with lens[j] bytes (any lengths);
// digest j to outs[j]. Lane j absorbs its blocks and then its padded last block (the tail, 0x01,
// zeros, 0x80 in byte 135, one byte 0x81 if they meet) and from then on keeps its state: after
// each permutation only the lanes still absorbing take the new state.
__attribute__((target(KECCAK8_TARGET))) void keccak256x8(const uint8_t* const* ptrs,
                                                          const int64_t* lens, uint8_t* const* outs) {
  __m512i A[25];
  for (int i = 0; i < 25; i++) A[i] = _mm512_setzero_si512();
  int64_t steps = 0;
  for (int j = 0; j < 8; j++) steps = lens[j] / 136 + 1 > steps ? lens[j] / 136 + 1 : steps;
  alignas(64) uint64_t words[17][8];
  alignas(64) int64_t addrs[8];
  for (int64_t b = 0; b < steps; b++) {
    // Every lane inside a full block: its words are gathered straight from the messages.
    bool full = true;
    for (int j = 0; j < 8; j++) full = full && lens[j] - b * 136 >= 136;
    if (full) {
      for (int j = 0; j < 8; j++) addrs[j] = static_cast<int64_t>(reinterpret_cast<uintptr_t>(ptrs[j] + b * 136));
      const __m512i index = _mm512_load_si512(addrs);
      for (int w = 0; w < 17; w++)
        A[w] = _mm512_xor_si512(A[w], _mm512_i64gather_epi64(index, reinterpret_cast<const void*>(8 * w), 1));
      keccakf8(A);
      continue;
    }
    __mmask8 active = 0;
    for (int j = 0; j < 8; j++) {
      const int64_t at = b * 136, left = lens[j] - at;
      if (left < 0) {
        for (int w = 0; w < 17; w++) words[w][j] = 0;
        continue;
      }
      active |= static_cast<__mmask8>(1u << j);
      uint8_t block[136];
      if (left >= 136) {
        std::memcpy(block, ptrs[j] + at, 136);
      } else {
        std::memset(block, 0, 136);
        std::memcpy(block, ptrs[j] + at, left);
        block[left] ^= 0x01;
        block[135] ^= 0x80;
      }
      for (int w = 0; w < 17; w++) std::memcpy(&words[w][j], block + 8 * w, 8);
    }
    __m512i S[25];
    for (int i = 0; i < 25; i++) S[i] = A[i];
    for (int w = 0; w < 17; w++) S[w] = _mm512_xor_si512(S[w], _mm512_load_si512(words[w]));
    keccakf8(S);
    for (int i = 0; i < 25; i++) A[i] = _mm512_mask_blend_epi64(active, A[i], S[i]);
  }
  alignas(64) uint64_t digest[4][8];
  for (int w = 0; w < 4; w++) _mm512_store_si512(digest[w], A[w]);
  for (int j = 0; j < 8; j++)
    if (outs[j])
      for (int w = 0; w < 4; w++) std::memcpy(outs[j] + 8 * w, &digest[w][j], 8);
}

// Hashes a list of independent messages eight at a time (a last group of fewer has empty lanes
// whose digests go nowhere).
struct HashJobs {
  std::vector<const uint8_t*> ptrs;
  std::vector<int64_t> lens;
  std::vector<uint8_t*> outs;
  void add(const uint8_t* p, int64_t n, uint8_t* out) {
    ptrs.push_back(p);
    lens.push_back(n);
    outs.push_back(out);
  }
  __attribute__((target(KECCAK8_TARGET))) void run() {
    static const uint8_t none = 0;
    for (size_t i = 0; i < ptrs.size(); i += 8) {
      const uint8_t* p[8];
      int64_t n[8];
      uint8_t* o[8];
      for (size_t j = 0; j < 8; j++) {
        const bool real = i + j < ptrs.size();
        p[j] = real ? ptrs[i + j] : &none;
        n[j] = real ? lens[i + j] : 0;
        o[j] = real ? outs[i + j] : nullptr;
      }
      keccak256x8(p, n, o);
    }
    ptrs.clear();
    lens.clear();
    outs.clear();
  }
};

// The tensor roots (src/commit/tensorRoot.ts) of count byte strings: leaves are keccak256 of each
// 1 KiB chunk (the last one short), zero hashes pad them to a power of two, parent =
// keccak256(left ‖ right), and root = keccak256(0x54 ‖ dataRoot ‖ uint64be(len)). Every hash of a
// stage is independent of the others in it, across all the strings, so each stage runs eight
// lanes at a time: all chunks, then each Merkle level of every tree, then the tagged roots.
__attribute__((target(KECCAK8_TARGET))) void tensorRoots8(const uint8_t* const* src,
                                                           const int64_t* len, int64_t count,
                                                           uint8_t* out) {
  std::vector<int64_t> width(count), at(count);
  int64_t total = 0;
  for (int64_t t = 0; t < count; t++) {
    const int64_t leaves = len[t] > 1024 ? (len[t] + 1023) >> 10 : 1;
    int64_t w = 1;
    while (w < leaves) w <<= 1;
    width[t] = w;
    at[t] = total;
    total += 32 * w;
  }
  std::vector<uint8_t> nodes(static_cast<size_t>(total));
  HashJobs jobs;
  for (int64_t t = 0; t < count; t++) {
    const int64_t leaves = len[t] > 1024 ? (len[t] + 1023) >> 10 : 1;
    uint8_t* n = nodes.data() + at[t];
    for (int64_t i = 0; i < leaves; i++) {
      const int64_t off = i << 10, size = len[t] - off < 1024 ? len[t] - off : 1024;
      jobs.add(src[t] + off, size, n + 32 * i);
    }
    std::memset(n + 32 * leaves, 0, 32 * (width[t] - leaves));
  }
  jobs.run();
  // Level by level, every tree at once: each level is hashed into a buffer of its own and then
  // copied back, so that no parent overwrites a node that another hash of the level still reads.
  std::vector<uint8_t> level(static_cast<size_t>(total / 2 + 32));
  for (bool more = true; more;) {
    more = false;
    int64_t used = 0;
    std::vector<std::pair<int64_t, int64_t>> placed;
    for (int64_t t = 0; t < count; t++) {
      if (width[t] <= 1) continue;
      more = true;
      const int64_t half = width[t] >> 1;
      for (int64_t p = 0; p < half; p++)
        jobs.add(nodes.data() + at[t] + 64 * p, 64, level.data() + used + 32 * p);
      placed.emplace_back(t, used);
      used += 32 * half;
    }
    jobs.run();
    for (const auto& [t, from] : placed) {
      width[t] >>= 1;
      std::memcpy(nodes.data() + at[t], level.data() + from, 32 * width[t]);
    }
  }
  std::vector<uint8_t> tagged(static_cast<size_t>(41 * count));
  for (int64_t t = 0; t < count; t++) {
    uint8_t* m = tagged.data() + 41 * t;
    m[0] = 0x54;
    std::memcpy(m + 1, nodes.data() + at[t], 32);
    for (int b = 0; b < 8; b++) m[33 + b] = static_cast<uint8_t>(static_cast<uint64_t>(len[t]) >> (56 - 8 * b));
    jobs.add(m, 41, out + 32 * t);
  }
  jobs.run();
}

// The Merkle root of count >= 1 32-byte leaves at nodes (merkle.ts: zero hashes pad them to a
// power of two, parent = keccak256(left ‖ right)), each level eight lanes at a time.
__attribute__((target(KECCAK8_TARGET))) void merkleRoot8(const uint8_t* leaves, int64_t count,
                                                          uint8_t* out) {
  int64_t width = 1;
  while (width < count) width <<= 1;
  std::vector<uint8_t> a(static_cast<size_t>(32 * width)), b(static_cast<size_t>(16 * width + 32));
  std::memcpy(a.data(), leaves, 32 * count);
  HashJobs jobs;
  for (; width > 1; width >>= 1) {
    for (int64_t p = 0; p < width / 2; p++) jobs.add(a.data() + 64 * p, 64, b.data() + 32 * p);
    jobs.run();
    std::memcpy(a.data(), b.data(), 16 * width);
  }
  std::memcpy(out, a.data(), 32);
}
