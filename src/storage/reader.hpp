// SPDX-License-Identifier: Apache-2.0
// Pull-style byte streams used by layer extraction: a file descriptor, a decompressor (gzip via
// ISA-L igzip, zstd, or none, detected from magic bytes), and a hashing tee that computes a
// digest (e.g. a layer's diff_id) of everything read through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/digest.hpp"
#include "common/result.hpp"

namespace berth::storage {

class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to n bytes; 0 means end of stream.
  virtual Result<std::size_t> read(void* buf, std::size_t n) = 0;
};

// Reads a borrowed fd (EINTR-safe).
std::unique_ptr<Reader> fd_reader(int fd);
// Reads from memory (the string is copied).
std::unique_ptr<Reader> string_reader(std::string data);

enum class Compression { None, Gzip, Zstd };
// Looks at the first bytes of `src` and returns a reader of the decompressed stream. gzip is
// decoded with ISA-L (multi-member, CRC checked), zstd with libzstd.
Result<std::unique_ptr<Reader>> decompressed(std::unique_ptr<Reader> src,
                                             Compression* detected = nullptr);

// Passes data through and hashes it; total() counts bytes.
class HashingReader : public Reader {
 public:
  HashingReader(Reader& inner, DigestAlgo algo = DigestAlgo::Sha256) : inner_(inner), h_(algo) {}
  Result<std::size_t> read(void* buf, std::size_t n) override;
  // Reads the rest of the stream (so trailing padding is hashed too), then finishes.
  Result<Digest> drain_and_finish();
  std::uint64_t total() const { return total_; }

 private:
  Reader& inner_;
  Hasher h_;
  std::uint64_t total_ = 0;
};

}  // namespace berth::storage
