// SPDX-License-Identifier: Apache-2.0
#include "daemon/api_util.hpp"

#include <ctime>

#include "common/strings.hpp"
#include "daemon/daemon.hpp"

namespace berth::daemon {

void send_json(http::ResponseWriter& w, int status, const nlohmann::json& j) {
  (void)w.send(status, j.dump(), "application/json");
}

void send_error(http::ResponseWriter& w, int status, const std::string& msg) {
  if (w.started()) return;
  send_json(w, status, json{{"message", msg}});
}

void send_error(http::ResponseWriter& w, const Error& e) { send_error(w, http_status(e), e.message()); }

ApiVersion req_version(const http::Request& q) {
  auto v = parse_api_version(q.param("_api"));
  return v ? *v : *parse_api_version(kMaxApiVersion);
}

// Reads a JSON body; an empty body yields null.
Result<json> read_json(http::Request& q) {
  auto body = q.body().read_all(kMaxJsonBody);
  if (!body) {
    if (body.error().message() == "body too large") return fail(Errc::InvalidArgument, "request body too large");
    return fail(std::move(body).error());
  }
  if (trim(*body).empty()) return json(nullptr);
  std::string ct = q.headers.value("Content-Type");
  if (!ct.empty() && ct.rfind("application/json", 0) != 0)
    return fail(Errc::InvalidArgument, "unsupported Content-Type header (" + ct + "): must be 'application/json'");
  try {
    return json::parse(*body);
  } catch (const std::exception& e) {
    std::string m = e.what();
    auto p = m.find("]: ");
    return fail(Errc::InvalidArgument, "invalid JSON: " + (p == std::string::npos ? m : m.substr(p + 3)));
  }
}

// filters={"status":["running"],"label":{"a=b":true}} (both map and list forms)
std::map<std::string, std::vector<std::string>> parse_filters(const http::Request& q, Error* err) {
  std::map<std::string, std::vector<std::string>> out;
  auto f = q.query_value("filters");
  if (!f || f->empty()) return out;
  try {
    auto j = json::parse(*f);
    for (auto& [k, v] : j.items()) {
      if (v.is_array()) {
        for (auto& x : v) out[k].push_back(x.get<std::string>());
      } else if (v.is_object()) {
        for (auto& [x, b] : v.items())
          if (!b.is_boolean() || b.get<bool>()) out[k].push_back(x);
      }
    }
  } catch (const std::exception& e) {
    *err = Error(Errc::InvalidArgument, std::string("invalid filter: ") + e.what());
  }
  return out;
}

std::int64_t parse_rfc3339_nanos(const std::string& s) {
  struct tm tm{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return 0;
  std::int64_t ns = static_cast<std::int64_t>(timegm(&tm)) * 1000000000;
  if (*rest == '.') {
    ++rest;
    std::int64_t frac = 0;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 9) {
        frac = frac * 10 + (*rest - '0');
        ++digits;
      }
      ++rest;
    }
    while (digits++ < 9) frac *= 10;
    ns += frac;
  }
  return ns;
}

// "1700000000", "1700000000.5", RFC3339, or durations like "10m" (relative to now).
std::optional<std::int64_t> parse_time_param(const std::string& s) {
  if (s.empty()) return std::nullopt;
  if (s.find('T') != std::string::npos) return parse_rfc3339_nanos(s);
  auto [a, b] = split_once(s, '.');
  if (auto sec = parse_int(a)) {
    std::int64_t ns = *sec * 1000000000;
    if (!b.empty()) {
      std::string frac(b.substr(0, 9));
      while (frac.size() < 9) frac += '0';
      ns += parse_int(frac).value_or(0);
    }
    return ns;
  }
  char unit = s.back();
  auto n = parse_int(std::string_view(s).substr(0, s.size() - 1));
  if (!n) return std::nullopt;
  std::int64_t mul = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 0;
  if (!mul) return std::nullopt;
  // Relative to now with full precision, as dockerd (time.Now().Add(-d)): `--until 0s` must
  // include events of the current second.
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return (static_cast<std::int64_t>(now.tv_sec) - *n * mul) * 1000000000 + now.tv_nsec;
}

std::string human_duration(std::int64_t secs) {
  if (secs < 1) return "Less than a second";
  if (secs < 60) return std::to_string(secs) + " second" + (secs == 1 ? "" : "s");
  std::int64_t m = secs / 60;
  if (m < 60) return m == 1 ? "About a minute" : std::to_string(m) + " minutes";
  std::int64_t h = m / 60;
  if (h < 48) return h == 1 ? "About an hour" : std::to_string(h) + " hours";
  return std::to_string(h / 24) + " days";
}

std::string frame(int stream, std::string_view data, bool raw) {
  if (raw) return std::string(data);
  std::string f(8, '\0');
  f[0] = static_cast<char>(stream);
  auto n = static_cast<std::uint32_t>(data.size());
  f[4] = static_cast<char>(n >> 24);
  f[5] = static_cast<char>(n >> 16);
  f[6] = static_cast<char>(n >> 8);
  f[7] = static_cast<char>(n);
  f.append(data);
  return f;
}

}  // namespace berth::daemon
