/*
 * burrow-enter: start a user's command in the sandbox's user pids cgroup.
 *
 * The runtime starts every user command through this: it moves itself into
 * the cgroup whose cgroup.procs the server bound at /.burrow/user.procs (its
 * pid limit sits below the sandbox's), then execs the command. So whatever the
 * command forks can never take the pids the runtime keeps for its own work.
 * Without that file (an older server) it just execs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: enter PROGRAM [ARGS...]\n");
    return 2;
  }
  int fd = open("/.burrow/user.procs", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    /* "0" is the writer itself; a move may exceed the limit, forks after it may not. */
    if (write(fd, "0", 1) < 0) { /* the limit still holds for the sandbox as a whole */ }
    close(fd);
  }
  execvp(argv[1], argv + 1);
  int err = errno;
  /* Report as a shell would, as the runtime did before commands went through here. */
  if (err == ENOENT) fprintf(stderr, "%s: command not found\n", argv[1]);
  else fprintf(stderr, "%s: %s\n", argv[1], strerror(err));
  return err == ENOENT ? 127 : 126;
}
