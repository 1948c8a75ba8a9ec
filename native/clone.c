/*
 * clone: the native walker and copier behind `hashify clone SRC DST`, and the two small
 * calls behind `switch` (lstatAt, renameAt2).
 *
 * SRC belongs to a guest that may be hostile and running. It is walked only by descriptor:
 * each directory is opened relative to its parent's descriptor with O_NOFOLLOW|O_DIRECTORY,
 * each entry is looked at with fstatat(AT_SYMLINK_NOFOLLOW) relative to that descriptor, and
 * a regular file is opened as O_PATH first and reopened for reading only once its descriptor
 * proves it is a regular file (so a name swapped for a device or FIFO is never opened for
 * reading). A directory swapped for a symlink fails the open (ELOOP/ENOTDIR) and the entry is
 * looked at again; nothing outside SRC is ever reached. Mount points are not crossed: they
 * are reproduced as empty directories.
 *
 * A regular file whose (dev, ino) is a store entry's inode (the entries are listed by
 * src/store/listEntries.ts and handed over) becomes one more link to that entry (linkat from
 * the store, then checked to be that inode); everything else is copied
 * (FICLONE, else copy_file_range over the data extents, holes kept). SRC's own hard-link sets
 * are kept by linking later members to the first copy in DST.
 *
 * Two worker threads (HASHIFY_CLONE_THREADS, 0 for none) take the directories at depth 3 and
 * below as jobs while the main walker clones the shallow levels in batches (cloneStep), so the
 * caller can show progress between them; the shallow directories get their metadata once the
 * workers are through. A hard-link set met by two walkers at once is kept whole by one lock
 * held from the look-up of its first copy to the recording of a new one.
 * HASHIFY_CLONE_CRASH_AFTER=N makes the process kill itself with SIGKILL after N entries
 * (crash tests).
 */
#define _GNU_SOURCE
#include "napi_util.h"
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <fcntl.h>
#include <dirent.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <stdint.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <pthread.h>
#include "clone_set.h"

#define RETRY 1
#define MAX_TRIES 4
/* Directories this deep (SRC's root is 1) are handed to the worker threads as jobs. */
#define SPLIT_DEPTH 3
#define MAX_WORKERS 4
#define MAX_JOBS 4096
#define INC(x) __atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)
#define ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

typedef struct {
  int src, dst;
  DIR *dir;
  struct stat st;
  size_t saved_rel;
} frame_t;

/* A directory handed to a worker: opened and made in DST, its entries still to clone. */
typedef struct {
  int src, dst;
  struct stat st;
  char *rel;
} job_t;

/* What the walkers share: SRC's hard-link sets, the job queue, the crash hook's count. */
typedef struct {
  iset_t links;            /* SRC inode with more links -> its first copy's path below DST */
  pthread_mutex_t links_mu; /* held from looking a member up to recording its first copy */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  job_t *jobs;
  size_t njobs, capjobs, next_job;
  int producing;           /* the main walker may still add jobs */
  int running;             /* workers not yet finished */
  int failed;              /* a walker failed: every other one stops */
  uint64_t entries_total;
  long crash_after;
} shared_t;

typedef struct clone {
  shared_t *sh;
  int is_worker;
  int store_fd, dst_root;
  dev_t src_dev, store_dev;
  ino_t store_ino;         /* a store inside SRC is not part of the tree */
  frame_t *stack;
  size_t depth, cap;
  strbuf_t rel;            /* the current directory's path below DST's root ("" for the root) */
  iset_t store;            /* store inode -> its path below the store */
  strbuf_t made_files;     /* copied files' paths below DST, NUL-separated: synced at the end */
  uint64_t entries, linked, copied, bytes, hardlinked, linkmax, mounts, vanished;
  const char *err_op;
  int err;
  strbuf_t err_path;
  /* the main walker only */
  int splitting;
  frame_t *deferred;       /* shallow directories whose metadata waits for the workers */
  size_t ndeferred, capdeferred;
  struct clone *workers[MAX_WORKERS];
  pthread_t threads[MAX_WORKERS];
  int nworkers;
} clone_t;

static int fail(clone_t *c, const char *op, const char *name) {
  c->err_op = op;
  c->err = errno ? errno : EIO;
  c->err_path.len = 0;
  sb_append(&c->err_path, c->rel.buf ? c->rel.buf : "", c->rel.len);
  if (name) { sb_append(&c->err_path, "/", 1); sb_append(&c->err_path, name, strlen(name)); }
  return -1;
}

/* Reopens an O_PATH descriptor for reading through /proc: the same inode, nothing resolved again. */
static int reopen_read(int pfd) {
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

/* Owner, mode, xattrs, then times, in that order: chown clears setuid bits and file
 * capabilities, and every later change would move the times again. */
static int set_meta_fd(clone_t *c, int sfd, int dfd, const struct stat *st, const char *name) {
  if (fchown(dfd, st->st_uid, st->st_gid) < 0 && !(errno == EPERM && geteuid() != 0)) return fail(c, "fchown", name);
  if (fchmod(dfd, st->st_mode & 07777) < 0) return fail(c, "fchmod", name);
  if (copy_xattrs(sfd, NULL, dfd, NULL) < 0) return fail(c, "xattr", name);
  struct timespec ts[2] = { st->st_atim, st->st_mtim };
  if (futimens(dfd, ts) < 0) return fail(c, "futimens", name);
  return 0;
}

static int set_meta_at(clone_t *c, int sdir, int ddir, const char *name, const struct stat *st) {
  if (fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && !(errno == EPERM && geteuid() != 0))
    return fail(c, "fchownat", name);
  if (!S_ISLNK(st->st_mode) && fchmodat(ddir, name, st->st_mode & 07777, 0) < 0) return fail(c, "fchmodat", name);
  size_t len = strlen(name) + 48;
  char *sp = malloc(len), *dp = malloc(len);
  if (!sp || !dp) { free(sp); free(dp); errno = ENOMEM; return fail(c, "malloc", name); }
  proc_path(sp, len, sdir, name);
  proc_path(dp, len, ddir, name);
  int r = copy_xattrs(-1, sp, -1, dp);
  free(sp); free(dp);
  if (r < 0) return fail(c, "xattr", name);
  struct timespec ts[2] = { st->st_atim, st->st_mtim };
  if (utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) < 0) return fail(c, "utimensat", name);
  return 0;
}

