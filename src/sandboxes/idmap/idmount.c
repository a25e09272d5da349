/*
 * burrow-idmount TARGET DIR FROM TO COUNT LOWER... (top first)
 *
 * Mount a sandbox's root at TARGET: an overlay of the LOWER layers (image
 * versions and snapshot layers, stored with owners FROM..FROM+COUNT-1) and
 * DIR/upper (with DIR/work), where the sandbox's user namespace is
 * TO..TO+COUNT-1 on the host. Each lower is an idmapped clone of its
 * directory (open_tree + mount_setattr(MOUNT_ATTR_IDMAP)), so the layers stay
 * stored once and every sandbox sees them owned by its own range; the upper
 * is written in that range directly.
 *
 * The layers reach overlayfs as file descriptors of detached mounts (new
 * mount API: fsopen, fsconfig "lowerdir+" / "upperdir" / "workdir" with
 * FSCONFIG_SET_FD, fsmount, move_mount), so the options a sandbox reads in
 * its mountinfo are "lowerdir+=/,...,upperdir=/upper,workdir=/work": no host
 * path. With FROM == TO the lowers are cloned without an idmap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int fsfd = -1;

/* The reason overlayfs gave, if it logged one, then the error. */
static void die(const char *what, const char *name) {
  int err = errno;
  char msg[512];
  ssize_t n;
  if (fsfd >= 0)
    while ((n = read(fsfd, msg, sizeof msg - 1)) > 0) {
      msg[n] = 0;
      fprintf(stderr, "burrow-idmount: overlayfs: %s\n", msg);
    }
  fprintf(stderr, "burrow-idmount: %s %s: %s\n", what, name, strerror(err));
  exit(1);
}

static int sys_open_tree(int dfd, const char *p, unsigned f) { return (int)syscall(SYS_open_tree, dfd, p, f); }
static int sys_mount_setattr(int dfd, const char *p, unsigned f, struct mount_attr *a, size_t s) { return (int)syscall(SYS_mount_setattr, dfd, p, f, a, s); }
static int sys_fsopen(const char *n, unsigned f) { return (int)syscall(SYS_fsopen, n, f); }
static int sys_fsconfig(int fd, unsigned c, const char *k, const void *v, int aux) { return (int)syscall(SYS_fsconfig, fd, c, k, v, aux); }
static int sys_fsmount(int fd, unsigned f, unsigned a) { return (int)syscall(SYS_fsmount, fd, f, a); }
static int sys_move_mount(int fd, const char *fp, int td, const char *tp, unsigned f) { return (int)syscall(SYS_move_mount, fd, fp, td, tp, f); }

static unsigned long number(const char *s, const char *what) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || !*s || *end || v > 0xffffffffUL) {
    fprintf(stderr, "burrow-idmount: %s is not a number: %s\n", what, s);
    exit(2);
  }
  return v;
}

/*
 * A user namespace mapping FROM.. to TO.. (uids and gids), held by a file
 * descriptor: a child unshares one and waits; we write its maps, open it,
 * and let the child go. The namespace lives on in the idmapped mounts.
 */
static int userns_fd(unsigned long from, unsigned long to, unsigned long count) {
  int go[2], ready[2];
  if (pipe2(go, O_CLOEXEC) || pipe2(ready, O_CLOEXEC)) die("cannot make a pipe", "");
  pid_t pid = fork();
  if (pid < 0) die("cannot fork", "");
  if (pid == 0) {
    close(go[1]);
    close(ready[0]);
    char c = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1) _exit(1);
    (void)!read(go[0], &c, 1);
    _exit(0);
  }
  close(ready[1]);
  close(go[0]);
  char c = 0;
  if (read(ready[0], &c, 1) != 1 || c != 'y') {
    errno = EPERM;
    die("cannot make a user namespace", "");
  }
  char path[64], map[96];
  snprintf(map, sizeof map, "%lu %lu %lu\n", from, to, count);
  const char *files[] = {"uid_map", "gid_map"};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "/proc/%d/%s", pid, files[i]);
    int m = open(path, O_WRONLY | O_CLOEXEC);
    if (m < 0 || write(m, map, strlen(map)) < 0) die("cannot write", path);
    close(m);
  }
  snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("cannot open", path);
  close(go[1]);
  waitpid(pid, NULL, 0);
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: burrow-idmount TARGET DIR FROM TO COUNT LOWER... (top first)\n");
    return 2;
  }
  unsigned long from = number(argv[3], "FROM"), to = number(argv[4], "TO"), count = number(argv[5], "COUNT");
  int ns = from == to ? -1 : userns_fd(from, to, count);
  fsfd = sys_fsopen("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0) die("cannot open an overlay context", "");
  for (int i = 6; i < argc; i++) {
    /* Kept open until the mount exists: closing a detached mount dissolves it before overlayfs takes it. */
    int t = sys_open_tree(AT_FDCWD, argv[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (t < 0) die("cannot clone", argv[i]);
    struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | (ns >= 0 ? MOUNT_ATTR_IDMAP : 0), .userns_fd = ns >= 0 ? (unsigned long)ns : 0};
    if (sys_mount_setattr(t, "", AT_EMPTY_PATH, &a, sizeof a)) die("cannot idmap", argv[i]);
    if (sys_fsconfig(fsfd, FSCONFIG_SET_FD, "lowerdir+", NULL, t)) die("cannot add the lower layer", argv[i]);
  }
  /* Upper and work through one detached clone of their directory: they must share a mount, and it shows as "/". */
  int d = sys_open_tree(AT_FDCWD, argv[2], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (d < 0) die("cannot clone", argv[2]);
  int u = openat(d, "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int w = openat(d, "work", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (u < 0 || w < 0) die("cannot open upper/ and work/ in", argv[2]);
  if (sys_fsconfig(fsfd, FSCONFIG_SET_FD, "upperdir", NULL, u)) die("cannot set the upper layer", argv[2]);
  if (sys_fsconfig(fsfd, FSCONFIG_SET_FD, "workdir", NULL, w)) die("cannot set the work directory", argv[2]);
  if (sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) die("cannot create the overlay at", argv[1]);
  int m = sys_fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
  if (m < 0) die("cannot mount the overlay at", argv[1]);
  if (sys_move_mount(m, "", AT_FDCWD, argv[1], MOVE_MOUNT_F_EMPTY_PATH)) die("cannot attach the overlay at", argv[1]);
  return 0;
}
