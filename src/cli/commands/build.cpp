// SPDX-License-Identifier: Apache-2.0
// berth build [OPTIONS] PATH | -: sends the build context (a tar of PATH with .dockerignore
// applied here, as the docker CLI does; or a tar / a lone Dockerfile from stdin) to
// POST /build and prints the daemon's step stream with the time each step took.
// --dump-ast FILE prints the parsed Dockerfile in BuildKit's parser test format (no daemon).
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include "builder/dockerfile/parser.hpp"
#include "builder/dockerignore.hpp"
#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth::cli {

namespace {

// Minimal ustar writer with PAX headers for long names/links (the daemon reads PAX).
class TarOut {
 public:
  explicit TarOut(int fd) : fd_(fd) {}
  Status add(const std::string& name, const struct stat& st, const std::string& link, int src_fd) {
    char type = S_ISDIR(st.st_mode) ? '5' : S_ISLNK(st.st_mode) ? '2' : '0';
    std::string n = name + (type == '5' ? "/" : "");
    std::uint64_t size = type == '0' ? static_cast<std::uint64_t>(st.st_size) : 0;
    if (n.size() > 99 || link.size() > 99) {
      std::string rec = record("path", n) + (link.empty() ? "" : record("linkpath", link));
      TRY(header("././@PaxHeader", 'x', rec.size(), 0644, 0));
      TRY(data(rec));
    }
    TRY(header(n.substr(0, 99), type, size, st.st_mode & 07777, static_cast<std::int64_t>(st.st_mtime),
               link.substr(0, 99)));
    if (type == '0') {
      std::uint64_t left = size;
      char buf[1 << 16];
      while (left > 0) {
        ssize_t k = ::read(src_fd, buf, std::min<std::uint64_t>(sizeof buf, left));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return fail(Errc::Internal, "file changed while sending the build context: " + name);
        TRY(write_all(fd_, std::string_view(buf, static_cast<std::size_t>(k))));
        left -= static_cast<std::uint64_t>(k);
      }
      TRY(pad(size));
    }
    return ok();
  }
  Status add_bytes(const std::string& name, std::string_view content) {
    TRY(header(name, '0', content.size(), 0644, static_cast<std::int64_t>(::time(nullptr))));
    return data(content);
  }
  Status finish() { return write_all(fd_, std::string(1024, '\0')); }

 private:
  static std::string record(const std::string& k, const std::string& v) {
    std::string body = " " + k + "=" + v + "\n";
    std::size_t len = body.size();
    for (;;) {
      std::size_t total = len + std::to_string(len).size();
      if (total == len) break;
      if (std::to_string(total).size() + body.size() == total) {
        len = total;
        break;
      }
      len = total;
    }
    return std::to_string(len) + body;
  }
  Status header(const std::string& name, char type, std::uint64_t size, unsigned mode, std::int64_t mtime,
                const std::string& link = {}) {
    char h[512];
    std::memset(h, 0, sizeof h);
    std::memcpy(h, name.data(), std::min<std::size_t>(name.size(), 100));
    octal(h + 100, 8, mode);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, static_cast<std::uint64_t>(mtime < 0 ? 0 : mtime));
    h[156] = type;
    std::memcpy(h + 157, link.data(), std::min<std::size_t>(link.size(), 100));
    std::memcpy(h + 257, "ustar", 6);
    h[263] = '0';
    h[264] = '0';
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    octal(h + 148, 7, sum);
    h[155] = ' ';
    return write_all(fd_, std::string_view(h, sizeof h));
  }
  // width-1 octal digits + NUL (values too large are clamped; the context is never that big).
  static void octal(char* dst, int width, std::uint64_t v) {
    for (int i = width - 2; i >= 0; --i) {
      dst[i] = static_cast<char>('0' + (v & 7));
      v >>= 3;
    }
    dst[width - 1] = '\0';
  }
  Status data(std::string_view d) {
    TRY(write_all(fd_, d));
    return pad(d.size());
  }
  Status pad(std::uint64_t size) {
    std::size_t p = static_cast<std::size_t>((512 - size % 512) % 512);
    if (p) TRY(write_all(fd_, std::string(p, '\0')));
    return ok();
  }
  int fd_;
};

