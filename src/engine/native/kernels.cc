// Native GEMM kernels of the exact engine, as a Node-API addon (built by scripts/buildNative.mjs).
//
// They compute exactly what the WebAssembly engine's gemm (src/engine/wasm/assembly/gemm.ts)
// computes, in its "c2" layout, reading and writing the engine's linear memory in place:
//   C[M][Np] (i32) = A[M][Kp] (i16, row-major) · B, where B element (k, j) is the i16 at index
//   ((k >> 1) * Np + j) * 2 + (k & 1): every 32-bit word of B holds one column's k-pair.
// Every path multiplies i16 pairs into i32 and adds them with 32-bit wrap-around, like
// i32x4.dot_i16x8_s, so all paths agree bit for bit on any input; on the engine's inputs
// (|a|, |b| <= 255, accumulators bounded below 2^31 by the validator) nothing wraps at all.
//   vnni512  vpdpwssd on zmm (AVX-512 VNNI, non-saturating; never the saturating vpdpwssds)
//   avxvnni  vpdpwssd on ymm (AVX-VNNI)
//   avx2     vpmaddwd + vpaddd on ymm
//   scalar   plain loops in 64 bits, truncated to 32
// No u8×s8 instruction is used: vpmaddubsw saturates its pair sums to i16.
// ops.h runs whole conv and matmul ops (im2col or packing, one of these GEMMs, requantization)
// straight from the engine's plan records, so that they leave WebAssembly in one call.
#if !defined(__x86_64__)
#error "the native kernels are x86-64 only; elsewhere the WebAssembly engine runs"
#endif
#define NAPI_VERSION 8
#include <immintrin.h>
#include <node_api.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <vector>

namespace {

enum Path { SCALAR = 0, AVX2 = 1, AVXVNNI = 2, VNNI512 = 3 };
const char* const PATH_NAMES[] = {"scalar", "avx2", "avxvnni", "vnni512"};

bool supported(int path) {
  __builtin_cpu_init();
  switch (path) {
    case SCALAR:
      return true;
    case AVX2:
      return __builtin_cpu_supports("avx2");
    case AVXVNNI:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
    case VNNI512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  }
  return false;
}

// ---- scalar ------------------------------------------------------------------------------------

void gemm_scalar(const int16_t* A, const int32_t* B, int32_t* C, int64_t M, int64_t Kp, int64_t Np) {
  const int64_t kh = Kp >> 1;
  for (int64_t i = 0; i < M; i++) {
    const int16_t* a = A + i * Kp;
    for (int64_t j = 0; j < Np; j++) {
      int64_t s = 0;
      for (int64_t k = 0; k < kh; k++) {
        int32_t w;
        std::memcpy(&w, B + k * Np + j, 4);
        const int16_t b0 = static_cast<int16_t>(w & 0xffff);
        const int16_t b1 = static_cast<int16_t>((w >> 16) & 0xffff);
        s += static_cast<int64_t>(a[2 * k]) * b0 + static_cast<int64_t>(a[2 * k + 1]) * b1;
      }
      C[i * Np + j] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(s)));
    }
  }
}

// ---- 256-bit paths: 4 rows x 16 columns per tile, then 8 columns (Np is a multiple of 8) --------

// The pair A[i][2k..2k+1] as one 32-bit word, broadcast to every lane.
#define PAIR(p) static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>((p)[0])) | \
                                     (static_cast<uint32_t>(static_cast<uint16_t>((p)[1])) << 16))