/* Copies size bytes: a reflink where the filesystem can, else the data extents only. */
static int copy_data(int sfd, int dfd, off_t size) {
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

static int dst_rel(clone_t *c, const char *name, strbuf_t *out) {
  out->len = 0;
  if (sb_append(out, c->rel.buf ? c->rel.buf : "", c->rel.len) < 0) return -1;
  if (c->rel.len && sb_append(out, "/", 1) < 0) return -1;
  return sb_append(out, name, strlen(name));
}

/* A later member of one of SRC's hard-link sets: one more link to its first copy.
 * 1 when linked, 0 when it must be made (first member, or that copy is at its link limit). */
static int link_member(clone_t *c, frame_t *f, const char *name, const struct stat *st) {
  if (st->st_nlink < 2) return 0;
  const char *first = iset_get(&c->sh->links, st->st_dev, st->st_ino);
  if (!first) return 0;
  if (linkat(c->dst_root, first, f->dst, name, 0) == 0) { INC(c->hardlinked); return 1; }
  if (errno == EMLINK) return 0;
  return fail(c, "linkat", name);
}

/* Appends DST's path of `name` (in the current directory) to a NUL-separated list. */
static int record(clone_t *c, strbuf_t *list, const char *name) {
  strbuf_t p = { 0 };
  if (dst_rel(c, name, &p) < 0 || sb_append(list, p.buf, p.len + 1) < 0) { free(p.buf); errno = ENOMEM; return fail(c, "malloc", name); }
  free(p.buf);
  return 0;
}

static int remember_member(clone_t *c, const char *name, const struct stat *st) {
  if (st->st_nlink < 2) return 0;
  strbuf_t p = { 0 };
  if (dst_rel(c, name, &p) < 0 || iset_put(&c->sh->links, st->st_dev, st->st_ino, p.buf, p.len) < 0) {
    free(p.buf); errno = ENOMEM; return fail(c, "malloc", name);
  }
  free(p.buf);
  return 0;
}

/* One more link to the store entry whose inode this is; 1 when done, 0 when it must be copied. */
static int link_store(clone_t *c, frame_t *f, const char *name, const struct stat *st) {
  const char *entry = iset_get(&c->store, st->st_dev, st->st_ino);
  if (!entry) return 0;
  if (linkat(c->store_fd, entry, f->dst, name, 0) < 0) {
    if (errno == EMLINK) { INC(c->linkmax); return 0; }
    if (errno == ENOENT || errno == EXDEV) return 0; /* removed by gc meanwhile; another filesystem */
    return fail(c, "linkat", name);
  }
  struct stat now;
  if (fstatat(f->dst, name, &now, AT_SYMLINK_NOFOLLOW) < 0) return fail(c, "fstatat", name);
  if (now.st_ino != st->st_ino || now.st_dev != st->st_dev) {
    /* the entry was replaced since the store was walked: this is not SRC's inode */
    if (unlinkat(f->dst, name, 0) < 0) return fail(c, "unlinkat", name);
    return 0;
  }
  INC(c->linked);
  return 1;
}

/* Members of one of SRC's hard-link sets may be met by two walkers at once: the lookup of the
 * first copy and the recording of a new one happen under one lock, so a set is never split. */
static void lock_links(clone_t *c, const struct stat *st) { if (st->st_nlink > 1) pthread_mutex_lock(&c->sh->links_mu); }
static void unlock_links(clone_t *c, const struct stat *st) { if (st->st_nlink > 1) pthread_mutex_unlock(&c->sh->links_mu); }

static int copy_regular(clone_t *c, frame_t *f, const char *name, const struct stat *st, int pfd) {
  int r = link_member(c, f, name, st);
  if (r) return r < 0 ? -1 : 0;
  int sfd = reopen_read(pfd);
  if (sfd < 0) return fail(c, "open", name);
  int dfd = openat(f->dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (dfd < 0) { close(sfd); return fail(c, "openat", name); }
  if (copy_data(sfd, dfd, st->st_size) < 0) { fail(c, "copy", name); close(sfd); close(dfd); return -1; }
  r = set_meta_fd(c, sfd, dfd, st, name);
  if (r == 0 && st->st_size > 0) sync_file_range(dfd, 0, 0, SYNC_FILE_RANGE_WRITE); /* writeback starts now, cloneSync waits */
  close(sfd);
  close(dfd);
  if (r < 0) return -1;
  if (st->st_size > 0 && record(c, &c->made_files, name) < 0) return -1;
  INC(c->copied);
  ADD(c->bytes, (uint64_t)st->st_size);
  return remember_member(c, name, st);
}

static int clone_file(clone_t *c, frame_t *f, const char *name, const struct stat *lst) {
  int r = link_store(c, f, name, lst);
  if (r) return r < 0 ? -1 : 0;
  int pfd = openat(f->src, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (pfd < 0) return errno == ENOENT ? RETRY : fail(c, "openat", name);
  struct stat st;
  if (fstat(pfd, &st) < 0) { close(pfd); return fail(c, "fstat", name); }
  if (!S_ISREG(st.st_mode)) { close(pfd); return RETRY; }
  lock_links(c, &st);
  r = copy_regular(c, f, name, &st, pfd);
  unlock_links(c, &st);
  close(pfd);
  return r;
}

static int make_symlink(clone_t *c, frame_t *f, const char *name, const struct stat *st, const char *target) {
  int r = link_member(c, f, name, st);
  if (r) return r < 0 ? -1 : 0;
  if (symlinkat(target, f->dst, name) < 0) return fail(c, "symlinkat", name);
  if (set_meta_at(c, f->src, f->dst, name, st) < 0) return -1;
  return remember_member(c, name, st);
}

static int clone_symlink(clone_t *c, frame_t *f, const char *name, const struct stat *lst) {
  char target[4097];
  ssize_t n = readlinkat(f->src, name, target, sizeof target);
  if (n < 0) return (errno == ENOENT || errno == EINVAL) ? RETRY : fail(c, "readlinkat", name);
  if (n >= (ssize_t)sizeof target) { errno = ENAMETOOLONG; return fail(c, "readlinkat", name); }
  target[n] = 0;
  /* looked at again after reading: readlink may have moved its atime */
  struct stat st;
  if (fstatat(f->src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? RETRY : fail(c, "fstatat", name);
  if (!S_ISLNK(st.st_mode) || st.st_ino != lst->st_ino) return RETRY;
  lock_links(c, &st);
  int r = make_symlink(c, f, name, &st, target);
  unlock_links(c, &st);
  return r;
}

static int make_special(clone_t *c, frame_t *f, const char *name, const struct stat *st) {
  int r = link_member(c, f, name, st);
  if (r) return r < 0 ? -1 : 0;
  if (mknodat(f->dst, name, (st->st_mode & S_IFMT) | 0600, st->st_rdev) < 0) return fail(c, "mknodat", name);
  if (set_meta_at(c, f->src, f->dst, name, st) < 0) return -1;
  return remember_member(c, name, st);
}

static int clone_special(clone_t *c, frame_t *f, const char *name, const struct stat *st) {
  lock_links(c, st);
  int r = make_special(c, f, name, st);
  unlock_links(c, st);
  return r;
}

static int push(clone_t *c, int sfd, int dfd, const struct stat *st) {
  if (c->depth == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    frame_t *s = realloc(c->stack, cap * sizeof *s);
    if (!s) return -1;
    c->stack = s; c->cap = cap;
  }
  DIR *d = fdopendir(sfd);
  if (!d) return -1;
  frame_t *f = &c->stack[c->depth++];
  f->src = sfd; f->dst = dfd; f->dir = d; f->st = *st; f->saved_rel = c->rel.len;
  return 0;
}

/* Queues the directory just made (its path is c->rel) for a worker, which takes the descriptors. */
static int add_job(clone_t *c, int sfd, int dfd, const struct stat *st) {
  shared_t *sh = c->sh;
  char *rel = strdup(c->rel.buf);
  if (!rel) return -1;
  pthread_mutex_lock(&sh->mu);
  if (sh->njobs == sh->capjobs) {
    size_t cap = sh->capjobs ? sh->capjobs * 2 : 64;
    job_t *j = realloc(sh->jobs, cap * sizeof *j);
    if (!j) { pthread_mutex_unlock(&sh->mu); free(rel); return -1; }
    sh->jobs = j; sh->capjobs = cap;
  }
  sh->jobs[sh->njobs++] = (job_t){ sfd, dfd, *st, rel };
  if (sh->njobs >= MAX_JOBS) c->splitting = 0; /* enough descriptors held: walk the rest here */
  pthread_cond_broadcast(&sh->cv);
  pthread_mutex_unlock(&sh->mu);
  return 0;
}

static int clone_dir(clone_t *c, frame_t *f, const char *name, const struct stat *lst) {
  int sfd = openat(f->src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC);
  if (sfd < 0 && errno == EPERM) sfd = openat(f->src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sfd < 0) return (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) ? RETRY : fail(c, "openat", name);
  struct stat st;
  if (fstat(sfd, &st) < 0) { close(sfd); return fail(c, "fstat", name); }
  if (mkdirat(f->dst, name, 0700) < 0) { close(sfd); return fail(c, "mkdirat", name); }
  int dfd = openat(f->dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) { close(sfd); return fail(c, "openat", name); }
  if (st.st_dev != c->src_dev) {
    /* a mount point: not crossed, reproduced as an empty directory */
    int r = set_meta_fd(c, sfd, dfd, &st, name);
    close(sfd); close(dfd);
    INC(c->mounts);
    return r;
  }
  size_t saved = c->rel.len;
  if ((c->rel.len && sb_append(&c->rel, "/", 1) < 0) || sb_append(&c->rel, name, strlen(name)) < 0) {
    c->rel.len = saved;
    c->rel.buf[saved] = 0;
    close(sfd); close(dfd);
    return fail(c, "malloc", name);
  }
  if (c->splitting && c->depth >= SPLIT_DEPTH) {
    int r = add_job(c, sfd, dfd, &st);
    c->rel.len = saved;
    c->rel.buf[saved] = 0;
    if (r < 0) { close(sfd); close(dfd); return fail(c, "malloc", name); }
    return 0;
  }
  if (push(c, sfd, dfd, &st) < 0) {
    c->rel.len = saved;
    c->rel.buf[saved] = 0;
    close(sfd); close(dfd);
    return fail(c, "malloc", name);
  }
  c->stack[c->depth - 1].saved_rel = saved;
  return 0;
}

static int clone_entry(clone_t *c, frame_t *f, const char *name) {
  for (int tries = 0; tries < MAX_TRIES; tries++) {
    struct stat st;
    if (fstatat(f->src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) { INC(c->vanished); return 0; }
      return fail(c, "fstatat", name);
    }
    int r;
    switch (st.st_mode & S_IFMT) {
      case S_IFDIR:
        if (c->store_fd >= 0 && st.st_dev == c->store_dev && st.st_ino == c->store_ino) return 0;
        r = clone_dir(c, f, name, &st);
        break;
      case S_IFREG: r = clone_file(c, f, name, &st); break;
      case S_IFLNK: r = clone_symlink(c, f, name, &st); break;
      default: r = clone_special(c, f, name, &st); break;
    }
    if (r != RETRY) return r;
  }
  errno = EAGAIN;
  return fail(c, "clone (the entry kept changing)", name);
}

/* The directory on top is complete: its own metadata last (filling it moved its times). */
static int finish_dir(clone_t *c) {
  frame_t *f = &c->stack[c->depth - 1];
  if (!c->is_worker && c->nworkers) {
    /* a shallow directory: workers may still be filling directories below it */
    if (c->ndeferred == c->capdeferred) {
      size_t cap = c->capdeferred ? c->capdeferred * 2 : 64;
      frame_t *d = realloc(c->deferred, cap * sizeof *d);
      if (!d) { errno = ENOMEM; return fail(c, "malloc", NULL); }
      c->deferred = d; c->capdeferred = cap;
    }
    c->deferred[c->ndeferred++] = *f;
    c->rel.len = f->saved_rel;
    if (c->rel.buf) c->rel.buf[c->rel.len] = 0;
    c->depth--;
    return 0;
  }
  int r = set_meta_fd(c, f->src, f->dst, &f->st, NULL);
  closedir(f->dir);
  close(f->dst);
  c->rel.len = f->saved_rel;
  if (c->rel.buf) c->rel.buf[c->rel.len] = 0;
  c->depth--;
  return r;
}

/* Every regular file below the store's sha256/ and sha512/ directories, by inode: candidates
 * that src/clone/storeInodes.ts keeps only when the store's naming rule makes them entries.
 * Directories are opened beneath their parent with O_NOFOLLOW; symlinks are never entered. */
typedef struct { uint64_t *dev, *ino; size_t n, cap; strbuf_t rels; } filelist_t;

static int walk_store(int fd, strbuf_t *path, int depth, filelist_t *out) {
  struct stat dst;
  if (fstat(fd, &dst) < 0) { close(fd); return -1; }
  dev_t dev = dst.st_dev;
  DIR *d = fdopendir(fd);
  if (!d) { close(fd); return -1; }
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (depth == 0 && strcmp(e->d_name, "sha256") && strcmp(e->d_name, "sha512")) continue;
    size_t saved = path->len;
    if ((path->len && sb_append(path, "/", 1) < 0) || sb_append(path, e->d_name, strlen(e->d_name)) < 0) { rc = -1; break; }
    struct stat st;
    if (depth == 2 && e->d_type == DT_REG) {
      /* an entry: readdir already says its inode, and a shard holds no mount points; a wrong
       * listing costs nothing, since every link made from it is checked to be SRC's inode */
      st.st_mode = S_IFREG; st.st_dev = dev; st.st_ino = e->d_ino;
    } else if (depth == 2 && e->d_type != DT_UNKNOWN) {
      goto next;
    } else if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      goto next;
    }
    {
      if (S_ISDIR(st.st_mode) && depth < 2) {
        int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0 && walk_store(sub, path, depth + 1, out) < 0) { rc = -1; break; }
      } else if (S_ISREG(st.st_mode) && depth == 2) {
        if (out->n == out->cap) {
          size_t cap = out->cap ? out->cap * 2 : 4096;
          uint64_t *dv = realloc(out->dev, cap * sizeof *dv);
          if (dv) out->dev = dv;
          uint64_t *in = realloc(out->ino, cap * sizeof *in);
          if (in) out->ino = in;
          if (!dv || !in) { rc = -1; break; }
          out->cap = cap;
        }
        out->dev[out->n] = st.st_dev; out->ino[out->n] = st.st_ino; out->n++;
        if (sb_append(&out->rels, path->buf, path->len + 1) < 0) { rc = -1; break; }
      }
    }
  next:
    path->len = saved;
    path->buf[saved] = 0;
  }
  closedir(d);
  return rc;
}

/* listStoreFiles(storeFd) -> { dev, ino: BigUint64Array, rels: Buffer (NUL after each) } */
static napi_value xliststore(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_fd(env, argv[0], &fd)) { napi_throw_type_error(env, NULL, "storeFd expected"); return NULL; }
  filelist_t out = { 0 };
  strbuf_t path = { 0 };
  int sub = dup(fd);
  int r = sub < 0 || sb_append(&path, "", 0) < 0 ? -1 : walk_store(sub, &path, 0, &out);
  int e = errno;
  free(path.buf);
  if (r < 0) { free(out.dev); free(out.ino); free(out.rels.buf); return throw_errno(env, "list store", e ? e : ENOMEM); }
  napi_value res, ab, arr, buf; void *data;
  napi_create_object(env, &res);
  for (int k = 0; k < 2; k++) {
    napi_create_arraybuffer(env, out.n * 8, &data, &ab);
    if (out.n) memcpy(data, k ? out.ino : out.dev, out.n * 8);
    napi_create_typedarray(env, napi_biguint64_array, out.n, ab, 0, &arr);
    napi_set_named_property(env, res, k ? "ino" : "dev", arr);
  }
  napi_create_buffer_copy(env, out.rels.len, out.rels.buf ? out.rels.buf : "", &data, &buf);
  napi_set_named_property(env, res, "rels", buf);
  free(out.dev); free(out.ino); free(out.rels.buf);
  return res;
}

static void stop_workers(clone_t *c);

static void free_walker(clone_t *c) {
  while (c->depth) { frame_t *f = &c->stack[--c->depth]; closedir(f->dir); close(f->dst); }
  free(c->stack);
  free(c->rel.buf); free(c->err_path.buf); free(c->made_files.buf);
  free(c);
}

static void free_clone(clone_t *c) {
  if (c->sh) __atomic_store_n(&c->sh->failed, 1, __ATOMIC_RELAXED);
  stop_workers(c);
  for (int i = 0; i < c->nworkers; i++) free_walker(c->workers[i]);
  for (size_t i = 0; i < c->ndeferred; i++) { closedir(c->deferred[i].dir); close(c->deferred[i].dst); }
  free(c->deferred);
  shared_t *sh = c->sh;
  if (sh) {
    for (size_t i = sh->next_job; i < sh->njobs; i++) { close(sh->jobs[i].src); close(sh->jobs[i].dst); }
    for (size_t i = 0; i < sh->njobs; i++) free(sh->jobs[i].rel);
    free(sh->jobs);
    iset_free(&sh->links);
    pthread_mutex_destroy(&sh->links_mu); pthread_mutex_destroy(&sh->mu); pthread_cond_destroy(&sh->cv);
    free(sh);
  }
  if (c->store_fd >= 0) close(c->store_fd);
  if (c->dst_root >= 0) close(c->dst_root);
  iset_free(&c->store);
  free_walker(c);
}

/* Clones entries until `budget` is spent or the walker's stack is empty; -1 on failure (the
 * walker's err_* say where). Every walker stops at its next entry once another one failed. */
static int walk(clone_t *c, int64_t budget) {
  shared_t *sh = c->sh;
  while (budget > 0 && c->depth > 0) {
    if (LOAD(sh->failed)) { errno = ECANCELED; return fail(c, "clone (stopped: another walker failed)", NULL); }
    frame_t *f = &c->stack[c->depth - 1];
    errno = 0;
    struct dirent *e = readdir(f->dir);
    if (!e) {
      if (errno) return fail(c, "readdir", NULL);
      if (finish_dir(c) < 0) return -1;
      continue;
    }
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (clone_entry(c, f, e->d_name) < 0) return -1;
    INC(c->entries);
    budget--;
    uint64_t total = INC(sh->entries_total);
    if (sh->crash_after && (long)total >= sh->crash_after) raise(SIGKILL);
  }
  return 0;
}

/* A worker: takes jobs until the main walker has queued its last one and the queue is empty. */
static void *work(void *arg) {
  clone_t *w = arg;
  shared_t *sh = w->sh;
  for (;;) {
    pthread_mutex_lock(&sh->mu);
    while (!sh->failed && sh->next_job == sh->njobs && sh->producing) pthread_cond_wait(&sh->cv, &sh->mu);
    job_t *j = (sh->failed || sh->next_job == sh->njobs) ? NULL : &sh->jobs[sh->next_job++];
    job_t job = j ? *j : (job_t){ -1, -1, { 0 }, NULL };
    pthread_mutex_unlock(&sh->mu);
    if (!j) break;
    w->rel.len = 0;
    if (sb_append(&w->rel, job.rel, strlen(job.rel)) < 0 || push(w, job.src, job.dst, &job.st) < 0) {
      close(job.src); close(job.dst);
      errno = ENOMEM; fail(w, "malloc", NULL);
      __atomic_store_n(&sh->failed, 1, __ATOMIC_RELAXED);
      break;
    }
    if (walk(w, INT64_MAX) < 0) { __atomic_store_n(&sh->failed, 1, __ATOMIC_RELAXED); break; }
  }
  pthread_mutex_lock(&sh->mu);
  sh->running--;
  pthread_cond_broadcast(&sh->cv);
  pthread_mutex_unlock(&sh->mu);
  return NULL;
}

/* Ends the workers (after a failure: at their next entry) and waits for them. */
static void stop_workers(clone_t *c) {
  shared_t *sh = c->sh;
  if (!sh || !c->nworkers) return;
  pthread_mutex_lock(&sh->mu);
  sh->producing = 0;
  pthread_cond_broadcast(&sh->cv);
  pthread_mutex_unlock(&sh->mu);
  for (int i = 0; i < c->nworkers; i++) if (c->threads[i]) { pthread_join(c->threads[i], NULL); c->threads[i] = 0; }
}

static int start_workers(clone_t *c, int n) {
  for (int i = 0; i < n && i < MAX_WORKERS; i++) {
    clone_t *w = calloc(1, sizeof *w);
    if (!w) return -1;
    w->sh = c->sh; w->is_worker = 1;
    w->store_fd = c->store_fd; w->dst_root = c->dst_root;
    w->src_dev = c->src_dev; w->store_dev = c->store_dev; w->store_ino = c->store_ino;
    w->store = c->store; /* read-only from here on; owned by the main walker */
    c->workers[c->nworkers] = w;
    pthread_mutex_lock(&c->sh->mu);
    c->sh->running++;
    pthread_mutex_unlock(&c->sh->mu);
    if (pthread_create(&c->threads[c->nworkers], NULL, work, w) != 0) {
      pthread_mutex_lock(&c->sh->mu);
      c->sh->running--;
      pthread_mutex_unlock(&c->sh->mu);
      free(w);
      c->workers[c->nworkers] = NULL;
      return c->nworkers ? 0 : -1;
    }
    c->nworkers++;
  }
  return 0;
}

static void finalize(napi_env env, void *data, void *hint) { free_clone(data); }

static napi_value throw_clone(napi_env env, clone_t *c) {
  throw_errno(env, c->err_op, c->err);
  napi_value exc, p; bool pending;
  napi_is_exception_pending(env, &pending);
  if (pending && napi_get_and_clear_last_exception(env, &exc) == napi_ok) {
    void *data;
    napi_create_buffer_copy(env, c->err_path.len, c->err_path.buf ? c->err_path.buf : "", &data, &p);
    napi_set_named_property(env, exc, "path", p);
    napi_throw(env, exc);
  }
  return NULL;
}

/* The store's entries, as src/store/listEntries.ts found them: { dev, ino } BigUint64Arrays
 * and rels, their paths below the store, NUL-terminated one after another. */
static int add_entries(napi_env env, clone_t *c, napi_value obj) {
  napi_value vdev, vino, vrels;
  if (napi_get_named_property(env, obj, "dev", &vdev) != napi_ok || napi_get_named_property(env, obj, "ino", &vino) != napi_ok ||
      napi_get_named_property(env, obj, "rels", &vrels) != napi_ok) return -1;
  napi_typedarray_type t1, t2; size_t n1, n2; void *devs, *inos; char *rels; size_t rlen;
  if (napi_get_typedarray_info(env, vdev, &t1, &n1, &devs, NULL, NULL) != napi_ok || napi_get_typedarray_info(env, vino, &t2, &n2, &inos, NULL, NULL) != napi_ok ||
      t1 != napi_biguint64_array || t2 != napi_biguint64_array || n1 != n2 || napi_get_buffer_info(env, vrels, (void **)&rels, &rlen) != napi_ok) return -1;
  size_t off = 0;
  for (size_t i = 0; i < n1; i++) {
    const char *end = off < rlen ? memchr(rels + off, 0, rlen - off) : NULL;
    if (!end) return -1;
    if (iset_put(&c->store, (dev_t)((uint64_t *)devs)[i], (ino_t)((uint64_t *)inos)[i], rels + off, (size_t)(end - (rels + off))) < 0) return -1;
    off = (size_t)(end - rels) + 1;
  }
  return 0;
}

/* cloneStart(srcFd, dstFd, storeFd, entries) -> handle. Takes ownership of the three
 * descriptors (storeFd -1 for none). */
static napi_value xstart(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4]; int src, dst, store;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4 || !get_fd(env, argv[0], &src) || !get_fd(env, argv[1], &dst) || !get_fd(env, argv[2], &store)) {
    napi_throw_type_error(env, NULL, "srcFd, dstFd, storeFd and entries expected"); return NULL;
  }
  clone_t *c = calloc(1, sizeof *c);
  shared_t *sh = calloc(1, sizeof *sh);
  if (!c || !sh) { free(c); free(sh); close(src); close(dst); if (store >= 0) close(store); return throw_errno(env, "calloc", ENOMEM); }
  pthread_mutex_init(&sh->links_mu, NULL); pthread_mutex_init(&sh->mu, NULL); pthread_cond_init(&sh->cv, NULL);
  sh->producing = 1;
  c->sh = sh;
  c->store_fd = store; c->dst_root = -1;
  const char *crash = getenv("HASHIFY_CLONE_CRASH_AFTER");
  sh->crash_after = crash ? atol(crash) : 0;
  /* HASHIFY_CLONE_THREADS: walkers besides the main one (default 2, one a core here; 0: one thread) */
  const char *threads = getenv("HASHIFY_CLONE_THREADS");
  int nthreads = threads ? atoi(threads) : 2;
  struct stat st;
  if (fstat(src, &st) < 0) { int e = errno; close(src); close(dst); free_clone(c); return throw_errno(env, "fstat", e); }
  c->src_dev = st.st_dev;
  int dup_dst = dup(dst);
  if (dup_dst < 0 || push(c, src, dst, &st) < 0) { int e = errno; close(src); close(dst); free_clone(c); return throw_errno(env, "fdopendir", e); }
  c->dst_root = dup_dst;
  if (sb_append(&c->rel, "", 0) < 0) { free_clone(c); return throw_errno(env, "malloc", ENOMEM); }
  if (store >= 0) {
    struct stat sst;
    if (fstat(store, &sst) == 0) { c->store_dev = sst.st_dev; c->store_ino = sst.st_ino; }
    if (add_entries(env, c, argv[3]) < 0) { free_clone(c); napi_throw_type_error(env, NULL, "entries: { dev, ino: BigUint64Array, rels: Buffer } expected"); return NULL; }
  }
  if (nthreads > 0) {
    if (start_workers(c, nthreads) < 0) { free_clone(c); return throw_errno(env, "pthread_create", EAGAIN); }
    c->splitting = c->nworkers > 0;
  }
  napi_value out;
  napi_create_external(env, c, finalize, NULL, &out);
  return out;
}

