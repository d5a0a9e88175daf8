// SPDX-License-Identifier: Apache-2.0
#include "content/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include <fmt/format.h>

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::content {
namespace {

bool valid_ref(const std::string& r) {
  if (r.empty() || r.size() > 200) return false;
  for (char c : r) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':'))
      return false;
  }
  return r != "." && r != "..";
}

std::string ref_dir_name(const std::string& ref) {
  std::string s = ref;
  for (auto& c : s)
    if (c == ':') c = '-';
  return s;
}

}  // namespace

Writer::Writer(Store& s, std::string ref, std::string dir, UniqueFd fd, DigestAlgo algo)
    : store_(s), ref_(std::move(ref)), dir_(std::move(dir)), fd_(std::move(fd)), algo_(algo),
      hasher_(algo) {}

Writer::~Writer() {
  std::lock_guard lk(store_.mu_);
  store_.active_ingests_.erase(ref_dir_name(ref_));
}

Status Writer::write(const void* data, std::size_t n) {
  TRY(write_all(fd_.get(), std::string_view(static_cast<const char*>(data), n)));
  hasher_.update(data, n);
  offset_ += static_cast<std::int64_t>(n);
  return ok();
}

Status Writer::truncate() {
  if (::ftruncate(fd_.get(), 0) != 0 || ::lseek(fd_.get(), 0, SEEK_SET) != 0)
    return fail_errno("truncate ingest", ref_);
  hasher_ = Hasher(algo_);
  offset_ = 0;
  return ok();
}

Result<Digest> Writer::commit(const std::optional<Digest>& expected, std::int64_t expected_size) {
  if (done_) return fail(Errc::Internal, "writer already committed");
  if (expected_size >= 0 && offset_ != expected_size) {
    abort();
    return fail(Errc::DataLoss, fmt::format("unexpected commit size {}, expected {}", offset_,
                                            expected_size));
  }
  Digest got = hasher_.finish();
  done_ = true;
  if (expected && *expected != got) {
    abort();
    return fail(Errc::DataLoss, fmt::format("unexpected commit digest {}, expected {}", got.str(),
                                            expected->str()));
  }
  if (::fsync(fd_.get()) != 0) return fail_errno("fsync ingest", ref_);
  std::string target = store_.blob_path(got);
  TRY(mkdir_all(dirname(target), 0755));
  if (path_exists(target)) {
    abort();
    return got;
  }
  if (::rename((dir_ + "/data").c_str(), target.c_str()) != 0) return fail_errno("rename", target);
  ::chmod(target.c_str(), 0444);
  (void)fsync_dir(dirname(target));
  (void)remove_all(dir_);
  return got;
}

void Writer::abort() {
  done_ = true;
  fd_.reset();
  (void)remove_all(dir_);
}

Result<std::unique_ptr<Store>> Store::open(const std::string& root) {
  for (auto sub : {"/blobs/sha256", "/blobs/sha512", "/ingest", "/leases"})
    TRY(mkdir_all(root + sub, 0700));
  // Leases belong to operations of the process that had the store open; after a crash they
  // would pin blobs forever.
  for (auto& l : list_dir(root + "/leases")) ::unlink((root + "/leases/" + l).c_str());
  return std::unique_ptr<Store>(new Store(root));
}

std::string Store::blob_path(const Digest& d) const {
  return fmt::format("{}/blobs/{}/{}", root_, d.algo_name(), d.hex());
}

bool Store::exists(const Digest& d) const { return !d.empty() && path_exists(blob_path(d)); }

Result<std::int64_t> Store::size(const Digest& d) const {
  struct stat st {};
  if (::stat(blob_path(d).c_str(), &st) != 0) {
    if (errno == ENOENT) return fail(Errc::NotFound, fmt::format("content {} not found", d.str()));
    return fail_errno("stat", d.str());
  }
  return static_cast<std::int64_t>(st.st_size);
}

Result<std::string> Store::read(const Digest& d, std::size_t max) const {
  auto r = read_file(blob_path(d), max);
  if (!r && r.error().is(Errc::NotFound))
    return fail(Errc::NotFound, fmt::format("content {} not found", d.str()));
  return r;
}

Result<UniqueFd> Store::open_blob(const Digest& d) const {
  auto r = open_file(blob_path(d), O_RDONLY);
  if (!r && r.error().is(Errc::NotFound))
    return fail(Errc::NotFound, fmt::format("content {} not found", d.str()));
  return r;
}

Result<Digest> Store::put(std::string_view data, const std::optional<Digest>& expected) {
  Digest d = digest_of(data, expected ? expected->algo() : DigestAlgo::Sha256);
  if (expected && *expected != d)
    return fail(Errc::DataLoss, fmt::format("unexpected digest {}, expected {}", d.str(), expected->str()));
  if (exists(d)) return d;
  auto w = TRY(writer("put-" + random_hex(16), d.algo()));
  TRY(w->write(data));
  return w->commit(d, static_cast<std::int64_t>(data.size()));
}

