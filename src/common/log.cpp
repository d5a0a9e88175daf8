// SPDX-License-Identifier: Apache-2.0
#include "common/log.hpp"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>

#include "common/strings.hpp"

namespace berth::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::atomic<int> g_format{static_cast<int>(Format::Text)};
std::atomic<int> g_fd{2};
std::mutex g_tag_mu;
std::string g_tag;

std::string_view level_name(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warning";
    case Level::Error: return "error";
  }
  return "info";
}

std::string now_rfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", t.tm_year + 1900, t.tm_mon + 1,
                     t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
}
}  // namespace

void set_level(Level l) { g_level = static_cast<int>(l); }
Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }
void set_format(Format f) { g_format = static_cast<int>(f); }
void set_fd(int fd) { g_fd = fd; }
void set_tag(std::string_view tag) {
  std::lock_guard lk(g_tag_mu);
  g_tag = tag;
}

bool parse_level(std::string_view s, Level* out) {
  if (s == "debug") *out = Level::Debug;
  else if (s == "info") *out = Level::Info;
  else if (s == "warn" || s == "warning") *out = Level::Warn;
  else if (s == "error" || s == "fatal" || s == "panic") *out = Level::Error;
  else return false;
  return true;
}

void write(Level l, std::string_view msg) {
  std::string line;
  if (static_cast<Format>(g_format.load()) == Format::Logfmt) {
    line = fmt::format(R"(time="{}" level={} msg="{}")", now_rfc3339(), level_name(l), json_escape(msg));
  } else if (static_cast<Format>(g_format.load()) == Format::Json) {
    line = fmt::format(R"({{"level":"{}","time":"{}","msg":"{}"}})", level_name(l), now_rfc3339(),
                       json_escape(msg));
  } else {
    std::string tag;
    {
      std::lock_guard lk(g_tag_mu);
      tag = g_tag;
    }
    line = fmt::format("{}{}{} [{}] {}", tag, tag.empty() ? "" : " ", now_rfc3339(), level_name(l),
                       msg);
  }
  line += '\n';
  // One write per record so concurrent writers do not interleave within a line.
  ssize_t r = ::write(g_fd.load(), line.data(), line.size());
  (void)r;
}

}  // namespace berth::log