static void set_num(napi_env env, napi_value obj, const char *k, double v) {
  napi_value n; napi_create_double(env, v, &n); napi_set_named_property(env, obj, k, n);
}

/* The walker whose failure stopped the clone (the others only saw it and stopped). */
static clone_t *failed_walker(clone_t *c) {
  if (c->err_op && c->err != ECANCELED) return c;
  for (int i = 0; i < c->nworkers; i++) if (c->workers[i]->err_op && c->workers[i]->err != ECANCELED) return c->workers[i];
  if (!c->err_op) { c->err_op = "clone"; c->err = EIO; }
  return c;
}

/* Everything below the shallow directories is done: their metadata, deepest first (they were
 * deferred as they were completed, children before parents), SRC's root last. */
static int finish_deferred(clone_t *c) {
  for (size_t i = 0; i < c->ndeferred; i++) {
    frame_t *f = &c->deferred[i];
    int r = set_meta_fd(c, f->src, f->dst, &f->st, NULL);
    closedir(f->dir);
    close(f->dst);
    f->dir = NULL;
    if (r < 0) {
      for (size_t k = i + 1; k < c->ndeferred; k++) { closedir(c->deferred[k].dir); close(c->deferred[k].dst); }
      c->ndeferred = 0;
      return -1;
    }
  }
  c->ndeferred = 0;
  return 0;
}