// One tile: R rows x `cols` (16 or 8) columns; MAC(s, x, b) adds the pair products of x and b to s.
// A macro, because each instance needs its own target attribute to use its intrinsics.
#define GEMM256(NAME, TARGET, MAC)                                                                \
  template <int R>                                                                                \
  __attribute__((target(TARGET), always_inline)) inline void NAME##_tile(                         \
      const int16_t* A, const int32_t* B, int32_t* C, int64_t Kp, int64_t Np, bool two) {         \
    const int64_t kh = Kp >> 1;                                                                   \
    __m256i s0[R], s1[R];                                                                         \
    for (int r = 0; r < R; r++) s0[r] = s1[r] = _mm256_setzero_si256();                           \
    for (int64_t k = 0; k < kh; k++) {                                                            \
      const int32_t* bp = B + k * Np;                                                             \
      const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp));               \
      const __m256i b1 = two ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + 8)) : b0; \
      for (int r = 0; r < R; r++) {                                                               \
        const __m256i x = _mm256_set1_epi32(PAIR(A + r * Kp + 2 * k));                            \
        s0[r] = MAC(s0[r], x, b0);                                                                \
        s1[r] = MAC(s1[r], x, b1);                                                                \
      }                                                                                           \
    }                                                                                             \
    for (int r = 0; r < R; r++) {                                                                 \
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(C + r * Np), s0[r]);                         \
      if (two) _mm256_storeu_si256(reinterpret_cast<__m256i*>(C + r * Np + 8), s1[r]);            \
    }                                                                                             \
  }                                                                                               \
  /* Column strips outside, rows inside: one strip of B (Kp/2 x 16 words) stays in cache. */      \
  __attribute__((target(TARGET))) void NAME(const int16_t* A, const int32_t* B, int32_t* C,       \
                                            int64_t M, int64_t Kp, int64_t Np) {                  \
    for (int64_t j = 0; j < Np; j += 16) {                                                        \
      const bool two = Np - j >= 16;                                                              \
      int64_t i = 0;                                                                              \
      for (; i + 4 <= M; i += 4) NAME##_tile<4>(A + i * Kp, B + j, C + i * Np + j, Kp, Np, two);  \
      for (; i < M; i++) NAME##_tile<1>(A + i * Kp, B + j, C + i * Np + j, Kp, Np, two);          \
    }                                                                                             \
  }

#define MAC_AVX2(s, x, b) _mm256_add_epi32(s, _mm256_madd_epi16(x, b))
#define MAC_AVXVNNI(s, x, b) _mm256_dpwssd_avx_epi32(s, x, b)
GEMM256(gemm_avx2, "avx2", MAC_AVX2)
GEMM256(gemm_avxvnni, "avx2,avxvnni", MAC_AVXVNNI)

// ---- AVX-512 VNNI: 8 rows x 32 columns per tile, masked at the right edge ----------------------

