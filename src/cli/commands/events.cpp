// SPDX-License-Identifier: Apache-2.0
// berth events [--since T] [--until T] [-f filter] [--format F]
#include <algorithm>
#include <ctime>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/format.hpp"
#include "cli/template.hpp"

namespace berth::cli {

Result<std::string> docker_timestamp(const std::string& v, std::int64_t now);

// "2026-11-23T08:47:09.123456789Z container start 3f2a... (image=busybox, name=x)"
static std::string event_line(const Json& e) {
  std::int64_t nanos = e.value("timeNano", std::int64_t{0});
  time_t secs = static_cast<time_t>(nanos ? nanos / 1000000000 : e.value("time", std::int64_t{0}));
  std::tm tm{};
  localtime_r(&secs, &tm);
  char ts[64], zone[16];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  std::strftime(zone, sizeof zone, "%z", &tm);
  std::string z = zone;
  if (z.size() == 5) z = z.substr(0, 3) + ":" + z.substr(3);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%09lld", static_cast<long long>(nanos % 1000000000));
  std::string s = std::string(ts) + frac + z + " " + e.value("Type", "") + " " + e.value("Action", "") + " ";
  const Json& actor = e.contains("Actor") ? e["Actor"] : Json();
  s += actor.is_object() ? actor.value("ID", "") : "";
  if (actor.is_object() && actor.contains("Attributes") && actor["Attributes"].is_object() && !actor["Attributes"].empty()) {
    std::vector<std::string> keys;
    for (auto it = actor["Attributes"].begin(); it != actor["Attributes"].end(); ++it) keys.push_back(it.key());
    std::sort(keys.begin(), keys.end());
    s += " (";
    for (std::size_t i = 0; i < keys.size(); ++i) s += (i ? ", " : "") + keys[i] + "=" + go_print(actor["Attributes"][keys[i]]);
    s += ")";
  }
  return s + "\n";
}

static int run_events(App& app, const ParsedFlags& f) {
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::string q;
  for (const char* k : {"since", "until"}) {
    if (!f.has(k)) continue;
    auto ts = docker_timestamp(f.str(k), now);
    if (!ts) return report(app, ts.error());
    q += (q.empty() ? "?" : "&") + std::string(k) + "=" + *ts;
  }
  std::string fj = filters_json(f.list("filter"));
  if (!fj.empty()) q += (q.empty() ? "?" : "&") + std::string("filters=") + url_escape(fj);
  std::string format = f.str("format");
  if (format == "json") format = "{{json .}}";
  Template tmpl;
  if (!format.empty()) {
    auto t = Template::parse(format);
    if (!t) return report(app, Error(Errc::InvalidArgument, "template parsing error: " + t.error().message()));
    tmpl = std::move(*t);
  }
  Client* c = nullptr;
  if (auto cl = app.client()) c = *cl;
  else return report(app, cl.error());
  std::string buf;
  auto r = c->stream("GET", "/events" + q, "", {}, [&](std::string_view d) {
    buf.append(d);
    std::size_t pos;
    while ((pos = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, pos);
      buf.erase(0, pos + 1);
      Json e;
      try {
        e = Json::parse(line);
      } catch (...) {
        continue;
      }
      if (format.empty()) {
        app.out(event_line(e));
      } else if (auto out = tmpl.execute(e)) {
        app.out(*out + "\n");
      }
    }
    return true;
  });
  if (!r) return report(app, r.error());
  if (r->status >= 400) return report(app, daemon_error(*r));
  return 0;
}

const Command& cmd_events() {
  static const Command c{"events", {"system events"}, "[OPTIONS]", "Get real time events from the server",
                         {{"filter", 'f', FlagKind::List, "Filter output based on conditions provided", "filter"},
                          {"format", 0, FlagKind::String, "Format output using a custom template"},
                          {"since", 0, FlagKind::String, "Show all events created since timestamp"},
                          {"until", 0, FlagKind::String, "Stream events until this timestamp"}},
                         0, 0, true, run_events};
  return c;
}

}  // namespace berth::cli