Status tar_dir(TarOut& t, const std::string& root, const std::string& rel, const builder::PatternMatcher& pm,
               const std::string& keep1, const std::string& keep2) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return fail_errno("open", dir);
  std::vector<std::string> names;
  while (auto* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::string r = rel.empty() ? n : rel + "/" + n;
    std::string p = root + "/" + r;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return fail_errno("lstat", p);
    bool excluded = !pm.empty() && r != keep1 && r != keep2 && TRY(pm.matches_or_parent_matches(r));
    if (excluded && !(S_ISDIR(st.st_mode) && pm.exclusions())) continue;
    if (S_ISDIR(st.st_mode)) {
      if (!excluded) TRY(t.add(r, st, "", -1));
      TRY(tar_dir(t, root, r, pm, keep1, keep2));
    } else if (!excluded) {
      if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        ssize_t k = ::readlink(p.c_str(), buf, sizeof buf - 1);
        if (k < 0) return fail_errno("readlink", p);
        TRY(t.add(r, st, std::string(buf, static_cast<std::size_t>(k)), -1));
      } else if (S_ISREG(st.st_mode)) {
        UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return fail_errno("open", p);
        TRY(t.add(r, st, "", fd.get()));
      }
    }
  }
  return ok();
}

bool looks_like_archive(const std::string& head) {
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b) return true;
  if (head.size() >= 4 && head.compare(0, 4, "\x28\xb5\x2f\xfd") == 0) return true;
  return head.size() >= 262 && head.compare(257, 5, "ustar") == 0;
}

}  // namespace

