// SPDX-License-Identifier: Apache-2.0
// berth cp CONTAINER:SRC DEST | SRC CONTAINER:DEST | ... "-" for a tar on stdin/stdout.
// The archive endpoints carry tar streams; packing and unpacking on the host side is done by
// tar(1) (GNU tar), with --transform for docker's rename-on-copy semantics.
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "common/file.hpp"

namespace berth::cli {

static bool split_container_path(const std::string& arg, std::string* ctr, std::string* path) {
  if (arg.empty() || arg[0] == '/' || arg[0] == '.') return false;
  auto colon = arg.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  *ctr = arg.substr(0, colon);
  *path = arg.substr(colon + 1);
  return true;
}

// X-Docker-Container-Path-Stat: base64 JSON {"name","size","mode","mtime","linkTarget"}
static Result<Json> stat_in_container(App& app, const std::string& ctr, const std::string& path) {
  Client* c = TRY(app.client());
  Response r = TRY(c->request("HEAD", "/containers/" + url_escape(ctr) + "/archive?path=" + url_escape(path)));
  if (r.status == 404) return fail(Errc::NotFound, "Error response from daemon: Could not find the file " + path + " in container " + ctr);
  if (r.status >= 400) return fail(daemon_error(r));
  std::string h = r.header("X-Docker-Container-Path-Stat");
  if (h.empty()) return Json();
  std::string dec = TRY(base64_decode(h));
  try {
    return Json::parse(dec);
  } catch (...) {
    return Json();
  }
}

static int copy_from(App& app, const std::string& ctr, const std::string& src, const std::string& dst) {
  std::string path = "/containers/" + url_escape(ctr) + "/archive?path=" + url_escape(src);
  if (dst == "-") return download_to(app, path, "", "copy");
  auto c = app.client();
  if (!c) return report(app, c.error());
  std::string base = basename(src);
  if (base.empty() || base == "/" || base == ".") base = "";
  struct stat st{};
  std::vector<std::string> argv = {"tar", "-x", "--no-same-owner", "-f", "-"};
  if (::stat(dst.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    argv.insert(argv.end(), {"-C", dst});
  } else {
    // copy to a new name: extract into the parent and rename the top entry
    std::string parent = dirname(dst);
    if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return report(app, Error(Errc::NotFound, "destination directory \"" + parent + "\" must exist"));
    argv.insert(argv.end(), {"-C", parent});
    if (!base.empty()) argv.push_back("--transform=s|^" + base + "|" + basename(dst) + "|");
  }
  pid_t pid = -1;
  auto w = spawn_writer(argv, &pid);
  if (!w) return report(app, w.error());
  UniqueFd pipe_w = std::move(*w);
  Status werr = ok();
  auto r = (*c)->stream("GET", path, "", {}, [&](std::string_view d) {
    werr = write_fd_all(pipe_w.get(), d);
    return static_cast<bool>(werr);
  });
  pipe_w.reset();
  int rc = wait_child(pid);
  if (!r) return report(app, r.error());
  if (r->status >= 400) return report(app, daemon_error(*r));
  if (rc != 0) return report(app, Error(Errc::Internal, "extracting archive failed"));
  return 0;
}

static int copy_to(App& app, const std::string& src, const std::string& ctr, const std::string& dst) {
  auto c = app.client();
  if (!c) return report(app, c.error());
  std::string target_dir = dst;
  std::vector<std::string> argv;
  UniqueFd in;
  pid_t pid = -1;
  if (src == "-") {
    in = UniqueFd(::dup(STDIN_FILENO));
  } else {
    struct stat st{};
    if (::lstat(src.c_str(), &st) != 0) return report(app, Error(Errc::NotFound, "lstat " + src + ": no such file or directory"));
    std::string base = basename(src), parent = dirname(src);
    auto ds = stat_in_container(app, ctr, dst);
    bool dst_is_dir = ds && ds->is_object() && (ds->value("mode", 0u) & 0x80000000u);
    argv = {"tar", "-c", "-f", "-", "-C", parent};
    if (!dst_is_dir) {
      target_dir = dirname(dst);
      argv.push_back("--transform=s|^" + base + "|" + basename(dst) + "|");
    }
    argv.push_back(base);
    auto r = spawn_reader(argv, &pid);
    if (!r) return report(app, r.error());
    in = std::move(*r);
  }
  auto r = (*c)->upload("PUT", "/containers/" + url_escape(ctr) + "/archive?path=" + url_escape(target_dir) +
                                   "&noOverwriteDirNonDir=true",
                        in.get(), {{"Content-Type", "application/x-tar"}}, [](std::string_view) { return true; });
  in.reset();
  if (pid > 0) wait_child(pid);
  if (!r) return report(app, r.error());
  if (r->status >= 400) return report(app, daemon_error(*r));
  return 0;
}

static int run_cp(App& app, const ParsedFlags& f) {
  std::string sc, sp, dc, dp;
  bool from = split_container_path(f.args[0], &sc, &sp);
  bool to = split_container_path(f.args[1], &dc, &dp);
  if (from && to) return report(app, Error(Errc::InvalidArgument, "copying between containers is not supported"));
  if (!from && !to) return report(app, Error(Errc::InvalidArgument, "must specify at least one container source"));
  if (from) return copy_from(app, sc, sp, f.args[1]);
  return copy_to(app, f.args[0], dc, dp);
}

const Command& cmd_cp() {
  static const Command c{"cp", {"container cp"}, "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
                         "Copy files/folders between a container and the local filesystem",
                         {{"archive", 'a', FlagKind::Bool, "Archive mode (copy all uid/gid information)"},
                          {"follow-link", 'L', FlagKind::Bool, "Always follow symbol link in SRC_PATH"},
                          {"quiet", 'q', FlagKind::Bool, "Suppress progress output during copy"}},
                         2, 2, true, run_cp};
  return c;
}

}  // namespace berth::cli
