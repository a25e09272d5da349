/*
 * burrow-idshift FROM TO COUNT DIR: move every owner in FROM..FROM+COUNT-1
 * of the tree DIR (DIR itself included) to the same place in TO.., in place.
 * Owners outside FROM's range are left as they are.
 *
 * A snapshot layer made from a sandbox's upper layer is owned by that
 * sandbox's uid range; layers are stored in the one canonical range, and
 * each sandbox sees them through an idmapped mount of its own. What chown
 * loses is put back: setuid/setgid bits (chown clears them) and file
 * capabilities (chown removes them; a v3 one names its namespace's root,
 * which moves too). Named users and groups in POSIX ACLs move as well.
 *
 * Like burrow-copytree, it works only through directory descriptors
 * (openat, fstatat, fchownat with AT_SYMLINK_NOFOLLOW): no link is followed,
 * names are bytes, depth is unlimited.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static unsigned long from, to, count;
static unsigned long files, shifted;

static void die(const char *what, const char *name) {
  fprintf(stderr, "burrow-idshift: %s %s: %s\n", what, name, strerror(errno));
  exit(1);
}

static int in_range(uint32_t id) { return id >= from && id - from < count; }
static uint32_t shift(uint32_t id) { return in_range(id) ? (uint32_t)(id - from + to) : id; }

/* A v3 capability (24 bytes, revision 3 in the top byte) ends with its namespace root's uid. */
static int shift_caps(unsigned char *v, ssize_t n) {
  if (n != 24 || (v[3] & 0xff) != 0x03) return 0;
  uint32_t root;
  memcpy(&root, v + 20, 4);
  if (!in_range(root)) return 0;
  root = shift(root);
  memcpy(v + 20, &root, 4);
  return 1;
}

/* POSIX ACL xattr: a 4-byte version, then 8-byte entries {u16 tag, u16 perm, u32 id}; USER (2) and GROUP (8) carry an id. */
static int shift_acl(unsigned char *v, ssize_t n) {
  int changed = 0;
  for (ssize_t off = 4; off + 8 <= n; off += 8) {
    uint16_t tag;
    uint32_t id;
    memcpy(&tag, v + off, 2);
    memcpy(&id, v + off + 4, 4);
    if ((tag == 2 || tag == 8) && in_range(id)) {
      id = shift(id);
      memcpy(v + off + 4, &id, 4);
      changed = 1;
    }
  }
  return changed;
}

static void fix_entry(int dirfd, const char *name) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) die("cannot stat", name);
  files++;
  uid_t u = shift(st.st_uid);
  gid_t g = shift(st.st_gid);
  if (S_ISLNK(st.st_mode)) {
    if ((u != st.st_uid || g != st.st_gid) && fchownat(dirfd, name, u, g, AT_SYMLINK_NOFOLLOW) < 0) die("cannot chown", name);
    if (u != st.st_uid || g != st.st_gid) shifted++;
    return;
  }
  /* Everything else through an O_PATH descriptor named by /proc/self/fd: never a path past it. */
  int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) die("cannot open", name);
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  unsigned char caps[64];
  ssize_t ncaps = -1;
  if (u != st.st_uid || g != st.st_gid) {
    ncaps = S_ISREG(st.st_mode) ? getxattr(p, "security.capability", caps, sizeof caps) : -1;
    if (fchownat(fd, "", u, g, AT_EMPTY_PATH) < 0) die("cannot chown", name);
    if ((st.st_mode & 06000) && chmod(p, st.st_mode & 07777) < 0) die("cannot chmod", name);
    if (ncaps > 0) {
      shift_caps(caps, ncaps);
      if (setxattr(p, "security.capability", caps, (size_t)ncaps, 0) < 0) die("cannot put back the capabilities of", name);
    }
    shifted++;
  }
  const char *acls[] = {"system.posix_acl_access", "system.posix_acl_default"};
  for (int i = 0; i < (S_ISDIR(st.st_mode) ? 2 : 1); i++) {
    unsigned char acl[8192];
    ssize_t n = getxattr(p, acls[i], acl, sizeof acl);
    if (n > 0 && shift_acl(acl, n) && setxattr(p, acls[i], acl, (size_t)n, 0) < 0) die("cannot shift the ACL of", name);
  }
  close(fd);
}

static void walk(int dir) {
  int lister = dup(dir);
  DIR *d = lister < 0 ? NULL : fdopendir(lister);
  if (!d) die("cannot read directory", ".");
  struct dirent *e;
  while ((errno = 0, e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    fix_entry(dir, e->d_name);
    if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) {
      int sub = openat(dir, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) {
        if (errno == ENOTDIR || errno == ELOOP) continue;
        die("cannot open directory", e->d_name);
      }
      walk(sub);
      close(sub);
    }
  }
  if (errno) die("cannot read directory", ".");
  closedir(d);
}

static unsigned long number(const char *s) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || !*s || *end || v > 0xffffffffUL) {
    fprintf(stderr, "burrow-idshift: not a number: %s\n", s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: burrow-idshift FROM TO COUNT DIR\n");
    return 2;
  }
  from = number(argv[1]), to = number(argv[2]), count = number(argv[3]);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int root = open(argv[4], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (root < 0) die("cannot open", argv[4]);
  if (from != to) {
    walk(root);
    fix_entry(root, ".");
  }
  printf("{\"files\":%lu,\"shifted\":%lu}\n", files, shifted);
  return 0;
}