static int run_build(App& app, const ParsedFlags& f) {
  if (auto dump = f.opt("dump-ast"); dump && !dump->empty()) {
    auto text = read_file(*dump);
    if (!text) return report(app, text.error());
    auto out = builder::dockerfile::dump_ast(*text);
    if (!out) return report(app, out.error());
    app.out(*out);
    return 0;
  }
  if (f.args.size() != 1)
    return report(app, Error(Errc::InvalidArgument, "\"berth build\" requires exactly 1 argument.\n"
                                                    "See 'berth build --help'.\n\nUsage:  berth build [OPTIONS] PATH | URL | -"));
  const std::string& path = f.args[0];
  std::string dockerfile_param = f.str("file");
  UniqueFd body(::memfd_create("berth-build-context", MFD_CLOEXEC));
  if (!body) return report(app, Error::from_errno(errno, "memfd_create"));
  std::size_t ctx_size = 0;
  if (path == "-") {
    std::string in;
    auto all = read_fd(STDIN_FILENO, 4ull << 30);
    if (!all) return report(app, all.error());
    in = std::move(*all);
    if (looks_like_archive(in)) {
      if (auto s = write_all(body.get(), in); !s) return report(app, s.error());
    } else {
      TarOut t(body.get());
      if (auto s = t.add_bytes("Dockerfile", in); !s) return report(app, s.error());
      (void)t.finish();
      dockerfile_param.clear();
    }
  } else {
    if (path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0 || path.rfind("git@", 0) == 0)
      return report(app, Error(Errc::InvalidArgument, "remote build contexts are not supported: clone or download it first"));
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return report(app, Error(Errc::InvalidArgument, "unable to prepare context: path \"" + path + "\" not found"));
    std::string root = path;
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    std::vector<std::string> patterns;
    if (auto di = read_file(root + "/.dockerignore"); di) patterns = builder::read_dockerignore(*di);
    auto pm = builder::PatternMatcher::create(patterns);
    if (!pm) return report(app, pm.error());
    // -f: relative to the current directory; a file outside the context travels in the tar.
    std::string df_rel = "Dockerfile";
    std::string extra_name, extra_content;
    if (!dockerfile_param.empty()) {
      std::string abs_ctx = root, abs_df = dockerfile_param;
      char rp[PATH_MAX];
      if (::realpath(root.c_str(), rp)) abs_ctx = rp;
      if (dockerfile_param == "-") {
        auto all = read_fd(STDIN_FILENO);
        if (!all) return report(app, all.error());
        extra_content = *all;
        extra_name = ".dockerfile." + random_hex(10);
        df_rel = extra_name;
      } else {
        if (::realpath(dockerfile_param.c_str(), rp)) abs_df = rp;
        else return report(app, Error(Errc::InvalidArgument, "unable to prepare context: the Dockerfile (" + dockerfile_param + ") cannot be empty or does not exist"));
        if (abs_df.rfind(abs_ctx + "/", 0) == 0) {
          df_rel = abs_df.substr(abs_ctx.size() + 1);
        } else {
          auto t = read_file(abs_df);
          if (!t) return report(app, t.error());
          extra_content = *t;
          extra_name = ".dockerfile." + random_hex(10);
          df_rel = extra_name;
        }
      }
      dockerfile_param = df_rel;
    } else if (!path_exists(root + "/Dockerfile") && path_exists(root + "/dockerfile")) {
      df_rel = "dockerfile";
    }
    if (extra_name.empty() && !path_exists(root + "/" + df_rel))
      return report(app, Error(Errc::InvalidArgument, "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat " +
                                                           root + "/" + df_rel + ": no such file or directory"));
    TarOut t(body.get());
    if (auto s = tar_dir(t, root, "", *pm, df_rel, ".dockerignore"); !s) return report(app, s.error());
    if (!extra_name.empty())
      if (auto s = t.add_bytes(extra_name, extra_content); !s) return report(app, s.error());
    if (auto s = t.finish(); !s) return report(app, s.error());
  }
  ctx_size = static_cast<std::size_t>(::lseek(body.get(), 0, SEEK_CUR));
  ::lseek(body.get(), 0, SEEK_SET);
  bool quiet = f.flag("quiet");
  if (!quiet) app.out("Sending build context to berth daemon  " + human_size(static_cast<double>(ctx_size)) + "\n");

  std::string q = "/build?rm=1";
  for (const auto& t : f.list("tag")) q += "&t=" + url_escape(t);
  if (!dockerfile_param.empty()) q += "&dockerfile=" + url_escape(dockerfile_param);
  nlohmann::json ba = nlohmann::json::object();
  for (const auto& a : f.list("build-arg")) {
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      ba[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (const char* v = std::getenv(a.c_str())) {
      ba[a] = v;
    }
  }
  if (!ba.empty()) q += "&buildargs=" + url_escape(ba.dump());
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& l : f.list("label")) {
    auto eq = l.find('=');
    labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  if (!labels.empty()) q += "&labels=" + url_escape(labels.dump());
  nlohmann::json cf = nlohmann::json::array();
  for (const auto& c : f.list("cache-from")) cf.push_back(c);
  if (!cf.empty()) q += "&cachefrom=" + url_escape(cf.dump());
  if (!f.str("target").empty()) q += "&target=" + url_escape(f.str("target"));
  if (f.flag("no-cache")) q += "&nocache=1";
  if (f.flag("pull")) q += "&pull=1";
  if (quiet) q += "&q=1";
  if (f.flag("force-rm")) q += "&forcerm=1";
  if (!f.str("network").empty()) q += "&networkmode=" + url_escape(f.str("network"));
  if (!f.str("platform").empty()) q += "&platform=" + url_escape(f.str("platform"));
  for (const auto& h : f.list("add-host")) q += "&extrahosts=" + url_escape(h);
  if (!f.str("shm-size").empty()) {
    auto b = parse_bytes(f.str("shm-size"));
    if (!b) return report(app, Error(Errc::InvalidArgument, "invalid argument \"" + f.str("shm-size") + "\" for \"--shm-size\" flag"));
    q += "&shmsize=" + std::to_string(*b);
  }

  Client* c = nullptr;
  if (auto cr = app.client(); cr) c = *cr;
  else return report(app, cr.error());
  bool tty = ::isatty(STDOUT_FILENO) == 1;
  std::string buf, error, image_id;
  int exit_code = 0;
  auto step_start = std::chrono::steady_clock::now();
  auto build_start = step_start;
  bool in_step = false;
  int steps = 0, cached = 0;
  auto finish_step = [&] {
    if (!in_step || quiet) return;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    char t[64];
    std::snprintf(t, sizeof t, " ---> done in %.2fs\n", s);
    if (tty) app.out(t);
  };
  auto line = [&](const std::string& l) {
    nlohmann::json m;
    try {
      m = nlohmann::json::parse(l);
    } catch (...) {
      return;
    }
    if (!m.is_object()) return;
    if (m.contains("errorDetail") || m.contains("error")) {
      error = m.value("error", "");
      if (m.contains("errorDetail") && m["errorDetail"].is_object()) {
        if (error.empty()) error = m["errorDetail"].value("message", "");
        exit_code = m["errorDetail"].value("code", 0);
      }
      return;
    }
    if (m.contains("aux") && m["aux"].is_object()) {
      image_id = m["aux"].value("ID", "");
      return;
    }
    std::string s = m.value("stream", "");
    if (s.empty()) {
      std::string st = m.value("status", "");
      if (!st.empty() && !quiet) app.out((m.contains("id") ? m.value("id", "") + ": " : "") + st + "\n");
      return;
    }
    if (quiet) return;
    if (s.rfind("Step ", 0) == 0) {
      finish_step();
      in_step = true;
      steps++;
      step_start = std::chrono::steady_clock::now();
    }
    if (s.find(" ---> Using cache") != std::string::npos) cached++;
    if (s.rfind("Successfully built", 0) == 0) {
      finish_step();
      in_step = false;
    }
    app.out(s);
  };
  auto on_data = [&](std::string_view d) {
    buf.append(d);
    std::size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      line(buf.substr(0, nl));
      buf.erase(0, nl + 1);
    }
    return true;
  };
  auto resp = c->upload("POST", q, body.get(), {{"Content-Type", "application/x-tar"}}, on_data);
  if (!resp) return report(app, resp.error());
  if (resp->status >= 400) return report(app, daemon_error(*resp));
  if (!buf.empty()) line(buf);
  if (!error.empty()) {
    app.err(error + "\n");
    return exit_code ? exit_code : 1;
  }
  if (quiet) app.out(image_id + "\n");
  else if (tty) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();
    char t[128];
    std::snprintf(t, sizeof t, "Build finished in %.2fs (%d steps, %d from cache)\n", s, steps, cached);
    app.out(t);
  }
  if (!f.str("iidfile").empty()) {
    if (auto s = write_file(f.str("iidfile"), image_id, 0644); !s) return report(app, s.error());
  }
  return 0;
}

