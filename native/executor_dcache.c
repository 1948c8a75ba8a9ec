/*
 * The executor's directory cache, one per lane: every directory is resolved beneath its root
 * (open_beneath: openat2 without symlinks, magic links or mount crossings) once and kept open;
 * entries are chained by the hash of (root, rel) and evicted by CLOCK, never while the step
 * that uses them runs. Plan order is by content, so one guest's directory comes back every few
 * hundred steps: the cache holds as many directories as the descriptor limit comfortably allows.
 */
#include "executor.h"
#include "napi_util.h"
#include <sys/resource.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static unsigned hash_of(int root, const char *rel) {
  unsigned h = 2166136261u ^ (unsigned)root;
  for (const unsigned char *c = (const unsigned char *)rel; *c; c++) h = (h ^ *c) * 16777619u;
  return h;
}

/* The lane's cache, sized by the descriptor limit shared by `lanes` lanes. */
int ex_lane_init(struct executor *ex, int nroots, int *rootfd, int lanes) {
  struct rlimit rl;
  int cap = DCACHE_MAX;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (rlim_t)cap * 3 * lanes > rl.rlim_cur) cap = (int)(rl.rlim_cur / (3 * lanes));
  if (cap < 16) cap = 16;
  ex->nroots = nroots; ex->rootfd = rootfd;
  ex->empty_path = -1; ex->target_fd = ex->sib_fd = -1; ex->group_clean = 1;
  ex->cache = calloc(cap, sizeof *ex->cache);
  ex->bucket = malloc(cap * 2 * sizeof(int));
  ex->buf = malloc(BUF);
  if (!ex->cache || !ex->bucket || !ex->buf) return -1;
  for (int i = 0; i < cap * 2; i++) ex->bucket[i] = -1;
  ex->dcap = cap;
  return 0;
}

void ex_dcache_clear(struct executor *ex) {
  for (int i = 0; i < ex->dcount; i++) { free(ex->cache[i].rel); close(ex->cache[i].fd); }
  for (int i = 0; ex->bucket && i < ex->dcap * 2; i++) ex->bucket[i] = -1;
  ex->dcount = 0; ex->hand = 0;
}

void ex_lane_free(struct executor *ex) {
  ex_end_group(ex);
  ex_dcache_clear(ex);
  free(ex->cache); free(ex->bucket); free(ex->buf);
  ex->cache = NULL; ex->bucket = NULL; ex->buf = NULL;
}

static void unchain(struct executor *ex, int i) {
  int *p = &ex->bucket[ex->cache[i].hash % (unsigned)(ex->dcap * 2)];
  while (*p != i) p = &ex->cache[*p].next;
  *p = ex->cache[i].next;
}

/* A slot for a new entry: a free one, else the first the clock hand finds unused since its last
   pass. A directory this step already holds is never evicted: closing it would free its number
   for the next open while the step still acts through it (a step uses at most three). */
static int slot(struct executor *ex) {
  if (ex->dcount < ex->dcap) return ex->dcount++;
  for (;;) {
    int i = ex->hand;
    ex->hand = (ex->hand + 1) % ex->dcap;
    struct dentry *d = &ex->cache[i];
    if (d->step == ex->step) continue;
    if (d->used) { d->used = 0; continue; }
    unchain(ex, i);
    free(d->rel); close(d->fd);
    return i;
  }
}

int ex_mkdirs(int rootfd, const char *rel) {
  char *p = strdup(rel);
  if (!p) return -1;
  for (char *s = p; ; s++) {
    if (*s == '/' || *s == 0) {
      char c = *s; *s = 0;
      int fd = open_beneath(rootfd, p, O_RDONLY | O_DIRECTORY, 0);
      if (fd >= 0) close(fd);
      else if (errno == ENOENT) {
        char *slash = strrchr(p, '/');
        int parent = slash ? (*slash = 0, open_beneath(rootfd, p, O_RDONLY | O_DIRECTORY, 0)) : open_beneath(rootfd, "", O_RDONLY | O_DIRECTORY, 0);
        if (slash) *slash = '/';
        if (parent < 0) { free(p); return -1; }
        int ok = mkdirat(parent, slash ? slash + 1 : p, 0755);
        int e = errno;
        close(parent);
        if (ok < 0 && e != EEXIST) { free(p); errno = e; return -1; }
        ex_step();
      } else { free(p); return -1; }
      *s = c;
      if (!c) break;
    }
  }
  free(p);
  return 0;
}

/* The directory `rel` beneath root `root` (cached); -1 with the outcome in r. */
int ex_dir(struct executor *ex, int root, const char *rel, int create, struct result *r) {
  unsigned h = hash_of(root, rel);
  for (int i = ex->bucket[h % (unsigned)(ex->dcap * 2)]; i >= 0; i = ex->cache[i].next) {
    struct dentry *d = &ex->cache[i];
    if (d->hash == h && d->root == root && !strcmp(d->rel, rel)) { d->step = ex->step; d->used = 1; return d->fd; }
  }
  if (root < 0 || root >= ex->nroots) { ex_fail(r, "no such root", EINVAL); return -1; }
  if (ex->rootfd[root] < 0) { ex_drift(r, "its root is gone or was replaced (symlink?)"); return -1; }
  int fd = open_beneath(ex->rootfd[root], rel, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0 && errno == ENOENT && create) {
    if (ex_mkdirs(ex->rootfd[root], rel) == 0) fd = open_beneath(ex->rootfd[root], rel, O_RDONLY | O_DIRECTORY, 0);
  }
  if (fd < 0) {
    int e = errno;
    if (e == ELOOP || e == ENOTDIR) ex_drift(r, "a directory above it was replaced (symlink?)");
    else if (e == EXDEV) ex_drift(r, "a directory above it is a mount point or leads out of its root");
    else if (e == ENOENT) ex_drift(r, "its directory is gone");
    else ex_fail(r, "cannot open its directory", e);
    return -1;
  }
  char *copy = strdup(rel);
  if (!copy) { close(fd); ex_fail(r, "cannot cache its directory", ENOMEM); return -1; }
  int i = slot(ex);
  struct dentry *d = &ex->cache[i];
  int *b = &ex->bucket[h % (unsigned)(ex->dcap * 2)];
  d->root = root; d->rel = copy; d->hash = h; d->fd = fd; d->step = ex->step; d->used = 1;
  d->next = *b; *b = i;
  return fd;
}
