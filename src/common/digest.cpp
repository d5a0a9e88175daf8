// SPDX-License-Identifier: Apache-2.0
#include "common/digest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth {

Result<Digest> Digest::parse(std::string_view s) {
  auto [algo, hex] = split_once(s, ':');
  DigestAlgo a;
  std::size_t len;
  if (algo == "sha256") {
    a = DigestAlgo::Sha256;
    len = 64;
  } else if (algo == "sha512") {
    a = DigestAlgo::Sha512;
    len = 128;
  } else {
    return fail(Errc::InvalidArgument, "invalid digest \"" + std::string(s) +
                                           "\": unsupported algorithm");
  }
  if (hex.size() != len) {
    return fail(Errc::InvalidArgument, "invalid digest \"" + std::string(s) + "\": wrong length");
  }
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return fail(Errc::InvalidArgument, "invalid digest \"" + std::string(s) + "\": not hex");
  }
  return Digest(a, std::string(hex));
}

// SHA-256 and SHA-512 (FIPS 180-4) of our own instead of OpenSSL's EVP: EVP_sha256 loads
// OpenSSL's provider machinery (≈ 2 MB of libcrypto pages resident in berthd after the first
// `docker load`), and berthd need not load libcrypto at all unless TLS is used. SHA-256 uses the
// x86 SHA extensions when the CPU has them (≈ OpenSSL's speed), else the portable rounds.
namespace {

constexpr std::uint32_t kK256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr std::uint64_t kK512[80] = {
    0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc, 0x3956c25bf348b538,
    0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118, 0xd807aa98a3030242, 0x12835b0145706fbe,
    0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2, 0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235,
    0xc19bf174cf692694, 0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
    0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5, 0x983e5152ee66dfab,
    0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4, 0xc6e00bf33da88fc2, 0xd5a79147930aa725,
    0x06ca6351e003826f, 0x142929670a0e6e70, 0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed,
    0x53380d139d95b3df, 0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
    0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30, 0xd192e819d6ef5218,
    0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8, 0x19a4c116b8d2d0c8, 0x1e376c085141ab53,
    0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8, 0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373,
    0x682e6ff3d6b2b8a3, 0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
    0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b, 0xca273eceea26619c,
    0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178, 0x06f067aa72176fba, 0x0a637dc5a2c898a6,
    0x113f9804bef90dae, 0x1b710b35131c471b, 0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc,
    0x431d67c49c100d4c, 0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817};

template <class T>
constexpr T rotr(T x, int n) {
  return (x >> n) | (x << (sizeof(T) * 8 - n));
}

std::uint32_t load_be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
std::uint64_t load_be64(const unsigned char* p) {
  return (std::uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}

void sha256_blocks_portable(std::uint32_t st[8], const unsigned char* p, std::size_t blocks) {
  for (; blocks; --blocks, p += 64) {
    std::uint32_t w[64];
    for (int t = 0; t < 16; ++t) w[t] = load_be32(p + 4 * t);
    for (int t = 16; t < 64; ++t) {
      std::uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
      std::uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    std::uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
    for (int t = 0; t < 64; ++t) {
      std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK256[t] + w[t];
      std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    st[0] += a, st[1] += b, st[2] += c, st[3] += d, st[4] += e, st[5] += f, st[6] += g, st[7] += h;
  }
}

#if defined(__x86_64__)
// The SHA extensions: two rounds per sha256rnds2 on the state split as ABEF/CDGH, the message
// schedule with sha256msg1/msg2 (Intel's "New Instructions Supporting the Secure Hash Algorithm").
__attribute__((target("sha,sse4.1,ssse3"))) void sha256_blocks_shani(std::uint32_t st[8], const unsigned char* p,
                                                                    std::size_t blocks) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(st)), 0xB1);     // CDAB
  __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(st + 4)), 0x1B);  // EFGH
  __m128i s0 = _mm_alignr_epi8(tmp, s1, 8);                                                          // ABEF
  s1 = _mm_blend_epi16(s1, tmp, 0xF0);                                                               // CDGH
  for (; blocks; --blocks, p += 64) {
    const __m128i abef = s0, cdgh = s1;
    __m128i w[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      if (i < 4) {
        w[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)), bswap);
      } else {
        __m128i x = _mm_add_epi32(_mm_sha256msg1_epu32(w[i - 4], w[i - 3]), _mm_alignr_epi8(w[i - 1], w[i - 2], 4));
        w[i] = _mm_sha256msg2_epu32(x, w[i - 1]);
      }
      __m128i m = _mm_add_epi32(w[i], _mm_loadu_si128(reinterpret_cast<const __m128i*>(kK256 + 4 * i)));
      s1 = _mm_sha256rnds2_epu32(s1, s0, m);
      s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0E));
    }
    s0 = _mm_add_epi32(s0, abef);
    s1 = _mm_add_epi32(s1, cdgh);
  }
  tmp = _mm_shuffle_epi32(s0, 0x1B);  // FEBA
  s1 = _mm_shuffle_epi32(s1, 0xB1);   // DCHG
  _mm_storeu_si128(reinterpret_cast<__m128i*>(st), _mm_blend_epi16(tmp, s1, 0xF0));     // DCBA
  _mm_storeu_si128(reinterpret_cast<__m128i*>(st + 4), _mm_alignr_epi8(s1, tmp, 8));  // HGFE
}

