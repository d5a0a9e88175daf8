// SPDX-License-Identifier: Apache-2.0
// berthd's libssl and libcrypto, loaded on first use (lazy_lib.hpp): only the TLS listener
// (--tlsverify) and TLS client connections use them, and loading libcrypto costs ≈ 1.7 MB
// resident (its relocations alone). The digests are berth's own (src/common/digest.cpp).
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "daemon/lazy_lib.hpp"

static_assert(OPENSSL_VERSION_MAJOR == 3, "libssl.so.3 expected");

namespace {
// libssl's dependency libcrypto comes with it; dlsym on libssl's handle finds both.
void* lib() {
  static void* const h = berth::daemon::lazy_open("libssl.so.3");
  return h;
}
}  // namespace

#define FWD(ret, name, params, args, fail) BERTH_LAZY_FWD(lib, ret, name, params, args, fail)
FWD(void, ERR_clear_error, (void), (), )
FWD(void, ERR_error_string_n, (unsigned long a0, char * a1, size_t a2), (a0, a1, a2), )
FWD(unsigned long, ERR_get_error, (void), (), {})
FWD(unsigned long, ERR_peek_error, (void), (), {})
FWD(int, SSL_CTX_check_private_key, (const SSL_CTX * a0), (a0), {})
FWD(void, SSL_CTX_free, (SSL_CTX * a0), (a0), )
FWD(int, SSL_CTX_load_verify_locations, (SSL_CTX * a0, const char * a1, const char * a2), (a0, a1, a2), {})
FWD(SSL_CTX *, SSL_CTX_new, (const SSL_METHOD * a0), (a0), nullptr)
FWD(int, SSL_CTX_set_default_verify_paths, (SSL_CTX * a0), (a0), {})
FWD(void, SSL_CTX_set_verify, (SSL_CTX * a0, int a1, SSL_verify_cb a2), (a0, a1, a2), )
FWD(int, SSL_CTX_use_PrivateKey_file, (SSL_CTX * a0, const char * a1, int a2), (a0, a1, a2), {})
FWD(int, SSL_CTX_use_certificate_chain_file, (SSL_CTX * a0, const char * a1), (a0, a1), {})
FWD(int, SSL_accept, (SSL * a0), (a0), -1)
FWD(int, SSL_connect, (SSL * a0), (a0), -1)
FWD(void, SSL_free, (SSL * a0), (a0), )
FWD(X509 *, SSL_get1_peer_certificate, (const SSL * a0), (a0), nullptr)
FWD(int, SSL_get_error, (const SSL * a0, int a1), (a0, a1), SSL_ERROR_SSL)
FWD(SSL *, SSL_new, (SSL_CTX * a0), (a0), nullptr)
FWD(int, SSL_pending, (const SSL * a0), (a0), {})
FWD(int, SSL_read, (SSL * a0, void * a1, int a2), (a0, a1, a2), -1)
FWD(int, SSL_set1_host, (SSL * a0, const char * a1), (a0, a1), {})
FWD(int, SSL_set_fd, (SSL * a0, int a1), (a0, a1), {})
FWD(int, SSL_shutdown, (SSL * a0), (a0), -1)
FWD(int, SSL_write, (SSL * a0, const void * a1, int a2), (a0, a1, a2), -1)
FWD(const SSL_METHOD *, TLS_client_method, (void), (), nullptr)
FWD(const SSL_METHOD *, TLS_server_method, (void), (), nullptr)
FWD(char *, X509_NAME_oneline, (const X509_NAME * a0, char * a1, int a2), (a0, a1, a2), nullptr)
FWD(void, X509_free, (X509 * a0), (a0), )
FWD(X509_NAME *, X509_get_subject_name, (const X509 * a0), (a0), nullptr)
FWD(long, SSL_CTX_ctrl, (SSL_CTX * a0, int a1, long a2, void * a3), (a0, a1, a2, a3), 0)
FWD(long, SSL_ctrl, (SSL * a0, int a1, long a2, void * a3), (a0, a1, a2, a3), 0)
