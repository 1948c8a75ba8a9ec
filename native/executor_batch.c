/*
 * A batch of steps, as src/run/executor.ts encodes it in one Buffer, run on the executor's
 * lanes. Per step: u8 kind, u8 lane, u8 lease, u8 digest algorithm, i32 root, i32 store root,
 * then nine fields (dir, name, temp, apply's temp, store dir, store name, expectation, digest,
 * xattrs), each a u32 length (0xffffffff: absent) and that many bytes and a NUL. The
 * expectation is ASCII: "dev ino size mode uid gid nlink mtime ctime atime flags".
 *
 * Each lane runs its steps in the order sent on a thread of its own that lives as long as the
 * executor's lanes (batches queue: a lane done with one batch goes on to the next without
 * waiting for the others); a lane is a content's (src/apply/applySteps.ts), so a group's steps
 * and its inodes stay on one thread and the results are exactly those of a run on one thread.
 * After a fatal error (or, with abortOnDrift, a drift) no lane starts another step, also of a
 * batch sent later (until a `fresh` one): those are ST_NOT_REACHED.
 */
#include "executor.h"
#include "executor_batch.h"
#include <pthread.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { F_D, F_N, F_T, F_T2, F_SD, F_SN, F_E, F_G, F_X, NFIELDS };
struct step { int k, lane, lease, a, r, sr; const char *f[NFIELDS]; uint32_t len[NFIELDS]; };

static uint32_t rd32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Decodes n steps; -1 when the buffer is malformed. */
static long decode(const unsigned char *b, size_t size, struct step *out, size_t max) {
  size_t at = 0; long n = 0;
  while (at < size) {
    if ((size_t)n == max || at + 12 > size) return -1;
    struct step *s = &out[n++];
    s->k = b[at]; s->lane = b[at + 1] % LANES; s->lease = b[at + 2]; s->a = b[at + 3];
    s->r = (int32_t)rd32(b + at + 4); s->sr = (int32_t)rd32(b + at + 8);
    at += 12;
    for (int f = 0; f < NFIELDS; f++) {
      if (at + 4 > size) return -1;
      uint32_t len = rd32(b + at); at += 4;
      s->len[f] = len == 0xffffffffu ? 0 : len;
      s->f[f] = NULL;
      if (len == 0xffffffffu) continue;
      if (at + len + 1 > size || b[at + len] != 0) return -1;
      s->f[f] = (const char *)b + at;
      at += len + 1;
    }
  }
  return n;
}

static int get_expect(const struct step *s, struct expect *e) {
  memset(e, 0, sizeof *e);
  if (!s->f[F_E]) return 0;
  const char *p = s->f[F_E]; char *end;
  uint64_t u[3]; int64_t v[8];
  for (int i = 0; i < 3; i++) { u[i] = strtoull(p, &end, 10); p = end; }
  for (int i = 0; i < 8; i++) { v[i] = strtoll(p, &end, 10); p = end; }
  e->dev = u[0]; e->ino = u[1]; e->size = u[2]; e->mode = v[0]; e->uid = v[1]; e->gid = v[2]; e->nlink = v[3];
  e->mtime = v[4]; e->ctime = v[5]; e->atime = v[6]; e->flags = (uint32_t)v[7];
  e->digest = (const unsigned char *)s->f[F_G]; e->digest_len = s->len[F_G]; e->alg = s->a;
  e->xattrs = (const unsigned char *)s->f[F_X]; e->xattrs_len = s->len[F_X];
  return 1;
}

