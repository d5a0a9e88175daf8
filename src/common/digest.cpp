// SPDX-License-Identifier: Apache-2.0
#include "common/digest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include "common/file.hpp"
#include "common/strings.hpp"

namespace berth {

Result<Digest> Digest::parse(std::string_view s) {
  auto [algo, hex] = split_once(s, ':');
  DigestAlgo a;
  std::size_t len;
  if (algo == "sha256") {
    a = DigestAlgo::Sha256;
    len = 64;
  } else if (algo == "sha512") {
    a = DigestAlgo::Sha512;
    len = 128;
  } else {
    return fail(Errc::InvalidArgument, "invalid digest \"" + std::string(s) +
                                           "\": unsupported algorithm");
  }
  if (hex.size() != len) {
    return fail(Errc::InvalidArgument, "invalid digest \"" + std::string(s) + "\": wrong length");
  }
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return fail(Errc::InvalidArgument, "invalid digest \"" + std::string(s) + "\": not hex");
  }
  return Digest(a, std::string(hex));
}

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
  DigestAlgo algo;
  ~Impl() {
    if (ctx) EVP_MD_CTX_free(ctx);
  }
};

Hasher::Hasher(DigestAlgo algo) : impl_(std::make_unique<Impl>()) {
  impl_->algo = algo;
  impl_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(impl_->ctx, algo == DigestAlgo::Sha256 ? EVP_sha256() : EVP_sha512(), nullptr);
}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(const void* data, std::size_t n) { EVP_DigestUpdate(impl_->ctx, data, n); }

Digest Hasher::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &len);
  return Digest(impl_->algo, hex_encode(md, len));
}

Digest digest_of(std::string_view data, DigestAlgo algo) {
  Hasher h(algo);
  h.update(data);
  return h.finish();
}

Result<Digest> digest_file(const std::string& path, DigestAlgo algo) {
  auto fd = TRY(open_file(path, O_RDONLY));
  Hasher h(algo);
  char buf[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd.get(), buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read", path);
    }
    if (r == 0) break;
    h.update(buf, static_cast<std::size_t>(r));
  }
  return h.finish();
}

}  // namespace berth
