/*
 * burrow-init: PID 1 inside a sandbox.
 *
 * Node cannot reap processes it did not spawn, and every orphan in a pid
 * namespace is re-parented to PID 1. This tiny init starts the runtime as its
 * only direct child, forwards termination signals to it, reaps every zombie,
 * and exits with the runtime's status, which it also writes to its stderr
 * (the sandbox's runtime.log) for the server's supervisor.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child = -1;

static void forward(int sig) {
  if (child > 0) kill(child, sig);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: init PROGRAM [ARGS...]\n");
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  child = fork();
  if (child < 0) {
    perror("fork");
    return 1;
  }
  if (child == 0) {
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    execv(argv[1], argv + 1);
    perror("execv");
    _exit(127);
  }
  for (;;) {
    int status;
    pid_t pid = wait(&status);
    if (pid < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (pid == child) {
      /* The server is not our parent and cannot see this status: the log line is how it learns why. */
      if (WIFEXITED(status)) {
        fprintf(stderr, "burrow-init: the runtime exited with status %d\n", WEXITSTATUS(status));
        return WEXITSTATUS(status);
      }
      fprintf(stderr, "burrow-init: the runtime was killed by signal %d\n", WTERMSIG(status));
      return 128 + WTERMSIG(status);
    }
  }
}