static void run_step(struct executor *ex, const struct step *s, struct result *r) {
  struct expect e; get_expect(s, &e);
  const char *dir = s->f[F_D], *name = s->f[F_N], *tmp = s->f[F_T], *sdir = s->f[F_SD], *sname = s->f[F_SN];
  int k = s->k;
  if (k == K_END) { ex_end_group(ex); r->status = ST_ALREADY; }
  else if (!dir || !name) ex_fail(r, "malformed step", EINVAL);
  else if (k == K_TARGET) ex_target(ex, s->r, dir, name, &e, s->lease, s->sr, sdir, sname, r);
  else if (k == K_COPYIN && sdir && sname) ex_copyin(ex, s->r, dir, name, &e, s->sr, sdir, sname, r);
  else if ((k == K_LINK || k == K_REFLINK || k == K_RESTORE) && tmp) {
    struct place entry = { s->sr, sdir, sname };
    ex_replace(ex, k, s->r, dir, name, tmp, s->f[F_T2], sdir && sname ? &entry : NULL, &e, r);
  }
  else if (k == K_RELEASE) ex_release(ex, s->r, dir, name, &e, r);
  else if (k == K_SIBLING) ex_sibling(ex, s->r, dir, name, &e, r);
  else ex_fail(r, "malformed step", EINVAL);
}

static int fatal(int err) { return err == ENOSPC || err == EROFS || err == EDQUOT || err == EIO || err == ENOSYS; }

/* A batch in flight: decoded when it is sent, run by each lane it uses in turn, freed by its waiter. */
struct job {
  struct step *steps; struct result *res; long n; int abort_drift;
  unsigned long seq; int used;  /* lanes with steps in it (bit l) */
  int pending;                  /* lanes (with a thread) not finished with it yet */
  struct job *next;
};

static void run_share(struct batch_lanes *bl, struct job *j, int l) {
  struct executor *ex = &bl->lane[l];
  for (long i = 0; i < j->n; i++) {
    if (j->steps[i].lane != l) continue;
    struct result *r = &j->res[i];
    if (__atomic_load_n(&bl->stop, __ATOMIC_ACQUIRE) || __atomic_load_n(&bl->interrupted, __ATOMIC_ACQUIRE)) { r->status = ST_NOT_REACHED; continue; }
    r->status = ST_FAILED;
    ex->step++;
    run_step(ex, &j->steps[i], r);
    if ((r->status == ST_FAILED && fatal(r->err)) || (j->abort_drift && r->status == ST_DRIFT)) __atomic_store_n(&bl->stop, 1, __ATOMIC_RELEASE);
  }
}

struct lane_arg { struct batch_lanes *bl; int lane; };

/* A lane's thread: the oldest job with steps of this lane that it has not run yet, in the order
   sent, then wait for the next; so a lane never waits for the other lanes between batches. */
static void *lane_loop(void *arg) {
  struct batch_lanes *bl = ((struct lane_arg *)arg)->bl; int l = ((struct lane_arg *)arg)->lane;
  free(arg);
  unsigned long done = 0;
  int64_t idle = 0; /* since when this lane has had nothing to run (0: it has) */
  pthread_mutex_lock(&bl->mu);
  for (;;) {
    struct job *j = bl->jobs;
    while (j && (j->seq <= done || !(j->used >> l & 1))) j = j->next;
    if (!j) {
      if (bl->quit) break;
      if (!idle) idle = ex_now_ns();
      pthread_cond_wait(&bl->work, &bl->mu);
      continue;
    }
    if (idle) bl->stats.lane_idle_ns[l] += ex_now_ns() - idle; /* waited for this batch (not for the end of the run) */
    idle = 0;
    pthread_mutex_unlock(&bl->mu);
    run_share(bl, j, l);
    pthread_mutex_lock(&bl->mu);
    done = j->seq;
    if (--j->pending == 0) pthread_cond_broadcast(&bl->done);
  }
  pthread_mutex_unlock(&bl->mu);
  return NULL;
}

void ex_lanes_init(struct batch_lanes *bl) {
  pthread_mutex_init(&bl->mu, NULL); pthread_cond_init(&bl->work, NULL); pthread_cond_init(&bl->done, NULL);
}

/* The lane threads end (after the jobs sent; none is in flight when this is called). */
void ex_lanes_stop(struct batch_lanes *bl) {
  pthread_mutex_lock(&bl->mu);
  bl->quit = 1;
  pthread_cond_broadcast(&bl->work);
  pthread_mutex_unlock(&bl->mu);
  for (int l = 0; l < LANES; l++) if (bl->running[l] > 0) pthread_join(bl->tid[l], NULL);
  memset(bl->running, 0, sizeof bl->running);
  bl->quit = 0;
}

