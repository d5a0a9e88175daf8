// SPDX-License-Identifier: Apache-2.0
// berthd: thin main over src/daemon. Signals: SIGTERM/SIGINT stop cleanly (containers keep
// running with live-restore, the default), SIGHUP reloads daemon.json.
#include <malloc.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/file.hpp"
#include "common/log.hpp"
#include "daemon/config.hpp"
#include "daemon/daemon.hpp"
#include "daemon/lazy_lib.hpp"

using namespace berth;

static void sd_notify_ready() {
  const char* sock = std::getenv("NOTIFY_SOCKET");
  if (!sock || !*sock) return;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::size_t n = std::strlen(sock);
  if (n >= sizeof sa.sun_path) return;
  std::memcpy(sa.sun_path, sock, n);
  if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0';
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const char msg[] = "READY=1";
  (void)::sendto(fd, msg, sizeof msg - 1, 0, reinterpret_cast<sockaddr*>(&sa),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n));
  ::close(fd);
}

int main(int argc, char** argv) {
  // a thread per connection: without a cap every thread gets its own malloc arena (idle RSS)
  ::mallopt(M_ARENA_MAX, 2);
  log::set_tag("berthd");
  auto cfg = daemon::parse_flags(argc - 1, argv + 1);
  if (!cfg) {
    if (cfg.error().is(Errc::Cancelled)) {
      std::fputs(cfg.error().message().c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "berthd: %s\n%s", cfg.error().message().c_str(), daemon::usage().c_str());
    return 125;
  }
  if (auto st = daemon::load_config_file(*cfg); !st) {
    std::fprintf(stderr, "berthd: unable to configure the daemon: %s\n", st.error().message().c_str());
    return 1;
  }
  log::Level lvl;
  if (!log::parse_level(cfg->debug ? "debug" : cfg->log_level, &lvl)) {
    std::fprintf(stderr, "berthd: unable to parse logging level: %s\n", cfg->log_level.c_str());
    return 1;
  }
  log::set_level(lvl);
  if (::geteuid() != 0) {
    std::fprintf(stderr, "berthd: berthd needs to be started with root privileges\n");
    return 1;
  }
  // Signals are taken synchronously by the main thread; every other thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&set, s);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  if (cfg->pidfile.empty()) cfg->pidfile = cfg->exec_root + "/berthd.pid";
  (void)mkdir_all(dirname(cfg->pidfile), 0755);
  if (auto old = read_file(cfg->pidfile)) {
    int pid = std::atoi(old->c_str());
    if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) == 0) {
      auto cmd = read_file("/proc/" + std::to_string(pid) + "/cmdline");
      if (cmd && cmd->find("berthd") != std::string::npos) {
        std::fprintf(stderr, "berthd: pid file found, ensure berthd is not running or delete %s\n", cfg->pidfile.c_str());
        return 1;
      }
    }
  }
  if (auto st = atomic_write_file(cfg->pidfile, std::to_string(::getpid()) + "\n"); !st) {
    std::fprintf(stderr, "berthd: %s\n", st.error().message().c_str());
    return 1;
  }
  int rc = 0;
  {
    daemon::Daemon d(*cfg);
    if (auto st = d.init(); !st) {
      log::error("failed to start daemon: {}", st.error().message());
      ::unlink(cfg->pidfile.c_str());
      return 1;
    }
    if (auto st = d.listen(); !st) {
      log::error("failed to start daemon: {}", st.error().message());
      d.shutdown();
      ::unlink(cfg->pidfile.c_str());
      return 1;
    }
    log::info("berthd ready (data-root {}, exec-root {})", cfg->data_root, cfg->exec_root);
    sd_notify_ready();
    for (;;) {
      // every 5 s without a signal: memory freed by the request threads goes back to the
      // system (idle RSS)
      timespec idle{5, 0};
      int sig = ::sigtimedwait(&set, nullptr, &idle);
      if (sig < 0) {
        if (errno == EAGAIN) {
          daemon::nftables_unload_idle();
          ::malloc_trim(0);
        }
        continue;
      }
      if (sig == SIGHUP) {
        if (auto st = d.reload(); !st) log::error("reload: {}", st.error().message());
        else log::info("configuration reloaded");
        continue;
      }
      log::info("received {}, shutting down", strsignal(sig));
      break;
    }
    d.shutdown();
  }
  ::unlink(cfg->pidfile.c_str());
  return rc;
}
