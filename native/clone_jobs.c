/*
 * clone: the worker threads. The main walker clones the shallow levels and queues each
 * directory at SPLIT_DEPTH (made in DST, both opened) as a job; each worker walks a job's
 * subtree with its own stack. A shallow directory is complete only once the workers are
 * through, so its metadata is deferred until then (see clone.h).
 */
#define _GNU_SOURCE
#include "clone.h"

int clone_add_job(clone_t *c, int sfd, int dfd, const struct stat *st) {
  shared_t *sh = c->sh;
  if (!c->nworkers && clone_start_workers(c) < 0) { c->splitting = 0; return 1; }
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

int clone_defer(clone_t *c, const frame_t *f) {
  if (c->ndeferred == c->capdeferred) {
    size_t cap = c->capdeferred ? c->capdeferred * 2 : 64;
    dirmeta_t *d = realloc(c->deferred, cap * sizeof *d);
    if (!d) return -1;
    c->deferred = d; c->capdeferred = cap;
  }
  c->deferred[c->ndeferred++] = (dirmeta_t){ f->src, f->dst, f->st };
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

int clone_start_workers(clone_t *c) {
  for (int i = c->nworkers; i < c->want_workers; i++) {
    clone_t *w = calloc(1, sizeof *w);
    if (!w) return -1;
    w->sh = c->sh; w->is_worker = 1;
    w->store_fd = c->store_fd; w->dst_root = c->dst_root;
    w->src_dev = c->src_dev; w->store_dev = c->store_dev; w->store_ino = c->store_ino;
    w->own_uid = c->own_uid; w->own_gid = c->own_gid;
    w->store = c->store; w->shards = c->shards; /* read-only from here on; owned by the main walker */
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
    dirmeta_t *d = &c->deferred[i];
    int r = clone_set_meta_fd(c, d->src, d->dst, &d->st, NULL);
    close(d->src);
    close(d->dst);
    if (r < 0) {
      for (size_t k = i + 1; k < c->ndeferred; k++) { close(c->deferred[k].src); close(c->deferred[k].dst); }
      c->ndeferred = 0;
      return -1;
    }
  }
  c->ndeferred = 0;
  return 0;
}
