// SPDX-License-Identifier: Apache-2.0
#include "storage/reader.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <isa-l/igzip_lib.h>
#include <zstd.h>

namespace berth::storage {
namespace {

class FdReader : public Reader {
 public:
  explicit FdReader(int fd) : fd_(fd) {}
  Result<std::size_t> read(void* buf, std::size_t n) override {
    for (;;) {
      ssize_t r = ::read(fd_, buf, n);
      if (r >= 0) return static_cast<std::size_t>(r);
      if (errno != EINTR) return fail_errno("read");
    }
  }

 private:
  int fd_;
};

class StringReader : public Reader {
 public:
  explicit StringReader(std::string s) : s_(std::move(s)) {}
  Result<std::size_t> read(void* buf, std::size_t n) override {
    std::size_t k = std::min(n, s_.size() - pos_);
    std::memcpy(buf, s_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string s_;
  std::size_t pos_ = 0;
};

// Replays already-read bytes before continuing with the source.
class PrefixReader : public Reader {
 public:
  PrefixReader(std::string prefix, std::unique_ptr<Reader> src)
      : prefix_(std::move(prefix)), src_(std::move(src)) {}
  Result<std::size_t> read(void* buf, std::size_t n) override {
    if (pos_ < prefix_.size()) {
      std::size_t k = std::min(n, prefix_.size() - pos_);
      std::memcpy(buf, prefix_.data() + pos_, k);
      pos_ += k;
      return k;
    }
    return src_->read(buf, n);
  }

 private:
  std::string prefix_;
  std::size_t pos_ = 0;
  std::unique_ptr<Reader> src_;
};

constexpr std::size_t kInBuf = 256 * 1024;

class GzipReader : public Reader {
 public:
  explicit GzipReader(std::unique_ptr<Reader> src) : src_(std::move(src)), in_(kInBuf) {
    isal_inflate_init(&st_);
    st_.crc_flag = ISAL_GZIP;
  }
  Result<std::size_t> read(void* buf, std::size_t n) override {
    if (done_) return 0;
    for (;;) {
      if (st_.avail_in == 0 && !eof_) {
        std::size_t k = TRY(src_->read(in_.data(), in_.size()));
        if (k == 0) eof_ = true;
        st_.next_in = in_.data();
        st_.avail_in = static_cast<uint32_t>(k);
      }
      if (member_done_) {
        // Another gzip member follows (pigz/concatenated streams), or the end.
        if (st_.avail_in == 0 && eof_) {
          done_ = true;
          return 0;
        }
        auto* next = st_.next_in;
        auto avail = st_.avail_in;
        isal_inflate_reset(&st_);
        st_.crc_flag = ISAL_GZIP;
        st_.next_in = next;
        st_.avail_in = avail;
        member_done_ = false;
      }
      st_.next_out = static_cast<uint8_t*>(buf);
      st_.avail_out = static_cast<uint32_t>(std::min<std::size_t>(n, 1u << 30));
      int rc = isal_inflate(&st_);
      if (rc < 0) return fail(Errc::DataLoss, "gzip: invalid compressed data (isa-l error " +
                                                   std::to_string(rc) + ")");
      std::size_t produced = n - st_.avail_out;
      if (st_.block_state == ISAL_BLOCK_FINISH) member_done_ = true;
      if (produced > 0) return produced;
      if (!member_done_ && st_.avail_in == 0 && eof_)
        return fail(Errc::DataLoss, "gzip: unexpected end of compressed stream");
    }
  }

 private:
  std::unique_ptr<Reader> src_;
  std::vector<uint8_t> in_;
  inflate_state st_{};
  bool eof_ = false, member_done_ = false, done_ = false;
};

class ZstdReader : public Reader {
 public:
  explicit ZstdReader(std::unique_ptr<Reader> src)
      : src_(std::move(src)), in_(ZSTD_DStreamInSize()), ds_(ZSTD_createDStream()) {
    ZSTD_initDStream(ds_);
  }
  ~ZstdReader() override { ZSTD_freeDStream(ds_); }
  Result<std::size_t> read(void* buf, std::size_t n) override {
    for (;;) {
      if (ib_.pos == ib_.size && !eof_) {
        std::size_t k = TRY(src_->read(in_.data(), in_.size()));
        if (k == 0) eof_ = true;
        ib_ = {in_.data(), k, 0};
      }
      ZSTD_outBuffer ob{buf, n, 0};
      std::size_t before = ib_.pos;
      std::size_t rc = ZSTD_decompressStream(ds_, &ob, &ib_);
      if (ZSTD_isError(rc))
        return fail(Errc::DataLoss, std::string("zstd: ") + ZSTD_getErrorName(rc));
      if (ib_.pos != before || ob.pos > 0) last_rc_ = rc;
      if (ob.pos > 0) return ob.pos;
      if (eof_ && ib_.pos == ib_.size) {
        if (last_rc_ != 0) return fail(Errc::DataLoss, "zstd: unexpected end of compressed stream");
        return 0;
      }
    }
  }

 private:
  std::unique_ptr<Reader> src_;
  std::vector<char> in_;
  ZSTD_DStream* ds_;
  ZSTD_inBuffer ib_{nullptr, 0, 0};
  bool eof_ = false;
  std::size_t last_rc_ = 0;
};

}  // namespace

std::unique_ptr<Reader> fd_reader(int fd) { return std::make_unique<FdReader>(fd); }
std::unique_ptr<Reader> string_reader(std::string data) {
  return std::make_unique<StringReader>(std::move(data));
}

Result<std::unique_ptr<Reader>> decompressed(std::unique_ptr<Reader> src, Compression* detected) {
  std::string head(4, '\0');
  std::size_t got = 0;
  while (got < head.size()) {
    std::size_t k = TRY(src->read(head.data() + got, head.size() - got));
    if (k == 0) break;
    got += k;
  }
  head.resize(got);
  Compression c = Compression::None;
  auto u = [&](std::size_t i) { return static_cast<unsigned char>(head[i]); };
  if (got >= 2 && u(0) == 0x1f && u(1) == 0x8b) c = Compression::Gzip;
  else if (got >= 4 && u(0) == 0x28 && u(1) == 0xb5 && u(2) == 0x2f && u(3) == 0xfd)
    c = Compression::Zstd;
  if (detected) *detected = c;
  auto pre = std::make_unique<PrefixReader>(std::move(head), std::move(src));
  switch (c) {
    case Compression::Gzip: return std::make_unique<GzipReader>(std::move(pre));
    case Compression::Zstd: return std::make_unique<ZstdReader>(std::move(pre));
    case Compression::None: break;
  }
  return std::unique_ptr<Reader>(std::move(pre));
}

Result<std::size_t> HashingReader::read(void* buf, std::size_t n) {
  std::size_t k = TRY(inner_.read(buf, n));
  h_.update(buf, k);
  total_ += k;
  return k;
}

Result<Digest> HashingReader::drain_and_finish() {
  std::vector<char> buf(64 * 1024);
  for (;;) {
    std::size_t k = TRY(read(buf.data(), buf.size()));
    if (k == 0) break;
  }
  return h_.finish();
}

}  // namespace berth::storage