template <int R>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"), always_inline)) inline void tile512(
    const int16_t* A, const int32_t* B, int32_t* C, int64_t Kp, int64_t Np, __mmask16 m0,
    __mmask16 m1) {
  const int64_t kh = Kp >> 1;
  __m512i s0[R], s1[R];
  for (int r = 0; r < R; r++) s0[r] = s1[r] = _mm512_setzero_si512();
  for (int64_t k = 0; k < kh; k++) {
    const int32_t* bp = B + k * Np;
    // Masked loads read nothing past the row's last column.
    const __m512i b0 = _mm512_maskz_loadu_epi32(m0, bp);
    const __m512i b1 = _mm512_maskz_loadu_epi32(m1, bp + 16);
    for (int r = 0; r < R; r++) {
      const __m512i x = _mm512_set1_epi32(PAIR(A + r * Kp + 2 * k));
      s0[r] = _mm512_dpwssd_epi32(s0[r], x, b0);
      s1[r] = _mm512_dpwssd_epi32(s1[r], x, b1);
    }
  }
  for (int r = 0; r < R; r++) {
    _mm512_mask_storeu_epi32(C + r * Np, m0, s0[r]);
    _mm512_mask_storeu_epi32(C + r * Np + 16, m1, s1[r]);
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void gemm_vnni512(
    const int16_t* A, const int32_t* B, int32_t* C, int64_t M, int64_t Kp, int64_t Np) {
  for (int64_t j = 0; j < Np; j += 32) {
    const int64_t left = Np - j;
    const __mmask16 m0 = left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1);
    const __mmask16 m1 =
        left >= 32 ? 0xffff : left <= 16 ? 0 : static_cast<__mmask16>((1u << (left - 16)) - 1);
    int64_t i = 0;
    for (; i + 8 <= M; i += 8) tile512<8>(A + i * Kp, B + j, C + i * Np + j, Kp, Np, m0, m1);
    switch (M - i) {
      case 7: tile512<7>(A + i * Kp, B + j, C + i * Np + j, Kp, Np, m0, m1); break;
      case 6: tile512<6>(A + i * Kp, B + j, C + i * Np + j, Kp, Np, m0, m1); break;
      case 5: tile512<5>(A + i * Kp, B + j, C + i * Np + j, Kp, Np, m0, m1); break;
      case 4: tile512<4>(A + i * Kp, B + j, C + i * Np + j, Kp, Np, m0, m1); break;
      case 3: tile512<3>(A + i * Kp, B + j, C + i * Np + j, Kp, Np, m0, m1); break;
      case 2: tile512<2>(A + i * Kp, B + j, C + i * Np + j, Kp, Np, m0, m1); break;
      case 1: tile512<1>(A + i * Kp, B + j, C + i * Np + j, Kp, Np, m0, m1); break;
      default: break;
    }
  }
}

// Inside the namespace, after the GEMMs that the whole ops call.
#include "ops.h"
#include "keccak8.h"
#include "norm8.h"

// ---- Node-API ----------------------------------------------------------------------------------

napi_value fail(napi_env env, const char* message) {
  napi_throw_range_error(env, "VERINFER_NATIVE_ARGUMENT", message);
  return nullptr;
}

bool integerArg(napi_env env, napi_value v, int64_t lo, int64_t hi, int64_t* out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return false;
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return false;
  // Rejects NaN, fractions and anything outside [lo, hi] before converting.
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi))) return false;
  const int64_t i = static_cast<int64_t>(d);
  if (static_cast<double>(i) != d) return false;
  *out = i;
  return true;
}

// The bytes of an ArrayBuffer argument, or false.
bool arrayBufferArg(napi_env env, napi_value v, void** data, size_t* length) {
  bool is = false;
  return napi_is_arraybuffer(env, v, &is) == napi_ok && is &&
         napi_get_arraybuffer_info(env, v, data, length) == napi_ok;
}

// The bytes of a Uint8Array argument, or false. An empty view may have no data pointer; it is
// given one that is never read.
bool uint8ArrayArg(napi_env env, napi_value v, const uint8_t** data, size_t* length) {
  static const uint8_t none = 0;
  bool is = false;
  napi_typedarray_type type;
  void* p = nullptr;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, length, &p, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array)
    return false;
  *data = p ? static_cast<const uint8_t*>(p) : &none;
  return true;
}

