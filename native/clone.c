/*
 * clone: the N-API side of the native walker and copier behind `hashify clone SRC DST`
 * (the parts: see clone.h).
 *
 * SRC belongs to a guest that may be hostile and running. It is walked only by descriptor:
 * each directory is read with getdents64 and opened relative to its parent's descriptor with
 * O_NOFOLLOW|O_DIRECTORY; an entry is taken first as its directory record says (type and
 * inode), and looked at with fstatat(AT_SYMLINK_NOFOLLOW) relative to that descriptor when it
 * turns out to be something else (clone_walk.c). A regular file is opened as O_PATH first and
 * reopened for reading only once its descriptor proves it is a regular file (so a name
 * swapped for a device or FIFO is never opened for reading). A directory swapped for a
 * symlink fails the open (ELOOP/ENOTDIR) and the entry is looked at again; nothing outside
 * SRC is ever reached. Mount points are not crossed: they are reproduced as empty directories.
 *
 * A regular file whose (dev, ino) is a store entry's inode (the entries are listed by
 * listStoreFiles, kept by src/clone/storeInodes.ts and handed over) becomes one more link to
 * that entry (linkat from its shard's directory, then checked to be that inode); everything
 * else is copied (FICLONE, else copy_file_range over the data extents, holes kept). SRC's own
 * hard-link sets are kept by linking later members to the first copy in DST.
 *
 * Two worker threads (HASHIFY_CLONE_THREADS, 0 for none; started with the first job) take the
 * directories at depth 3 and below as jobs while the main walker clones the shallow levels in
 * batches (cloneStep), so the caller can show progress between them; the shallow directories
 * get their metadata once the workers are through. A hard-link set met by two walkers at once is kept whole by one lock
 * held from the look-up of its first copy to the recording of a new one.
 * HASHIFY_CLONE_CRASH_AFTER=N makes the process kill itself with SIGKILL after N entries
 * (crash tests).
 */
#define _GNU_SOURCE
#include "clone.h"
#include <sys/resource.h>

static void free_clone(clone_t *c) {
  if (c->sh) __atomic_store_n(&c->sh->failed, 1, __ATOMIC_RELAXED);
  clone_stop_workers(c);
  for (int i = 0; i < c->nworkers; i++) clone_free_walker(c->workers[i]);
  for (size_t i = 0; i < c->ndeferred; i++) { close(c->deferred[i].src); close(c->deferred[i].dst); }
  free(c->deferred);
  shared_t *sh = c->sh;
  if (sh) {
    for (size_t i = sh->next_job; i < sh->njobs; i++) { close(sh->jobs[i].src); close(sh->jobs[i].dst); }
    for (size_t i = 0; i < sh->njobs; i++) free(sh->jobs[i].rel);
    free(sh->jobs);
    clone_iset_free(&sh->links);
    pthread_mutex_destroy(&sh->links_mu); pthread_mutex_destroy(&sh->mu); pthread_cond_destroy(&sh->cv);
    free(sh);
  }
  if (c->store_fd >= 0) close(c->store_fd);
  if (c->dst_root >= 0) close(c->dst_root);
  clone_iset_free(&c->store);
  clone_free_shards(c->shards);
  clone_free_walker(c);
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
  struct rlimit lim;
  sh->max_jobs = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY ? lim.rlim_cur / 4 : 4096;
  if (sh->max_jobs > 4096) sh->max_jobs = 4096;
  c->sh = sh;
  c->store_fd = store; c->dst_root = -1;
  if (!(c->shards = calloc(1, sizeof *c->shards))) { close(src); close(dst); free_clone(c); return throw_errno(env, "calloc", ENOMEM); }
  const char *crash = getenv("HASHIFY_CLONE_CRASH_AFTER");
  sh->crash_after = crash ? atol(crash) : 0;
  /* HASHIFY_CLONE_THREADS: walkers besides the main one (default 2, one a core here; 0: one thread) */
  const char *threads = getenv("HASHIFY_CLONE_THREADS");
  int nthreads = threads ? atoi(threads) : 2;
  struct stat st;
  if (fstat(src, &st) < 0) { int e = errno; close(src); close(dst); free_clone(c); return throw_errno(env, "fstat", e); }
  c->src_dev = st.st_dev;
  struct stat own;
  if (fstat(dst, &own) < 0) { int e = errno; close(src); close(dst); free_clone(c); return throw_errno(env, "fstat", e); }
  c->own_uid = own.st_uid; c->own_gid = own.st_gid;
  int dup_dst = dup(dst);
  if (dup_dst < 0 || clone_push(c, src, dst, &st) < 0) { int e = errno; close(src); close(dst); free_clone(c); return throw_errno(env, "fdopendir", e); }
  c->dst_root = dup_dst;
  if (clone_sb_append(&c->rel, "", 0) < 0) { free_clone(c); return throw_errno(env, "malloc", ENOMEM); }
  if (store >= 0) {
    struct stat sst;
    if (fstat(store, &sst) == 0) { c->store_dev = sst.st_dev; c->store_ino = sst.st_ino; }
    if (clone_add_store_entries(env, c, argv[3]) < 0) { free_clone(c); napi_throw_type_error(env, NULL, "entries: { dev, ino: BigUint64Array, rels: Buffer } expected"); return NULL; }
  }
  c->want_workers = nthreads > MAX_WORKERS ? MAX_WORKERS : nthreads;
  c->splitting = c->want_workers > 0; /* the workers start with the first job (a small tree needs none) */
  napi_value out;
  napi_create_external(env, c, finalize, NULL, &out);
  return out;
}

static void set_num(napi_env env, napi_value obj, const char *k, double v) {
  napi_value n; napi_create_double(env, v, &n); napi_set_named_property(env, obj, k, n);
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
  if (c->depth > 0 && clone_walk(c, budget) < 0) {
    __atomic_store_n(&sh->failed, 1, __ATOMIC_RELAXED);
    clone_stop_workers(c);
    return throw_clone(env, clone_failed_walker(c));
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
      if (finished) clone_stop_workers(c);
      if (finished && LOAD(sh->failed)) return throw_clone(env, clone_failed_walker(c));
    }
    if (finished) {
      if (clone_finish_deferred(c) < 0) return throw_clone(env, c);
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

void register_clone(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
    FN("cloneStart", xstart), FN("cloneStep", xstep), FN("cloneSync", clone_sync), FN("listStoreFiles", clone_list_store),
  };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
  register_clone_fs(env, exports);
}
