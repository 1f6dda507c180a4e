// keccak256 (Ethereum's: Keccak-f[1600], rate 136 bytes, padding 0x01 ... 0x80) eight messages at
// a time on AVX-512, for tensor roots (src/commit/tensorRoot.ts): the 1 KiB chunk leaves and the
// Merkle levels are independent hashes, so lane j of every zmm holds message j's state word.
// A one-message form serves short last chunks and the final tagged hash. Both are the plain
// definition; test/engine/native-hash.test.ts checks them against the reference on many lengths.
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

__attribute__((target(KECCAK8_TARGET), always_inline)) inline void keccakf8(__m512i* A) {
  for (int round = 0; round < 24; round++) {
    __m512i C[5], D[5], B[25];
    for (int x = 0; x < 5; x++)
      C[x] = _mm512_ternarylogic_epi64(_mm512_ternarylogic_epi64(A[x], A[x + 5], A[x + 10], 0x96),
                                       A[x + 15], A[x + 20], 0x96);
    for (int x = 0; x < 5; x++)
      D[x] = _mm512_xor_si512(C[(x + 4) % 5], _mm512_rol_epi64(C[(x + 1) % 5], 1));
    for (int y = 0; y < 5; y++) {
      for (int x = 0; x < 5; x++) {
        const int i = x + 5 * y;
        const __m512i v = _mm512_xor_si512(A[i], D[x]);
        const int dest = y + 5 * ((2 * x + 3 * y) % 5);
        B[dest] = _mm512_rolv_epi64(v, _mm512_set1_epi64(KECCAK_ROT[i]));
      }
    }
    for (int y = 0; y < 5; y++)
      for (int x = 0; x < 5; x++)
        A[x + 5 * y] = _mm512_ternarylogic_epi64(B[x + 5 * y], B[(x + 1) % 5 + 5 * y],
                                                 B[(x + 2) % 5 + 5 * y], 0xD2);
    A[0] = _mm512_xor_si512(A[0], _mm512_set1_epi64(static_cast<int64_t>(KECCAK_RC[round])));
  }
}

// keccak256 of eight messages of the same length len, message j at base + offs[j]; digest j to
// out + 32 * j. Full blocks are gathered a word at a time; the last block is built in a buffer.
__attribute__((target(KECCAK8_TARGET))) void keccak256x8(const uint8_t* base, const int64_t* offs,
                                                          int64_t len, uint8_t* out) {
  __m512i A[25];
  for (int i = 0; i < 25; i++) A[i] = _mm512_setzero_si512();
  const __m512i index = _mm512_loadu_si512(offs);
  int64_t at = 0;
  for (; at + 136 <= len; at += 136) {
    for (int w = 0; w < 17; w++)
      A[w] = _mm512_xor_si512(A[w], _mm512_i64gather_epi64(index, base + at + 8 * w, 1));
    keccakf8(A);
  }
  // The last block: the message's tail, 0x01, zeros, 0x80 in byte 135 (one byte 0x81 if they meet).
  alignas(64) uint64_t words[17][8];
  for (int j = 0; j < 8; j++) {
    uint8_t block[136] = {0};
    std::memcpy(block, base + offs[j] + at, len - at);
    block[len - at] ^= 0x01;
    block[135] ^= 0x80;
    for (int w = 0; w < 17; w++) std::memcpy(&words[w][j], block + 8 * w, 8);
  }
  for (int w = 0; w < 17; w++) A[w] = _mm512_xor_si512(A[w], _mm512_load_si512(words[w]));
  keccakf8(A);
  alignas(64) uint64_t digest[4][8];
  for (int w = 0; w < 4; w++) _mm512_store_si512(digest[w], A[w]);
  for (int j = 0; j < 8; j++)
    for (int w = 0; w < 4; w++) std::memcpy(out + 32 * j + 8 * w, &digest[w][j], 8);
}

