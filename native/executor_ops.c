/*
 * The executor's steps. A group is: one target step (an existing inode checked and held
 * open, or a store entry copied in from its checked keeper), then replace steps, each of
 * which puts a new name of the held inode (or a new inode made from it) at a temp name in
 * the path's own directory and exchanges it with the path (renameat2 RENAME_EXCHANGE).
 *
 * Crash cases (the hook in ex_step kills the process after every changing step; tests
 * resume and compare the tree):
 *   - after mkdirat of a store shard or O_TMPFILE/copy/metadata of an entry: nothing named;
 *   - after linkat of an entry: the entry exists with the right bytes and metadata: the next
 *     run finds the name taken, re-hashes it and adopts it;
 *   - after linkat of a temp name: the next run finds its own leftover (the target inode, or
 *     a copy identical in bytes and metadata) and removes it;
 *   - after the exchange: the path is the target inode (done); the old inode is at the temp
 *     name and is removed as a leftover only if it is the checked copy's twin (else kept).
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

static void group_set(struct executor *ex, const struct result *r, const char *prefix) {
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
static int take_lease(int fd) {
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
  if (ex_hash_fd(snap, e->alg, md, &len) < 0 || len != e->digest_len || memcmp(md, e->digest, len)) {
    ex_drift(r, "its bytes no longer match the plan"); close(snap); return -1;
  }
  return snap;
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
      int l = take_lease(fd);
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
  if (fd < 0) { group_set(ex, r, "its target: "); return; }
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
    int l = take_lease(kfd);
    if (l < 0) why = "open for writing";
    if (l > 0) fcntl(kfd, F_SETLEASE, F_UNLCK);
  }
  if (why) { ex_drift(r, why); goto group; }
  tfd = openat(sfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (tfd < 0) { ex_fail(r, "cannot create a store entry (O_TMPFILE)", errno); goto group; }
  ex_step();
  if (ex_copy(kfd, tfd, st.st_size) < 0) { ex_fail(r, "cannot copy it into the store", errno); goto group; }
  ex_step();
  unsigned char md[EVP_MAX_MD_SIZE]; unsigned len;
  if (ex_hash_fd(tfd, e->alg, md, &len) < 0) { ex_fail(r, "cannot read back its copy", errno); goto group; }
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
  fstat(tfd, &st);
  ex->target_fd = tfd; ex->target_st = st; r->made = st;
  ex_seen_set(ex, tfd);
  return;
group:
  if (kfd >= 0) close(kfd);
  if (tfd >= 0) close(tfd);
  group_set(ex, r, r->status == ST_DRIFT ? "its keeper: " : "");
}

static int ioctl_clone(int dst, int src) { return ioctl(dst, FICLONE, src); }

static int same_inode(const struct stat *a, const struct stat *b) { return a->st_dev == b->st_dev && a->st_ino == b->st_ino; }

/* A name we may remove: the new inode itself, or a leftover of ours (a twin of what we make). */
static int leftover_ours(struct executor *ex, int dirfd, const char *name, const struct stat *made, const struct expect *twin) {
  struct stat st; struct result r;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT;
  if (same_inode(&st, made)) return 1;
  if (!twin || !S_ISREG(st.st_mode)) return 0;
  int fd = ex_open_file(dirfd, name, &r);
  if (fd < 0) return 0;
  struct expect x = *twin; x.flags = EXP_CONTENT;
  int ok = fstat(fd, &st) == 0 && !ex_check(ex, fd, &st, &x);
  close(fd);
  return ok;
}

/* Names the inode at newfd `tmp` (or a deterministic alternative); the name used goes to out. */
static int place_tmp(struct executor *ex, int dirfd, const char *tmp, int newfd, const struct stat *made,
                     const struct expect *twin, char *out, struct result *r) {
  for (int i = 0; i < 8; i++) {
    if (i) snprintf(out, 300, "%s-%d", tmp, i); else snprintf(out, 300, "%s", tmp);
    for (int again = 0; again < 2; again++) {
      if (ex_link_fd(ex, newfd, dirfd, out) == 0) { ex_step(); return 0; }
      if (errno != EEXIST) { ex_fail(r, "cannot make its temp link", errno); return -1; }
      if (!leftover_ours(ex, dirfd, out, made, twin) || unlinkat(dirfd, out, 0) < 0) break;
      ex_step();
    }
  }
  ex_fail(r, "every temp name for it is taken by files hashify did not make", EEXIST);
  return -1;
}

