// SPDX-License-Identifier: Apache-2.0
#include "cli/format.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/strings.hpp"

namespace berth::cli {

std::string human_duration(std::int64_t seconds) {
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return std::to_string(seconds) + " seconds";
  std::int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return std::to_string(minutes) + " minutes";
  auto hours = static_cast<std::int64_t>(static_cast<double>(seconds) / 3600.0 + 0.5);
  if (hours == 1) return "About an hour";
  if (hours < 48) return std::to_string(hours) + " hours";
  if (hours < 24 * 7 * 2) return std::to_string(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return std::to_string(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24 / 30) + " months";
  return std::to_string(seconds / 3600 / 24 / 365) + " years";
}

static std::string size_with(double size, double base, const char* const* units, int n,
                             int precision) {
  int u = 0;
  while (size >= base && u < n - 1) {
    size /= base;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g%s", precision, size, units[u]);
  return buf;
}

std::string human_size_prec(double bytes, int precision) {
  static const char* const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  return size_with(bytes, 1000.0, units, 9, precision);
}

std::string bytes_size(double bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
  return size_with(bytes, 1024.0, units, 9, 4);
}

std::optional<std::int64_t> parse_rfc3339(std::string_view s, std::int64_t* nanos) {
  // 2026-11-23T08:47:09.123456789Z | 2026-11-23T08:47:09+01:00
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
    auto v = parse_int(s.substr(pos, len));
    if (!v) return std::nullopt;
    return static_cast<int>(*v);
  };
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), se = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
  std::size_t i = 19;
  std::int64_t ns = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 9) {
        ns = ns * 10 + (s[i] - '0');
        ++digits;
      }
      ++i;
    }
    while (digits++ < 9) ns *= 10;
  }
  std::int64_t offset = 0;
  if (i < s.size()) {
    if (s[i] == 'Z' || s[i] == 'z') {
      ++i;
    } else if ((s[i] == '+' || s[i] == '-') && i + 6 <= s.size()) {
      auto oh = num(i + 1, 2), om = num(i + 4, 2);
      if (!oh || !om) return std::nullopt;
      offset = (*oh * 3600 + *om * 60) * (s[i] == '+' ? 1 : -1);
      i += 6;
    } else {
      return std::nullopt;
    }
  }
  std::tm tm{};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = *se;
  std::int64_t t = timegm(&tm) - offset;
  if (nanos) *nanos = ns;
  return t;
}

std::string go_time_string(std::int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[96];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
  return buf;
}

std::string time_ago(std::int64_t unix_seconds, std::optional<std::int64_t> now) {
  std::int64_t n = now ? *now : static_cast<std::int64_t>(std::time(nullptr));
  return human_duration(n - unix_seconds) + " ago";
}

std::string short_id(std::string_view id) {
  if (id.substr(0, 7) == "sha256:") id.remove_prefix(7);
  return std::string(id.substr(0, 12));
}

static std::size_t rune_count(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string ellipsis(std::string_view s, std::size_t width) {
  if (rune_count(s) <= width) return std::string(s);
  if (width == 0) return "";
  std::string out;
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (n == width - 1) break;
      ++n;
    }
    out += s[i];
  }
  return out + "…";
}

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string tabwrite(std::string_view text, std::size_t minwidth, std::size_t padding) {
  // Split into lines of cells; a cell is tab-terminated, the rest of a line is trailing text.
  std::vector<std::vector<std::string>> lines;
  std::vector<std::string> cur;
  std::string cell;
  for (char c : text) {
    if (c == '\t') {
      cur.push_back(std::move(cell));
      cell.clear();
    } else if (c == '\n') {
      cur.push_back(std::move(cell));
      cell.clear();
      lines.push_back(std::move(cur));
      cur.clear();
    } else {
      cell += c;
    }
  }
  bool trailing = !cell.empty() || !cur.empty();
  if (trailing) {
    cur.push_back(std::move(cell));
    lines.push_back(std::move(cur));
  }
  // Column widths over blocks of consecutive lines that have the column (Go's tabwriter).
  std::vector<std::vector<std::size_t>> widths(lines.size());
  for (std::size_t li = 0; li < lines.size(); ++li) widths[li].assign(lines[li].size(), 0);
  std::size_t maxcols = 0;
  for (auto& l : lines) maxcols = std::max(maxcols, l.size());
  for (std::size_t col = 0; col + 1 < maxcols + 1; ++col) {
    std::size_t li = 0;
    while (li < lines.size()) {
      if (lines[li].size() <= col + 1) {  // no tab-terminated cell in this column
        ++li;
        continue;
      }
      std::size_t start = li, w = minwidth;
      while (li < lines.size() && lines[li].size() > col + 1) {
        w = std::max(w, rune_count(lines[li][col]) + padding);
        ++li;
      }
      for (std::size_t k = start; k < li; ++k) widths[k][col] = w;
    }
  }
  std::string out;
  for (std::size_t li = 0; li < lines.size(); ++li) {
    const auto& l = lines[li];
    for (std::size_t c = 0; c < l.size(); ++c) {
      out += l[c];
      if (c + 1 < l.size()) out.append(widths[li][c] - std::min(widths[li][c], rune_count(l[c])), ' ');
    }
    if (li + 1 < lines.size() || !trailing) out += '\n';
  }
  return out;
}

ListFormat parse_list_format(std::string_view format, std::string_view default_table) {
  ListFormat f;
  std::string s(format);
  if (s.empty() || s == "table") s = std::string(default_table);
  if (s == "json") s = "{{json .}}";
  if (s.rfind("table", 0) == 0) {
    f.table = true;
    s = s.substr(5);
  }
  // strings.Trim(format, " ") and the \t \n replacer
  std::size_t a = s.find_first_not_of(' '), b = s.find_last_not_of(' ');
  s = a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
  std::string r;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 't' || s[i + 1] == 'n')) {
      r += s[i + 1] == 't' ? '\t' : '\n';
      ++i;
    } else {
      r += s[i];
    }
  }
  f.tmpl = std::move(r);
  return f;
}

Result<std::string> render_list(const ListFormat& fmt, const std::vector<Json>& rows,
                                const Json& headers) {
  auto t = Template::parse(fmt.tmpl);
  if (!t) return fail(Errc::InvalidArgument, "template parsing error: " + t.error().message());
  std::string body;
  if (fmt.table) {
    body += TRY(t->execute(headers, true));
    body += '\n';
  }
  // A whole row as JSON: docker's row contexts marshal themselves (escaped, see go_json_marshal).
  bool whole_row_json = trim(fmt.tmpl) == "{{json .}}";
  for (const auto& r : rows) {
    body += whole_row_json ? go_json_marshal(r) : TRY(t->execute(r));
    body += '\n';
  }
  if (fmt.table) return tabwrite(body);
  return body;
}

}  // namespace berth::cli