// keccak256 of one message, the plain sponge on 64-bit words.
void keccakf1(uint64_t* A) {
  for (int round = 0; round < 24; round++) {
    uint64_t C[5], B[25];
    for (int x = 0; x < 5; x++) C[x] = A[x] ^ A[x + 5] ^ A[x + 10] ^ A[x + 15] ^ A[x + 20];
    for (int y = 0; y < 5; y++) {
      for (int x = 0; x < 5; x++) {
        const int i = x + 5 * y, r = KECCAK_ROT[i];
        const uint64_t d = C[(x + 4) % 5] ^ ((C[(x + 1) % 5] << 1) | (C[(x + 1) % 5] >> 63));
        const uint64_t v = A[i] ^ d;
        B[y + 5 * ((2 * x + 3 * y) % 5)] = r == 0 ? v : (v << r) | (v >> (64 - r));
      }
    }
    for (int y = 0; y < 5; y++)
      for (int x = 0; x < 5; x++)
        A[x + 5 * y] = B[x + 5 * y] ^ (~B[(x + 1) % 5 + 5 * y] & B[(x + 2) % 5 + 5 * y]);
    A[0] ^= KECCAK_RC[round];
  }
}

void keccak256x1(const uint8_t* msg, int64_t len, uint8_t* out) {
  uint64_t A[25] = {0};
  int64_t at = 0;
  for (; at + 136 <= len; at += 136) {
    for (int w = 0; w < 17; w++) {
      uint64_t v;
      std::memcpy(&v, msg + at + 8 * w, 8);
      A[w] ^= v;
    }
    keccakf1(A);
  }
  uint8_t block[136] = {0};
  std::memcpy(block, msg + at, len - at);
  block[len - at] ^= 0x01;
  block[135] ^= 0x80;
  for (int w = 0; w < 17; w++) {
    uint64_t v;
    std::memcpy(&v, block + 8 * w, 8);
    A[w] ^= v;
  }
  keccakf1(A);
  std::memcpy(out, A, 32);
}

// tensorRoot (src/commit/tensorRoot.ts) of len bytes: leaves are keccak256 of each 1 KiB chunk
// (the last one short), zero hashes pad them to a power of two, parent = keccak256(left ‖ right),
// and the root is keccak256(0x54 ‖ dataRoot ‖ uint64be(len)). nodes has room for 32 bytes per
// leaf of the padded width.
__attribute__((target(KECCAK8_TARGET))) void tensorRoot8(const uint8_t* src, int64_t len,
                                                          uint8_t* nodes, uint8_t* out) {
  const int64_t full = len >> 10;
  const int64_t leaves = len > 1024 ? (len + 1023) >> 10 : 1;
  int64_t width = 1;
  while (width < leaves) width <<= 1;
  int64_t offs[8];
  alignas(64) uint8_t digests[256];
  // Full chunks eight at a time; a last group of fewer repeats its first chunk in the spare lanes.
  for (int64_t i = 0; i < full; i += 8) {
    const int64_t n = full - i < 8 ? full - i : 8;
    for (int j = 0; j < 8; j++) offs[j] = (i + (j < n ? j : 0)) << 10;
    keccak256x8(src, offs, 1024, digests);
    std::memcpy(nodes + 32 * i, digests, 32 * n);
  }
  if (full < leaves || len == 0) keccak256x1(src + (full << 10), len - (full << 10), nodes + 32 * full);
  std::memset(nodes + 32 * leaves, 0, 32 * (width - leaves));
  // Each level in place: parent p (at 32 p) reads nodes 2p and 2p + 1; a group of eight parents
  // reads all sixteen of its nodes before it writes any.
  for (; width > 1; width >>= 1) {
    const int64_t half = width >> 1;
    for (int64_t p = 0; p < half; p += 8) {
      const int64_t n = half - p < 8 ? half - p : 8;
      for (int j = 0; j < 8; j++) offs[j] = (p + (j < n ? j : 0)) << 6;
      keccak256x8(nodes, offs, 64, digests);
      std::memcpy(nodes + 32 * p, digests, 32 * n);
    }
  }
  uint8_t tagged[41];
  tagged[0] = 0x54;
  std::memcpy(tagged + 1, nodes, 32);
  for (int b = 0; b < 8; b++) tagged[33 + b] = static_cast<uint8_t>(static_cast<uint64_t>(len) >> (56 - 8 * b));
  keccak256x1(tagged, 41, out);
}
