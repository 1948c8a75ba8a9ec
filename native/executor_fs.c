/*
 * The executor's filesystem primitives, every one relative to a descriptor: directories
 * resolved beneath a root (bounded cache), files opened without following symlinks, the
 * identity check (exact fields, then ctime/link count as recorded or as hashify last left
 * them, else the bytes and xattrs again), links of exactly an open inode, copies that keep
 * holes, hashing from a descriptor, metadata by descriptor, and the crash hook for tests.
 */
#include "executor.h"
#include "napi_util.h"
#include <openssl/evp.h>
#include <sys/ioctl.h>
#include <sys/xattr.h>
#include <linux/fs.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ex_fail(struct result *r, const char *what, int err) {
  r->status = ST_FAILED;
  r->err = err;
  snprintf(r->why, WHY, "%s: %s", what, strerror(err));
}

void ex_drift(struct result *r, const char *why) {
  r->status = ST_DRIFT;
  snprintf(r->why, WHY, "%s", why);
}

/* HASHIFY_CRASH_AT=N: the process kills itself (SIGKILL) right after its Nth changing step
   (counted over all lanes). */
static long crash_at = -2, steps;
void ex_step(void) {
  long at = __atomic_load_n(&crash_at, __ATOMIC_RELAXED);
  if (at == -2) { const char *s = getenv("HASHIFY_CRASH_AT"); at = s ? atol(s) : -1; __atomic_store_n(&crash_at, at, __ATOMIC_RELAXED); }
  if (at > 0 && __atomic_add_fetch(&steps, 1, __ATOMIC_RELAXED) == at) kill(getpid(), SIGKILL);
}

/* A regular file opened for reading, never through a symlink, never blocking on a FIFO. */
int ex_open_file(int dirfd, const char *name, struct result *r) {
  int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  int fd = openat(dirfd, name, flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = openat(dirfd, name, flags);
  if (fd < 0) {
    if (errno == ELOOP) ex_drift(r, "it was replaced by a symlink");
    else if (errno == ENOENT) ex_drift(r, "it is gone");
    else ex_fail(r, "cannot open it", errno);
  }
  return fd;
}

static struct seen *seen_slot(struct executor *ex, uint64_t dev, uint64_t ino) {
  return &ex->seen[(ino * 0x9E3779B97F4A7C15ull ^ dev) % SEEN];
}

/* Remembers the ctime and link count of an inode, as hashify's own step left them. */
void ex_seen_put(struct executor *ex, const struct stat *st) {
  struct seen *s = seen_slot(ex, st->st_dev, st->st_ino);
  s->dev = st->st_dev; s->ino = st->st_ino; s->nlink = st->st_nlink;
  s->ctime = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

void ex_seen_set(struct executor *ex, int fd) {
  struct stat st;
  if (fstat(fd, &st) == 0) ex_seen_put(ex, &st);
}

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

/* NULL when the open file is the recorded one; else why not. */
const char *ex_check(struct executor *ex, int fd, const struct stat *st, const struct expect *e) {
  if (!S_ISREG(st->st_mode)) return "it is no longer a regular file";
  if ((e->flags & EXP_INODE) && (st->st_dev != e->dev || st->st_ino != e->ino)) return "it was replaced by another file";
  if ((uint64_t)st->st_size != e->size) return "its size changed";
  if (st->st_mode != e->mode) return "its mode changed";
  if (st->st_uid != e->uid || st->st_gid != e->gid) return "its owner changed";
  if (ns(st->st_mtim) != e->mtime) return "it was modified (mtime changed)";
  int64_t ct = ns(st->st_ctim);
  if (!(e->flags & EXP_CONTENT)) {
    if (ct == e->ctime && st->st_nlink == e->nlink) return NULL;
    struct seen *s = seen_slot(ex, st->st_dev, st->st_ino);
    if (s->dev == st->st_dev && s->ino == st->st_ino && s->ctime == ct && s->nlink == st->st_nlink) return NULL;
    if (e->flags & EXP_NO_CONTENT) return NULL;
  }
  unsigned char md[EVP_MAX_MD_SIZE]; unsigned len;
  if (ex_hash_fd(ex, fd, e->alg, md, &len) < 0) return "its status changed and it cannot be read to check it";
  if (len != e->digest_len || memcmp(md, e->digest, len)) return "its content changed";
  if (!ex_same_xattrs(fd, e->xattrs, e->xattrs_len)) return "its extended attributes changed";
  struct stat again;
  if (fstat(fd, &again) < 0 || ns(again.st_mtim) != e->mtime || ns(again.st_ctim) != ct) return "it changed while it was checked";
  return NULL;
}

/* linkat of exactly the inode open at fd: AT_EMPTY_PATH (CAP_DAC_READ_SEARCH), else /proc/self/fd. */
int ex_link_fd(struct executor *ex, int fd, int dirfd, const char *name) {
  if (ex->empty_path != 0) {
    if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0) { ex->empty_path = 1; return 0; }
    if (ex->empty_path == 1 || (errno != ENOENT && errno != EPERM && errno != EINVAL)) return -1;
    ex->empty_path = 0;
  }
  char p[48];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  return linkat(AT_FDCWD, p, dirfd, name, AT_SYMLINK_FOLLOW);
}

static int copy_range(struct executor *ex, int src, int dst, off_t from, off_t to) {
  off_t in = from, out = from;
  while (in < to) {
    ssize_t n = copy_file_range(src, &in, dst, &out, (size_t)(to - in), 0);
    if (n > 0) continue;
    if (n == 0) return 0; /* the source shrank: the hash of the copy tells */
    if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) return -1;
    unsigned char *buf = ex->buf;
    while (in < to) {
      ssize_t k = pread(src, buf, BUF < (size_t)(to - in) ? BUF : (size_t)(to - in), in);
      if (k <= 0) return k < 0 ? -1 : 0;
      for (ssize_t o = 0; o < k;) { ssize_t w = pwrite(dst, buf + o, k - o, out + o); if (w < 0) return -1; o += w; }
      in += k; out += k;
    }
  }
  return 0;
}

