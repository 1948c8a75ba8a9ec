/*
 * The native side of `hashify clone` (clone.c, the N-API functions; clone_walk.c, a walker;
 * clone_jobs.c, the worker threads and the directories they leave for last; clone_copy.c,
 * copying one entry's data and metadata; clone_sync.c, making DST durable; clone_store.c, the
 * store's inodes; clone_fs.c, the calls behind `switch` and the temp tree's removal): the
 * types they share.
 */
#ifndef HASHIFY_CLONE_H
#define HASHIFY_CLONE_H
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
#define INC(x) __atomic_add_fetch(&(x), 1, __ATOMIC_RELAXED)
#define ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* Bytes of directory records read by one getdents64 (a Debian guest's largest directories fit). */
#define DIRBUF (64 * 1024)

/* An open directory being cloned: its entries are read into buf, which belongs to the stack
 * slot (the next directory at the same depth reuses it). */
typedef struct {
  int src, dst;
  struct stat st;
  size_t saved_rel;
  char *buf;
  size_t pos, len;
} frame_t;

/* A directory whose entries are all cloned, its own metadata still to set (src, dst open). */
typedef struct {
  int src, dst;
  struct stat st;
} dirmeta_t;

/* A directory handed to a worker: opened and made in DST, its entries still to clone. */
typedef struct {
  int src, dst;
  struct stat st;
  char *rel;
} job_t;

/* The store's shard directories the entries are in (O_PATH, opened beneath the store's
 * root without following a symlink; -1: could not be opened, its entries are copied). */
typedef struct {
  int *fds;
  char **names;            /* "sha256/ab", as the entries' paths begin */
  size_t n, cap;
} shards_t;

/* What the walkers share: SRC's hard-link sets, the job queue, the crash hook's count. */
typedef struct {
  iset_t links;            /* SRC inode with more links -> its first copy's path below DST */
  pthread_mutex_t links_mu; /* held from looking a member up to recording its first copy */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  job_t *jobs;
  size_t njobs, capjobs, next_job;
  size_t max_jobs;         /* queued jobs hold two descriptors each: a quarter of RLIMIT_NOFILE at most */
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
  uid_t own_uid;           /* the owner every inode the clone makes gets (the temp root's): */
  gid_t own_gid;           /* an entry of SRC with the same one needs no chown */
  frame_t *stack;
  size_t depth, cap;
  strbuf_t rel;            /* the current directory's path below DST's root ("" for the root) */
  iset_t store;            /* store inode -> its name in its shard (the tag: the shard) */
  shards_t *shards;        /* owned by the main walker */
  strbuf_t made_files;     /* copied files' paths below DST, NUL-separated: synced at the end */
  uint64_t entries, linked, copied, bytes, hardlinked, linkmax, mounts, vanished;
  const char *err_op;
  int err;
  strbuf_t err_path;
  /* the main walker only */
  int splitting;           /* directories at SPLIT_DEPTH go to the workers */
  int want_workers;
  dirmeta_t *deferred;     /* shallow directories whose metadata waits for the workers */
  size_t ndeferred, capdeferred;
  struct clone *workers[MAX_WORKERS];
  pthread_t threads[MAX_WORKERS];
  int nworkers;
} clone_t;

/** Records the failed call and the path below DST it was for (name: an entry of the current directory); returns -1. */
int clone_fail(clone_t *c, const char *op, const char *name);
/** Reopens an O_PATH descriptor for reading through /proc; -1 and errno on failure. */
int clone_reopen_read(int pfd);
/** Owner, mode, xattrs (from sfd), then times of dfd; -1 through clone_fail(). */
int clone_set_meta_fd(clone_t *c, int sfd, int dfd, const struct stat *st, const char *name);
/** The same for an entry that cannot be opened (symlink, device, FIFO), by name in its directories. */
int clone_set_meta_at(clone_t *c, int sdir, int ddir, const char *name, const struct stat *st);
/** Copies size bytes from sfd to dfd: a reflink where possible, else the data extents, holes kept. */
int clone_copy_data(int sfd, int dfd, off_t size);

/** Pushes an opened directory (sfd, its copy dfd) on the walker's stack; takes both descriptors. */
int clone_push(clone_t *c, int sfd, int dfd, const struct stat *st);
/** Clones up to budget entries; -1 on failure (the walker's err_* say where). */
int clone_walk(clone_t *c, int64_t budget);
/** Queues the directory just made (its path is c->rel) for a worker, which takes the
 * descriptors, starting the workers with the first job: 0, or 1 when no worker could start
 * (the caller walks it), -1 when out of memory. */
int clone_add_job(clone_t *c, int sfd, int dfd, const struct stat *st);
/** Keeps a shallow directory's metadata for clone_finish_deferred(); takes the descriptors. */
int clone_defer(clone_t *c, const frame_t *f);
/** Starts the worker walkers (c->want_workers) unless they run; -1 when none could start. */
int clone_start_workers(clone_t *c);
/** Tells the workers no more jobs come (after a failure: stop) and waits for them. */
void clone_stop_workers(clone_t *c);
void clone_free_walker(clone_t *c);
/** The walker whose failure stopped the clone. */
clone_t *clone_failed_walker(clone_t *c);
/** Sets the metadata of the shallow directories, children before parents, SRC's root last. */
int clone_finish_deferred(clone_t *c);

/** listStoreFiles(storeFd), see clone_store.c. */
napi_value clone_list_store(napi_env env, napi_callback_info info);
/** Adds the entries cloneStart was given ({ dev, ino, rels }) to c->store, opening their shards; -1 on a malformed argument. */
int clone_add_store_entries(napi_env env, clone_t *c, napi_value entries);
void clone_free_shards(shards_t *s);
/** cloneSync(handle), see clone_sync.c. */
napi_value clone_sync(napi_env env, napi_callback_info info);
/** removeTree, tryLock, lstatAt, renameAt2, see clone_fs.c. */
void register_clone_fs(napi_env env, napi_value exports);
#endif
