/*
 * The descriptor-based executor shared by apply and undo (native/executor*.c).
 * Roots are opened once; every directory is resolved beneath its root with open_beneath and
 * kept in a bounded cache; every step acts relative to those descriptors, and the inode a
 * group links to is held open from the moment it is checked (or made) until the group ends.
 */
#ifndef HASHIFY_EXECUTOR_H
#define HASHIFY_EXECUTOR_H
#define _GNU_SOURCE
#include <sys/stat.h>
#include <stdint.h>
#include <stddef.h>
#include <time.h>

#define DCACHE_MAX 4096 /* directories cached per lane (fewer when RLIMIT_NOFILE is low) */
#define SEEN 4096
#define LANES 4
#define WHY 400
#define REAPERS 16        /* at most; see executor_reap.c */
#define REAPERS_DEFAULT 8

/* What one step must find: the recorded identity of an inode (see src/run/encodeSteps.ts). */
struct expect {
  uint64_t dev, ino, size;
  uint32_t mode, uid, gid, nlink;
  int64_t mtime, ctime, atime;
  uint32_t flags;
  const unsigned char *digest; size_t digest_len; int alg; /* 0 sha256, 1 sha512 */
  const unsigned char *xattrs; size_t xattrs_len;          /* [u32 len][name][u32 len][value]... sorted */
};
#define EXP_INODE 1      /* dev and ino must match */
#define EXP_CONTENT 2    /* always re-hash (--verify-content) */
#define EXP_NO_CONTENT 4 /* a changed ctime/nlink is accepted without hashing (the copy is hashed instead) */
#define EXP_NOT_APPLIED 8 /* undo: apply never relinked this path; anything but the shared inode is left alone */

/* A cached directory; `step` is the step that last used it: a step's own directories are never
   evicted while it runs. Entries are chained by the hash of (root, rel); eviction is CLOCK. */
struct dentry { int root; char *rel; unsigned hash; int fd; int next; int used; unsigned long step; };
struct seen { uint64_t dev, ino; int64_t ctime; uint32_t nlink; };

/* One lane: the state of the thread that runs a share of a batch (see executor_batch.c). All
   steps of one group (one content) run on the same lane, so its state is its own. */
struct executor {
  int nroots; int *rootfd;  /* shared by the lanes, read-only after execOpen */
  struct dentry *cache; int *bucket; int dcap, dcount, hand;
  unsigned long step;     /* the step running now (ex_dir pins what it returns to it) */
  struct seen seen[SEEN];
  int empty_path;         /* linkat AT_EMPTY_PATH works: 1 yes, 0 no, -1 unknown */
  int target_fd;          /* the group's checked (or made) inode */
  struct stat target_st;
  int group_state;        /* 0 ok, 1 drifted, 2 failed */
  char group_why[WHY]; int group_err;
  int group_clean;        /* undo: every path of the group restored so far */
  int sib_fd;             /* undo: the restored inode of the current original inode */
  uint64_t sib_dev, sib_ino; /* the original inode sib_fd stands for */
  unsigned char *buf;     /* BUF bytes: hashing and copying */
  struct reaper *reap;    /* closes the descriptors of freed inodes (executor_reap.c); shared by the lanes */
};
#define BUF (1 << 20)

/* One step's outcome. */
enum { ST_APPLIED = 0, ST_ALREADY = 1, ST_DRIFT = 2, ST_FAILED = 3, ST_NOT_REACHED = 4 };
struct result {
  int status; int err; char why[WHY];
  struct stat made;  /* the inode a copy-in made (or adopted) */
  uint64_t freed;    /* bytes of an inode this step freed */
  int group;         /* the outcome concerns the whole group */
  int retarget;      /* EMLINK: the group continues on another inode (made; 1 = this path's own, 2 = a store entry) */
};

/* executor_dcache.c */
int ex_dir(struct executor *ex, int root, const char *rel, int create, struct result *r);
void ex_dcache_clear(struct executor *ex);
int ex_lane_init(struct executor *ex, int nroots, int *rootfd, int lanes);
void ex_lane_free(struct executor *ex);

/* executor_fs.c */
int ex_open_file(int dirfd, const char *name, struct result *r);
const char *ex_check(struct executor *ex, int fd, const struct stat *st, const struct expect *e);
void ex_seen_set(struct executor *ex, int fd);
void ex_seen_put(struct executor *ex, const struct stat *st);
int ex_link_fd(struct executor *ex, int fd, int dirfd, const char *name);
int ex_copy(struct executor *ex, int src, int dst, off_t size);
int ex_hash_fd(struct executor *ex, int fd, int alg, unsigned char *out, unsigned *outlen);
int ex_set_meta(int fd, const struct expect *e);
int ex_mkdirs(int rootfd, const char *rel);
int ex_same_xattrs(int fd, const unsigned char *blob, size_t len);
void ex_step(void);
int ex_reopen_ro(int fd);
void ex_fail(struct result *r, const char *what, int err);
void ex_drift(struct result *r, const char *why);

/* executor_target.c */
/** The group drifted (r is a drift) or failed: every later step of the group says so. */
void ex_group_set(struct executor *ex, const struct result *r, const char *prefix);
/** -1: open for writing (no read lease can be had); 1: lease held; 0: leases unavailable here. */
int ex_take_lease(int fd);

/* executor_reap.c */
struct reaper;
/* Where a run's threads waited (execStats): what bounds it. Nanoseconds. */
struct wait_stats {
  int64_t lane_idle_ns[LANES]; /* a lane with nothing to run until the next batch came */
  long reap_waits; int64_t reap_wait_ns; /* lanes waiting for room among the descriptors to close */
  int64_t reap_drain_ns;       /* the end of the run waiting for the last of them */
};
/* CLOCK_MONOTONIC in nanoseconds, for the wait_stats. */
static inline int64_t ex_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}
struct reaper *ex_reap_start(int threads);
void ex_reap(struct reaper *rp, int fd);
/* Closes whatever waits and frees rp; its waits are added to st. */
void ex_reap_stop(struct reaper *rp, struct wait_stats *st);

/* executor_ops.c and executor_target.c */
void ex_target(struct executor *ex, int root, const char *dir, const char *name, const struct expect *e, int flags,
               int sroot, const char *sdir, const char *sname, struct result *r);
void ex_copyin(struct executor *ex, int root, const char *dir, const char *name, const struct expect *e,
               int sroot, const char *sdir, const char *sname, struct result *r);
struct place { int root; const char *dir, *name; };
void ex_replace(struct executor *ex, int kind, int root, const char *dir, const char *name, const char *tmp,
                const char *apply_tmp, const struct place *entry, const struct expect *e, struct result *r);
void ex_release(struct executor *ex, int root, const char *dir, const char *name, const struct expect *e, struct result *r);
void ex_end_group(struct executor *ex);
void ex_sibling(struct executor *ex, int root, const char *dir, const char *name, const struct expect *e, struct result *r);

#define K_TARGET 1
#define K_COPYIN 2
#define K_LINK 3
#define K_REFLINK 4
#define K_RESTORE 5
#define K_RELEASE 6
#define K_END 7
#define K_SIBLING 8
#endif
