// SPDX-License-Identifier: Apache-2.0
// Content-addressed blob store (containerd's content store, simplified):
//   <root>/blobs/<algo>/<hex>        committed blobs, immutable, written by rename
//   <root>/ingest/<ref>/{data,total}  partial ingests, resumable by ref
//   <root>/leases/<id>               digests (one per line) protected from GC while the lease exists
// A writer hashes as it goes; commit() checks size and digest before the atomic rename, so a
// blob under its name is always complete and correct. Thread-safe.
// One process owns a store: open() drops the leases a killed process left behind (their
// operations are over). Ingests named after a digest (`sha256:<hex>`, see resumable_ref) survive
// a crash so the next download of that blob resumes them; gc removes every other inactive
// ingest, and resumable ones once they are older than a day.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace berth::content {

class Store;

class Writer {
 public:
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  // Bytes already in the ingest (non-zero when resuming).
  std::int64_t offset() const { return offset_; }
  // The ingest's data file (to replay the resumed prefix).
  std::string data_path() const { return dir_ + "/data"; }
  Status write(const void* data, std::size_t n);
  Status write(std::string_view s) { return write(s.data(), s.size()); }
  // Verifies and moves the blob into place. expected_size < 0 = unchecked. Committing content
  // that already exists succeeds (and drops the ingest).
  Result<Digest> commit(const std::optional<Digest>& expected, std::int64_t expected_size = -1);
  // Drops the partial data.
  void abort();
  // Restarts from zero (a registry that ignored a Range request).
  Status truncate();

 private:
  friend class Store;
  Writer(Store& s, std::string ref, std::string dir, UniqueFd fd, DigestAlgo algo);
  Store& store_;
  std::string ref_, dir_;
  UniqueFd fd_;
  DigestAlgo algo_;
  Hasher hasher_;
  std::int64_t offset_ = 0;
  bool done_ = false;
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::string& root);

  const std::string& root() const { return root_; }
  std::string blob_path(const Digest& d) const;
  bool exists(const Digest& d) const;
  Result<std::int64_t> size(const Digest& d) const;
  Result<std::string> read(const Digest& d, std::size_t max = 64u << 20) const;
  Result<UniqueFd> open_blob(const Digest& d) const;
  // Writes and verifies a small blob in one go (configs, manifests).
  Result<Digest> put(std::string_view data, const std::optional<Digest>& expected = std::nullopt);
  // Opens (or resumes) the ingest named `ref` (e.g. the expected digest's string).
  Result<std::unique_ptr<Writer>> writer(const std::string& ref,
                                         DigestAlgo algo = DigestAlgo::Sha256);
  // Hard-links (or, across filesystems, copies) an existing file into the store after hashing
  // it; fails without touching the store when `expected` does not match.
  Result<Digest> adopt_file(const std::string& path, const std::optional<Digest>& expected = std::nullopt);
  Status remove(const Digest& d);
  Result<std::vector<Digest>> list() const;
  // Names of the ingest directories on disk, and of the leases.
  std::vector<std::string> ingests() const;
  std::vector<std::string> leases() const;
  // True for an ingest directory name that gc keeps for resuming (a digest's ref).
  static bool resumable_ingest(const std::string& dir_name);

  // Leases keep blobs alive during multi-step operations (a pull in flight).
  Status lease_add(const std::string& lease, const Digest& d);
  Status lease_drop(const std::string& lease);
  // Removes committed blobs that are neither in `keep` nor under a lease, and stale ingests not
  // active in this process. Returns the bytes reclaimed.
  Result<std::int64_t> gc(const std::set<std::string>& keep);

 private:
  friend class Writer;
  explicit Store(std::string root) : root_(std::move(root)) {}
  std::string root_;
  mutable std::mutex mu_;
  std::set<std::string> active_ingests_;
};

}  // namespace berth::content