/* Decodes the batch and sends it to its lanes (each on a thread of its own, started the first
   time a batch uses it; a lane that cannot have one runs on its waiters' threads, one batch
   after the other). NULL when malformed (errno EINVAL) or out of memory (ENOMEM). */
struct job *ex_submit(struct batch_lanes *bl, const unsigned char *buf, size_t size, int abort_drift, int fresh) {
  size_t max = size / 48 + 1; /* a step takes at least 12 + 9 * 4 bytes */
  struct job *j = calloc(1, sizeof *j);
  if (j) j->steps = malloc(max * sizeof *j->steps);
  if (!j || !j->steps) { if (j) free(j); errno = ENOMEM; return NULL; }
  j->abort_drift = abort_drift;
  j->n = decode(buf, size, j->steps, max);
  j->res = j->n > 0 ? calloc(j->n, sizeof *j->res) : NULL;
  if (j->n < 0 || (j->n > 0 && !j->res)) { errno = j->n < 0 ? EINVAL : ENOMEM; free(j->steps); free(j); return NULL; }
  for (long i = 0; i < j->n; i++) j->used |= 1 << j->steps[i].lane;
  for (int l = 0; l < LANES; l++) {
    if ((j->used >> l & 1) && !bl->lane[l].cache && ex_lane_init(&bl->lane[l], bl->nroots, bl->rootfd, LANES) < 0) {
      ex_lane_free(&bl->lane[l]); free(j->steps); free(j->res); free(j); errno = ENOMEM; return NULL;
    }
  }
  if (!bl->reap_tried) { /* once, before any lane thread exists: the lanes read lane.reap unlocked */
    const char *e = getenv("HASHIFY_REAPERS");
    bl->reap = ex_reap_start(e ? atoi(e) : REAPERS_DEFAULT);
    bl->reap_tried = 1;
    for (int l = 0; l < LANES; l++) bl->lane[l].reap = bl->reap;
  }
  pthread_mutex_lock(&bl->mu);
  if (fresh) bl->stop = 0;
  for (int l = 0; l < LANES; l++) {
    if (!(j->used >> l & 1)) continue;
    if (!bl->running[l]) {
      struct lane_arg *a = malloc(sizeof *a);
      if (a) *a = (struct lane_arg){ bl, l };
      bl->running[l] = a && pthread_create(&bl->tid[l], NULL, lane_loop, a) == 0 ? 1 : -1;
      if (bl->running[l] > 0) bl->threads++; else free(a);
    }
    if (bl->running[l] > 0) j->pending++;
  }
  bl->used |= j->used;
  j->seq = ++bl->seq;
  struct job **at = &bl->jobs;
  while (*at) at = &(*at)->next;
  *at = j;
  pthread_cond_broadcast(&bl->work);
  pthread_mutex_unlock(&bl->mu);
  return j;
}

/* Waits for the job (a lane without a thread runs its share here, once every job sent before it
   is done), unlinks and frees it; res gets one result per step. Returns how many. */
long ex_wait(struct batch_lanes *bl, struct job *j, struct result **res) {
  pthread_mutex_lock(&bl->mu);
  while (bl->jobs != j) pthread_cond_wait(&bl->done, &bl->mu);
  pthread_mutex_unlock(&bl->mu);
  for (int l = 0; l < LANES; l++) if ((j->used >> l & 1) && bl->running[l] < 0) run_share(bl, j, l);
  pthread_mutex_lock(&bl->mu);
  while (j->pending) pthread_cond_wait(&bl->done, &bl->mu);
  bl->jobs = j->next;
  pthread_cond_broadcast(&bl->done);
  pthread_mutex_unlock(&bl->mu);
  long n = j->n;
  *res = j->res;
  free(j->steps); free(j);
  return n;
}
