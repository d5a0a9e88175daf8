// SPDX-License-Identifier: Apache-2.0
// Docker's output conventions: human durations and sizes, timestamps, the tabwriter used for
// tables, and rendering a list of rows through --format ("table ...", "json", a template).
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/template.hpp"
#include "common/result.hpp"

namespace berth::cli {

// go-units HumanDuration: "Less than a second", "1 second", "About a minute", "3 hours" ...
std::string human_duration(std::int64_t seconds);
// go-units HumanSizeWithPrecision (decimal units, "%.<p>g"): 1536 -> "1.54kB" (p=3).
std::string human_size_prec(double bytes, int precision);
// go-units BytesSize (binary units, "%.4g"): 1536 -> "1.5KiB".
std::string bytes_size(double bytes);
// RFC 3339 (with optional fractional seconds and zone) -> unix seconds (+ nanos).
std::optional<std::int64_t> parse_rfc3339(std::string_view s, std::int64_t* nanos = nullptr);
// Go's time.Time.String() in local time: "2026-11-23 08:47:09 +0000 UTC".
std::string go_time_string(std::int64_t unix_seconds);
// "5 minutes ago" for a unix time (now taken from the clock unless given).
std::string time_ago(std::int64_t unix_seconds, std::optional<std::int64_t> now = std::nullopt);
// 12 hex chars of an id, dropping an "sha256:" prefix.
std::string short_id(std::string_view id);
// Truncates to `width` characters (runes) with a trailing "…" as docker's Ellipsis.
std::string ellipsis(std::string_view s, std::size_t width);
// Go's strconv.Quote for printable ASCII/UTF-8 text.
std::string go_quote(std::string_view s);

// Go's text/tabwriter with docker's settings (minwidth 10, tabwidth 1, padding 3, ' ').
std::string tabwrite(std::string_view text, std::size_t minwidth = 10, std::size_t padding = 3);

// What --format asked for, after docker's preprocessing ("table", "json", `\t` -> tab).
struct ListFormat {
  bool table = false;
  std::string tmpl;  // template text without the "table" prefix
};
// `format` may be "", "table", "table X", "json", or a template. default_table is used for ""
// and bare "table".
ListFormat parse_list_format(std::string_view format, std::string_view default_table);

// Renders rows (each a JSON object of already-formatted fields) through fmt; a table gets a
// header line rendered from `headers` (field -> column title) and is tab-aligned.
Result<std::string> render_list(const ListFormat& fmt, const std::vector<Json>& rows,
                                const Json& headers);

}  // namespace berth::cli
