// SPDX-License-Identifier: Apache-2.0
// berthd's libnftables, loaded for each burst of use and unloaded when idle (lazy_lib.hpp).
// libnftables with libnftnl, libxtables, libjansson and libgmp is ≈ 1.3 MB resident once its
// parser has run, and berthd runs it only at startup (the base ruleset) and when networks or
// published ports change. The nft_ctx berth holds is a stand-in: it makes a real context with its
// settings on the first command after each load and keeps it until the library is unloaded (a
// context carries no state berth relies on between commands, so a fresh one after a reload is
// fine). The library stays loaded until it has been idle for 5 s (nftables_unload_idle, from
// berthd's idle loop), which frees the real contexts first.
#include <nftables/libnftables.h>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "daemon/lazy_lib.hpp"

namespace {

struct Standin {
  std::uint32_t flags = 0;
  bool buffer_output = false, buffer_error = false;
  std::string output, error;            // of the last command
  std::string output_taken, error_taken;  // what the last get_*_buffer returned
  nft_ctx* real = nullptr;  // while the library is loaded (guarded by mu)
};

struct Lib {
  void* handle = nullptr;
  decltype(&::nft_ctx_new) ctx_new = nullptr;
  decltype(&::nft_ctx_free) ctx_free = nullptr;
  decltype(&::nft_ctx_buffer_output) buffer_output = nullptr;
  decltype(&::nft_ctx_buffer_error) buffer_error = nullptr;
  decltype(&::nft_ctx_get_output_buffer) get_output = nullptr;
  decltype(&::nft_ctx_get_error_buffer) get_error = nullptr;
  decltype(&::nft_run_cmd_from_buffer) run = nullptr;
  std::chrono::steady_clock::time_point last_use;
};

std::mutex mu;
Lib lib;                       // guarded by mu
std::set<Standin*> standins;  // guarded by mu: their real contexts go before the library

template <class F>
void sym(const char* name, F* out) {
  *out = reinterpret_cast<F>(::dlsym(lib.handle, name));
}

// With mu held.
bool load() {
  if (lib.handle) return true;
  lib.handle = berth::daemon::lazy_open("libnftables.so.1");
  if (!lib.handle) return false;
  sym("nft_ctx_new", &lib.ctx_new);
  sym("nft_ctx_free", &lib.ctx_free);
  sym("nft_ctx_buffer_output", &lib.buffer_output);
  sym("nft_ctx_buffer_error", &lib.buffer_error);
  sym("nft_ctx_get_output_buffer", &lib.get_output);
  sym("nft_ctx_get_error_buffer", &lib.get_error);
  sym("nft_run_cmd_from_buffer", &lib.run);
  if (lib.ctx_new && lib.ctx_free && lib.buffer_output && lib.buffer_error && lib.get_output && lib.get_error &&
      lib.run)
    return true;
  ::dlclose(lib.handle);
  lib = Lib{};
  return false;
}

Standin* standin(nft_ctx* c) { return reinterpret_cast<Standin*>(c); }

}  // namespace

namespace berth::daemon {
void nftables_unload_idle() {
  std::lock_guard lk(mu);
  if (!lib.handle || std::chrono::steady_clock::now() - lib.last_use < std::chrono::seconds(5)) return;
  for (Standin* s : standins)
    if (s->real) lib.ctx_free(std::exchange(s->real, nullptr));
  ::dlclose(lib.handle);
  lib = Lib{};
}
}  // namespace berth::daemon

extern "C" {

nft_ctx* nft_ctx_new(std::uint32_t flags) {
  auto* s = new Standin;
  s->flags = flags;
  std::lock_guard lk(mu);
  standins.insert(s);
  return reinterpret_cast<nft_ctx*>(s);
}

void nft_ctx_free(nft_ctx* c) {
  Standin* s = standin(c);
  {
    std::lock_guard lk(mu);
    standins.erase(s);
    if (s->real && lib.handle) lib.ctx_free(s->real);
  }
  delete s;
}

int nft_ctx_buffer_output(nft_ctx* c) {
  std::lock_guard lk(mu);
  standin(c)->buffer_output = true;
  if (standin(c)->real) lib.buffer_output(standin(c)->real);
  return 0;
}

int nft_ctx_buffer_error(nft_ctx* c) {
  std::lock_guard lk(mu);
  standin(c)->buffer_error = true;
  if (standin(c)->real) lib.buffer_error(standin(c)->real);
  return 0;
}

const char* nft_ctx_get_output_buffer(nft_ctx* c) {
  Standin* s = standin(c);
  s->output_taken = std::move(s->output);
  s->output.clear();
  return s->output_taken.c_str();
}

const char* nft_ctx_get_error_buffer(nft_ctx* c) {
  Standin* s = standin(c);
  s->error_taken = std::move(s->error);
  s->error.clear();
  return s->error_taken.c_str();
}

int nft_run_cmd_from_buffer(nft_ctx* c, const char* buf) {
  Standin* s = standin(c);
  std::lock_guard lk(mu);
  s->output.clear();
  s->error.clear();
  if (!load()) {
    s->error = "libnftables (libnftables.so.1) could not be loaded\n";
    return -1;
  }
  if (!s->real) {
    s->real = lib.ctx_new(s->flags);
    if (!s->real) {
      s->error = "nft_ctx_new failed\n";
      return -1;
    }
    if (s->buffer_output) lib.buffer_output(s->real);
    if (s->buffer_error) lib.buffer_error(s->real);
  }
  int r = lib.run(s->real, buf);
  if (s->buffer_output) s->output = lib.get_output(s->real);
  if (s->buffer_error) s->error = lib.get_error(s->real);
  lib.last_use = std::chrono::steady_clock::now();
  return r;
}

}  // extern "C"
