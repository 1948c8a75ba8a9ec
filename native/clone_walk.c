/*
 * clone: a walker. Each one walks SRC by descriptor (see clone.c's comment) with its own stack
 * of open directories, read with getdents64. An entry is first taken as the directory record
 * says (type and inode, no stat): a regular file whose inode is a store entry's is linked from
 * the store and the link checked to be that inode; a directory or a symlink is opened or read
 * with calls that fail on any other type. Whatever turns out to be something else, or is of
 * another type, is looked at with fstatat and handled by what it is then. The main walker
 * clones the shallow levels and queues the directories at SPLIT_DEPTH as jobs (clone_jobs.c).
 */
#define _GNU_SOURCE
#include "clone.h"

static int dst_rel(clone_t *c, const char *name, strbuf_t *out) {
  out->len = 0;
  if (clone_sb_append(out, c->rel.buf ? c->rel.buf : "", c->rel.len) < 0) return -1;
  if (c->rel.len && clone_sb_append(out, "/", 1) < 0) return -1;
  return clone_sb_append(out, name, strlen(name));
}

/* A later member of one of SRC's hard-link sets: one more link to its first copy.
 * 1 when linked, 0 when it must be made (first member, or that copy is at its link limit). */
static int link_member(clone_t *c, frame_t *f, const char *name, const struct stat *st) {
  if (st->st_nlink < 2) return 0;
  const char *first = clone_iset_get(&c->sh->links, st->st_dev, st->st_ino, NULL);
  if (!first) return 0;
  const char *rest;
  int at = at_beneath(c->dst_root, first, &rest); /* first may be longer than PATH_MAX */
  int ok = at >= 0 && linkat(at, rest, f->dst, name, 0) == 0, e = errno;
  if (at >= 0 && at != c->dst_root) close(at);
  errno = e;
  if (ok) { INC(c->hardlinked); return 1; }
  if (errno == EMLINK) return 0;
  return clone_fail(c, "linkat", name);
}

/* Appends DST's path of `name` (in the current directory) to a NUL-separated list. */
static int record(clone_t *c, strbuf_t *list, const char *name) {
  strbuf_t p = { 0 };
  if (dst_rel(c, name, &p) < 0 || clone_sb_append(list, p.buf, p.len + 1) < 0) { free(p.buf); errno = ENOMEM; return clone_fail(c, "malloc", name); }
  free(p.buf);
  return 0;
}

static int remember_member(clone_t *c, const char *name, const struct stat *st) {
  if (st->st_nlink < 2) return 0;
  strbuf_t p = { 0 };
  if (dst_rel(c, name, &p) < 0 || clone_iset_put(&c->sh->links, st->st_dev, st->st_ino, p.buf, p.len, 0) < 0) {
    free(p.buf); errno = ENOMEM; return clone_fail(c, "malloc", name);
  }
  free(p.buf);
  return 0;
}