/* The path's inode (checked, open at oldfd) is exchanged for the new inode; see the file comment. */
static void exchange(struct executor *ex, int dirfd, const char *name, const char *tmp0, int oldfd, int newfd,
                     const struct expect *twin, struct result *r) {
  struct stat old, made, out;
  fstat(oldfd, &old); fstat(newfd, &made);
  int lease = take_lease(oldfd);
  if (lease < 0) { ex_drift(r, "open for writing"); return; }
  char tmp[300];
  if (place_tmp(ex, dirfd, tmp0, newfd, &made, twin, tmp, r) < 0) goto unlease;
  if (renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) < 0) {
    int e = errno;
    unlinkat(dirfd, tmp, 0);
    if (e == ENOENT) ex_drift(r, "it is gone"); else ex_fail(r, "cannot exchange it", e);
    goto unlease;
  }
  ex_step();
  const char *why = NULL;
  if (fstatat(dirfd, tmp, &out, AT_SYMLINK_NOFOLLOW) < 0 || !same_inode(&out, &old)) why = "it was replaced since it was checked (the new file is kept)";
  else if (lease > 0 && fcntl(oldfd, F_GETLEASE) != F_RDLCK) why = "open for writing";
  if (why) {
    /* Someone else's file came out, or a writer opened it meanwhile: put it back. */
    if (renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) == 0) {
      ex_step();
      if (fstatat(dirfd, tmp, &out, AT_SYMLINK_NOFOLLOW) == 0 && same_inode(&out, &made)) { unlinkat(dirfd, tmp, 0); ex_step(); }
      else { ex_fail(r, "a file put at its path during the exchange is kept at its temp name", EAGAIN); goto unlease; }
    }
    ex_drift(r, why);
    goto unlease;
  }
  if (unlinkat(dirfd, tmp, 0) == 0) ex_step();
  if (fstat(oldfd, &out) == 0 && out.st_nlink == 0) r->freed = out.st_size;
  r->status = ST_APPLIED;
unlease:
  if (lease > 0) fcntl(oldfd, F_SETLEASE, F_UNLCK);
}

/* After a crash between exchange and unlink, the old inode waits at a temp name: removed when
   it is the group's target or still exactly the recorded file (so nothing of anyone's is lost). */
static void clear_leftovers(struct executor *ex, int dfd, const char *tmp0, const struct expect *e) {
  char name[300]; struct stat st; struct result r;
  for (int i = 0; i < 8; i++) {
    if (i) snprintf(name, sizeof name, "%s-%d", tmp0, i); else snprintf(name, sizeof name, "%s", tmp0);
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) break;
    int ours = ex->target_fd >= 0 && same_inode(&st, &ex->target_st);
    if (!ours && S_ISREG(st.st_mode) && st.st_dev == e->dev && st.st_ino == e->ino) {
      int fd = ex_open_file(dfd, name, &r);
      struct expect x = *e; x.flags |= EXP_INODE;
      if (fd >= 0) { ours = fstat(fd, &st) == 0 && !ex_check(ex, fd, &st, &x); close(fd); }
    }
    if (ours && unlinkat(dfd, name, 0) == 0) ex_step();
  }
}

