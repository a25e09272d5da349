/*
 * burrow-copytree SRC DST: copy the contents of directory SRC into the empty
 * directory DST, keeping owners, modes, times, xattrs (trusted.* too),
 * device nodes (overlay whiteouts), FIFOs, symlinks, hard links and holes.
 *
 * Every step goes through directory file descriptors (openat, mkdirat,
 * fstatat with AT_SYMLINK_NOFOLLOW), so no path is ever resolved past the
 * tree, no link is followed, names are bytes, and a tree deeper than
 * PATH_MAX copies like any other (cp and tar stop there).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static void die(const char *what, const char *name) {
  fprintf(stderr, "burrow-copytree: %s %s: %s\n", what, name, strerror(errno));
  exit(1);
}

/* Hard links: the first copy of an inode is kept open (O_PATH) so later names link to it. */
struct link { dev_t dev; ino_t ino; int fd; };
static struct link *links;
static size_t nlinks, caplinks;

static int find_link(const struct stat *st) {
  for (size_t i = 0; i < nlinks; i++)
    if (links[i].dev == st->st_dev && links[i].ino == st->st_ino) return links[i].fd;
  return -1;
}

static void remember_link(const struct stat *st, int dirfd, const char *name) {
  int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW);
  if (fd < 0) return;
  if (nlinks == caplinks) {
    caplinks = caplinks ? caplinks * 2 : 64;
    links = realloc(links, caplinks * sizeof *links);
    if (!links) die("out of memory at", name);
  }
  links[nlinks++] = (struct link){st->st_dev, st->st_ino, fd};
}

/*
 * xattrs: with f*xattr on open files and directories; through /proc/self/fd
 * for an O_PATH descriptor of a device node or FIFO (which cannot be opened
 * for reading without side effects). Symlinks' own xattrs are not copied.
 */
static void copy_xattrs(int sfd, int dfd, const char *name, int by_path) {
  char sp[64], dp[64], list[65536], value[65536];
  snprintf(sp, sizeof sp, "/proc/self/fd/%d", sfd);
  snprintf(dp, sizeof dp, "/proc/self/fd/%d", dfd);
  ssize_t n = by_path ? listxattr(sp, list, sizeof list) : flistxattr(sfd, list, sizeof list);
  if (n < 0) {
    if (errno == ENOTSUP || errno == ENODATA) return;
    die("cannot list xattrs of", name);
  }
  for (char *k = list; k < list + n; k += strlen(k) + 1) {
    ssize_t v = by_path ? getxattr(sp, k, value, sizeof value) : fgetxattr(sfd, k, value, sizeof value);
    if (v < 0) die("cannot read an xattr of", name);
    int r = by_path ? setxattr(dp, k, value, (size_t)v, 0) : fsetxattr(dfd, k, value, (size_t)v, 0);
    if (r < 0) die("cannot set an xattr on", name);
  }
}

static void copy_data(int in, int out, const struct stat *st, const char *name) {
  off_t pos = 0;
  while (pos < st->st_size) {
    off_t data = lseek(in, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break; /* only a hole is left */
      die("cannot seek in", name);
    }
    off_t hole = lseek(in, data, SEEK_HOLE);
    if (hole < 0) die("cannot seek in", name);
    off_t from = data, to = data;
    while (from < hole) {
      ssize_t c = copy_file_range(in, &from, out, &to, (size_t)(hole - from), 0);
      if (c < 0) die("cannot copy", name);
      if (c == 0) break;
    }
    pos = hole;
  }
  if (ftruncate(out, st->st_size) < 0) die("cannot size", name);
}

static void set_meta(int dirfd, const char *name, const struct stat *st) {
  if (fchownat(dirfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) die("cannot chown", name);
  /* chown clears setuid/setgid: the mode goes on after it. Links have no mode of their own. */
  if (!S_ISLNK(st->st_mode) && fchmodat(dirfd, name, st->st_mode & 07777, 0) < 0) die("cannot chmod", name);
  struct timespec times[2] = {st->st_atim, st->st_mtim};
  if (utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW) < 0) die("cannot set times of", name);
}

static void copy_dir(int src, int dst);

static void copy_entry(int src, int dst, const char *name) {
  struct stat st;
  if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) die("cannot stat", name);
  if (S_ISDIR(st.st_mode)) {
    if (mkdirat(dst, name, 0700) < 0) die("cannot make directory", name);
    int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    int d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (s < 0 || d < 0) die("cannot open directory", name);
    copy_dir(s, d);
    copy_xattrs(s, d, name, 0);
    close(s);
    close(d);
  } else if (S_ISREG(st.st_mode)) {
    int prior = st.st_nlink > 1 ? find_link(&st) : -1;
    if (prior >= 0) {
      if (linkat(prior, "", dst, name, AT_EMPTY_PATH) < 0) die("cannot link", name);
      return;
    }
    int in = openat(src, name, O_RDONLY | O_NOFOLLOW);
    int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (in < 0 || out < 0) die("cannot open", name);
    copy_data(in, out, &st, name);
    copy_xattrs(in, out, name, 0);
    close(in);
    close(out);
    if (st.st_nlink > 1) remember_link(&st, dst, name);
  } else if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX + 1];
    ssize_t n = readlinkat(src, name, target, PATH_MAX);
    if (n < 0) die("cannot read link", name);
    target[n] = 0;
    if (symlinkat(target, dst, name) < 0) die("cannot make link", name);
  } else {
    if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0) die("cannot make node", name);
  }
  if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode) && !S_ISREG(st.st_mode)) {
    int s = openat(src, name, O_PATH | O_NOFOLLOW), d = openat(dst, name, O_PATH | O_NOFOLLOW);
    if (s >= 0 && d >= 0) copy_xattrs(s, d, name, 1);
    if (s >= 0) close(s);
    if (d >= 0) close(d);
  }
  set_meta(dst, name, &st);
}

static void copy_dir(int src, int dst) {
  int lister = dup(src);
  DIR *dir = lister < 0 ? NULL : fdopendir(lister);
  if (!dir) die("cannot read directory", ".");
  struct dirent *e;
  while ((errno = 0, e = readdir(dir))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    copy_entry(src, dst, e->d_name);
  }
  if (errno) die("cannot read directory", ".");
  closedir(dir);
  /* A directory's own owner, mode and times last: writing inside it changes them. */
  struct stat st;
  if (fstat(src, &st) < 0) die("cannot stat", ".");
  if (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 07777) < 0) die("cannot set owner or mode of", ".");
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (futimens(dst, times) < 0) die("cannot set times of", ".");
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: burrow-copytree SRC DST\n");
    return 2;
  }
  /* Two descriptors per level of depth: take all the kernel allows. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int src = open(argv[1], O_RDONLY | O_DIRECTORY);
  int dst = open(argv[2], O_RDONLY | O_DIRECTORY);
  if (src < 0) die("cannot open", argv[1]);
  if (dst < 0) die("cannot open", argv[2]);
  copy_dir(src, dst);
  copy_xattrs(src, dst, ".", 0);
  return 0;
}