/* cloneStep(handle, budget) -> { done, entries, linked, copied, bytes, ... }: the main walker
 * clones up to budget entries of the shallow directories while the workers take the deeper
 * ones; once it is through, each step waits up to 100 ms for the workers. done once SRC's
 * root directory has its metadata. */
static napi_value xstep(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; clone_t *c; int64_t budget;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_external(env, argv[0], (void **)&c) != napi_ok || napi_get_value_int64(env, argv[1], &budget) != napi_ok) {
    napi_throw_type_error(env, NULL, "handle and budget expected"); return NULL;
  }
  shared_t *sh = c->sh;
  int done = 0;
  if (c->depth > 0 && walk(c, budget) < 0) {
    __atomic_store_n(&sh->failed, 1, __ATOMIC_RELAXED);
    stop_workers(c);
    return throw_clone(env, failed_walker(c));
  }
  if (c->depth == 0) {
    int finished = 1;
    if (c->nworkers) {
      pthread_mutex_lock(&sh->mu);
      sh->producing = 0;
      pthread_cond_broadcast(&sh->cv);
      if (sh->running > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000000L;
        if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&sh->cv, &sh->mu, &until);
      }
      finished = sh->running == 0;
      pthread_mutex_unlock(&sh->mu);
      if (finished) stop_workers(c);
      if (finished && LOAD(sh->failed)) return throw_clone(env, failed_walker(c));
    }
    if (finished) {
      if (finish_deferred(c) < 0) return throw_clone(env, c);
      done = 1;
    }
  }
  uint64_t n[8] = { c->entries, c->linked, c->copied, c->hardlinked, c->bytes, c->linkmax, c->mounts, c->vanished };
  for (int i = 0; i < c->nworkers; i++) {
    clone_t *w = c->workers[i];
    uint64_t m[8] = { LOAD(w->entries), LOAD(w->linked), LOAD(w->copied), LOAD(w->hardlinked), LOAD(w->bytes), LOAD(w->linkmax), LOAD(w->mounts), LOAD(w->vanished) };
    for (int k = 0; k < 8; k++) n[k] += m[k];
  }
  napi_value out, vdone;
  napi_create_object(env, &out);
  napi_get_boolean(env, done, &vdone);
  napi_set_named_property(env, out, "done", vdone);
  set_num(env, out, "entries", (double)n[0]);
  set_num(env, out, "linked", (double)n[1]);
  set_num(env, out, "copied", (double)n[2]);
  set_num(env, out, "hardlinked", (double)n[3]);
  set_num(env, out, "bytesCopied", (double)n[4]);
  set_num(env, out, "storeEntries", (double)c->store.n);
  set_num(env, out, "atLinkLimit", (double)n[5]);
  set_num(env, out, "mountPoints", (double)n[6]);
  set_num(env, out, "vanished", (double)n[7]);
  set_num(env, out, "threads", (double)(c->nworkers + 1));
  return out;
}

