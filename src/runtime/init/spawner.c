/*
 * burrow-spawner: starts one-shot user commands for the runtime, fast.
 *
 * Forking the runtime (a Node process of tens of MiB) for every command costs
 * milliseconds, and going through burrow-enter adds an exec and a cgroup move.
 * This small process is started once, through burrow-enter, so it already
 * sits in the user pids cgroup; it listens on a unix socket and, per
 * connection, forks a handler (cheap: the process is tiny) that starts the
 * command and relays it back as frames. The runtime falls back to spawning
 * commands itself whenever this is not there or fails.
 *
 * Request (runtime -> handler): a 4-byte little-endian length, then NUL-ended
 * fields: grace (ms), ids, cwd, argc, argv[0..argc), envc, env[0..envc)
 * ("NAME=value"). ids is empty (stay root) or "uid gid group,group,...": the
 * command runs as that user with those supplementary groups.
 * Frames (handler -> runtime): a type byte, a 4-byte little-endian length, the
 * payload. 'P' the command's pid and the handler's ("pid handler"); 'O' stdout bytes; 'E' stderr
 * bytes; 'F' the command could not start ("errno where", where is "user", "cwd" or
 * "exec"); 'X' it exited ("code signal", after its pipes closed, or grace ms
 * after it exited when a daemonised grandchild holds them open).
 * The runtime closing the connection kills the command's process group.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST (16 << 20)
#define MAX_FIELDS 65536

extern char **environ;

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int frame(int sock, char type, const void *data, uint32_t len) {
  unsigned char head[5] = {(unsigned char)type, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, (len >> 24) & 0xff};
  if (write_all(sock, head, 5) < 0) return -1;
  return len ? write_all(sock, data, len) : 0;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* One request: start the command, relay its output and its end. Never returns. */