/* Fills dst (empty) from src: a clone where the filesystem can, else the data ranges only. */
int ex_copy(struct executor *ex, int src, int dst, off_t size) {
  if (ioctl(dst, FICLONE, src) == 0) return 0;
  for (off_t pos = 0; pos < size;) {
    off_t data = lseek(src, pos, SEEK_DATA);
    if (data < 0) { if (errno == ENXIO) break; data = pos; }
    if (data >= size) break;
    off_t hole = lseek(src, data, SEEK_HOLE);
    if (hole < 0 || hole > size) hole = size;
    if (copy_range(ex, src, dst, data, hole) < 0) return -1;
    pos = hole;
  }
  return ftruncate(dst, size);
}

int ex_hash_fd(struct executor *ex, int fd, int alg, unsigned char *out, unsigned *outlen) {
  unsigned char *buf = ex->buf;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  if (!c || !EVP_DigestInit_ex(c, alg ? EVP_sha512() : EVP_sha256(), NULL)) { EVP_MD_CTX_free(c); return -1; }
  off_t pos = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, BUF, pos);
    if (n < 0) { if (errno == EINTR) continue; EVP_MD_CTX_free(c); return -1; }
    if (n == 0) break;
    EVP_DigestUpdate(c, buf, n);
    pos += n;
  }
  EVP_DigestFinal_ex(c, out, outlen);
  EVP_MD_CTX_free(c);
  return 0;
}

static uint32_t rd32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* The xattrs of fd are exactly those of the blob (names sorted, as the plan records them). */
int ex_same_xattrs(int fd, const unsigned char *blob, size_t len) {
  char names[65536]; char val[65536];
  ssize_t n = flistxattr(fd, names, sizeof names);
  if (n < 0) { if (errno != ENOTSUP) return 0; n = 0; }
  size_t count = 0;
  for (ssize_t i = 0; i < n; i += strlen(names + i) + 1) count++;
  size_t want = 0;
  for (size_t at = 0; at + 4 <= len;) {
    uint32_t nl = rd32(blob + at); char name[256];
    if (nl >= sizeof name || at + 8 + nl > len) return 0;
    memcpy(name, blob + at + 4, nl); name[nl] = 0;
    uint32_t vl = rd32(blob + at + 4 + nl);
    const unsigned char *v = blob + at + 8 + nl;
    ssize_t got = fgetxattr(fd, name, val, sizeof val);
    if (got < 0 || (size_t)got != vl || memcmp(val, v, vl)) return 0;
    want++; at += 8 + nl + vl;
  }
  return want == count;
}

/* Recorded metadata on a new inode: owner first (chown clears setuid and capabilities), mode, xattrs, times last. */
int ex_set_meta(int fd, const struct expect *e) {
  if (fchown(fd, e->uid, e->gid) < 0 || fchmod(fd, e->mode & 07777) < 0) return -1;
  char names[65536];
  ssize_t n = flistxattr(fd, names, sizeof names);
  for (ssize_t i = 0; n > 0 && i < n; i += strlen(names + i) + 1) fremovexattr(fd, names + i);
  for (size_t at = 0; at + 4 <= e->xattrs_len;) {
    uint32_t nl = rd32(e->xattrs + at); char name[256];
    if (nl >= sizeof name) { errno = EINVAL; return -1; }
    memcpy(name, e->xattrs + at + 4, nl); name[nl] = 0;
    uint32_t vl = rd32(e->xattrs + at + 4 + nl);
    if (fsetxattr(fd, name, e->xattrs + at + 8 + nl, vl, 0) < 0) return -1;
    at += 8 + nl + vl;
  }
  struct timespec t[2] = { { e->atime / 1000000000, e->atime % 1000000000 }, { e->mtime / 1000000000, e->mtime % 1000000000 } };
  if (t[0].tv_nsec < 0) { t[0].tv_nsec += 1000000000; t[0].tv_sec--; }
  if (t[1].tv_nsec < 0) { t[1].tv_nsec += 1000000000; t[1].tv_sec--; }
  return futimens(fd, t);
}

/* The same inode opened read-only instead (fd is closed): a held file open for writing would
   keep the filesystem from being remounted read-only, and nothing writes it any more. */
int ex_reopen_ro(int fd) {
  char p[48];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  int ro = open(p, O_RDONLY | O_CLOEXEC);
  if (ro < 0) return fd;
  close(fd);
  return ro;
}
