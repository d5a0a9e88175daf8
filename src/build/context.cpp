// SPDX-License-Identifier: Apache-2.0
#include "build/context.hpp"

#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include <set>

#include "builder/dockerignore.hpp"
#include "common/digest.hpp"
#include "common/file.hpp"

namespace berth::build {

namespace {

struct Ctx {
  storage::Reader* in;
  int spool;
  std::vector<char> buf = std::vector<char>(1 << 20);
  std::uint64_t bytes = 0;
  bool failed = false;
  Error err{Errc::Internal, ""};
};

la_ssize_t read_cb(struct archive*, void* p, const void** out) {
  auto* c = static_cast<Ctx*>(p);
  auto r = c->in->read(c->buf.data(), c->buf.size());
  if (r && *r > 0) {
    if (auto w = write_all(c->spool, std::string_view(c->buf.data(), *r)); !w) r = fail(std::move(w).error());
  }
  if (!r) {
    c->err = std::move(r.error());
    c->failed = true;
    return -1;
  }
  c->bytes += *r;
  *out = c->buf.data();
  return static_cast<la_ssize_t>(*r);
}

// "./a//b/" -> "a/b"; "" for the root. Names that climb out are cleaned into the root, as
// the extraction confines them.
std::string clean_name(const char* raw) {
  std::string p = builder::go_clean_path(std::string("/") + (raw ? raw : ""));
  return p.size() <= 1 ? std::string() : p.substr(1);
}

}  // namespace

Result<ContextIndex> index_context_tar(storage::Reader& in, int spool_fd, const std::vector<std::string>& wanted,
                                       std::size_t max_file) {
  struct archive* a = archive_read_new();
  struct Free {
    struct archive* a;
    ~Free() { archive_read_free(a); }
  } free_a{a};
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  Ctx ctx{&in, spool_fd};
  auto tar_error = [&]() -> Error {
    if (ctx.failed) return std::move(ctx.err);
    const char* m = archive_error_string(a);
    return Error(Errc::InvalidArgument, std::string("tar: ") + (m ? m : "invalid archive"));
  };
  if (archive_read_open(a, &ctx, nullptr, read_cb, nullptr) != ARCHIVE_OK) return fail(tar_error());
  ContextIndex out;
  std::map<std::string, builder::ContextEntry> by_name;
  std::set<std::string> want(wanted.begin(), wanted.end());
  for (;;) {
    struct archive_entry* e = nullptr;
    int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return fail(tar_error());
    std::string name = clean_name(archive_entry_pathname(e));
    if (name.empty()) continue;
    builder::ContextEntry ce;
    ce.rel = name;
    ce.mode = static_cast<unsigned>(archive_entry_mode(e));
    if (const char* hl = archive_entry_hardlink(e); hl && *hl) {
      // A hard link: the target's content and mode.
      auto it = by_name.find(clean_name(hl));
      if (it != by_name.end()) {
        ce.mode = it->second.mode;
        ce.sha256_hex = it->second.sha256_hex;
        ce.link = it->second.link;
      }
      if (want.count(name) && it != by_name.end() && out.files.count(it->second.rel))
        out.files[name] = out.files[it->second.rel];
    } else if (S_ISLNK(ce.mode)) {
      const char* t = archive_entry_symlink(e);
      ce.link = t ? t : "";
      if (want.count(name)) out.links[name] = ce.link;
    } else if (S_ISREG(ce.mode)) {
      Hasher h;
      bool keep = want.count(name) > 0;
      std::string content;
      for (;;) {
        const void* buf = nullptr;
        size_t len = 0;
        la_int64_t off = 0;
        int r = archive_read_data_block(a, &buf, &len, &off);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) return fail(tar_error());
        h.update(buf, len);
        if (keep) {
          if (content.size() + len > max_file) return fail(Errc::InvalidArgument, name + " is larger than the limit");
          content.append(static_cast<const char*>(buf), len);
        }
      }
      ce.sha256_hex = h.finish().hex();
      if (keep) out.files[name] = std::move(content);
    }
    // A later entry of the same name replaces the earlier one.
    if (ce.sha256_hex.empty() || !S_ISREG(ce.mode)) out.files.erase(name);
    if (!S_ISLNK(ce.mode)) out.links.erase(name);
    by_name[name] = std::move(ce);
  }
  if (ctx.failed) return fail(std::move(ctx.err));
  // Implicit parent directories, as extraction creates them.
  std::vector<std::string> names;
  for (auto& [n, e] : by_name) names.push_back(n);
  for (const auto& n : names)
    for (auto s = n.rfind('/'); s != std::string::npos && s > 0; s = n.rfind('/', s - 1)) {
      std::string parent = n.substr(0, s);
      if (by_name.count(parent)) break;
      builder::ContextEntry d;
      d.rel = parent;
      d.mode = S_IFDIR | 0755;
      by_name[parent] = std::move(d);
    }
  for (auto& [n, e] : by_name) out.entries.push_back(std::move(e));
  out.bytes = ctx.bytes;
  return out;
}

}  // namespace berth::build
