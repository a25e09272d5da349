/*
 * burrow-diskquota: the kernel calls behind per-sandbox disk limits.
 *
 * A sandbox's directory (its upper and work layers, its log) is a btrfs
 * subvolume of the data filesystem, and the subvolume's quota group has a
 * limit on the bytes it references. The kernel refuses writes past it with
 * EDQUOT, whoever writes (overlayfs writes with the mounter's credentials;
 * qgroup limits do not exempt root).
 *
 *   probe DIR        prints "btrfs <mode>" (mode: qgroup, squota or off), or
 *                    "other <f_type in hex>" for any other filesystem
 *   create DIR MB    makes DIR a new subvolume (its parent must exist) and
 *                    limits it to MB megabytes; prints the subvolume id
 *   limit DIR MB     sets the limit of the subvolume DIR (0: none); prints
 *                    its id; exit 3 if DIR is not a subvolume
 *   usage DIR        prints the bytes DIR's quota group references now
 *
 * Errors go to stderr as one sentence; exit 1 (2 for usage).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

static int fail(const char *what, const char *path) {
  fprintf(stderr, "burrow-diskquota: %s %s: %s\n", what, path, strerror(errno));
  return 1;
}

static int open_dir(const char *path) {
  return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

/* The id of the subvolume a directory is in. */
static int subvol_id(int fd, unsigned long long *id) {
  struct btrfs_ioctl_ino_lookup_args a;
  memset(&a, 0, sizeof a);
  a.objectid = BTRFS_FIRST_FREE_OBJECTID;
  if (ioctl(fd, BTRFS_IOC_INO_LOOKUP, &a) < 0) return -1;
  *id = a.treeid;
  return 0;
}

static int set_limit(int fd, unsigned long long mb) {
  struct btrfs_ioctl_qgroup_limit_args a;
  memset(&a, 0, sizeof a);
  a.qgroupid = 0; /* the subvolume of fd */
  a.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
  a.lim.max_rfer = mb ? mb * 1024 * 1024 : (unsigned long long)-1;
  return ioctl(fd, BTRFS_IOC_QGROUP_LIMIT, &a);
}

static int probe(const char *path) {
  struct statfs s;
  if (statfs(path, &s) < 0) return fail("cannot stat the filesystem of", path);
  if ((unsigned long)s.f_type != BTRFS_SUPER_MAGIC) {
    printf("other %lx\n", (unsigned long)s.f_type);
    return 0;
  }
  int fd = open_dir(path);
  if (fd < 0) return fail("cannot open", path);
  struct btrfs_ioctl_fs_info_args info;
  memset(&info, 0, sizeof info);
  if (ioctl(fd, BTRFS_IOC_FS_INFO, &info) < 0) return fail("cannot read the btrfs filesystem of", path);
  char sys[128];
  const unsigned char *u = info.fsid;
  snprintf(sys, sizeof sys,
           "/sys/fs/btrfs/%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x/qgroups/mode",
           u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  FILE *f = fopen(sys, "r");
  char mode[32] = "off";
  if (f) {
    if (!fgets(mode, sizeof mode, f)) strcpy(mode, "off");
    fclose(f);
    mode[strcspn(mode, "\n")] = 0;
  }
  printf("btrfs %s\n", mode);
  return 0;
}

static int create(const char *path, unsigned long long mb) {
  char *a = strdup(path), *b = strdup(path);
  const char *parent = dirname(a), *name = basename(b);
  int pfd = open_dir(parent);
  if (pfd < 0) return fail("cannot open", parent);
  struct btrfs_ioctl_vol_args v;
  memset(&v, 0, sizeof v);
  if (strlen(name) >= sizeof v.name) {
    errno = ENAMETOOLONG;
    return fail("cannot make a subvolume at", path);
  }
  strcpy(v.name, name);
  if (ioctl(pfd, BTRFS_IOC_SUBVOL_CREATE, &v) < 0) return fail("cannot make a subvolume at", path);
  int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return fail("cannot open", path);
  unsigned long long id;
  if (set_limit(fd, mb) < 0) return fail("cannot limit the subvolume", path);
  if (subvol_id(fd, &id) < 0) return fail("cannot read the subvolume id of", path);
  printf("%llu\n", id);
  return 0;
}

static int limit(const char *path, unsigned long long mb) {
  int fd = open_dir(path);
  if (fd < 0) return fail("cannot open", path);
  struct stat st;
  if (fstat(fd, &st) < 0) return fail("cannot stat", path);
  if (st.st_ino != BTRFS_FIRST_FREE_OBJECTID) {
    fprintf(stderr, "burrow-diskquota: %s is not a btrfs subvolume\n", path);
    return 3;
  }
  unsigned long long id;
  if (set_limit(fd, mb) < 0) return fail("cannot limit the subvolume", path);
  if (subvol_id(fd, &id) < 0) return fail("cannot read the subvolume id of", path);
  printf("%llu\n", id);
  return 0;
}

/* What the quota group of DIR's subvolume references, from the quota tree. */
static int usage(const char *path) {
  int fd = open_dir(path);
  if (fd < 0) return fail("cannot open", path);
  unsigned long long id;
  if (subvol_id(fd, &id) < 0) return fail("cannot read the subvolume id of", path);
  struct btrfs_ioctl_search_args a;
  memset(&a, 0, sizeof a);
  a.key.tree_id = BTRFS_QUOTA_TREE_OBJECTID;
  a.key.min_type = a.key.max_type = BTRFS_QGROUP_INFO_KEY;
  a.key.min_offset = a.key.max_offset = id; /* qgroup 0/id */
  a.key.max_objectid = (unsigned long long)-1;
  a.key.max_transid = (unsigned long long)-1;
  a.key.nr_items = 1;
  if (ioctl(fd, BTRFS_IOC_TREE_SEARCH, &a) < 0) return fail("cannot read the quota of", path);
  if (a.key.nr_items < 1) {
    fprintf(stderr, "burrow-diskquota: %s has no quota group\n", path);
    return 1;
  }
  struct btrfs_ioctl_search_header *h = (void *)a.buf;
  struct btrfs_qgroup_info_item *item = (void *)(h + 1);
  printf("%llu\n", (unsigned long long)item->rfer);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "probe")) return probe(argv[2]);
  if (argc == 3 && !strcmp(argv[1], "usage")) return usage(argv[2]);
  if (argc == 4 && (!strcmp(argv[1], "create") || !strcmp(argv[1], "limit"))) {
    char *end;
    unsigned long long mb = strtoull(argv[3], &end, 10);
    if (*end || end == argv[3]) goto bad;
    return !strcmp(argv[1], "create") ? create(argv[2], mb) : limit(argv[2], mb);
  }
bad:
  fprintf(stderr, "usage: burrow-diskquota probe DIR | create DIR MB | limit DIR MB | usage DIR\n");
  return 2;
}
