/*
 * burrow-pidwatch: tells the server, at once, when a watched process ends.
 *
 * The server is not the parent of a sandbox's init (runc run -d re-parents
 * it), so it cannot wait for it. A pidfd becomes readable when its process
 * exits, whoever its parent is: this program keeps one pidfd per watched
 * process in an epoll set and needs no polling.
 *
 * stdin, one command a line:  "+KEY PID" watch, "-KEY" forget.
 * stdout, one event a line:   "KEY" the process of KEY has ended (or was
 *                             already gone when asked to watch it).
 * It exits when stdin closes, so it never outlives the server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_KEY 128

struct watch {
  int fd;
  char key[MAX_KEY];
  struct watch *next;
};

static struct watch *watches;

static void report(const char *key) {
  printf("%s\n", key);
  fflush(stdout);
}

static void forget(int ep, struct watch *w) {
  struct watch **p = &watches;
  while (*p && *p != w) p = &(*p)->next;
  if (*p) *p = w->next;
  epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
  close(w->fd);
  free(w);
}

static void command(int ep, char *line) {
  if (line[0] == '-') {
    for (struct watch *w = watches; w; w = w->next)
      if (strcmp(w->key, line + 1) == 0) {
        forget(ep, w);
        return;
      }
    return;
  }
  if (line[0] != '+') return;
  char *space = strrchr(line, ' ');
  if (!space || space - line - 1 <= 0 || space - line - 1 >= MAX_KEY) return;
  *space = 0;
  long pid = strtol(space + 1, NULL, 10);
  int fd = pid > 0 ? (int)syscall(SYS_pidfd_open, (pid_t)pid, 0) : -1;
  if (fd < 0) {
    report(line + 1); /* gone already: that is an exit too */
    return;
  }
  struct watch *w = calloc(1, sizeof *w);
  if (!w) exit(1);
  w->fd = fd;
  strcpy(w->key, line + 1);
  w->next = watches;
  watches = w;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) exit(1);
}

int main(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return 1;
  struct epoll_event in = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in) < 0) return 1;
  char buf[4096];
  size_t used = 0;
  for (;;) {
    struct epoll_event evs[32];
    int n = epoll_wait(ep, evs, 32, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    /* Exits first: a command read below may forget a watch this batch names. */
    int input = 0;
    for (int i = 0; i < n; i++) {
      struct watch *w = evs[i].data.ptr;
      if (!w) {
        input = 1;
        continue;
      }
      report(w->key);
      forget(ep, w);
    }
    if (input) {
      ssize_t r = read(0, buf + used, sizeof buf - used);
      if (r <= 0) return 0; /* the server is gone */
      used += (size_t)r;
      char *start = buf, *nl;
      while ((nl = memchr(start, '\n', buf + used - start))) {
        *nl = 0;
        command(ep, start);
        start = nl + 1;
      }
      used -= (size_t)(start - buf);
      memmove(buf, start, used);
      if (used == sizeof buf) used = 0; /* a line that long is no command */
    }
  }
}
