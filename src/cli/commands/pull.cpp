// SPDX-License-Identifier: Apache-2.0
// berth pull: POST /images/create?fromImage=&tag= with a JSON progress stream.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"

namespace berth::cli {

// Splits "name:tag" / "name@digest" (the tag is after the last '/').
static std::pair<std::string, std::string> split_tag(const std::string& ref) {
  if (auto at = ref.find('@'); at != std::string::npos) return {ref.substr(0, at), ref.substr(at + 1)};
  auto slash = ref.rfind('/');
  auto colon = ref.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
    return {ref.substr(0, colon), ref.substr(colon + 1)};
  return {ref, ""};
}

Status pull_image(App& app, const std::string& image, const std::string& platform, bool to_stderr) {
  auto [name, tag] = split_tag(image);
  if (tag.empty()) {
    tag = "latest";
    if (!to_stderr) app.out("Using default tag: latest\n");
  }
  std::string path = "/images/create?fromImage=" + url_escape(name) + "&tag=" + url_escape(tag);
  if (!platform.empty()) path += "&platform=" + url_escape(platform);
  Headers h = {{"X-Registry-Auth", registry_auth(app, registry_of(name))}};
  if (to_stderr) {
    // run/create: progress goes to stderr, so swap stdout temporarily.
    int saved = ::dup(STDOUT_FILENO);
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
    Status st = run_progress(app, "POST", path, "", h);
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    return st;
  }
  return run_progress(app, "POST", path, "", h);
}

static int run_pull(App& app, const ParsedFlags& f) {
  const std::string& ref = f.args[0];
  if (f.flag("all-tags"))
    return report(app, Error(Errc::Unimplemented, "pulling all tags (--all-tags) is not supported by berthd"));
  Status st = ok();
  if (f.flag("quiet")) {
    auto [name, tag] = split_tag(ref);
    std::string path = "/images/create?fromImage=" + url_escape(name) + "&tag=" + url_escape(tag.empty() ? "latest" : tag);
    if (!f.str("platform").empty()) path += "&platform=" + url_escape(f.str("platform"));
    st = run_progress(app, "POST", path, "", {{"X-Registry-Auth", registry_auth(app, registry_of(name))}}, -1, true);
  } else {
    st = pull_image(app, ref, f.str("platform"), false);
  }
  if (!st) return report(app, st.error());
  app.out(normalize_ref(ref) + "\n");
  return 0;
}

const Command& cmd_pull() {
  static const Command c{"pull", {"image pull"}, "[OPTIONS] NAME[:TAG|@DIGEST]",
                         "Download an image from a registry",
                         {{"all-tags", 'a', FlagKind::Bool, "Download all tagged images in the repository"},
                          {"platform", 0, FlagKind::String, "Set platform if server is multi-platform capable"},
                          {"quiet", 'q', FlagKind::Bool, "Suppress verbose output"}},
                         1, 1, true, run_pull};
  return c;
}

}  // namespace berth::cli
