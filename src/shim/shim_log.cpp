// SPDX-License-Identifier: Apache-2.0
#include "shim/shim_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace berth::shim {

// UTC by hand: glibc's gmtime_r loads the time zone (/etc/localtime) at its first call, a file
// read on the way of the first log line or of the exit's record.
std::string rfc3339nano(const timespec& ts) {
  long long secs = ts.tv_sec;
  long long days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  long long rem = secs - days * 86400;
  // civil date from days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's algorithm)
  long long z = days + 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  long long doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long y = yoe + era * 400;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  long long d = doy - (153 * mp + 2) / 5 + 1;
  long long m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[160];  // room for any long long the compiler can imagine
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09ldZ", y, m, d, rem / 3600, rem / 60 % 60,
                rem % 60, static_cast<long>(ts.tv_nsec));
  return buf;
}

std::string json_escape_log(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

LogWriter::LogWriter(std::string driver, std::string path, long long max_size, int max_file)
    : driver_(std::move(driver)), path_(std::move(path)), max_size_(max_size), max_file_(max_file) {}

void LogWriter::open() {
  if (driver_ == "none" || path_.empty() || fd_ >= 0) return;
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  struct stat st{};
  if (fd_ >= 0 && ::fstat(fd_, &st) == 0) size_ = st.st_size;
}

LogWriter::~LogWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void LogWriter::rotate() {
  if (max_file_ <= 1) {
    if (::ftruncate(fd_, 0) == 0) size_ = 0;
    return;
  }
  for (int i = max_file_ - 1; i >= 1; --i) {
    std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
    std::string to = path_ + "." + std::to_string(i);
    ::rename(from.c_str(), to.c_str());
  }
  ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_TRUNC, 0640);
  size_ = 0;
}

void LogWriter::emit(int stream, std::string_view line) {
  if (fd_ < 0) return;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  std::string rec = "{\"log\":\"" + json_escape_log(line) + "\",\"stream\":\"" +
                    (stream == 2 ? "stderr" : "stdout") + "\",\"time\":\"" + rfc3339nano(ts) + "\"}\n";
  if (max_size_ > 0 && size_ > 0 && size_ + static_cast<long long>(rec.size()) > max_size_) rotate();
  if (fd_ < 0) return;
  size_t off = 0;
  while (off < rec.size()) {
    ssize_t n = ::write(fd_, rec.data() + off, rec.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  size_ += static_cast<long long>(rec.size());
}

void LogWriter::write(int stream, std::string_view data) {
  if (fd_ < 0) return;
  std::string& part = partial_[stream == 2 ? 2 : 1];
  while (!data.empty()) {
    auto nl = data.find('\n');
    if (nl == std::string_view::npos) {
      part.append(data);
      if (part.size() >= 16384) {
        emit(stream, part);
        part.clear();
      }
      return;
    }
    part.append(data.substr(0, nl + 1));
    emit(stream, part);
    part.clear();
    data.remove_prefix(nl + 1);
  }
}

void LogWriter::flush_partial(int stream) {
  std::string& part = partial_[stream == 2 ? 2 : 1];
  if (!part.empty()) {
    emit(stream, part);
    part.clear();
  }
}

}  // namespace berth::shim