// gemm(buffer, a, b, c, M, Kp, Np, path): C at byte offset c = A at a times B at b, as above.
// Every offset and size is checked against the buffer, so a bad call throws instead of reading
// or writing outside it.
napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 8)
    return fail(env, "gemm takes (buffer, a, b, c, M, Kp, Np, path).");
  void* data = nullptr;
  size_t length = 0;
  if (!arrayBufferArg(env, argv[0], &data, &length))
    return fail(env, "gemm: the first argument must be an ArrayBuffer.");
  const int64_t LIM = int64_t{1} << 40;
  int64_t a, b, c, M, Kp, Np, path;
  if (!integerArg(env, argv[1], 0, LIM, &a) || !integerArg(env, argv[2], 0, LIM, &b) ||
      !integerArg(env, argv[3], 0, LIM, &c) || !integerArg(env, argv[4], 0, 1 << 30, &M) ||
      !integerArg(env, argv[5], 0, 1 << 30, &Kp) || !integerArg(env, argv[6], 0, 1 << 30, &Np) ||
      !integerArg(env, argv[7], 0, 3, &path))
    return fail(env, "gemm: offsets, sizes and the path must be integers in range.");
  if ((Kp & 1) || (Np & 7)) return fail(env, "gemm: Kp must be even and Np a multiple of 8.");
  if ((a & 1) || (b & 3) || (c & 3)) return fail(env, "gemm: a must be 2-aligned, b and c 4-aligned.");
  const uint64_t len = length;
  // Sizes are below 2^60 (factors below 2^30), so these sums cannot overflow 64 bits.
  if (static_cast<uint64_t>(a) + static_cast<uint64_t>(M * Kp * 2) > len ||
      static_cast<uint64_t>(b) + static_cast<uint64_t>((Kp >> 1) * Np * 4) > len ||
      static_cast<uint64_t>(c) + static_cast<uint64_t>(M * Np * 4) > len)
    return fail(env, "gemm: an operand lies outside the buffer.");
  if (!supported(static_cast<int>(path))) return fail(env, "gemm: this CPU lacks that path.");
  if (M == 0 || Np == 0) return nullptr;
  auto* base = static_cast<uint8_t*>(data);
  const auto* A = reinterpret_cast<const int16_t*>(base + a);
  const auto* B = reinterpret_cast<const int32_t*>(base + b);
  auto* C = reinterpret_cast<int32_t*>(base + c);
  switch (path) {
    case VNNI512: gemm_vnni512(A, B, C, M, Kp, Np); break;
    case AVXVNNI: gemm_avxvnni(A, B, C, M, Kp, Np); break;
    case AVX2: gemm_avx2(A, B, C, M, Kp, Np); break;
    default: gemm_scalar(A, B, C, M, Kp, Np); break;
  }
  return nullptr;
}

// op(buffer, code, r, path): runs the whole op whose plan record (its parameter words) starts at
// byte offset r of buffer, the engine's linear memory: conv (code 1) or matmul (2) on every path;
// lut (4), softmax (8) and layernorm (9) on vnni512 with VBMI. Returns whether it ran the op
// (false: the WebAssembly engine runs it).
napi_value Op(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 4)
    return fail(env, "op takes (buffer, code, record, path).");
  void* data = nullptr;
  size_t length = 0;
  if (!arrayBufferArg(env, argv[0], &data, &length))
    return fail(env, "op: the first argument must be an ArrayBuffer.");
  int64_t code, r, path;
  if (!integerArg(env, argv[1], 1, 9, &code) || !integerArg(env, argv[2], 0, int64_t{1} << 40, &r) ||
      !integerArg(env, argv[3], 0, 3, &path))
    return fail(env, "op: the code, record offset and path must be integers in range.");
  if (!supported(static_cast<int>(path))) return fail(env, "op: this CPU lacks that path.");
  napi_value ran;
  const bool whole = code == 4 || code == 8 || code == 9;
  if (!(code == 1 || code == 2 || whole)) return fail(env, "op: no such op code.");
  if (whole && !(path == VNNI512 && hasVbmi())) {
    napi_get_boolean(env, false, &ran);
    return ran;
  }
  const int64_t words = code == 1 ? 38 : code == 2 ? 33 : code == 4 ? 4 : code == 8 ? 6 : 15;
  Mem mem{static_cast<uint8_t*>(data), length, true};
  const auto* rec = reinterpret_cast<const int32_t*>(mem.span(r, words * 4, 4));
  if (!rec) return fail(env, "op: the record lies outside the buffer.");
  if (code == 2 && rec[27] != 0) return fail(env, "op: a direct matmul stays in WebAssembly.");
  const char* error = code == 4   ? lut8(mem, rec)
                      : code == 8 ? softmax8(mem, rec)
                      : code == 9 ? layernorm8(mem, rec)
                      : path == VNNI512 ? ops_vnni512(mem, static_cast<int>(code), rec)
                      : path == AVXVNNI ? ops_avxvnni(mem, static_cast<int>(code), rec)
                      : path == AVX2    ? ops_avx2(mem, static_cast<int>(code), rec)
                                        : ops_scalar(mem, static_cast<int>(code), rec);
  if (error) return fail(env, error);
  napi_get_boolean(env, true, &ran);
  return ran;
}

