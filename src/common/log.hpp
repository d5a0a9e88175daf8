// SPDX-License-Identifier: Apache-2.0
// Diagnostic logging facade over fmt. Container output never goes through here.
//   log::info("started {} in {} ms", id, ms);
//   log::set_format(log::Format::Json);  // {"level":"info","time":"...","msg":"..."}
// Thread-safe: each record is written with a single write(2).
#pragma once

#include <string_view>

#include <fmt/format.h>

namespace berth::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };
// Logfmt: logrus' text format, `time="..." level=debug msg="..."` (what runc prints).
enum class Format { Text, Json, Logfmt };

void set_level(Level l);
Level level();
void set_format(Format f);
// Where records go (default stderr). The fd is borrowed, not closed.
void set_fd(int fd);
// Tag put in front of text records ("berthd", "berth-runtime"); empty for none.
void set_tag(std::string_view tag);
// Parses "debug|info|warn|warning|error"; false if unknown.
bool parse_level(std::string_view s, Level* out);

void write(Level l, std::string_view msg);

template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  if (level() <= Level::Debug) write(Level::Debug, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) {
  if (level() <= Level::Info) write(Level::Info, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  if (level() <= Level::Warn) write(Level::Warn, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... a) {
  write(Level::Error, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace berth::log
