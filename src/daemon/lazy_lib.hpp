// SPDX-License-Identifier: Apache-2.0
// berthd's heavy shared libraries, loaded on first use (dlopen) instead of at startup: each
// lazy_<lib>.cpp (berthd's executable only, linked with --as-needed so that the library is no
// startup dependency) defines the library's entry points berth calls and forwards them to the
// dlopen'ed library. The other binaries and the tests link the libraries as usual.
// When the library cannot be loaded the calls fail with the library's own failure values.
#pragma once

#include <dlfcn.h>

#include "common/log.hpp"

namespace berth::daemon {

// The handle of `soname`, opened on the first call (nullptr, logged once, when it cannot be).
inline void* lazy_open(const char* soname) {
  void* h = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!h) log::error("cannot load {}: {}", soname, ::dlerror());
  return h;
}

}  // namespace berth::daemon

// Defines `ret name params` forwarding `args` to the symbol of the library `handle()` returns;
// `fail` is returned when the library or the symbol is missing.
#define BERTH_LAZY_FWD(handle, ret, name, params, args, fail)                                    \
  extern "C" ret name params {                                                                   \
    static const auto f = [] {                                                                   \
      void* h = handle();                                                                        \
      return reinterpret_cast<decltype(&::name)>(h ? ::dlsym(h, #name) : nullptr);              \
    }();                                                                                         \
    if (!f) return fail;                                                                         \
    return f args;                                                                               \
  }

namespace berth::daemon {
// Unloads libnftables when it has not been used for a few seconds (lazy_nftables.cpp); called
// from berthd's idle loop.
void nftables_unload_idle();
}  // namespace berth::daemon