static void handle(int sock) {
  uint32_t len;
  if (read_all(sock, &len, 4) < 0 || len == 0 || len > MAX_REQUEST) _exit(1);
  char *req = malloc((size_t)len + 1);
  if (!req || read_all(sock, req, len) < 0) _exit(1);
  req[len] = 0;

  /* Split the NUL-ended fields. */
  char **fields = malloc(sizeof(char *) * MAX_FIELDS);
  size_t nf = 0;
  for (char *p = req; p < req + len && nf < MAX_FIELDS; p += strlen(p) + 1) fields[nf++] = p;
  if (nf < 5) _exit(1);
  long grace = strtol(fields[0], NULL, 10);
  if (grace < 0 || grace > 60000) grace = 50;
  const char *ids = fields[1];
  const char *cwd = fields[2];
  long argc = strtol(fields[3], NULL, 10);
  if (argc < 1 || (size_t)argc + 5 > nf) _exit(1);
  char **argv = calloc((size_t)argc + 1, sizeof(char *));
  for (long i = 0; i < argc; i++) argv[i] = fields[4 + i];
  long envc = strtol(fields[4 + argc], NULL, 10);
  if (envc < 0 || (size_t)(5 + argc + envc) > nf) _exit(1);
  char **envp = calloc((size_t)envc + 1, sizeof(char *));
  for (long i = 0; i < envc; i++) envp[i] = fields[5 + argc + i];

  /* The user to become, if any: "uid gid g1,g2,...". */
  uid_t uid = 0;
  gid_t gid = 0;
  gid_t groups[256];
  int ngroups = 0, switch_user = 0;
  if (*ids) {
    char *end;
    uid = (uid_t)strtoul(ids, &end, 10);
    gid = (gid_t)strtoul(end, &end, 10);
    while (*end == ' ' || *end == ',') {
      end++;
      if (!*end || ngroups >= 256) break;
      groups[ngroups++] = (gid_t)strtoul(end, &end, 10);
    }
    switch_user = 1;
  }

  int out[2], err[2], fail[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(fail, O_CLOEXEC) < 0) _exit(1);
  pid_t pid = fork();
  if (pid < 0) {
    char msg[32];
    snprintf(msg, sizeof msg, "%d fork", errno);
    frame(sock, 'F', msg, (uint32_t)strlen(msg));
    _exit(0);
  }
  if (pid == 0) {
    /* The command: its own session and process group, stdin empty, the runtime's signals back to default. */
    setsid();
    signal(SIGPIPE, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC); /* fd 0 is a copy without the flag */
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(sock);
    const char *where = "user";
    if (switch_user && (setgroups((size_t)ngroups, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)) goto failed;
    where = "cwd";
    if (chdir(cwd) == 0) {
      where = "exec";
      environ = envp; /* execvp finds the program on the command's own PATH */
      execvp(argv[0], argv);
    }
  failed:;
    char msg[32];
    int n = snprintf(msg, sizeof msg, "%d %s", errno, where);
    write_all(fail[1], msg, (size_t)n);
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  close(fail[1]);

  char buf[65536];
  ssize_t n = read(fail[0], buf, sizeof buf - 1);
  close(fail[0]);
  if (n > 0) {
    waitpid(pid, NULL, 0);
    frame(sock, 'F', buf, (uint32_t)n);
    _exit(0);
  }
  char pidtext[48];
  snprintf(pidtext, sizeof pidtext, "%d %d", (int)pid, (int)getpid());
  if (frame(sock, 'P', pidtext, (uint32_t)strlen(pidtext)) < 0) {
    kill(-pid, SIGKILL);
    _exit(0);
  }

  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  int status = 0, exited = 0;
  double exited_at = 0;
  struct pollfd fds[4] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {sock, POLLIN, 0}, {pidfd, POLLIN, 0}};
  for (;;) {
    if (fds[0].fd < 0 && fds[1].fd < 0 && exited) break;
    int timeout = -1;
    if (exited) {
      double left = exited_at + grace - now_ms();
      if (left <= 0) break;
      timeout = (int)left + 1;
    } else if (pidfd < 0) {
      timeout = 10; /* no pidfd (an old kernel): look for the exit now and then */
    }
    int r = poll(fds, 4, timeout);
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        if (frame(sock, i == 0 ? 'O' : 'E', buf, (uint32_t)got) < 0) goto gone;
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      /* The runtime wrote nothing more to say: anything here is its leaving. */
      if (read(sock, buf, sizeof buf) <= 0) goto gone;
    }
    if (!exited && (pidfd < 0 || (fds[3].revents & POLLIN))) {
      pid_t w = waitpid(pid, &status, pidfd < 0 ? WNOHANG : 0);
      if (w == pid) {
        exited = 1;
        exited_at = now_ms();
        fds[3].fd = -1;
      }
    }
  }
  if (!exited) waitpid(pid, &status, 0);
  char end[32];
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  snprintf(end, sizeof end, "%d %d", code, sig);
  frame(sock, 'X', end, (uint32_t)strlen(end));
  _exit(0);
gone:
  kill(-pid, SIGKILL);
  if (!exited) waitpid(pid, NULL, 0);
  _exit(0);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: spawner SOCKET\n");
    return 2;
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(argv[1]) >= sizeof addr.sun_path) return 2;
  strcpy(addr.sun_path, argv[1]);
  int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  unlink(argv[1]);
  mode_t old = umask(077); /* only the sandbox's root, the runtime, may connect */
  if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 128) < 0) {
    perror("spawner: listen");
    return 1;
  }
  umask(old);
  signal(SIGCHLD, SIG_IGN); /* handlers are reaped by the kernel */
  signal(SIGPIPE, SIG_IGN);
  /* Ready: the runtime waits for this line before it sends requests. */
  if (write_all(1, "ready\n", 6) < 0) return 1;
  for (;;) {
    int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
        usleep(10000);
        continue;
      }
      return 1;
    }
    pid_t h = fork();
    if (h == 0) {
      close(ls);
      signal(SIGCHLD, SIG_DFL); /* the handler waits for its command itself */
      handle(c);
    }
    if (h < 0) {
      /* No pid left for a handler: say so, the runtime spawns the command itself. */
      char msg[32];
      int n = snprintf(msg, sizeof msg, "%d fork", errno);
      frame(c, 'F', msg, (uint32_t)n);
    }
    close(c);
  }
}