Result<std::unique_ptr<Writer>> Store::writer(const std::string& ref, DigestAlgo algo) {
  if (!valid_ref(ref)) return fail(Errc::InvalidArgument, fmt::format("invalid ingest ref {}", ref));
  std::string name = ref_dir_name(ref);
  {
    std::lock_guard lk(mu_);
    if (!active_ingests_.insert(name).second)
      return fail(Errc::Unavailable, fmt::format("ingest {} is locked by another writer", ref));
  }
  std::string dir = root_ + "/ingest/" + name;
  auto unlock = [&] {
    std::lock_guard lk(mu_);
    active_ingests_.erase(name);
  };
  if (auto s = mkdir_all(dir, 0700); !s) {
    unlock();
    return fail(std::move(s.error()));
  }
  int fd = ::open((dir + "/data").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    unlock();
    return fail_errno("open ingest", ref);
  }
  std::unique_ptr<Writer> w(new Writer(*this, ref, dir, UniqueFd(fd), algo));
  // Resume: re-hash what is there.
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t k = ::read(fd, buf.data(), buf.size());
    if (k < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read ingest", ref);
    }
    if (k == 0) break;
    w->hasher_.update(buf.data(), static_cast<std::size_t>(k));
    w->offset_ += k;
  }
  return w;
}

Result<Digest> Store::adopt_file(const std::string& path, const std::optional<Digest>& expected) {
  Digest d = TRY(digest_file(path, expected ? expected->algo() : DigestAlgo::Sha256));
  if (expected && *expected != d)
    return fail(Errc::DataLoss, fmt::format("unexpected digest {}, expected {}", d.str(), expected->str()));
  if (exists(d)) return d;
  std::string target = blob_path(d);
  if (::link(path.c_str(), target.c_str()) != 0) {
    if (errno == EEXIST) return d;
    if (errno != EXDEV) return fail_errno("link", path);
    auto fd = TRY(open_file(path, O_RDONLY));
    auto w = TRY(writer("adopt-" + random_hex(16), d.algo()));
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t k = ::read(fd.get(), buf.data(), buf.size());
      if (k < 0) return fail_errno("read", path);
      if (k == 0) break;
      TRY(w->write(buf.data(), static_cast<std::size_t>(k)));
    }
    return w->commit(d);
  }
  ::chmod(target.c_str(), 0444);
  (void)fsync_dir(dirname(target));
  return d;
}

Status Store::remove(const Digest& d) {
  if (::unlink(blob_path(d).c_str()) != 0 && errno != ENOENT) return fail_errno("remove", d.str());
  return ok();
}

Result<std::vector<Digest>> Store::list() const {
  std::vector<Digest> out;
  for (auto algo : {"sha256", "sha512"}) {
    for (auto& n : list_dir(root_ + "/blobs/" + algo)) {
      auto d = Digest::parse(std::string(algo) + ":" + n);
      if (d) out.push_back(*d);
    }
  }
  return out;
}

Status Store::lease_add(const std::string& lease, const Digest& d) {
  if (!valid_ref(lease)) return fail(Errc::InvalidArgument, "invalid lease id");
  std::lock_guard lk(mu_);
  std::string path = root_ + "/leases/" + lease;
  std::string cur = path_exists(path) ? read_file(path).value_or("") : "";
  cur += d.str() + "\n";
  return atomic_write_file(path, cur, 0600);
}

Status Store::lease_drop(const std::string& lease) {
  if (!valid_ref(lease)) return fail(Errc::InvalidArgument, "invalid lease id");
  if (::unlink((root_ + "/leases/" + lease).c_str()) != 0 && errno != ENOENT)
    return fail_errno("remove lease", lease);
  return ok();
}

Result<std::int64_t> Store::gc(const std::set<std::string>& keep_in) {
  std::set<std::string> keep = keep_in;
  std::lock_guard lk(mu_);
  for (auto& l : list_dir(root_ + "/leases")) {
    for (auto& line : split(read_file(root_ + "/leases/" + l).value_or(""), '\n'))
      if (!line.empty()) keep.insert(line);
  }
  std::int64_t freed = 0;
  for (auto algo : {"sha256", "sha512"}) {
    for (auto& n : list_dir(root_ + "/blobs/" + algo)) {
      std::string key = std::string(algo) + ":" + n;
      if (keep.count(key)) continue;
      std::string p = root_ + "/blobs/" + algo + "/" + n;
      struct stat st {};
      if (::stat(p.c_str(), &st) == 0) freed += st.st_size;
      ::unlink(p.c_str());
    }
  }
  const std::time_t stale = std::time(nullptr) - 24 * 3600;
  for (auto& n : list_dir(root_ + "/ingest")) {
    if (active_ingests_.count(n)) continue;
    std::string p = root_ + "/ingest/" + n;
    struct stat st {};
    if (resumable_ingest(n) && ::stat((p + "/data").c_str(), &st) == 0 && st.st_mtime >= stale) continue;
    (void)remove_all(p);
  }
  return freed;
}

std::vector<std::string> Store::ingests() const { return list_dir(root_ + "/ingest"); }

std::vector<std::string> Store::leases() const { return list_dir(root_ + "/leases"); }

bool Store::resumable_ingest(const std::string& n) {
  auto d = Digest::parse(n.starts_with("sha256-") ? "sha256:" + n.substr(7)
                         : n.starts_with("sha512-") ? "sha512:" + n.substr(7)
                                                    : std::string());
  return static_cast<bool>(d);
}

}  // namespace berth::content
