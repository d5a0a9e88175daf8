// SPDX-License-Identifier: Apache-2.0
// berth-init: the `--init` process (tini's role), bind-mounted at /sbin/docker-init and run as
// the container's PID 1:  docker-init -- cmd args...
// It runs cmd as its child in a new process group (the terminal's foreground group when stdin
// is a tty), forwards every signal it can catch to it, reaps every zombie re-parented to it, and
// exits with the child's status (128+signal when the child was killed). Static, no allocation.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <initializer_list>

int main(int argc, char** argv) {
  int first = 1;
  while (first < argc && argv[first][0] == '-') {
    if (strcmp(argv[first], "--") == 0) {
      ++first;
      break;
    }
    if (strcmp(argv[first], "--version") == 0 || strcmp(argv[first], "-v") == 0) {
      printf("berth-init 1.0\n");
      return 0;
    }
    ++first;  // tini flags we do not need (-s, -g, …) are accepted and ignored
  }
  if (first >= argc) {
    fprintf(stderr, "usage: docker-init [--] program [args...]\n");
    return 1;
  }
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t all, old;
  sigfillset(&all);
  // signals that report a fault of this process stay deliverable
  for (int s : {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU})
    sigdelset(&all, s);
  sigprocmask(SIG_SETMASK, &all, &old);
  signal(SIGTTIN, SIG_IGN);
  signal(SIGTTOU, SIG_IGN);
  pid_t child = fork();
  if (child < 0) {
    perror("docker-init: fork");
    return 1;
  }
  if (child == 0) {
    setpgid(0, 0);
    if (isatty(0)) (void)tcsetpgrp(0, getpid());
    signal(SIGTTIN, SIG_DFL);
    signal(SIGTTOU, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, nullptr);
    execvp(argv[first], argv + first);
    fprintf(stderr, "docker-init: exec %s failed: %s\n", argv[first], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  int sfd = signalfd(-1, &all, SFD_CLOEXEC);
  for (;;) {
    signalfd_siginfo si;
    ssize_t n = read(sfd, &si, sizeof si);
    if (n != static_cast<ssize_t>(sizeof si)) {
      if (n < 0 && errno == EINTR) continue;
      // no signalfd: fall back to plain waiting
      int st;
      if (waitpid(child, &st, 0) == child) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return 1;
    }
    if (si.ssi_signo != SIGCHLD) {
      kill(child, static_cast<int>(si.ssi_signo));
      continue;
    }
    int st;
    pid_t w;
    while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
      if (w == child) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
  }
}