const Command& cmd_build() {
  static const Command c{
      "build", {"image build", "builder build"}, "[OPTIONS] PATH | -", "Build an image from a Dockerfile",
      {{"add-host", 0, FlagKind::List, "Add a custom host-to-IP mapping (\"host:ip\")"},
       {"build-arg", 0, FlagKind::List, "Set build-time variables"},
       {"cache-from", 0, FlagKind::List, "Images to consider as cache sources"},
       {"dump-ast", 0, FlagKind::String, "Print the parsed Dockerfile (BuildKit parser test format) and exit"},
       {"file", 'f', FlagKind::String, "Name of the Dockerfile (Default is \"PATH/Dockerfile\")"},
       {"force-rm", 0, FlagKind::Bool, "Always remove intermediate containers"},
       {"iidfile", 0, FlagKind::String, "Write the image ID to the file"},
       {"label", 0, FlagKind::List, "Set metadata for an image"},
       {"network", 0, FlagKind::String, "Set the networking mode for the RUN instructions during build", "string", "default"},
       {"no-cache", 0, FlagKind::Bool, "Do not use cache when building the image"},
       {"platform", 0, FlagKind::String, "Set platform if server is multi-platform capable"},
       {"pull", 0, FlagKind::Bool, "Always attempt to pull a newer version of the image"},
       {"quiet", 'q', FlagKind::Bool, "Suppress the build output and print image ID on success"},
       {"rm", 0, FlagKind::Bool, "Remove intermediate containers after a successful build", "", "true"},
       {"shm-size", 0, FlagKind::String, "Size of \"/dev/shm\""},
       {"tag", 't', FlagKind::List, "Name and optionally a tag in the \"name:tag\" format"},
       {"target", 0, FlagKind::String, "Set the target build stage to build."}},
      0, -1, true, run_build};
  return c;
}

}  // namespace berth::cli
