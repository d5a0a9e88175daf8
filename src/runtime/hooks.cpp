// SPDX-License-Identifier: Apache-2.0
#include "runtime/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "common/file.hpp"
#include "common/unique_fd.hpp"

namespace berth::runtime {
namespace {

// Go's wording for a hook killed by a signal ("signal: bad system call"), which tools match.
std::string signal_text(int sig) {
  const char* d = ::strsignal(sig);
  std::string t = d ? d : "signal " + std::to_string(sig);
  if (!t.empty()) t[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(t[0])));
  return t;
}

Status run_one(const Hook& h, const std::string& state) {
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd err_r(err[0]), err_w(err[1]);
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : h.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    ::dup2(in_r.get(), 0);
    ::dup2(err_w.get(), 2);
    int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, 1);
    // A hook gets stdio only: no runtime fd (sync socket, seccomp listener, fifo) leaks into it.
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    ::execve(h.path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  in_r.reset();
  err_w.reset();
  (void)write_all(in_w.get(), state);  // a hook that does not read gets EPIPE; fine
  in_w.reset();
  int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  int timeout_ms = h.timeout ? *h.timeout * 1000 : -1;
  bool timed_out = false;
  if (pfd >= 0) {
    pollfd p{pfd, POLLIN, 0};
    int r;
    do r = ::poll(&p, 1, timeout_ms); while (r < 0 && errno == EINTR);
    if (r == 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
    }
    ::close(pfd);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  std::string errtxt = read_fd(err_r.get(), 64 << 10).value_or("");
  if (timed_out) return fail(Errc::Cancelled, "timeout after " + std::to_string(*h.timeout) + "s");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
  std::string msg = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                      : "signal: " + signal_text(WTERMSIG(status));
  if (!errtxt.empty()) msg += ", stderr: " + errtxt;
  return fail(Errc::Internal, msg);
}

}  // namespace

Status run_hooks(const std::vector<Hook>& hooks, const std::string& kind, const std::string& state_json) {
  for (std::size_t i = 0; i < hooks.size(); ++i) {
    auto st = run_one(hooks[i], state_json);
    if (!st) return fail(std::move(st.error()).context("error running hook #" + std::to_string(i) + " (" + kind + ", " + hooks[i].path + ")"));
  }
  return ok();
}

}  // namespace berth::runtime