void ex_replace(struct executor *ex, int kind, int root, const char *dir, const char *name, const char *tmp,
                const char *apply_tmp, const struct expect *e, struct result *r) {
  if (ex->group_state && kind != K_RESTORE) { r->status = ex->group_state == 1 ? ST_DRIFT : ST_FAILED; r->err = ex->group_err; snprintf(r->why, WHY, "%s", ex->group_why); r->group = 1; return; }
  int dfd = ex_dir(ex, root, dir, 0, r);
  if (dfd < 0) return;
  if (apply_tmp) clear_leftovers(ex, dfd, apply_tmp, e); /* undo: what a killed apply left */
  struct stat st;
  if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) ex_drift(r, "it is gone"); else ex_fail(r, "cannot examine it", errno);
    return;
  }
  int is_target = ex->target_fd >= 0 && same_inode(&st, &ex->target_st);
  int looks_own = S_ISREG(st.st_mode) && (uint64_t)st.st_size == e->size && st.st_mode == e->mode &&
                  st.st_uid == e->uid && st.st_gid == e->gid && (st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec) == e->mtime;
  if ((kind == K_LINK && is_target) || (kind == K_REFLINK && looks_own && st.st_ino != e->ino)) {
    clear_leftovers(ex, dfd, tmp, e);
    r->status = ST_ALREADY; return;
  }
  if (kind == K_RESTORE && !is_target) {
    if (e->flags & EXP_NOT_APPLIED) { r->status = ST_ALREADY; return; }
    if (!looks_own) { ex_drift(r, "it changed since apply (it is neither the shared inode nor its own)"); return; }
    if (ex->sib_fd < 0 || ex->sib_dev != e->dev || ex->sib_ino != e->ino) {
      int fd = ex_open_file(dfd, name, r);
      if (fd >= 0) { if (ex->sib_fd >= 0) close(ex->sib_fd); ex->sib_fd = fd; ex->sib_dev = e->dev; ex->sib_ino = e->ino; }
    }
    clear_leftovers(ex, dfd, tmp, e);
    r->status = ST_ALREADY; return;
  }
  int oldfd = ex_open_file(dfd, name, r), newfd = -1;
  if (oldfd < 0) return;
  struct stat ost;
  const char *why = fstat(oldfd, &ost) < 0 ? "it cannot be examined" : NULL;
  if (!why && kind == K_RESTORE && !same_inode(&ost, &ex->target_st)) why = "it was replaced since it was checked";
  if (!why && kind != K_RESTORE) why = ex_check(ex, oldfd, &ost, e);
  if (why) { ex_drift(r, why); goto out; }
  struct stat t;
  if (fstat(ex->target_fd, &t) < 0 || t.st_size != ex->target_st.st_size || t.st_mode != ex->target_st.st_mode ||
      t.st_uid != ex->target_st.st_uid || t.st_gid != ex->target_st.st_gid || t.st_mtim.tv_sec != ex->target_st.st_mtim.tv_sec ||
      t.st_mtim.tv_nsec != ex->target_st.st_mtim.tv_nsec) {
    r->group = 1; ex_drift(r, "its target changed since it was checked");
    group_set(ex, r, "its target: "); goto out;
  }
  const struct expect *twin = NULL;
  if (kind == K_LINK) newfd = dup(ex->target_fd);
  else if (kind == K_RESTORE && ex->sib_fd >= 0 && ex->sib_dev == e->dev && ex->sib_ino == e->ino) newfd = dup(ex->sib_fd);
  else {
    twin = e;
    newfd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (newfd < 0) { ex_fail(r, "cannot create its new inode (O_TMPFILE)", errno); goto out; }
    ex_step();
    if (kind == K_REFLINK ? ioctl_clone(newfd, ex->target_fd) : ex_copy(ex->target_fd, newfd, ex->target_st.st_size)) {
      ex_fail(r, kind == K_REFLINK ? "cannot clone its target (FICLONE)" : "cannot copy the shared content", errno); goto out;
    }
    ex_step();
    if (kind == K_RESTORE) {
      unsigned char md[EVP_MAX_MD_SIZE]; unsigned len;
      if (ex_hash_fd(newfd, e->alg, md, &len) < 0 || len != e->digest_len || memcmp(md, e->digest, len)) {
        ex_drift(r, "the shared content changed since apply (hash differs)"); goto out;
      }
    }
    if (ex_set_meta(newfd, e) < 0) { ex_fail(r, "cannot set its metadata", errno); goto out; }
    ex_step();
  }
  exchange(ex, dfd, name, tmp, oldfd, newfd, twin, r);
  if (r->status == ST_APPLIED) {
    ex_seen_set(ex, oldfd); ex_seen_set(ex, ex->target_fd);
    if (kind == K_RESTORE && (ex->sib_fd < 0 || ex->sib_dev != e->dev || ex->sib_ino != e->ino)) {
      if (ex->sib_fd >= 0) close(ex->sib_fd);
      ex->sib_fd = newfd; newfd = -1; ex->sib_dev = e->dev; ex->sib_ino = e->ino;
    }
  }
out:
  if (r->status != ST_APPLIED && r->status != ST_ALREADY) ex->group_clean = 0;
  close(oldfd);
  if (newfd >= 0) close(newfd);
}

void ex_release(struct executor *ex, int root, const char *dir, const char *name, const struct expect *e, struct result *r) {
  r->status = ST_ALREADY;
  if (!ex->group_clean || ex->target_fd < 0) return;
  int dfd = ex_dir(ex, root, dir, 0, r);
  struct stat st;
  if (dfd < 0 || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !same_inode(&st, &ex->target_st) || st.st_nlink != e->nlink) return;
  if (unlinkat(dfd, name, 0) == 0) { ex_step(); r->status = ST_APPLIED; }
}

/* Undo: a path of an original inode that still is that inode (apply stopped before it) is
   held, so that the inode's restored paths are linked to it: hard-link sets stay whole. */
void ex_sibling(struct executor *ex, int root, const char *dir, const char *name, const struct expect *e, struct result *r) {
  r->status = ST_ALREADY;
  if (ex->sib_fd >= 0 && ex->sib_dev == e->dev && ex->sib_ino == e->ino) return;
  int dfd = ex_dir(ex, root, dir, 0, r);
  struct stat st;
  if (dfd < 0 || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != e->dev || st.st_ino != e->ino) { r->status = ST_ALREADY; r->why[0] = 0; return; }
  int fd = ex_open_file(dfd, name, r);
  if (fd < 0 || fstat(fd, &st) < 0 || st.st_ino != e->ino) { if (fd >= 0) close(fd); r->status = ST_ALREADY; r->why[0] = 0; return; }
  if (ex->sib_fd >= 0) close(ex->sib_fd);
  ex->sib_fd = fd; ex->sib_dev = e->dev; ex->sib_ino = e->ino;
}
