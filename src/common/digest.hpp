// SPDX-License-Identifier: Apache-2.0
// Content digests ("sha256:<64 hex>", "sha512:<128 hex>") and streaming hashing (SHA-256 with the
// x86 SHA extensions when present; no OpenSSL).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace berth {

enum class DigestAlgo { Sha256, Sha512 };

class Digest {
 public:
  // Validates algorithm and hex (lowercase, exact length).
  static Result<Digest> parse(std::string_view s);
  Digest() = default;
  Digest(DigestAlgo a, std::string hex) : algo_(a), hex_(std::move(hex)) {}

  DigestAlgo algo() const { return algo_; }
  std::string_view algo_name() const { return algo_ == DigestAlgo::Sha256 ? "sha256" : "sha512"; }
  const std::string& hex() const { return hex_; }
  std::string str() const { return std::string(algo_name()) + ":" + hex_; }
  // First 12 hex characters, as docker shows ids.
  std::string short_id() const { return hex_.substr(0, 12); }
  bool empty() const { return hex_.empty(); }
  friend bool operator==(const Digest&, const Digest&) = default;

 private:
  DigestAlgo algo_ = DigestAlgo::Sha256;
  std::string hex_;
};

// Incremental hasher. Not copyable; movable.
class Hasher {
 public:
  explicit Hasher(DigestAlgo algo = DigestAlgo::Sha256);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(const void* data, std::size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // Finishes; the hasher may not be updated afterwards.
  Digest finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Digest digest_of(std::string_view data, DigestAlgo algo = DigestAlgo::Sha256);
Result<Digest> digest_file(const std::string& path, DigestAlgo algo = DigestAlgo::Sha256);

// Tests only: SHA-256 through the portable rounds even where the CPU has the SHA extensions,
// so that both code paths are checked on machines that have them.
void force_portable_sha256_for_tests(bool on);

// SHA-1 (FIPS 180-4), one shot. Only for protocols that require it (the websocket handshake's
// Sec-WebSocket-Accept, RFC 6455); never for content: it is broken for collision resistance.
std::array<std::uint8_t, 20> sha1(std::string_view data);

}  // namespace berth
