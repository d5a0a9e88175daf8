// SPDX-License-Identifier: Apache-2.0
// berth system df | system prune | system dial-stdio
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "cli/format.hpp"
#include "cli/rows.hpp"

namespace berth::cli {

// `system df -v`: docker's verbose template (cli/command/formatter/disk_usage.go), four tables
// whose rows are what `images`, `ps` and `volume ls` show, with docker's size precisions.
static int df_verbose(App& app, const Json& d, bool as_json) {
  std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  auto num = [](const Json& o, const char* k) -> std::int64_t {
    return o.contains(k) && o[k].is_number() ? o[k].get<std::int64_t>() : 0;
  };
  auto human4 = [](std::int64_t b) { return human_size_prec(static_cast<double>(b), 4); };
  auto table = [&](const char* fmt, const std::vector<Json>& rows, const Json& headers) -> Result<std::string> {
    return render_list(parse_list_format("", fmt), rows, headers);
  };
  std::vector<Json> images;
  if (d["Images"].is_array())
    for (const auto& i : d["Images"]) {
      auto rows = image_rows(i, !as_json, false, now);
      if (rows.empty()) continue;
      Json r = rows.front();  // docker shows the first tag only, and no digest
      r["Digest"] = "";
      std::int64_t shared = num(i, "SharedSize");
      r["SharedSize"] = shared < 0 ? "N/A" : human4(shared);
      r["UniqueSize"] = shared < 0 ? "N/A" : human4(num(i, "Size") - shared);
      images.push_back(std::move(r));
    }
  std::vector<Json> containers;
  if (d["Containers"].is_array())
    for (const auto& c : d["Containers"]) {
      Json r = container_row(c, !as_json, now);
      r["Size"] = human4(num(c, "SizeRw"));
      containers.push_back(std::move(r));
    }
  std::vector<Json> volumes;
  if (d["Volumes"].is_array())
    for (const auto& v : d["Volumes"]) volumes.push_back(volume_row(v));
  std::vector<Json> cache;
  std::int64_t cache_size = 0;
  if (d["BuildCache"].is_array())
    for (const auto& b : d["BuildCache"]) {
      bool shared = b.value("Shared", false);
      if (!shared) cache_size += num(b, "Size");
      auto since = [&](const char* k) {
        std::string t = b.value(k, "");
        auto secs = parse_rfc3339(t);
        return secs ? time_ago(*secs, now) : std::string();
      };
      std::string id = b.value("ID", "");
      cache.push_back({{"ID", id.size() > 12 ? id.substr(0, 12) : id},
                       {"CacheType", b.value("Type", "")},
                       {"Size", human4(num(b, "Size"))},
                       {"CreatedSince", since("CreatedAt")},
                       {"LastUsedSince", since("LastUsedAt")},
                       {"UsageCount", std::to_string(num(b, "UsageCount"))},
                       {"Shared", shared ? "true" : "false"}});
    }
  Json ih = image_headers();
  ih["SharedSize"] = "SHARED SIZE";
  ih["UniqueSize"] = "UNIQUE SIZE";
  ih["Containers"] = "CONTAINERS";
  if (as_json) {
    nlohmann::ordered_json out;
    out["Images"] = images;
    out["Containers"] = containers;
    out["Volumes"] = volumes;
    out["BuildCache"] = cache;
    app.out(go_json_marshal(Json(out)));  // docker ends it without a newline
    return 0;
  }
  auto it = table("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
                  images, ih);
  auto ct = table("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
                  containers, container_headers());
  auto vt = table("table {{.Name}}\t{{.Links}}\t{{.Size}}", volumes, Json{{"Name", "VOLUME NAME"}, {"Links", "LINKS"}, {"Size", "SIZE"}});
  auto bt = table("table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}", cache,
                  Json{{"ID", "CACHE ID"}, {"CacheType", "CACHE TYPE"}, {"Size", "SIZE"}, {"CreatedSince", "CREATED"},
                       {"LastUsedSince", "LAST USED"}, {"UsageCount", "USAGE"}, {"Shared", "SHARED"}});
  for (auto* t : {&it, &ct, &vt, &bt})
    if (!*t) return report(app, t->error());
  app.out("Images space usage:\n\n" + *it + "\nContainers space usage:\n\n" + *ct + "\nLocal Volumes space usage:\n\n" + *vt +
          "\nBuild cache usage: " + human4(cache_size) + "\n\n" + *bt);
  return 0;
}

static int run_df(App& app, const ParsedFlags& f) {
  auto r = app.get_json("/system/df");
  if (!r) return report(app, r.error());
  const Json& d = *r;
  if (f.flag("verbose")) {
    // docker: `json` prints the four lists as one object; any other template runs once on the
    // daemon's answer (`{{json .Volumes}}`, `{{len .Images}}`).
    std::string fmt = f.str("format");
    if (!fmt.empty() && fmt != "json" && fmt != "table") {
      auto t = Template::parse(fmt);
      if (!t) return report(app, Error(Errc::InvalidArgument, "template parsing error: " + t.error().message()));
      auto out = t->execute(d);
      if (!out) return report(app, Error(Errc::InvalidArgument, "template: " + out.error().message()));
      app.out(*out + "\n");
      return 0;
    }
    return df_verbose(app, d, fmt == "json");
  }
  auto count_active = [](const Json& arr, const char* key) {
    int n = 0;
    if (arr.is_array())
      for (const auto& e : arr)
        if (e.contains(key) && e[key].is_number() && e[key].get<std::int64_t>() > 0) ++n;
    return n;
  };
  // The docker CLI's arithmetic (cli/command/formatter/disk_usage.go): sizes with 4 significant
  // digits, reclaimable percentages truncated to integers.
  auto num = [](const Json& o, const char* k) -> std::int64_t {
    return o.contains(k) && o[k].is_number() ? o[k].get<std::int64_t>() : 0;
  };
  auto human = [](std::int64_t b) { return human_size_prec(static_cast<double>(b), 4); };
  auto with_pct = [&](std::int64_t part, std::int64_t whole) {
    std::string s = human(part);
    if (whole > 0) s += " (" + std::to_string(part * 100 / whole) + "%)";
    return s;
  };
  std::int64_t img_total = num(d, "LayersSize"), img_used = 0;
  if (d["Images"].is_array())
    for (const auto& i : d["Images"])
      if (num(i, "Containers") != 0 && num(i, "Size") != -1 && num(i, "SharedSize") != -1)
        img_used += num(i, "Size") - num(i, "SharedSize");
  std::int64_t ctr_size = 0, ctr_reclaim = 0;
  int ctr_active = 0;
  if (d["Containers"].is_array())
    for (const auto& c : d["Containers"]) {
      std::string state = c.value("State", "");
      bool active = state.find("running") != std::string::npos || state.find("paused") != std::string::npos ||
                    state.find("restarting") != std::string::npos;
      ctr_size += num(c, "SizeRw");
      if (active) ++ctr_active;
      else ctr_reclaim += num(c, "SizeRw");
    }
  std::int64_t vol_size = 0, vol_reclaim = 0;
  int vol_active = 0;
  if (d["Volumes"].is_array())
    for (const auto& v : d["Volumes"]) {
      if (!v.contains("UsageData") || !v["UsageData"].is_object()) continue;
      std::int64_t s = num(v["UsageData"], "Size"), refs = num(v["UsageData"], "RefCount");
      if (refs > 0) ++vol_active;
      if (s == -1) continue;
      vol_size += s;
      if (refs == 0) vol_reclaim += s;
    }
  std::int64_t cache_size = 0, cache_in_use = 0;
  int cache_active = 0;
  std::size_t ncache = d["BuildCache"].is_array() ? d["BuildCache"].size() : 0;
  if (d["BuildCache"].is_array())
    for (const auto& b : d["BuildCache"]) {
      bool shared = b.value("Shared", false), in_use = b.value("InUse", false);
      if (in_use) ++cache_active;
      if (!shared) cache_size += num(b, "Size");
      if (in_use && !shared) cache_in_use += num(b, "Size");
    }
  auto row = [&](const char* type, std::size_t total, int active, const std::string& size, const std::string& reclaim) {
    return Json{{"Active", std::to_string(active)}, {"Reclaimable", reclaim},
                {"Size", size}, {"TotalCount", std::to_string(total)}, {"Type", type}};
  };
  std::vector<Json> rows = {
      row("Images", d["Images"].is_array() ? d["Images"].size() : 0, count_active(d["Images"], "Containers"),
          human(img_total), with_pct(img_total - img_used, img_total)),
      row("Containers", d["Containers"].is_array() ? d["Containers"].size() : 0, ctr_active, human(ctr_size),
          with_pct(ctr_reclaim, ctr_size)),
      row("Local Volumes", d["Volumes"].is_array() ? d["Volumes"].size() : 0, vol_active, human(vol_size),
          with_pct(vol_reclaim, vol_size)),
      row("Build Cache", ncache, cache_active, human(cache_size), human(cache_size - cache_in_use))};
  Json headers = {{"Active", "ACTIVE"}, {"Reclaimable", "RECLAIMABLE"}, {"Size", "SIZE"}, {"TotalCount", "TOTAL"}, {"Type", "TYPE"}};
  auto out = render_list(parse_list_format(f.str("format"), "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"), rows, headers);
  if (!out) return report(app, out.error());
  app.out(*out);
  return 0;
}

static int run_prune(App& app, const ParsedFlags& f) {
  std::string what = "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n";
  if (f.flag("volumes")) what += "  - all anonymous volumes not used by at least one container\n";
  what += f.flag("all") ? "  - all images without at least one container associated to them\n  - all build cache\n"
                        : "  - all dangling images\n  - unused build cache\n";
  if (!confirm(app, what, f.flag("force"))) return 0;
  std::string fj = filters_json(f.list("filter"));
  std::string q = fj.empty() ? "" : "?filters=" + url_escape(fj);
  double reclaimed = 0;
  std::string out;
  auto take = [&](const Result<Json>& r, const char* key, const char* title) {
    if (!r) {
      app.err(r.error().message() + "\n");
      return;
    }
    if ((*r).contains(key) && (*r)[key].is_array() && !(*r)[key].empty()) {
      out += std::string(title) + ":\n";
      for (const auto& v : (*r)[key]) {
        if (v.is_object()) {
          if (v.contains("Untagged")) out += "untagged: " + v.value("Untagged", "") + "\n";
          if (v.contains("Deleted")) out += "deleted: " + v.value("Deleted", "") + "\n";
        } else {
          out += go_print(v) + "\n";
        }
      }
      out += "\n";
    }
    if ((*r).contains("SpaceReclaimed") && (*r)["SpaceReclaimed"].is_number())
      reclaimed += (*r)["SpaceReclaimed"].get<double>();
  };
  take(app.call_json("POST", "/containers/prune" + q, Json()), "ContainersDeleted", "Deleted Containers");
  take(app.call_json("POST", "/networks/prune" + q, Json()), "NetworksDeleted", "Deleted Networks");
  if (f.flag("volumes")) take(app.call_json("POST", "/volumes/prune" + q, Json()), "VolumesDeleted", "Deleted Volumes");
  std::string iq = q.empty() ? "?" : q + "&";
  iq += "filters=" + url_escape(filters_json({std::string("dangling=") + (f.flag("all") ? "false" : "true")}));
  if (!fj.empty()) {
    std::vector<std::string> fl = f.list("filter");
    fl.push_back(std::string("dangling=") + (f.flag("all") ? "false" : "true"));
    iq = "?filters=" + url_escape(filters_json(fl));
  }
  take(app.call_json("POST", "/images/prune" + iq, Json()), "ImagesDeleted", "Deleted Images");
  out += "Total reclaimed space: " + human_size_prec(reclaimed, 4) + "\n";
  app.out(out);
  return 0;
}

// Copies stdin -> daemon socket and daemon socket -> stdout; the far end of `ssh ... berth
// system dial-stdio`.
static int run_dial_stdio(App& app, const ParsedFlags&) {
  auto ep = app.endpoint();
  if (!ep) return report(app, ep.error());
  if (ep->kind != Endpoint::Unix) return report(app, Error(Errc::Unimplemented, "dial-stdio supports only unix sockets"));
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, ep->path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return report(app, Error::from_errno(errno, "connect", ep->path));
  bool in_open = true;
  char buf[65536];
  for (;;) {
    struct pollfd p[2] = {{s.get(), POLLIN, 0}, {STDIN_FILENO, static_cast<short>(in_open ? POLLIN : 0), 0}};
    if (::poll(p, in_open ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      return kExitError;
    }
    if (p[0].revents) {
      ssize_t n = ::read(s.get(), buf, sizeof buf);
      if (n <= 0) break;
      if (!write_fd_all(STDOUT_FILENO, std::string_view(buf, static_cast<std::size_t>(n)))) break;
    }
    if (in_open && p[1].revents) {
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) {
        in_open = false;
        ::shutdown(s.get(), SHUT_WR);
      } else if (!write_fd_all(s.get(), std::string_view(buf, static_cast<std::size_t>(n)))) {
        break;
      }
    }
  }
  return 0;
}

const Command& cmd_system_df() {
  static const Command c{"system df", {}, "[OPTIONS]", "Show berth disk usage",
                         {{"format", 0, FlagKind::String, "Format output using a custom template"},
                          {"verbose", 'v', FlagKind::Bool, "Show detailed information on space usage"}},
                         0, 0, true, run_df};
  return c;
}
const Command& cmd_system_prune() {
  static const Command c{"system prune", {}, "[OPTIONS]", "Remove unused data",
                         {{"all", 'a', FlagKind::Bool, "Remove all unused images not just dangling ones"},
                          {"filter", 0, FlagKind::List, "Provide filter values (e.g. \"label=<key>=<value>\")", "filter"},
                          {"force", 'f', FlagKind::Bool, "Do not prompt for confirmation"},
                          {"volumes", 0, FlagKind::Bool, "Prune anonymous volumes"}},
                         0, 0, true, run_prune};
  return c;
}
const Command& cmd_system_dial_stdio() {
  static const Command c{"system dial-stdio", {}, "", "Proxy the stdio stream to the daemon connection. Should not be invoked manually.",
                         {}, 0, 0, true, run_dial_stdio};
  return c;
}

}  // namespace berth::cli