bool cpu_has_sha() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  if (!(c & bit_SSSE3) || !(c & bit_SSE4_1)) return false;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return (b & bit_SHA) != 0;
}
#endif

using Sha256Blocks = void (*)(std::uint32_t*, const unsigned char*, std::size_t);

std::atomic<bool> g_force_portable{false};

Sha256Blocks sha256_blocks() {
  if (g_force_portable.load(std::memory_order_relaxed)) return sha256_blocks_portable;
#if defined(__x86_64__)
  static const Sha256Blocks f = cpu_has_sha() ? sha256_blocks_shani : sha256_blocks_portable;
  return f;
#else
  return sha256_blocks_portable;
#endif
}

void sha512_blocks(std::uint64_t st[8], const unsigned char* p, std::size_t blocks) {
  for (; blocks; --blocks, p += 128) {
    std::uint64_t w[80];
    for (int t = 0; t < 16; ++t) w[t] = load_be64(p + 8 * t);
    for (int t = 16; t < 80; ++t) {
      std::uint64_t s0 = rotr(w[t - 15], 1) ^ rotr(w[t - 15], 8) ^ (w[t - 15] >> 7);
      std::uint64_t s1 = rotr(w[t - 2], 19) ^ rotr(w[t - 2], 61) ^ (w[t - 2] >> 6);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    std::uint64_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
    for (int t = 0; t < 80; ++t) {
      std::uint64_t t1 = h + (rotr(e, 14) ^ rotr(e, 18) ^ rotr(e, 41)) + ((e & f) ^ (~e & g)) + kK512[t] + w[t];
      std::uint64_t t2 = (rotr(a, 28) ^ rotr(a, 34) ^ rotr(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    st[0] += a, st[1] += b, st[2] += c, st[3] += d, st[4] += e, st[5] += f, st[6] += g, st[7] += h;
  }
}

}  // namespace

struct Hasher::Impl {
  DigestAlgo algo;
  std::uint32_t s256[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                           0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::uint64_t s512[8] = {0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
                           0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179};
  unsigned char buf[128];
  std::size_t buffered = 0;
  std::uint64_t total = 0;  // bytes; SHA-512's 128-bit length never exceeds 2^64 bytes here

  std::size_t block() const { return algo == DigestAlgo::Sha256 ? 64 : 128; }
  void blocks(const unsigned char* p, std::size_t n) {
    if (algo == DigestAlgo::Sha256)
      sha256_blocks()(s256, p, n);
    else
      sha512_blocks(s512, p, n);
  }
};

Hasher::Hasher(DigestAlgo algo) : impl_(std::make_unique<Impl>()) { impl_->algo = algo; }
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(const void* data, std::size_t n) {
  Impl& h = *impl_;
  const auto* p = static_cast<const unsigned char*>(data);
  const std::size_t bs = h.block();
  h.total += n;
  if (h.buffered) {
    std::size_t take = std::min(n, bs - h.buffered);
    std::memcpy(h.buf + h.buffered, p, take);
    h.buffered += take, p += take, n -= take;
    if (h.buffered < bs) return;
    h.blocks(h.buf, 1);
    h.buffered = 0;
  }
  if (n >= bs) {
    h.blocks(p, n / bs);
    p += n / bs * bs;
    n %= bs;
  }
  std::memcpy(h.buf, p, n);
  h.buffered = n;
}

Digest Hasher::finish() {
  Impl& h = *impl_;
  const std::size_t bs = h.block();
  const std::size_t len_bytes = bs == 64 ? 8 : 16;
  const std::uint64_t bits = h.total * 8;
  h.buf[h.buffered++] = 0x80;
  if (h.buffered > bs - len_bytes) {
    std::memset(h.buf + h.buffered, 0, bs - h.buffered);
    h.blocks(h.buf, 1);
    h.buffered = 0;
  }
  std::memset(h.buf + h.buffered, 0, bs - h.buffered);
  for (int i = 0; i < 8; ++i) h.buf[bs - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
  h.blocks(h.buf, 1);
  unsigned char md[64];
  std::size_t len;
  if (h.algo == DigestAlgo::Sha256) {
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 4; ++j) md[4 * i + j] = static_cast<unsigned char>(h.s256[i] >> (24 - 8 * j));
    len = 32;
  } else {
    for (int i = 0; i < 8; ++i)
      for (int j = 0; j < 8; ++j) md[8 * i + j] = static_cast<unsigned char>(h.s512[i] >> (56 - 8 * j));
    len = 64;
  }
  return Digest(h.algo, hex_encode(md, len));
}

Digest digest_of(std::string_view data, DigestAlgo algo) {
  Hasher h(algo);
  h.update(data);
  return h.finish();
}

Result<Digest> digest_file(const std::string& path, DigestAlgo algo) {
  auto fd = TRY(open_file(path, O_RDONLY));
  Hasher h(algo);
  char buf[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd.get(), buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read", path);
    }
    if (r == 0) break;
    h.update(buf, static_cast<std::size_t>(r));
  }
  return h.finish();
}

void force_portable_sha256_for_tests(bool on) { g_force_portable.store(on); }

}  // namespace berth
