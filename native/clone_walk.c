/*
 * clone: the walkers. Each one walks SRC by descriptor (see clone.c's comment) with its own
 * stack of open directories; the main one clones the shallow levels and queues the directories
 * at SPLIT_DEPTH as jobs for the workers, which run on their own threads.
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
  const char *first = clone_iset_get(&c->sh->links, st->st_dev, st->st_ino);
  if (!first) return 0;
  if (linkat(c->dst_root, first, f->dst, name, 0) == 0) { INC(c->hardlinked); return 1; }
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
  if (dst_rel(c, name, &p) < 0 || clone_iset_put(&c->sh->links, st->st_dev, st->st_ino, p.buf, p.len) < 0) {
    free(p.buf); errno = ENOMEM; return clone_fail(c, "malloc", name);
  }
  free(p.buf);
  return 0;
}

/* One more link to the store entry whose inode this is; 1 when done, 0 when it must be copied. */
static int link_store(clone_t *c, frame_t *f, const char *name, const struct stat *st) {
  const char *entry = clone_iset_get(&c->store, st->st_dev, st->st_ino);
  if (!entry) return 0;
  if (linkat(c->store_fd, entry, f->dst, name, 0) < 0) {
    if (errno == EMLINK) { INC(c->linkmax); return 0; }
    if (errno == ENOENT || errno == EXDEV) return 0; /* removed by gc meanwhile; another filesystem */
    return clone_fail(c, "linkat", name);
  }
  struct stat now;
  if (fstatat(f->dst, name, &now, AT_SYMLINK_NOFOLLOW) < 0) return clone_fail(c, "fstatat", name);
  if (now.st_ino != st->st_ino || now.st_dev != st->st_dev) {
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

static int clone_file(clone_t *c, frame_t *f, const char *name, const struct stat *lst) {
  int r = link_store(c, f, name, lst);
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

static int clone_symlink(clone_t *c, frame_t *f, const char *name, const struct stat *lst) {
  char target[4097];
  ssize_t n = readlinkat(f->src, name, target, sizeof target);
  if (n < 0) return (errno == ENOENT || errno == EINVAL) ? RETRY : clone_fail(c, "readlinkat", name);
  if (n >= (ssize_t)sizeof target) { errno = ENAMETOOLONG; return clone_fail(c, "readlinkat", name); }
  target[n] = 0;
  /* looked at again after reading: readlink may have moved its atime */
  struct stat st;
  if (fstatat(f->src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? RETRY : clone_fail(c, "fstatat", name);
  if (!S_ISLNK(st.st_mode) || st.st_ino != lst->st_ino) return RETRY;
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
  if (sh->njobs >= sh->max_jobs) c->splitting = 0; /* enough descriptors held: walk the rest here */
  pthread_cond_broadcast(&sh->cv);
  pthread_mutex_unlock(&sh->mu);
  return 0;
}

static int clone_dir(clone_t *c, frame_t *f, const char *name, const struct stat *lst) {
  int sfd = openat(f->src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC);
  if (sfd < 0 && errno == EPERM) sfd = openat(f->src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (sfd < 0) return (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) ? RETRY : clone_fail(c, "openat", name);
  struct stat st;
  if (fstat(sfd, &st) < 0) { close(sfd); return clone_fail(c, "fstat", name); }
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
  if (c->splitting && c->depth >= SPLIT_DEPTH) {
    int r = add_job(c, sfd, dfd, &st);
    c->rel.len = saved;
    c->rel.buf[saved] = 0;
    if (r < 0) { close(sfd); close(dfd); return clone_fail(c, "malloc", name); }
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

static int clone_entry(clone_t *c, frame_t *f, const char *name) {
  for (int tries = 0; tries < MAX_TRIES; tries++) {
    struct stat st;
    if (fstatat(f->src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) { INC(c->vanished); return 0; }
      return clone_fail(c, "fstatat", name);
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
  return clone_fail(c, "clone (the entry kept changing)", name);
}

/* The directory on top is complete: its own metadata last (filling it moved its times). */
static int finish_dir(clone_t *c) {
  frame_t *f = &c->stack[c->depth - 1];
  if (!c->is_worker && c->nworkers && c->depth <= SPLIT_DEPTH) {
    /* a shallow directory: workers may still be filling directories below it (deeper ones
     * on the main walker, once it stopped making jobs, have none and finish now) */
    if (c->ndeferred == c->capdeferred) {
      size_t cap = c->capdeferred ? c->capdeferred * 2 : 64;
      frame_t *d = realloc(c->deferred, cap * sizeof *d);
      if (!d) { errno = ENOMEM; return clone_fail(c, "malloc", NULL); }
      c->deferred = d; c->capdeferred = cap;
    }
    c->deferred[c->ndeferred++] = *f;
    c->rel.len = f->saved_rel;
    if (c->rel.buf) c->rel.buf[c->rel.len] = 0;
    c->depth--;
    return 0;
  }
  int r = clone_set_meta_fd(c, f->src, f->dst, &f->st, NULL);
  closedir(f->dir);
  close(f->dst);
  c->rel.len = f->saved_rel;
  if (c->rel.buf) c->rel.buf[c->rel.len] = 0;
  c->depth--;
  return r;
}

void clone_free_walker(clone_t *c) {
  while (c->depth) { frame_t *f = &c->stack[--c->depth]; closedir(f->dir); close(f->dst); }
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
    errno = 0;
    struct dirent *e = readdir(f->dir);
    if (!e) {
      if (errno) return clone_fail(c, "readdir", NULL);
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
    if (clone_sb_append(&w->rel, job.rel, strlen(job.rel)) < 0 || clone_push(w, job.src, job.dst, &job.st) < 0) {
      close(job.src); close(job.dst);
      errno = ENOMEM; clone_fail(w, "malloc", NULL);
      __atomic_store_n(&sh->failed, 1, __ATOMIC_RELAXED);
      break;
    }
    if (clone_walk(w, INT64_MAX) < 0) { __atomic_store_n(&sh->failed, 1, __ATOMIC_RELAXED); break; }
  }
  pthread_mutex_lock(&sh->mu);
  sh->running--;
  pthread_cond_broadcast(&sh->cv);
  pthread_mutex_unlock(&sh->mu);
  return NULL;
}

/* Ends the workers (after a failure: at their next entry) and waits for them. */
void clone_stop_workers(clone_t *c) {
  shared_t *sh = c->sh;
  if (!sh || !c->nworkers) return;
  pthread_mutex_lock(&sh->mu);
  sh->producing = 0;
  pthread_cond_broadcast(&sh->cv);
  pthread_mutex_unlock(&sh->mu);
  for (int i = 0; i < c->nworkers; i++) if (c->threads[i]) { pthread_join(c->threads[i], NULL); c->threads[i] = 0; }
}

int clone_start_workers(clone_t *c, int n) {
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

/* The walker whose failure stopped the clone (the others only saw it and stopped). */
clone_t *clone_failed_walker(clone_t *c) {
  if (c->err_op && c->err != ECANCELED) return c;
  for (int i = 0; i < c->nworkers; i++) if (c->workers[i]->err_op && c->workers[i]->err != ECANCELED) return c->workers[i];
  if (!c->err_op) { c->err_op = "clone"; c->err = EIO; }
  return c;
}

/* Everything below the shallow directories is done: their metadata, deepest first (they were
 * deferred as they were completed, children before parents), SRC's root last. */
int clone_finish_deferred(clone_t *c) {
  for (size_t i = 0; i < c->ndeferred; i++) {
    frame_t *f = &c->deferred[i];
    int r = clone_set_meta_fd(c, f->src, f->dst, &f->st, NULL);
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
