// SPDX-License-Identifier: Apache-2.0
// berthd's libcurl, loaded on first use (dlopen) instead of at startup. libcurl and what it
// pulls in (gnutls, p11-kit, krb5, ldap, nghttp2, ssh2, …) are megabytes of resident pages in a
// daemon that may never pull. Only the berthd executable has this file, linked with --as-needed
// so that libcurl.so is no startup dependency; src/distribution calls curl as everywhere else.
// Without libcurl the calls fail (CURLE_FAILED_INIT, null handles) instead of berthd not starting.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>

namespace {

struct Curl {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_easy_escape) easy_escape = nullptr;
  decltype(&::curl_free) free = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
  bool ok = false;
};

template <class F>
void sym(void* h, const char* name, F* out) {
  *out = reinterpret_cast<F>(::dlsym(h, name));
}

const Curl& lib() {
  static const Curl c = [] {
    Curl c;
    void* h = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) return c;
    sym(h, "curl_global_init", &c.global_init);
    sym(h, "curl_easy_init", &c.easy_init);
    sym(h, "curl_easy_setopt", &c.easy_setopt);
    sym(h, "curl_easy_perform", &c.easy_perform);
    sym(h, "curl_easy_cleanup", &c.easy_cleanup);
    sym(h, "curl_easy_getinfo", &c.easy_getinfo);
    sym(h, "curl_easy_strerror", &c.easy_strerror);
    sym(h, "curl_easy_escape", &c.easy_escape);
    sym(h, "curl_free", &c.free);
    sym(h, "curl_slist_append", &c.slist_append);
    sym(h, "curl_slist_free_all", &c.slist_free_all);
    c.ok = c.global_init && c.easy_init && c.easy_setopt && c.easy_perform && c.easy_cleanup && c.easy_getinfo &&
           c.easy_strerror && c.easy_escape && c.free && c.slist_append && c.slist_free_all;
    return c;
  }();
  return c;
}

}  // namespace

extern "C" {

CURLcode curl_global_init(long flags) { return lib().ok ? lib().global_init(flags) : CURLE_FAILED_INIT; }

CURL* curl_easy_init(void) { return lib().ok ? lib().easy_init() : nullptr; }

// The argument's type follows from the option's number range (curl.h CURLOPTTYPE_*).
CURLcode curl_easy_setopt(CURL* h, CURLoption option, ...) {
  if (!lib().ok) return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, option);
  CURLcode r;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    r = lib().easy_setopt(h, option, va_arg(ap, long));
  } else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
    r = lib().easy_setopt(h, option, va_arg(ap, void*));
  } else if (option < CURLOPTTYPE_OFF_T) {
    using Fn = void (*)(void);
    r = lib().easy_setopt(h, option, va_arg(ap, Fn));
  } else if (option < CURLOPTTYPE_BLOB) {
    r = lib().easy_setopt(h, option, va_arg(ap, curl_off_t));
  } else {
    r = lib().easy_setopt(h, option, va_arg(ap, void*));
  }
  va_end(ap);
  return r;
}

CURLcode curl_easy_perform(CURL* h) { return lib().ok ? lib().easy_perform(h) : CURLE_FAILED_INIT; }

void curl_easy_cleanup(CURL* h) {
  if (lib().ok) lib().easy_cleanup(h);
}

// Every CURLINFO takes a pointer.
CURLcode curl_easy_getinfo(CURL* h, CURLINFO info, ...) {
  if (!lib().ok) return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, info);
  CURLcode r = lib().easy_getinfo(h, info, va_arg(ap, void*));
  va_end(ap);
  return r;
}

const char* curl_easy_strerror(CURLcode code) {
  return lib().ok ? lib().easy_strerror(code) : "libcurl (libcurl.so.4) could not be loaded";
}

char* curl_easy_escape(CURL* h, const char* s, int n) { return lib().ok ? lib().easy_escape(h, s, n) : nullptr; }

void curl_free(void* p) {
  if (lib().ok) lib().free(p);
}

curl_slist* curl_slist_append(curl_slist* l, const char* s) { return lib().ok ? lib().slist_append(l, s) : nullptr; }

void curl_slist_free_all(curl_slist* l) {
  if (lib().ok) lib().slist_free_all(l);
}

}  // extern "C"
