// SPDX-License-Identifier: Apache-2.0
// Unit tests of the executor pieces: COPY semantics on plain directories, the cache index,
// Go durations, and a whole build against an in-memory backend (directories as snapshots).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "build/cache.hpp"
#include "build/copy.hpp"
#include "build/executor.hpp"
#include "common/digest.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::build {
namespace {

namespace fs = std::filesystem;

struct TmpDir {
  std::string path;
  TmpDir() {
    char t[] = "/tmp/berth-test-build-XXXXXX";
    path = ::mkdtemp(t);
  }
  ~TmpDir() { (void)remove_all(path); }
};

void put(const std::string& p, const std::string& data, mode_t mode = 0644) {
  ASSERT_TRUE(mkdir_all(dirname(p), 0755));
  ASSERT_TRUE(write_file(p, data, mode));
  ::chmod(p.c_str(), mode);
}
std::string get(const std::string& p) {
  auto r = read_file(p);
  return r ? *r : "<missing>";
}

TEST(BuildCopy, FileDirWildcardAndDestRules) {
  TmpDir ctx, root;
  put(ctx.path + "/a.txt", "A");
  put(ctx.path + "/b.txt", "B", 0755);
  put(ctx.path + "/dir/x", "X");
  put(ctx.path + "/dir/sub/y", "Y");
  ::symlink("x", (ctx.path + "/dir/lnk").c_str());
  CopyOptions o;
  ASSERT_TRUE(copy_into(ctx.path, {"a.txt"}, "/out/renamed", "/", root.path, o));
  EXPECT_EQ(get(root.path + "/out/renamed"), "A");
  ASSERT_TRUE(copy_into(ctx.path, {"*.txt"}, "/multi/", "/", root.path, o));
  EXPECT_EQ(get(root.path + "/multi/a.txt"), "A");
  EXPECT_EQ(get(root.path + "/multi/b.txt"), "B");
  struct stat st {};
  ASSERT_EQ(::stat((root.path + "/multi/b.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  // A directory source copies its content; relative dest is below WORKDIR.
  ASSERT_TRUE(copy_into(ctx.path, {"dir"}, "app", "/work", root.path, o));
  EXPECT_EQ(get(root.path + "/work/app/x"), "X");
  EXPECT_EQ(get(root.path + "/work/app/sub/y"), "Y");
  char buf[64] = {0};
  ASSERT_GT(::readlink((root.path + "/work/app/lnk").c_str(), buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "x");
  // Several sources need a directory destination.
  auto bad = copy_into(ctx.path, {"a.txt", "b.txt"}, "/nodir", "/", root.path, o);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("must be a directory"), std::string::npos);
  // A missing plain source is an error; an empty wildcard is not.
  EXPECT_FALSE(copy_into(ctx.path, {"nope"}, "/x/", "/", root.path, o));
  EXPECT_TRUE(copy_into(ctx.path, {"*.none"}, "/x/", "/", root.path, o));
  // --chmod and --parents
  CopyOptions o2;
  o2.chmod = 0600;
  o2.parents = true;
  ASSERT_TRUE(copy_into(ctx.path, {"dir/sub/y"}, "/p/", "/", root.path, o2));
  ASSERT_EQ(::stat((root.path + "/p/dir/sub/y").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(BuildCopy, DestinationSymlinksStayInsideRoot) {
  TmpDir ctx, root, outside;
  put(ctx.path + "/f", "F");
  ASSERT_TRUE(mkdir_all(root.path + "/etc", 0755));
  ::symlink(outside.path.c_str(), (root.path + "/evil").c_str());  // absolute: resolves in root
  ASSERT_TRUE(copy_into(ctx.path, {"f"}, "/evil/", "/", root.path, CopyOptions{}));
  EXPECT_FALSE(path_exists(outside.path + "/f"));
  EXPECT_EQ(get(root.path + outside.path + "/f"), "F");
}

TEST(BuildCopy, ChownResolvesNames) {
  TmpDir root;
  put(root.path + "/etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n");
  put(root.path + "/etc/group", "root:x:0:\nstaff:x:50:\n");
  auto a = resolve_chown(root.path, "app");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->first, 1000u);
  EXPECT_EQ(a->second, 1001u);
  auto b = resolve_chown(root.path, "app:staff");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->second, 50u);
  auto c = resolve_chown(root.path, "42:7");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first, 42u);
  EXPECT_EQ(c->second, 7u);
  EXPECT_FALSE(resolve_chown(root.path, "nobody-here"));
  EXPECT_FALSE(parse_chmod("u+x"));
  EXPECT_EQ(*parse_chmod("755"), 0755u);
}

TEST(BuildCache, PersistsAndCollects) {
  TmpDir d;
  {
    auto c = CacheStore::open(d.path);
    ASSERT_TRUE(c);
    (*c)->record("k1", "sha256:1", "", "RUN a");
    (*c)->record("k2", "sha256:2", "sha256:1", "RUN b");
    ASSERT_TRUE((*c)->flush());
  }
  auto c = CacheStore::open(d.path);
  ASSERT_TRUE(c);
  ASSERT_TRUE((*c)->lookup("k2"));
  EXPECT_EQ((*c)->lookup("k2")->image_id, "sha256:2");
  std::vector<std::string> removed;
  auto r = (*c)->gc(100, [](const CacheEntry&) { return std::int64_t{80}; },
                    [&](const std::string& id) {
                      removed.push_back(id);
                      return true;
                    });
  ASSERT_TRUE(r);
  EXPECT_EQ(removed.size(), 1u);
  EXPECT_EQ((*c)->entries().size(), 1u);
  // A corrupt index starts empty instead of failing the daemon.
  ASSERT_TRUE(write_file(d.path + "/cache.json", "{nope"));
  auto c2 = CacheStore::open(d.path);
  ASSERT_TRUE(c2);
  EXPECT_TRUE((*c2)->entries().empty());
}

TEST(BuildDuration, GoSyntax) {
  EXPECT_EQ(*parse_go_duration("30s"), 30000000000LL);
  EXPECT_EQ(*parse_go_duration("1m30s"), 90000000000LL);
  EXPECT_EQ(*parse_go_duration("500ms"), 500000000LL);
  EXPECT_FALSE(parse_go_duration("10"));
  EXPECT_FALSE(parse_go_duration("abc"));
}

// Backend over plain directories: an image is a directory + config; RUN is not supported
// except "true"/"false" which only produce exit codes.
class DirBackend : public Backend {
 public:
  explicit DirBackend(std::string root) : root_(std::move(root)) {}
  struct Img {
    std::string dir;
    oci::ContainerConfig cfg;
  };
  std::map<std::string, Img> images;
  int commits = 0, runs = 0;
  std::vector<std::vector<std::string>> run_args;

  struct Snap : Snapshot {
    std::string dir, sid;
    const std::string& rootfs() const override { return dir; }
    const std::string& id() const override { return sid; }
    ~Snap() override { (void)remove_all(dir); }
  };
  std::string add_image(const std::string& dir, const oci::ContainerConfig& cfg) {
    std::string id = "sha256:" + sha256_hex(dir + std::to_string(images.size()));
    images[id] = {dir, cfg};
    return id;
  }
  static std::string sha256_hex(const std::string& s) {
    Hasher h;
    h.update(s);
    return h.finish().hex();
  }
  std::string config_json(const oci::ContainerConfig& c) {
    oci::ImageConfig ic;
    ic.architecture = "amd64";
    ic.os = "linux";
    ic.config = c;
    return oci::to_json(ic);
  }
  Result<ImageRef> resolve_image(const std::string& ref, const std::string&, bool, const OutputFn&) override {
    if (!tags.count(ref)) return fail(Errc::NotFound, "No such image: " + ref);
    return image(tags[ref]);
  }
  Result<ImageRef> image(const std::string& id) override {
    auto it = images.find(id);
    if (it == images.end()) return fail(Errc::NotFound, "No such image: " + id);
    return ImageRef{id, config_json(it->second.cfg)};
  }
  Result<std::unique_ptr<Snapshot>> prepare(const std::string& id) override {
    auto s = std::make_unique<Snap>();
    s->dir = root_ + "/snap-" + random_hex(6);
    s->sid = random_hex(32);
    TRY(mkdir_all(s->dir, 0755));
    if (!id.empty()) {
      std::error_code ec;
      fs::copy(images.at(id).dir, s->dir, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    }
    return std::unique_ptr<Snapshot>(std::move(s));
  }
  Result<int> run(Snapshot&, const RunSpec& spec, const OutputFn& out) override {
    runs++;
    run_args.push_back(spec.args);
    out("ran\n");
    return spec.args.back() == "false" ? 1 : 0;
  }
  Result<std::string> commit(Snapshot& s, const std::string&, const oci::ContainerConfig& cfg,
                             const std::string&) override {
    commits++;
    std::string dir = root_ + "/img-" + random_hex(6);
    std::error_code ec;
    fs::copy(s.rootfs(), dir, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    return add_image(dir, cfg);
  }
  Result<std::string> commit_config(const std::string& parent, const oci::ContainerConfig& cfg,
                                    const std::string&) override {
    std::string dir = parent.empty() ? root_ + "/empty" : images.at(parent).dir;
    (void)mkdir_all(dir, 0755);
    return add_image(dir, cfg);
  }
  Result<std::string> cache_mount_dir(const std::string& id) override {
    std::string d = root_ + "/cache-" + id.substr(id.find_last_of('/') + 1);
    TRY(mkdir_all(d, 0755));
    return d;
  }
  Result<std::string> temp_dir() override {
    std::string d = root_ + "/tmp-" + random_hex(6);
    TRY(mkdir_all(d, 0700));
    return d;
  }
  Result<std::string> fetch_url(const std::string&, const std::string&) override {
    return fail(Errc::Unimplemented, "no network in unit tests");
  }
  std::map<std::string, std::string> tags;
  std::string root_;
};

struct Collect : Progress {
  std::string text;
  std::string id;
  void stream(std::string_view t) override { text += t; }
  void aux_id(const std::string& i) override { id = i; }
};

TEST(BuildExecutor, MultiStageCacheAndRebuildFromChangedCopy) {
  TmpDir work, ctx;
  DirBackend b(work.path);
  ASSERT_TRUE(mkdir_all(work.path + "/base/etc", 0755));
  put(work.path + "/base/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  oci::ContainerConfig base;
  base.env = {"PATH=/usr/bin:/bin"};
  base.cmd = std::vector<std::string>{"sh"};
  b.tags["busybox"] = b.add_image(work.path + "/base", base);
  put(ctx.path + "/one.txt", "1");
  put(ctx.path + "/two.txt", "2");
  std::string df =
      "FROM busybox AS builder\n"
      "RUN true\n"
      "COPY one.txt /stage/\n"
      "FROM busybox AS unused\n"
      "RUN echo never\n"
      "FROM busybox\n"
      "ENV PATH=$PATH:/opt/bin A=b\n"
      "WORKDIR /app\n"
      "COPY --from=builder /stage/one.txt ./\n"
      "COPY two.txt .\n"
      "USER root\n"
      "EXPOSE 80 53/udp\n"
      "LABEL x=y\n"
      "ENTRYPOINT [\"/bin/sh\"]\n"
      "CMD [\"-c\", \"echo hi\"]\n";
  auto cache = CacheStore::open(work.path + "/cache");
  ASSERT_TRUE(cache);
  Executor ex(b, cache->get());
  BuildRequest req;
  req.context_dir = ctx.path;
  req.dockerfile = df;
  Collect out;
  auto r = ex.build(req, out);
  ASSERT_TRUE(r) << r.error().message() << "\n" << out.text;
  EXPECT_EQ(out.text.find("echo never"), std::string::npos) << "unneeded stage was built";
  EXPECT_NE(out.text.find("Step 1/13 : FROM busybox AS builder"), std::string::npos) << out.text;
  auto img = b.images.at(r->image_id);
  EXPECT_EQ(get(img.dir + "/app/one.txt"), "1");
  EXPECT_EQ(get(img.dir + "/app/two.txt"), "2");
  EXPECT_EQ(img.cfg.working_dir, "/app");
  EXPECT_EQ(img.cfg.env[0], "PATH=/usr/bin:/bin:/opt/bin");
  EXPECT_EQ(img.cfg.exposed_ports, (std::vector<std::string>{"53/udp", "80/tcp"}));
  ASSERT_TRUE(img.cfg.entrypoint);
  ASSERT_TRUE(img.cfg.cmd);
  EXPECT_EQ((*img.cfg.cmd)[1], "echo hi");
  EXPECT_EQ(r->cached, 0);

  // Fully cached.
  Collect out2;
  auto r2 = ex.build(req, out2);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->image_id, r->image_id);
  EXPECT_EQ(r2->cached, 11) << out2.text;
  int runs = b.runs;

  // Survives a reopen of the index; changing two.txt rebuilds from that COPY on.
  auto cache2 = CacheStore::open(work.path + "/cache");
  Executor ex2(b, cache2->get());
  put(ctx.path + "/two.txt", "22");
  Collect out3;
  auto r3 = ex2.build(req, out3);
  ASSERT_TRUE(r3);
  EXPECT_NE(r3->image_id, r->image_id);
  EXPECT_EQ(b.runs, runs) << "RUN in the builder stage must come from cache";
  EXPECT_EQ(get(b.images.at(r3->image_id).dir + "/app/two.txt"), "22");
  auto pos_cache = out3.text.find("COPY --from=builder");
  auto pos_copy = out3.text.find("COPY two.txt");
  ASSERT_NE(pos_copy, std::string::npos);
  EXPECT_NE(out3.text.substr(pos_cache, pos_copy - pos_cache).find("Using cache"), std::string::npos);
  EXPECT_EQ(out3.text.substr(pos_copy).find("Using cache"), std::string::npos) << out3.text;

  // --no-cache runs everything again.
  req.no_cache = true;
  Collect out4;
  ASSERT_TRUE(ex2.build(req, out4));
  EXPECT_EQ(out4.text.find("Using cache"), std::string::npos);
  EXPECT_EQ(b.runs, runs + 1);
}

TEST(BuildExecutor, FailingRunReportsExitCodeAndTarget) {
  TmpDir work, ctx;
  DirBackend b(work.path);
  ASSERT_TRUE(mkdir_all(work.path + "/base", 0755));
  b.tags["busybox"] = b.add_image(work.path + "/base", {});
  Executor ex(b, nullptr);
  BuildRequest req;
  req.context_dir = ctx.path;
  req.dockerfile = "FROM busybox AS a\nRUN true\nFROM busybox AS b\nRUN false\n";
  Collect out;
  auto r = ex.build(req, out);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("returned a non-zero code: 1"), std::string::npos) << r.error().message();
  EXPECT_EQ(ex.last_exit_code(), 1);
  req.target = "a";
  Collect out2;
  EXPECT_TRUE(ex.build(req, out2));
  req.target = "zzz";
  EXPECT_FALSE(ex.build(req, out2));
  req.target.clear();
  req.dockerfile = "FROM nothere\n";
  EXPECT_FALSE(ex.build(req, out2));
}

}  // namespace
}  // namespace berth::build