/* what: 0 wait for the data's writeback (no journal commit), 1 fdatasync */
static int sync_path(clone_t *c, const char *rel, int what) {
  int fd = openat(c->dst_root, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  int r = what == 0 ? sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER)
        : fdatasync(fd);
  int e = errno;
  close(fd);
  errno = e;
  return r;
}

/* cloneSync(handle): makes the finished tree durable before it is renamed into place. On ext4
 * and XFS only what the clone wrote is waited for. Both keep one journal (log) for the whole
 * filesystem, committed in order: committing a transaction makes every earlier one durable.
 * So: first the data of every copied file (its writeback started when it was copied), so that
 * the block allocations all land in the running transaction; then fdatasync of each (the
 * first commits that transaction, the rest find it committed); last, fsync of DST's root,
 * whose metadata was the walk's last change: every directory entry, link and inode the walk
 * made is in that transaction or an earlier one. (An fsync per directory would cost a device
 * cache flush each: 1.5 s for the 800 directories of a Debian guest.) Elsewhere (btrfs, whose
 * fsync logs one inode) syncfs(), which also waits for everyone else's dirty data. */
static napi_value xsync(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; clone_t *c;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&c) != napi_ok) { napi_throw_type_error(env, NULL, "handle expected"); return NULL; }
  struct statfs sf;
  if (fstatfs(c->dst_root, &sf) < 0) return throw_errno(env, "fstatfs", errno);
  if (sf.f_type != EXT4_SUPER_MAGIC && sf.f_type != XFS_SUPER_MAGIC) {
    if (syncfs(c->dst_root) < 0) return throw_errno(env, "syncfs", errno);
    return NULL;
  }
  for (int what = 0; what < 2; what++) {
    for (int k = -1; k < c->nworkers; k++) {
      strbuf_t *list = k < 0 ? &c->made_files : &c->workers[k]->made_files;
      for (size_t off = 0; off < list->len; off += strlen(list->buf + off) + 1) {
        if (sync_path(c, list->buf + off, what) < 0) return throw_errno(env, what ? "fdatasync" : "sync_file_range", errno);
      }
    }
  }
  if (fsync(c->dst_root) < 0) return throw_errno(env, "fsync", errno);
  return NULL;
}

