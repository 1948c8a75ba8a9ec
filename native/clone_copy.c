/* clone: one entry's data and metadata, copied by descriptor (see clone.h). */
#define _GNU_SOURCE
#include "clone.h"

int clone_fail(clone_t *c, const char *op, const char *name) {
  c->err_op = op;
  c->err = errno ? errno : EIO;
  c->err_path.len = 0;
  clone_sb_append(&c->err_path, c->rel.buf ? c->rel.buf : "", c->rel.len);
  if (name) { clone_sb_append(&c->err_path, "/", 1); clone_sb_append(&c->err_path, name, strlen(name)); }
  return -1;
}

/* Reopens an O_PATH descriptor for reading through /proc: the same inode, nothing resolved again. */
int clone_reopen_read(int pfd) {
  char proc[48];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
  int fd = open(proc, O_RDONLY | O_NOATIME | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0 && errno == EPERM) fd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  return fd;
}

/* Copies every extended attribute of src to dst. With fds (>= 0) or, for entries that cannot
 * be opened (symlinks, devices), the l*xattr calls on "/proc/self/fd/DIR/NAME" paths, which
 * resolve the directory by its descriptor and never follow the last component. */
static int copy_xattrs(int sfd, const char *spath, int dfd, const char *dpath) {
  char stackbuf[4096], *names = stackbuf;
  ssize_t n = sfd >= 0 ? flistxattr(sfd, names, sizeof stackbuf) : llistxattr(spath, names, sizeof stackbuf);
  if (n < 0 && errno == ERANGE) {
    ssize_t need = sfd >= 0 ? flistxattr(sfd, NULL, 0) : llistxattr(spath, NULL, 0);
    if (need < 0) return -1;
    names = malloc(need + 1);
    if (!names) return -1;
    n = sfd >= 0 ? flistxattr(sfd, names, need) : llistxattr(spath, names, need);
  }
  if (n < 0) {
    if (names != stackbuf) free(names);
    return (errno == ENOTSUP) ? 0 : -1;
  }
  int rc = 0;
  char vstack[4096];
  for (char *p = names; p < names + n; p += strlen(p) + 1) {
    char *val = vstack;
    ssize_t m = sfd >= 0 ? fgetxattr(sfd, p, val, sizeof vstack) : lgetxattr(spath, p, val, sizeof vstack);
    if (m < 0 && errno == ERANGE) {
      ssize_t need = sfd >= 0 ? fgetxattr(sfd, p, NULL, 0) : lgetxattr(spath, p, NULL, 0);
      if (need < 0 || !(val = malloc(need + 1))) { rc = -1; break; }
      m = sfd >= 0 ? fgetxattr(sfd, p, val, need) : lgetxattr(spath, p, val, need);
    }
    if (m < 0) {
      if (val != vstack) free(val);
      if (errno == ENODATA) continue; /* removed meanwhile */
      rc = -1; break;
    }
    int w = dfd >= 0 ? fsetxattr(dfd, p, val, m, 0) : lsetxattr(dpath, p, val, m, 0);
    if (val != vstack) free(val);
    if (w < 0) { rc = -1; break; }
  }
  if (names != stackbuf) { int e = errno; free(names); errno = e; }
  return rc;
}

static void proc_path(char *out, size_t size, int dirfd, const char *name) {
  snprintf(out, size, "/proc/self/fd/%d/%s", dirfd, name);
}

/* Whether an entry the clone made needs a chown to st's owner: it was made with the temp
 * root's (this process's, or the group of a set-group-ID or grpid directory above it, which
 * every directory below the temp root inherits while it is built). */
static int needs_chown(const clone_t *c, const struct stat *st) {
  return st->st_uid != c->own_uid || st->st_gid != c->own_gid;
}

/* Owner, mode, xattrs, then times, in that order: chown clears setuid bits and file
 * capabilities, and every later change would move the times again. */
int clone_set_meta_fd(clone_t *c, int sfd, int dfd, const struct stat *st, const char *name) {
  if (needs_chown(c, st) && fchown(dfd, st->st_uid, st->st_gid) < 0 && !(errno == EPERM && geteuid() != 0)) return clone_fail(c, "fchown", name);
  if (fchmod(dfd, st->st_mode & 07777) < 0) return clone_fail(c, "fchmod", name);
  if (copy_xattrs(sfd, NULL, dfd, NULL) < 0) return clone_fail(c, "xattr", name);
  struct timespec ts[2] = { st->st_atim, st->st_mtim };
  if (futimens(dfd, ts) < 0) return clone_fail(c, "futimens", name);
  return 0;
}

int clone_set_meta_at(clone_t *c, int sdir, int ddir, const char *name, const struct stat *st) {
  if (needs_chown(c, st) && fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && !(errno == EPERM && geteuid() != 0))
    return clone_fail(c, "fchownat", name);
  if (!S_ISLNK(st->st_mode) && fchmodat(ddir, name, st->st_mode & 07777, 0) < 0) return clone_fail(c, "fchmodat", name);
  size_t len = strlen(name) + 48;
  char *sp = malloc(len), *dp = malloc(len);
  if (!sp || !dp) { free(sp); free(dp); errno = ENOMEM; return clone_fail(c, "malloc", name); }
  proc_path(sp, len, sdir, name);
  proc_path(dp, len, ddir, name);
  int r = copy_xattrs(-1, sp, -1, dp);
  free(sp); free(dp);
  if (r < 0) return clone_fail(c, "xattr", name);
  struct timespec ts[2] = { st->st_atim, st->st_mtim };
  if (utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) < 0) return clone_fail(c, "utimensat", name);
  return 0;
}

/* Copies size bytes: a reflink where the filesystem can, else the data extents only. */
int clone_copy_data(int sfd, int dfd, off_t size) {
  if (size == 0) return 0;
  if (ioctl(dfd, FICLONE, sfd) == 0) return 0;
  off_t pos = 0;
  int use_cfr = 1;
  char *buf = NULL;
  while (pos < size) {
    off_t data = lseek(sfd, pos, SEEK_DATA), hole;
    if (data < 0) {
      if (errno == ENXIO) break; /* only a hole remains */
      data = pos; hole = size;
    } else {
      if (data >= size) break;
      hole = lseek(sfd, data, SEEK_HOLE);
      if (hole < 0 || hole > size) hole = size;
    }
    off_t in = data, out = data;
    while (in < hole) {
      ssize_t k = -1;
      if (use_cfr) {
        k = copy_file_range(sfd, &in, dfd, &out, (size_t)(hole - in), 0);
        if (k < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) use_cfr = 0;
        else if (k < 0) { free(buf); return -1; }
      }
      if (!use_cfr) {
        if (!buf && !(buf = malloc(1 << 20))) return -1;
        size_t want = (size_t)(hole - in) < (1u << 20) ? (size_t)(hole - in) : (1u << 20);
        k = pread(sfd, buf, want, in);
        if (k < 0) { free(buf); return -1; }
        for (ssize_t done = 0; done < k;) {
          ssize_t w = pwrite(dfd, buf + done, k - done, out + done);
          if (w < 0) { free(buf); return -1; }
          done += w;
        }
        in += k; out += k;
      }
      if (k == 0) { hole = in; break; } /* the file shrank meanwhile */
    }
    pos = hole;
    if (hole >= size || in < hole) break;
  }
  free(buf);
  return ftruncate(dfd, size); /* a trailing hole, and the size even if the file shrank */
}
