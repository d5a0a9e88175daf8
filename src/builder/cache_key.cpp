// SPDX-License-Identifier: Apache-2.0
#include "builder/cache_key.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "builder/dockerfile/utf8.hpp"
#include "builder/dockerignore.hpp"
#include "builder/gomatch.hpp"
#include "common/digest.hpp"

namespace berth::builder {

namespace fs = std::filesystem;

namespace {

bool has_meta(std::string_view s) { return s.find_first_of("*?[\\") != std::string_view::npos; }

std::string hex_mode(unsigned m) {
  char b[16];
  std::snprintf(b, sizeof b, "%o", m);
  return b;
}

}  // namespace

Result<bool> go_path_match(std::string_view pattern, std::string_view name) {
  return go_filepath_match(pattern, name);
}

// ---------- DirContextHasher ----------

struct DirContextHasher::Impl {
  std::string root;
  std::vector<std::string> ignore;
  bool walked = false;
  struct Entry {
    std::string rel;
    unsigned mode = 0;
    std::string link;
  };
  std::vector<Entry> entries;  // sorted by rel
  std::map<std::string, std::string> content;  // rel -> sha256 hex (cached for this hasher)

  Status walk() {
    if (walked) return ok();
    auto pm = TRY(PatternMatcher::create(ignore));
    std::error_code ec;
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
    if (ec) return fail(Errc::NotFound, "build context " + root + ": " + ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) return fail(Errc::Internal, "walking build context: " + ec.message());
      std::string rel = it->path().lexically_relative(root).generic_string();  // not fs::relative: it resolves symlinks
      struct stat st {};
      if (::lstat(it->path().c_str(), &st) != 0) return fail_errno("lstat", it->path().string());
      bool excluded = false;
      if (!pm.empty()) excluded = TRY(pm.matches_or_parent_matches(rel));
      if (excluded) {
        if (S_ISDIR(st.st_mode) && !pm.exclusions()) it.disable_recursion_pending();
        continue;
      }
      Entry e;
      e.rel = rel;
      e.mode = st.st_mode;
      if (S_ISLNK(st.st_mode)) {
        e.link = fs::read_symlink(it->path(), ec).string();
      }
      entries.push_back(std::move(e));
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.rel < b.rel; });
    walked = true;
    return ok();
  }

  Result<std::string> content_digest(const std::string& rel) {
    auto it = content.find(rel);
    if (it != content.end()) return it->second;
    auto d = TRY(digest_file(root + "/" + rel));
    content.emplace(rel, d.hex());
    return d.hex();
  }
};

DirContextHasher::DirContextHasher() : impl_(std::make_unique<Impl>()) {}
DirContextHasher::~DirContextHasher() = default;

Result<std::unique_ptr<DirContextHasher>> DirContextHasher::open(std::string root,
                                                                 std::vector<std::string> ignore_patterns) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) return fail_errno("stat build context", root);
  if (!S_ISDIR(st.st_mode)) return fail(Errc::InvalidArgument, "build context " + root + " is not a directory");
  std::unique_ptr<DirContextHasher> h(new DirContextHasher());
  h->impl_->root = std::move(root);
  h->impl_->ignore = std::move(ignore_patterns);
  TRY(PatternMatcher::create(h->impl_->ignore));  // validate early
  return h;
}

Result<std::unique_ptr<DirContextHasher>> DirContextHasher::from_index(std::vector<ContextEntry> entries,
                                                                       std::vector<std::string> ignore_patterns) {
  std::unique_ptr<DirContextHasher> h(new DirContextHasher());
  auto pm = TRY(PatternMatcher::create(ignore_patterns));
  auto& im = *h->impl_;
  for (auto& e : entries) {
    if (e.rel.empty() || e.rel == ".") continue;
    if (!pm.empty() && TRY(pm.matches_or_parent_matches(e.rel))) continue;
    if (S_ISREG(e.mode)) im.content[e.rel] = std::move(e.sha256_hex);
    im.entries.push_back({std::move(e.rel), e.mode, std::move(e.link)});
  }
  std::sort(im.entries.begin(), im.entries.end(), [](const Impl::Entry& a, const Impl::Entry& b) { return a.rel < b.rel; });
  im.ignore = std::move(ignore_patterns);
  im.walked = true;
  return h;
}

Result<std::vector<std::string>> DirContextHasher::files() {
  TRY(impl_->walk());
  std::vector<std::string> out;
  for (const auto& e : impl_->entries) out.push_back(e.rel);
  return out;
}

Result<std::string> DirContextHasher::hash_sources(const std::vector<std::string>& sources) {
  TRY(impl_->walk());
  const auto& entries = impl_->entries;
  std::vector<std::size_t> selected;
  for (const auto& src : sources) {
    std::string rel = go_clean_path("/" + src);
    rel.erase(0, 1);  // drop the leading '/'
    bool any = false;
    auto under = [](const std::string& path, const std::string& dir) {
      return dir.empty() || path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                                            path[dir.size()] == '/');
    };
    if (has_meta(rel)) {
      std::vector<std::string> roots;
      for (const auto& e : entries) {
        if (TRY(go_path_match(rel, e.rel))) roots.push_back(e.rel);
      }
      for (std::size_t i = 0; i < entries.size(); ++i) {
        for (const auto& r : roots) {
          if (under(entries[i].rel, r)) {
            selected.push_back(i);
            break;
          }
        }
      }
      any = true;  // an empty wildcard match is allowed
    } else {
      for (std::size_t i = 0; i < entries.size(); ++i) {
        if (under(entries[i].rel, rel)) {
          selected.push_back(i);
          any = true;
        }
      }
    }
    if (!any) return fail(Errc::NotFound, "failed to compute cache key: \"/" + rel + "\": not found");
  }
  std::sort(selected.begin(), selected.end());
  selected.erase(std::unique(selected.begin(), selected.end()), selected.end());
  Hasher h;
  for (auto i : selected) {
    const auto& e = entries[i];
    h.update(e.rel);
    h.update(std::string_view("\0", 1));
    h.update(hex_mode(e.mode));
    h.update(std::string_view("\0", 1));
    if (S_ISREG(e.mode)) {
      h.update(TRY(impl_->content_digest(e.rel)));
    } else if (S_ISLNK(e.mode)) {
      h.update(e.link);
    }
    h.update("\n");
  }
  return h.finish().str();
}