/* Removes the entry `name` of dirfd and, if it is a directory, everything below it, by
 * descriptor: a symlink is removed, never followed. */
static int remove_at(int parent, const char *name) {
  if (unlinkat(parent, name, 0) == 0 || errno == ENOENT) return 0;
  if (errno != EISDIR && errno != EPERM) return -1;
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  DIR *d = fdopendir(fd);
  if (!d) { close(fd); return -1; }
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (remove_at(dirfd(d), e->d_name) < 0) { rc = -1; break; }
  }
  int err = errno;
  closedir(d);
  if (rc < 0) { errno = err; return -1; }
  if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT) return -1;
  return 0;
}

/* removeTree(dirfd, name: Buffer) */
static napi_value xremove(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int dirfd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *name = argc < 2 || !get_fd(env, argv[0], &dirfd) ? NULL : get_bytes_z(env, argv[1], NULL);
  if (!name) { napi_throw_type_error(env, NULL, "dirfd and name Buffer expected"); return NULL; }
  int r = remove_at(dirfd, name), e = errno;
  free(name);
  if (r < 0) return throw_errno(env, "remove", e);
  return NULL;
}

/* tryLock(fd) -> true when an exclusive flock was taken, false when another process holds one. */
static napi_value xlock(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_fd(env, argv[0], &fd)) { napi_throw_type_error(env, NULL, "fd expected"); return NULL; }
  int r = flock(fd, LOCK_EX | LOCK_NB);
  if (r < 0 && errno != EWOULDBLOCK) return throw_errno(env, "flock", errno);
  napi_value out; napi_get_boolean(env, r == 0, &out);
  return out;
}