// tensorRoots(list): the tensor roots (src/commit/tensorRoot.ts) of an array of Uint8Arrays, as
// one new ArrayBuffer of 32 bytes per entry, every stage hashed eight lanes at a time across the
// whole list. Needs AVX-512 (the vnni512 path's CPUs); the JavaScript side only calls it there.
napi_value TensorRoots(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 1)
    return fail(env, "tensorRoots takes (list of Uint8Array).");
  bool isArray = false;
  napi_is_array(env, argv[0], &isArray);
  uint32_t count = 0;
  if (!isArray || napi_get_array_length(env, argv[0], &count) != napi_ok)
    return fail(env, "tensorRoots: the argument must be an array of Uint8Array.");
  if (count > (1u << 20)) return fail(env, "tensorRoots: at most 2^20 tensors at once.");
  if (!supported(VNNI512)) return fail(env, "tensorRoots: this CPU lacks AVX-512.");
  std::vector<const uint8_t*> src(count);
  std::vector<int64_t> len(count);
  uint64_t total = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    size_t length = 0;
    const uint8_t* data = nullptr;
    if (napi_get_element(env, argv[0], i, &item) != napi_ok || !uint8ArrayArg(env, item, &data, &length))
      return fail(env, "tensorRoots: every entry must be a Uint8Array.");
    if (length >= (size_t{1} << 31)) return fail(env, "tensorRoots: a tensor has at most 2^31 - 1 bytes.");
    total += length;
    if (total >= (uint64_t{1} << 36)) return fail(env, "tensorRoots: at most 2^36 bytes at once.");
    src[i] = data;
    len[i] = static_cast<int64_t>(length);
  }
  void* out = nullptr;
  napi_value result;
  if (napi_create_arraybuffer(env, 32 * static_cast<size_t>(count), &out, &result) != napi_ok)
    return fail(env, "tensorRoots: cannot allocate the result.");
  if (count) tensorRoots8(src.data(), len.data(), count, static_cast<uint8_t*>(out));
  return result;
}

// merkleRoot(leaves): the Merkle root (src/commit/merkle.ts) of a Uint8Array of 32-byte leaves
// (at least one), as a new 32-byte ArrayBuffer. AVX-512 only, like tensorRoots.
napi_value MerkleRoot(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 1)
    return fail(env, "merkleRoot takes (leaves).");
  size_t length = 0;
  const uint8_t* data = nullptr;
  if (!uint8ArrayArg(env, argv[0], &data, &length))
    return fail(env, "merkleRoot: the argument must be a Uint8Array.");
  if (length == 0 || length % 32 != 0 || length > (size_t{32} << 24))
    return fail(env, "merkleRoot: the leaves must be 1 to 2^24 hashes of 32 bytes.");
  if (!supported(VNNI512)) return fail(env, "merkleRoot: this CPU lacks AVX-512.");
  void* out = nullptr;
  napi_value result;
  if (napi_create_arraybuffer(env, 32, &out, &result) != napi_ok)
    return fail(env, "merkleRoot: cannot allocate the result.");
  merkleRoot8(data, static_cast<int64_t>(length / 32), static_cast<uint8_t*>(out));
  return result;
}

// paths(): the names of the paths this CPU supports, the fastest first.
napi_value Paths(napi_env env, napi_callback_info) {
  napi_value list;
  napi_create_array(env, &list);
  uint32_t n = 0;
  for (int p = VNNI512; p >= SCALAR; p--) {
    if (!supported(p)) continue;
    napi_value name;
    napi_create_string_utf8(env, PATH_NAMES[p], NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, list, n++, name);
  }
  return list;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"paths", nullptr, Paths, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"op", nullptr, Op, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"tensorRoots", nullptr, TensorRoots, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"merkleRoot", nullptr, MerkleRoot, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, 5, props);
  return exports;
}