// ---------- keys ----------

namespace {

bool is_remote(std::string_view src) {
  return src.rfind("http://", 0) == 0 || src.rfind("https://", 0) == 0 || src.rfind("git@", 0) == 0 ||
         src.rfind("git://", 0) == 0;
}

void field(Hasher& h, std::string_view tag, std::string_view v) {
  h.update(tag);
  h.update("=");
  h.update(std::to_string(v.size()));
  h.update(":");
  h.update(v);
  h.update("\n");
}

}  // namespace

Result<CacheKeys> compute_cache_keys(const Plan& plan, ContextHasher& ctx, const ImageResolver& resolve) {
  CacheKeys keys;
  const std::size_t n = plan.stages.size();
  keys.base.resize(n);
  keys.steps.resize(n);
  keys.final_key.resize(n);
  auto image_id = [&](const std::string& ref, const std::string& platform) {
    return resolve ? resolve(ref, platform) : std::string();
  };
  for (const auto& st : plan.stages) {
    if (!plan.needed[st.index]) continue;
    Hasher bh;
    if (st.base_stage) {
      field(bh, "stage", keys.final_key[*st.base_stage]);
    } else {
      field(bh, "image", st.base);
      field(bh, "id", image_id(st.base, st.platform));
    }
    field(bh, "platform", st.platform);
    std::string parent = bh.finish().str();
    keys.base[st.index] = parent;

    for (const auto& ins : st.instructions) {
      Hasher h;
      field(h, "parent", parent);
      field(h, "op", instr_name(ins.kind));
      field(h, "json", ins.json ? "1" : "0");
      for (const auto& f : ins.flags) field(h, "flag", f.name + (f.has_value ? "=" + f.value : ""));
      for (const auto& a : ins.args) field(h, "arg", a);
      if (ins.kind == InstrKind::Onbuild) field(h, "trigger", ins.trigger);
      for (const auto& d : ins.heredocs) {
        field(h, "heredoc", d.name);
        field(h, "heredoc-opts", std::to_string(d.file_descriptor) + (d.expand ? "e" : "") + (d.chomp ? "c" : ""));
        field(h, "heredoc-body", d.content);
      }
      if (ins.kind == InstrKind::Run) {
        for (const auto& [k, v] : ins.args_in_scope) field(h, "buildarg", k + "=" + v);
        for (const auto& f : ins.flags) {
          if (f.name != "mount") continue;
          std::string from;
          for (std::size_t i = 0; i <= f.value.size();) {
            auto j = f.value.find(',', i);
            if (j == std::string::npos) j = f.value.size();
            auto kv = f.value.substr(i, j - i);
            if (kv.rfind("from=", 0) == 0) from = kv.substr(5);
            i = j + 1;
          }
          if (from.empty()) continue;
          bool found = false;
          for (auto dep : st.deps) {
            const auto& ds = plan.stages[dep];
            if (ds.name == from || std::to_string(dep) == from) {
              field(h, "mount-stage", keys.final_key[dep]);
              found = true;
            }
          }
          if (!found) field(h, "mount-image", from + "@" + image_id(from, st.platform));
        }
      }
      if (ins.kind == InstrKind::Copy || ins.kind == InstrKind::Add) {
        std::vector<std::string> sources;
        for (std::size_t i = 0; i + 1 < ins.args.size(); ++i) {
          const auto& s = ins.args[i];
          bool heredoc = false;
          for (const auto& d : ins.heredocs) heredoc = heredoc || (s.rfind("<<", 0) == 0 && s.find(d.name) != std::string::npos);
          if (heredoc) continue;
          if (ins.kind == InstrKind::Add && is_remote(s)) continue;  // identified by URL (+ --checksum)
          sources.push_back(s);
        }
        const Flag* from = ins.flag("from");
        if (from && !from->value.empty()) {
          bool found = false;
          for (auto dep : st.deps) {
            const auto& ds = plan.stages[dep];
            std::string lv = from->value;
            for (auto& c : lv) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (ds.name == lv || std::to_string(dep) == from->value) {
              field(h, "from-stage", keys.final_key[dep]);
              found = true;
            }
          }
          if (!found) field(h, "from-image", from->value + "@" + image_id(from->value, st.platform));
        } else if (!sources.empty()) {
          auto r = ctx.hash_sources(sources);
          if (!r) {
            return fail(Error(r.error().code(), "dockerfile line " + std::to_string(ins.line) + ": " +
                                                    r.error().message()));
          }
          field(h, "context", *r);
        }
      }
      parent = h.finish().str();
      keys.steps[st.index].push_back(parent);
    }
    keys.final_key[st.index] = parent;
  }
  return keys;
}

}  // namespace berth::builder
