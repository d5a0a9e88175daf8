// SPDX-License-Identifier: Apache-2.0
// berth logs [-f] [--tail N] [-t] [--since T] [--until T] CONTAINER
#include <unistd.h>

#include <ctime>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cmd_util.hpp"
#include "cli/format.hpp"
#include "common/strings.hpp"

namespace berth::cli {

// docker's GetTimestamp: a duration ("10m", "1h30m", "90s") back from now, RFC 3339, or a unix
// timestamp ("1700000000[.nanos]").
Result<std::string> docker_timestamp(const std::string& v, std::int64_t now) {
  if (v.empty()) return v;
  if (auto t = parse_rfc3339(v)) return std::to_string(*t);
  bool numeric = v.find_first_not_of("0123456789.") == std::string::npos;
  if (numeric) return v;
  // Go duration
  double total = 0;
  std::size_t i = 0;
  while (i < v.size()) {
    std::size_t st = i;
    while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) || v[i] == '.')) ++i;
    if (st == i) return fail(Errc::InvalidArgument, "invalid value for \"since\": \"" + v + "\"");
    double n = std::strtod(v.substr(st, i - st).c_str(), nullptr);
    std::size_t us = i;
    while (i < v.size() && std::isalpha(static_cast<unsigned char>(v[i]))) ++i;
    std::string unit = v.substr(us, i - us);
    double mul = unit == "h" ? 3600 : unit == "m" ? 60 : unit == "s" ? 1 : unit == "ms" ? 1e-3 : -1;
    if (mul < 0) return fail(Errc::InvalidArgument, "invalid value for \"since\": \"" + v + "\"");
    total += n * mul;
  }
  return std::to_string(now - static_cast<std::int64_t>(total));
}

static int run_logs(App& app, const ParsedFlags& f) {
  auto info = inspect_container(app, f.args[0]);
  if (!info) return report(app, info.error());
  bool tty = (*info)["Config"].value("Tty", false);
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  std::string q = "?stdout=1&stderr=1";
  if (f.flag("follow")) q += "&follow=1";
  if (f.flag("timestamps")) q += "&timestamps=1";
  if (f.flag("details")) q += "&details=1";
  std::string tail = f.str("tail");
  if (!tail.empty() && tail != "all") q += "&tail=" + url_escape(tail);
  for (const char* k : {"since", "until"}) {
    if (!f.has(k)) continue;
    auto ts = docker_timestamp(f.str(k), now);
    if (!ts) return report(app, ts.error());
    q += std::string("&") + k + "=" + *ts;
  }
  Client* c = nullptr;
  if (auto cl = app.client()) c = *cl;
  else return report(app, cl.error());
  std::string buf;
  auto r = c->stream("GET", "/containers/" + url_escape(f.args[0]) + "/logs" + q, "", {},
                     [&](std::string_view d) {
                       if (tty) {
                         (void)write_fd_all(STDOUT_FILENO, d);
                       } else {
                         buf.append(d);
                         demux_stream(buf, STDOUT_FILENO, STDERR_FILENO);
                       }
                       return true;
                     });
  if (!r) return report(app, r.error());
  if (r->status >= 400) return report(app, daemon_error(*r));
  return 0;
}

const Command& cmd_logs() {
  static const Command c{"logs", {"container logs"}, "[OPTIONS] CONTAINER", "Fetch the logs of a container",
                         {{"details", 0, FlagKind::Bool, "Show extra details provided to logs"},
                          {"follow", 'f', FlagKind::Bool, "Follow log output"},
                          {"since", 0, FlagKind::String, "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)"},
                          {"tail", 'n', FlagKind::String, "Number of lines to show from the end of the logs", "string", "all"},
                          {"timestamps", 't', FlagKind::Bool, "Show timestamps"},
                          {"until", 0, FlagKind::String, "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)"}},
                         1, 1, true, run_logs};
  return c;
}

}  // namespace berth::cli