/* lstatAt(dirfd, name: Buffer) -> { mode, dev, ino } or null when nothing is there. */
static napi_value xlstatat(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int dirfd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *name = argc < 2 || !get_fd(env, argv[0], &dirfd) ? NULL : get_bytes_z(env, argv[1], NULL);
  if (!name) { napi_throw_type_error(env, NULL, "dirfd and name Buffer expected"); return NULL; }
  struct stat st;
  int r = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW), e = errno;
  free(name);
  napi_value out;
  if (r < 0) {
    if (e == ENOENT) { napi_get_null(env, &out); return out; }
    return throw_errno(env, "fstatat", e);
  }
  napi_create_object(env, &out);
  set_num(env, out, "mode", st.st_mode);
  napi_value v;
  napi_create_bigint_uint64(env, st.st_dev, &v); napi_set_named_property(env, out, "dev", v);
  napi_create_bigint_uint64(env, st.st_ino, &v); napi_set_named_property(env, out, "ino", v);
  return out;
}

/* renameAt2(olddirfd, oldname, newdirfd, newname, flags) */
static napi_value xrename(napi_env env, napi_callback_info info) {
  size_t argc = 5; napi_value argv[5]; int od, nd, flags;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5 || !get_fd(env, argv[0], &od) || !get_fd(env, argv[2], &nd) || napi_get_value_int32(env, argv[4], &flags) != napi_ok) {
    napi_throw_type_error(env, NULL, "olddirfd, oldname, newdirfd, newname, flags expected"); return NULL;
  }
  char *on = get_bytes_z(env, argv[1], NULL), *nn = get_bytes_z(env, argv[3], NULL);
  if (!on || !nn) { free(on); free(nn); napi_throw_type_error(env, NULL, "names must be Buffers"); return NULL; }
  int r = renameat2(od, on, nd, nn, (unsigned)flags), e = errno;
  free(on); free(nn);
  if (r < 0) return throw_errno(env, "renameat2", e);
  return NULL;
}

void register_clone(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
    FN("cloneStart", xstart), FN("cloneStep", xstep), FN("cloneSync", xsync), FN("listStoreFiles", xliststore), FN("removeTree", xremove),
    FN("lstatAt", xlstatat), FN("renameAt2", xrename), FN("tryLock", xlock),
  };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
