// SPDX-License-Identifier: Apache-2.0
// Container log writers used by berth-shim (and read back by berthd).
// json-file: one JSON object per line, Docker's format:
//   {"log":"hello\n","stream":"stdout","time":"2026-11-23T09:00:00.123456789Z"}
// rotated when the file passes max_size bytes: <path>.1 … <path>.<max_file-1>.
// local: same records, no rotation limit other than max_size/max_file (kept compatible with
// json-file for reading). none: discards.
#pragma once

#include <time.h>

#include <string>
#include <string_view>

namespace berth::shim {

std::string rfc3339nano(const timespec& ts);
std::string json_escape_log(std::string_view s);

class LogWriter {
 public:
  // The file is opened (made) by open(), before the first write.
  LogWriter(std::string driver, std::string path, long long max_size, int max_file);
  ~LogWriter();
  void open();
  // stream: 1 stdout, 2 stderr. Splits into lines; partial lines wait for more (16 KiB max).
  void write(int stream, std::string_view data);
  void flush_partial(int stream);

 private:
  void emit(int stream, std::string_view line);
  void rotate();
  std::string driver_, path_;
  long long max_size_;
  int max_file_;
  int fd_ = -1;
  long long size_ = 0;
  std::string partial_[3];
};

}  // namespace berth::shim
