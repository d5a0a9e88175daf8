// SPDX-License-Identifier: Apache-2.0
// Test helper: builds tar streams in memory with libarchive (used by unit and integration tests).
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <string>

namespace berth::storage::testing {

class TarBuilder {
 public:
  // filter: "" | "gzip" | "zstd"
  explicit TarBuilder(const std::string& filter = "") {
    a_ = archive_write_new();
    archive_write_set_format_pax_restricted(a_);
    if (filter == "gzip") archive_write_add_filter_gzip(a_);
    if (filter == "zstd") archive_write_add_filter_zstd(a_);
    archive_write_set_bytes_per_block(a_, 0);
    archive_write_open(a_, &out_, nullptr, &TarBuilder::write_cb, nullptr);
  }
  ~TarBuilder() {
    if (a_) archive_write_free(a_);
  }
  TarBuilder& file(const std::string& name, const std::string& data, int mode = 0644,
                   int uid = 0, int gid = 0) {
    auto* e = entry(name, AE_IFREG, mode, uid, gid);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_write_header(a_, e);
    archive_write_data(a_, data.data(), data.size());
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& dir(const std::string& name, int mode = 0755) {
    auto* e = entry(name, AE_IFDIR, mode, 0, 0);
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& symlink(const std::string& name, const std::string& target) {
    auto* e = entry(name, AE_IFLNK, 0777, 0, 0);
    archive_entry_set_symlink(e, target.c_str());
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& hardlink(const std::string& name, const std::string& target) {
    auto* e = entry(name, AE_IFREG, 0644, 0, 0);
    archive_entry_set_hardlink(e, target.c_str());
    archive_entry_set_size(e, 0);
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  TarBuilder& chardev(const std::string& name, int major, int minor) {
    auto* e = entry(name, AE_IFCHR, 0666, 0, 0);
    archive_entry_set_rdevmajor(e, major);
    archive_entry_set_rdevminor(e, minor);
    archive_write_header(a_, e);
    archive_entry_free(e);
    return *this;
  }
  std::string finish() {
    archive_write_close(a_);
    archive_write_free(a_);
    a_ = nullptr;
    return out_;
  }

 private:
  archive_entry* entry(const std::string& name, unsigned type, int mode, int uid, int gid) {
    auto* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, static_cast<mode_t>(mode));
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, gid);
    archive_entry_set_mtime(e, 1700000000, 0);
    return e;
  }
  static la_ssize_t write_cb(struct archive*, void* p, const void* buf, size_t n) {
    static_cast<std::string*>(p)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  struct archive* a_ = nullptr;
  std::string out_;
};

}  // namespace berth::storage::testing
