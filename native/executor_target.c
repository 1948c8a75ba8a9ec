/*
 * The executor's group steps: a group's target checked (a read lease where it is a keeper that
 * is linked to) and held open, a private hashed clone of it (reflink), an adopted keeper linked
 * into the store, or a store entry copied in from its checked keeper (see executor_ops.c for
 * the crash cases).
 */
#include "executor.h"
#include "napi_util.h"
#include <openssl/evp.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

void ex_group_set(struct executor *ex, const struct result *r, const char *prefix) {
  ex->group_state = r->status == ST_DRIFT ? 1 : 2;
  ex->group_err = r->err;
  snprintf(ex->group_why, WHY, "%s%.300s", prefix, r->why);
}

void ex_end_group(struct executor *ex) {
  if (ex->target_fd >= 0) close(ex->target_fd);
  if (ex->sib_fd >= 0) close(ex->sib_fd);
  ex->target_fd = ex->sib_fd = -1;
  ex->group_state = 0; ex->group_why[0] = 0; ex->group_err = 0; ex->group_clean = 1;
}

/* -1: open for writing (no read lease can be had); 1: lease held; 0: leases unavailable here. */
int ex_take_lease(int fd) {
  fcntl(fd, F_SETSIG, SIGURG); /* a lease break must not send SIGIO (which would end node) */
  if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) return 1;
  return errno == EAGAIN ? -1 : 0;
}

/* A private clone of the checked target, hashed: what a group's clones are made from. */
static int snapshot(struct executor *ex, int dfd, int fd, const struct expect *e, struct result *r) {
  int snap = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (snap < 0) { ex_fail(r, "cannot create a private clone of it (O_TMPFILE)", errno); return -1; }
  if (ioctl(snap, FICLONE, fd) < 0) { ex_fail(r, "cannot clone it (FICLONE)", errno); close(snap); return -1; }
  unsigned char md[EVP_MAX_MD_SIZE]; unsigned len;
  if (ex_hash_fd(ex, snap, e->alg, md, &len) < 0 || len != e->digest_len || memcmp(md, e->digest, len)) {
    ex_drift(r, "its bytes no longer match the plan"); close(snap); return -1;
  }
  return ex_reopen_ro(snap);
}

/* flags: 1 = a read lease must be had; 2 = hold a hashed private clone instead of the file.
   With a store place (sdir, sname): the checked inode is linked there (plan --adopt). */
void ex_target(struct executor *ex, int root, const char *dir, const char *name, const struct expect *e, int flags,
               int sroot, const char *sdir, const char *sname, struct result *r) {
  ex_end_group(ex);
  int dfd = ex_dir(ex, root, dir, 0, r);
  int fd = dfd < 0 ? -1 : ex_open_file(dfd, name, r);
  struct stat st;
  if (fd >= 0) {
    const char *why = fstat(fd, &st) < 0 ? "it cannot be examined" : ex_check(ex, fd, &st, e);
    if (!why && (flags & 1)) {
      int l = ex_take_lease(fd);
      if (l < 0) why = "open for writing";
      if (l > 0) fcntl(fd, F_SETLEASE, F_UNLCK);
    }
    if (why) { ex_drift(r, why); close(fd); fd = -1; }
  }
  if (fd >= 0 && (flags & 2)) {
    int snap = snapshot(ex, dfd, fd, e, r);
    close(fd);
    fd = snap;
    if (fd >= 0) fstat(fd, &st);
  }
  if (fd >= 0 && sdir && sname) {
    int sfd = ex_dir(ex, sroot, sdir, 1, r);
    struct stat at;
    if (sfd < 0) { close(fd); fd = -1; }
    else if (ex_link_fd(ex, fd, sfd, sname) == 0) ex_step();
    else if (errno != EEXIST || fstatat(sfd, sname, &at, AT_SYMLINK_NOFOLLOW) < 0 || !(at.st_dev == st.st_dev && at.st_ino == st.st_ino)) {
      ex_fail(r, "cannot link it into the store", errno == EEXIST ? EEXIST : errno); close(fd); fd = -1;
    }
    if (fd >= 0) { fstat(fd, &st); ex_seen_set(ex, fd); }
  }
  if (fd < 0) { ex_group_set(ex, r, "its target: "); return; }
  ex->target_fd = fd; ex->target_st = st;
  r->status = ST_ALREADY; r->made = st;
}

void ex_copyin(struct executor *ex, int root, const char *dir, const char *name, const struct expect *e,
               int sroot, const char *sdir, const char *sname, struct result *r) {
  ex_end_group(ex);
  int dfd, kfd = -1, tfd = -1, sfd;
  struct stat st;
  /* An entry already there (a crashed run's, whose keeper may be relinked by now) first. */
  if ((sfd = ex_dir(ex, sroot, sdir, 1, r)) < 0) goto group;
  if (fstatat(sfd, sname, &st, AT_SYMLINK_NOFOLLOW) == 0) goto adopt;
  if ((dfd = ex_dir(ex, root, dir, 0, r)) < 0 || (kfd = ex_open_file(dfd, name, r)) < 0) goto group;
  struct expect k = *e; k.flags |= EXP_NO_CONTENT; /* the copy is hashed below */
  const char *why = fstat(kfd, &st) < 0 ? "it cannot be examined" : ex_check(ex, kfd, &st, &k);
  if (!why) {
    int l = ex_take_lease(kfd);
    if (l < 0) why = "open for writing";
    if (l > 0) fcntl(kfd, F_SETLEASE, F_UNLCK);
  }
  if (why) { ex_drift(r, why); goto group; }
  tfd = openat(sfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (tfd < 0) { ex_fail(r, "cannot create a store entry (O_TMPFILE)", errno); goto group; }
  ex_step();
  if (ex_copy(ex, kfd, tfd, st.st_size) < 0) { ex_fail(r, "cannot copy it into the store", errno); goto group; }
  ex_step();
  unsigned char md[EVP_MAX_MD_SIZE]; unsigned len;
  if (ex_hash_fd(ex, tfd, e->alg, md, &len) < 0) { ex_fail(r, "cannot read back its copy", errno); goto group; }
  if (len != e->digest_len || memcmp(md, e->digest, len)) { ex_drift(r, "its bytes no longer match the plan"); goto group; }
  if (ex_set_meta(tfd, e) < 0) { ex_fail(r, "cannot set the store entry's metadata", errno); goto group; }
  ex_step();
  if (ex_link_fd(ex, tfd, sfd, sname) < 0) {
    if (errno != EEXIST) { ex_fail(r, "cannot name the store entry", errno); goto group; }
    close(tfd);
    tfd = -1;
  adopt:
    /* Made by a run that crashed before its journal said so, or by anyone: adopt it only
       when its bytes, metadata and xattrs are exactly the planned ones. */
    tfd = ex_open_file(sfd, sname, r);
    struct expect x = *e; x.flags = EXP_CONTENT;
    if (tfd < 0 || fstat(tfd, &st) < 0 || ex_check(ex, tfd, &st, &x)) {
      ex_fail(r, "its store entry's name is taken by another file", EEXIST); goto group;
    }
    r->status = ST_ALREADY;
  } else {
    ex_step();
    r->status = ST_APPLIED;
  }
  close(kfd);
  tfd = ex_reopen_ro(tfd);
  fstat(tfd, &st);
  ex->target_fd = tfd; ex->target_st = st; r->made = st;
  ex_seen_set(ex, tfd);
  return;
group:
  if (kfd >= 0) close(kfd);
  if (tfd >= 0) close(tfd);
  ex_group_set(ex, r, r->status == ST_DRIFT ? "its keeper: " : "");
}