/* One more link to the store entry whose inode (dev, ino) is; 1 when done, 0 when it must be copied. */
static int link_store(clone_t *c, frame_t *f, const char *name, dev_t dev, ino_t ino) {
  uint32_t shard;
  const char *entry = clone_iset_get(&c->store, dev, ino, &shard);
  if (!entry || c->shards->fds[shard] < 0) return 0;
  if (linkat(c->shards->fds[shard], entry, f->dst, name, 0) < 0) {
    if (errno == EMLINK) { INC(c->linkmax); return 0; }
    if (errno == ENOENT || errno == EXDEV) return 0; /* removed by gc meanwhile; another filesystem */
    return clone_fail(c, "linkat", name);
  }
  struct stat now;
  if (fstatat(f->dst, name, &now, AT_SYMLINK_NOFOLLOW) < 0) return clone_fail(c, "fstatat", name);
  if (now.st_ino != ino || now.st_dev != dev) {
    /* the entry was replaced since the store was walked: this is not SRC's inode */
    if (unlinkat(f->dst, name, 0) < 0) return clone_fail(c, "unlinkat", name);
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
  int sfd = clone_reopen_read(pfd);
  if (sfd < 0) return clone_fail(c, "open", name);
  int dfd = openat(f->dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (dfd < 0) { close(sfd); return clone_fail(c, "openat", name); }
  if (clone_copy_data(sfd, dfd, st->st_size) < 0) { clone_fail(c, "copy", name); close(sfd); close(dfd); return -1; }
  r = clone_set_meta_fd(c, sfd, dfd, st, name);
  if (r == 0 && st->st_size > 0) sync_file_range(dfd, 0, 0, SYNC_FILE_RANGE_WRITE); /* writeback starts now, cloneSync waits */
  close(sfd);
  close(dfd);
  if (r < 0) return -1;
  if (st->st_size > 0 && record(c, &c->made_files, name) < 0) return -1;
  INC(c->copied);
  ADD(c->bytes, (uint64_t)st->st_size);
  return remember_member(c, name, st);
}

/* A regular file whose inode was (dev, ino) when its directory was read or looked at. */
static int clone_file(clone_t *c, frame_t *f, const char *name, dev_t dev, ino_t ino) {
  int r = link_store(c, f, name, dev, ino);
  if (r) return r < 0 ? -1 : 0;
  int pfd = openat(f->src, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (pfd < 0) return errno == ENOENT ? RETRY : clone_fail(c, "openat", name);
  struct stat st;
  if (fstat(pfd, &st) < 0) { close(pfd); return clone_fail(c, "fstat", name); }
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
  if (symlinkat(target, f->dst, name) < 0) return clone_fail(c, "symlinkat", name);
  if (clone_set_meta_at(c, f->src, f->dst, name, st) < 0) return -1;
  return remember_member(c, name, st);
}

/* A symlink whose inode was ino when its directory was read or looked at. */
static int clone_symlink(clone_t *c, frame_t *f, const char *name, ino_t ino) {
  char target[4097];
  ssize_t n = readlinkat(f->src, name, target, sizeof target);
  if (n < 0) return (errno == ENOENT || errno == EINVAL) ? RETRY : clone_fail(c, "readlinkat", name);
  if (n >= (ssize_t)sizeof target) { errno = ENAMETOOLONG; return clone_fail(c, "readlinkat", name); }
  target[n] = 0;
  /* looked at after reading: readlink may have moved its atime */
  struct stat st;
  if (fstatat(f->src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? RETRY : clone_fail(c, "fstatat", name);
  if (!S_ISLNK(st.st_mode) || st.st_ino != ino) return RETRY;
  lock_links(c, &st);
  int r = make_symlink(c, f, name, &st, target);
  unlock_links(c, &st);
  return r;
}

static int make_special(clone_t *c, frame_t *f, const char *name, const struct stat *st) {
  int r = link_member(c, f, name, st);
  if (r) return r < 0 ? -1 : 0;
  if (mknodat(f->dst, name, (st->st_mode & S_IFMT) | 0600, st->st_rdev) < 0) return clone_fail(c, "mknodat", name);
  if (clone_set_meta_at(c, f->src, f->dst, name, st) < 0) return -1;
  return remember_member(c, name, st);
}

static int clone_special(clone_t *c, frame_t *f, const char *name, const struct stat *st) {
  lock_links(c, st);
  int r = make_special(c, f, name, st);
  unlock_links(c, st);
  return r;
}

int clone_push(clone_t *c, int sfd, int dfd, const struct stat *st) {
  if (c->depth == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    frame_t *s = realloc(c->stack, cap * sizeof *s);
    if (!s) return -1;
    memset(s + c->cap, 0, (cap - c->cap) * sizeof *s);
    c->stack = s; c->cap = cap;
  }
  frame_t *f = &c->stack[c->depth];
  if (!f->buf && !(f->buf = malloc(DIRBUF))) return -1;
  f->src = sfd; f->dst = dfd; f->st = *st; f->saved_rel = c->rel.len;
  f->pos = f->len = 0;
  c->depth++;
  return 0;
}

static int clone_dir(clone_t *c, frame_t *f, const char *name) {
  int sfd = openat(f->src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC);
  if (sfd < 0 && errno == EPERM) sfd = openat(f->src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sfd < 0) return (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) ? RETRY : clone_fail(c, "openat", name);
  struct stat st;
  if (fstat(sfd, &st) < 0) { close(sfd); return clone_fail(c, "fstat", name); }
  if (c->store_fd >= 0 && st.st_dev == c->store_dev && st.st_ino == c->store_ino) { close(sfd); return 0; }
  if (mkdirat(f->dst, name, 0700) < 0) { close(sfd); return clone_fail(c, "mkdirat", name); }
  int dfd = openat(f->dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) { close(sfd); return clone_fail(c, "openat", name); }
  if (st.st_dev != c->src_dev) {
    /* a mount point: not crossed, reproduced as an empty directory */
    int r = clone_set_meta_fd(c, sfd, dfd, &st, name);
    close(sfd); close(dfd);
    INC(c->mounts);
    return r;
  }
  size_t saved = c->rel.len;
  if ((c->rel.len && clone_sb_append(&c->rel, "/", 1) < 0) || clone_sb_append(&c->rel, name, strlen(name)) < 0) {
    c->rel.len = saved;
    c->rel.buf[saved] = 0;
    close(sfd); close(dfd);
    return clone_fail(c, "malloc", name);
  }
  int queued = c->splitting && c->depth >= SPLIT_DEPTH ? clone_add_job(c, sfd, dfd, &st) : 1;
  if (queued <= 0) {
    c->rel.len = saved;
    c->rel.buf[saved] = 0;
    if (queued < 0) { close(sfd); close(dfd); return clone_fail(c, "malloc", name); }
    return 0;
  }
  if (clone_push(c, sfd, dfd, &st) < 0) {
    c->rel.len = saved;
    c->rel.buf[saved] = 0;
    close(sfd); close(dfd);
    return clone_fail(c, "malloc", name);
  }
  c->stack[c->depth - 1].saved_rel = saved;
  return 0;
}

/* One entry of the directory on top, as its record says (type, inode) and, should it turn out
 * to be something else or be of another type, as fstatat says it is. */
static int clone_entry(clone_t *c, frame_t *f, const char *name, unsigned char type, ino_t ino) {
  int r = type == DT_REG ? clone_file(c, f, name, c->src_dev, ino)
        : type == DT_DIR ? clone_dir(c, f, name)
        : type == DT_LNK ? clone_symlink(c, f, name, ino) : RETRY;
  for (int tries = 0; r == RETRY && tries < MAX_TRIES; tries++) {
    struct stat st;
    if (fstatat(f->src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) { INC(c->vanished); return 0; }
      return clone_fail(c, "fstatat", name);
    }
    switch (st.st_mode & S_IFMT) {
      case S_IFDIR: r = clone_dir(c, f, name); break;
      case S_IFREG: r = clone_file(c, f, name, st.st_dev, st.st_ino); break;
      case S_IFLNK: r = clone_symlink(c, f, name, st.st_ino); break;
      default: r = clone_special(c, f, name, &st); break;
    }
  }
  if (r != RETRY) return r;
  errno = EAGAIN;
  return clone_fail(c, "clone (the entry kept changing)", name);
}

/* The directory on top is complete: its own metadata last (filling it moved its times). */
static int finish_dir(clone_t *c) {
  frame_t *f = &c->stack[c->depth - 1];
  if (!c->is_worker && c->nworkers && c->depth <= SPLIT_DEPTH) {
    /* a shallow directory: workers may still be filling directories below it (deeper ones
     * on the main walker, once it stopped making jobs, have none and finish now) */
    if (clone_defer(c, f) < 0) { errno = ENOMEM; return clone_fail(c, "malloc", NULL); }
    c->rel.len = f->saved_rel;
    if (c->rel.buf) c->rel.buf[c->rel.len] = 0;
    c->depth--;
    return 0;
  }
  int r = clone_set_meta_fd(c, f->src, f->dst, &f->st, NULL);
  close(f->src);
  close(f->dst);
  c->rel.len = f->saved_rel;
  if (c->rel.buf) c->rel.buf[c->rel.len] = 0;
  c->depth--;
  return r;
}

void clone_free_walker(clone_t *c) {
  while (c->depth) { frame_t *f = &c->stack[--c->depth]; close(f->src); close(f->dst); }
  for (size_t i = 0; i < c->cap; i++) free(c->stack[i].buf);
  free(c->stack);
  free(c->rel.buf); free(c->err_path.buf); free(c->made_files.buf);
  free(c);
}

/* Clones entries until `budget` is spent or the walker's stack is empty; -1 on failure (the
 * walker's err_* say where). Every walker stops at its next entry once another one failed. */
int clone_walk(clone_t *c, int64_t budget) {
  shared_t *sh = c->sh;
  while (budget > 0 && c->depth > 0) {
    if (LOAD(sh->failed)) { errno = ECANCELED; return clone_fail(c, "clone (stopped: another walker failed)", NULL); }
    frame_t *f = &c->stack[c->depth - 1];
    if (f->pos == f->len) {
      ssize_t n = getdents64(f->src, f->buf, DIRBUF);
      if (n < 0) return clone_fail(c, "getdents64", NULL);
      if (n == 0 && finish_dir(c) < 0) return -1;
      f->pos = 0; f->len = (size_t)n; /* (a finished frame's slot: reset again by the next push) */
      continue;
    }
    struct dirent64 *e = (struct dirent64 *)(f->buf + f->pos);
    f->pos += e->d_reclen;
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (clone_entry(c, f, e->d_name, e->d_type, e->d_ino) < 0) return -1;
    INC(c->entries);
    budget--;
    uint64_t total = INC(sh->entries_total);
    if (sh->crash_after && (long)total >= sh->crash_after) raise(SIGKILL);
  }
  return 0;
}

