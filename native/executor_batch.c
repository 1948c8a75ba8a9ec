/*
 * A batch of steps, as src/run/executor.ts encodes it in one Buffer, run on the executor's
 * lanes. Per step: u8 kind, u8 lane, u8 lease, u8 digest algorithm, i32 root, i32 store root,
 * then nine fields (dir, name, temp, apply's temp, store dir, store name, expectation, digest,
 * xattrs), each a u32 length (0xffffffff: absent) and that many bytes and a NUL. The
 * expectation is ASCII: "dev ino size mode uid gid nlink mtime ctime atime flags".
 *
 * Each lane runs its steps in batch order on its own thread (lane 0 on the caller's); a lane
 * is a content's (src/apply/applySteps.ts), so a group's steps and its inodes stay on one
 * thread and the results are exactly those of a run on one thread. After a fatal error (or,
 * with abortOnDrift, a drift) no lane starts another step: those are ST_NOT_REACHED.
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

struct lane_job { struct executor *ex; const struct step *steps; struct result *res; long n; int lane, abort_drift; int *stop; };

static void *run_lane(void *arg) {
  struct lane_job *j = arg;
  for (long i = 0; i < j->n; i++) {
    if (j->steps[i].lane != j->lane) continue;
    struct result *r = &j->res[i];
    if (__atomic_load_n(j->stop, __ATOMIC_ACQUIRE)) { r->status = ST_NOT_REACHED; continue; }
    r->status = ST_FAILED;
    j->ex->step++;
    run_step(j->ex, &j->steps[i], r);
    if ((r->status == ST_FAILED && fatal(r->err)) || (j->abort_drift && r->status == ST_DRIFT)) __atomic_store_n(j->stop, 1, __ATOMIC_RELEASE);
  }
  return NULL;
}

/* Runs the batch; res gets one result per step (n of them). -1 when malformed (res untouched). */
long ex_run_batch(struct batch_lanes *bl, const unsigned char *buf, size_t size, int abort_drift, int fresh, struct result **res) {
  size_t max = size / 48 + 1; /* a step takes at least 12 + 9 * 4 bytes */
  struct step *steps = malloc(max * sizeof *steps);
  if (!steps) return -1;
  long n = decode(buf, size, steps, max);
  *res = n > 0 ? calloc(n, sizeof **res) : NULL;
  if (n <= 0 || !*res) { free(steps); return n == 0 ? 0 : -1; }
  int used[LANES] = { 0 };
  for (long i = 0; i < n; i++) used[steps[i].lane] = 1;
  for (int l = 0; l < LANES; l++) {
    if (used[l] && !bl->lane[l].cache && ex_lane_init(&bl->lane[l], bl->nroots, bl->rootfd, LANES) < 0) {
      ex_lane_free(&bl->lane[l]); free(steps); free(*res); *res = NULL; errno = ENOMEM; return -1;
    }
  }
  if (!bl->reap) { const char *e = getenv("HASHIFY_REAPERS"); bl->reap = ex_reap_start(e ? atoi(e) : REAPERS_DEFAULT); }
  for (int l = 0; l < LANES; l++) bl->lane[l].reap = bl->reap;
  if (fresh) bl->stop = 0;
  struct lane_job jobs[LANES]; pthread_t tid[LANES]; int started[LANES] = { 0 };
  for (int l = 0; l < LANES; l++) jobs[l] = (struct lane_job){ &bl->lane[l], steps, *res, n, l, abort_drift, &bl->stop };
  int nused = 0;
  for (int l = 0; l < LANES; l++) nused += used[l];
  for (int l = 1; l < LANES; l++) if (used[l] && nused > 1) started[l] = pthread_create(&tid[l], NULL, run_lane, &jobs[l]) == 0;
  for (int l = 1; l < LANES; l++) bl->threads += started[l];
  if (used[0]) run_lane(&jobs[0]);
  for (int l = 1; l < LANES; l++) {
    if (started[l]) pthread_join(tid[l], NULL);
    else if (used[l]) run_lane(&jobs[l]); /* the only lane, or no thread to be had: on this one */
  }
  free(steps);
  return n;
}
