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

/* The path's inode (checked, open at oldfd, status old) is exchanged for the new inode (open
   at newfd, status made); see the file comment. On success the old inode's status after the
   step goes to old_after, and its read lease stays (the caller closes oldfd, which ends it). */
static void exchange(struct executor *ex, int dirfd, const char *name, const char *tmp0, int oldfd, int newfd,
                     const struct stat *old, const struct stat *made, const struct expect *twin, struct stat *old_after, struct result *r) {
  struct stat out;
  int lease = ex_take_lease(oldfd);
  if (lease < 0) { ex_drift(r, "open for writing"); return; }
  char tmp[300];
  if (place_tmp(ex, dirfd, tmp0, newfd, made, twin, tmp, r) < 0) goto unlease;
  if (renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) < 0) {
    int e = errno;
    unlinkat(dirfd, tmp, 0);
    if (e == ENOENT) ex_drift(r, "it is gone"); else ex_fail(r, "cannot exchange it", e);
    goto unlease;
  }
  ex_step();
  const char *why = NULL;
  if (fstatat(dirfd, tmp, &out, AT_SYMLINK_NOFOLLOW) < 0 || !same_inode(&out, old)) why = "it was replaced since it was checked (the new file is kept)";
  else if (lease > 0 && fcntl(oldfd, F_GETLEASE) != F_RDLCK) why = "open for writing";
  if (why) {
    /* Someone else's file came out, or a writer opened it meanwhile: put it back. */
    if (renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) == 0) {
      ex_step();
      if (fstatat(dirfd, tmp, &out, AT_SYMLINK_NOFOLLOW) == 0 && same_inode(&out, made)) { unlinkat(dirfd, tmp, 0); ex_step(); }
      else { ex_fail(r, "a file put at its path during the exchange is kept at its temp name", EAGAIN); goto unlease; }
    }
    ex_drift(r, why);
    goto unlease;
  }
  if (unlinkat(dirfd, tmp, 0) == 0) ex_step();
  else if (errno != ENOENT) {
    /* The path is the new inode, the old one waits at the temp name (EROFS, EIO…): not done,
       so that the next run retries it, finds the path done and clears the temp name then. */
    ex_fail(r, "cannot remove the replaced file's temp name", errno);
    return;
  }
  if (fstat(oldfd, old_after) == 0 && old_after->st_nlink == 0) r->freed = old_after->st_size;
  r->status = ST_APPLIED;
  return;
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

/* Store mode: is st one of the further entries (NAME-1, NAME-2, …) of this content? */
static int is_further_entry(struct executor *ex, const struct place *entry, const struct stat *st) {
  struct result scratch;
  int sfd = ex_dir(ex, entry->root, entry->dir, 0, &scratch);
  char name[300]; struct stat at;
  for (int k = 1; sfd >= 0 && k < 64; k++) {
    snprintf(name, sizeof name, "%s-%d", entry->name, k);
    if (fstatat(sfd, name, &at, AT_SYMLINK_NOFOLLOW) < 0) return 0;
    if (same_inode(&at, st)) return 1;
  }
  return 0;
}

/*
 * EMLINK: the target has as many links as the filesystem allows. With a store, the group
 * continues on the next further entry (NAME-k) that is a twin of the target (same bytes by
 * hash, same metadata) and has room, or on a new one copied in from this operation's checked
 * file; without, on this operation's own inode (the path keeps it: done).
 */
static int retarget(struct executor *ex, int oldfd, const struct place *entry, const struct expect *e, int attempt, struct result *r) {
  if (!entry) {
    close(ex->target_fd);
    ex->target_fd = dup(oldfd); fstat(ex->target_fd, &ex->target_st);
    r->status = ST_APPLIED; r->err = 0; r->why[0] = 0; r->retarget = 1; r->made = ex->target_st;
    return 1;
  }
  int sfd = ex_dir(ex, entry->root, entry->dir, 1, r);
  if (sfd < 0) return 0;
  char name[300]; struct stat at; const struct stat *t = &ex->target_st;
  snprintf(name, sizeof name, "%s-%d", entry->name, attempt);
  int fd = -1;
  if (fstatat(sfd, name, &at, AT_SYMLINK_NOFOLLOW) == 0) {
    struct result rr; fd = ex_open_file(sfd, name, &rr);
    struct expect x = *e; x.flags = EXP_CONTENT; x.size = t->st_size; x.mode = t->st_mode; x.uid = t->st_uid; x.gid = t->st_gid;
    x.mtime = (int64_t)t->st_mtim.tv_sec * 1000000000 + t->st_mtim.tv_nsec;
    if (fd >= 0 && (fstat(fd, &at) < 0 || ex_check(ex, fd, &at, &x))) { close(fd); fd = -1; }
    if (fd < 0) return 0;
  } else {
    fd = openat(sfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) { ex_fail(r, "cannot create a further store entry", errno); return 0; }
    ex_step();
    unsigned char md[EVP_MAX_MD_SIZE]; unsigned len;
    struct expect m = *e; m.uid = t->st_uid; m.gid = t->st_gid; m.mode = t->st_mode;
    m.mtime = (int64_t)t->st_mtim.tv_sec * 1000000000 + t->st_mtim.tv_nsec; m.atime = (int64_t)t->st_atim.tv_sec * 1000000000 + t->st_atim.tv_nsec;
    if (ex_copy(ex, oldfd, fd, t->st_size) < 0 || ex_hash_fd(ex, fd, e->alg, md, &len) < 0 || len != e->digest_len || memcmp(md, e->digest, len) ||
        ex_set_meta(fd, &m) < 0 || ex_link_fd(ex, fd, sfd, name) < 0) {
      ex_fail(r, "cannot make a further store entry", errno ? errno : EIO); close(fd); return 0;
    }
    ex_step();
  }
  close(ex->target_fd);
  ex->target_fd = ex_reopen_ro(fd); fstat(ex->target_fd, &ex->target_st);
  memset(r, 0, sizeof *r);
  r->retarget = 2; r->made = ex->target_st;
  return 1;
}

void ex_replace(struct executor *ex, int kind, int root, const char *dir, const char *name, const char *tmp,
                const char *apply_tmp, const struct place *entry, const struct expect *e, struct result *r) {
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
  if ((kind == K_LINK && (is_target || (entry && S_ISREG(st.st_mode) && st.st_ino != e->ino && is_further_entry(ex, entry, &st)))) ||
      (kind == K_REFLINK && looks_own && st.st_ino != e->ino)) {
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
  int oldfd = ex_open_file(dfd, name, r), newfd = -1, own_new = 1; /* own_new: newfd is ours to close */
  if (oldfd < 0) return;
  struct stat ost, after = { .st_nlink = 1 }; /* after: the old inode's status once replaced */
  const char *why = fstat(oldfd, &ost) < 0 ? "it cannot be examined" : NULL;
  if (!why && kind == K_RESTORE && !same_inode(&ost, &ex->target_st)) why = "it was replaced since it was checked";
  if (!why && kind != K_RESTORE) why = ex_check(ex, oldfd, &ost, e);
  if (why) { ex_drift(r, why); goto out; }
  struct stat t;
  if (fstat(ex->target_fd, &t) < 0 || t.st_size != ex->target_st.st_size || t.st_mode != ex->target_st.st_mode ||
      t.st_uid != ex->target_st.st_uid || t.st_gid != ex->target_st.st_gid || t.st_mtim.tv_sec != ex->target_st.st_mtim.tv_sec ||
      t.st_mtim.tv_nsec != ex->target_st.st_mtim.tv_nsec) {
    r->group = 1; ex_drift(r, "its target changed since it was checked");
    ex_group_set(ex, r, "its target: "); goto out;
  }
  const struct expect *twin = NULL;
  struct stat made = ex->target_st;
  if (kind == K_LINK) { newfd = ex->target_fd; own_new = 0; }
  else if (kind == K_RESTORE && ex->sib_fd >= 0 && ex->sib_dev == e->dev && ex->sib_ino == e->ino) newfd = dup(ex->sib_fd);
  else {
    twin = e;
    newfd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (newfd < 0) { ex_fail(r, "cannot create its new inode (O_TMPFILE)", errno); goto out; }
    ex_step();
    if (kind == K_REFLINK ? ioctl_clone(newfd, ex->target_fd) : ex_copy(ex, ex->target_fd, newfd, ex->target_st.st_size)) {
      ex_fail(r, kind == K_REFLINK ? "cannot clone its target (FICLONE)" : "cannot copy the shared content", errno); goto out;
    }
    ex_step();
    if (kind == K_RESTORE) {
      unsigned char md[EVP_MAX_MD_SIZE]; unsigned len;
      if (ex_hash_fd(ex, newfd, e->alg, md, &len) < 0 || len != e->digest_len || memcmp(md, e->digest, len)) {
        ex_drift(r, "the shared content changed since apply (hash differs)"); goto out;
      }
    }
    if (ex_set_meta(newfd, e) < 0) { ex_fail(r, "cannot set its metadata", errno); goto out; }
    ex_step();
  }
  if (own_new && fstat(newfd, &made) < 0) { ex_fail(r, "cannot examine its new inode", errno); goto out; }
  exchange(ex, dfd, name, tmp, oldfd, newfd, &ost, &made, twin, &after, r);
  for (int k = 1; kind == K_LINK && r->status == ST_FAILED && r->err == EMLINK && k < 64; k++) {
    struct result keep = *r;
    if (!own_new) newfd = -1; /* retarget may close the target it is */
    if (!retarget(ex, oldfd, entry, e, k, r)) { if (r->status != ST_FAILED || !r->err) *r = keep; if (entry) continue; break; }
    if (r->retarget == 1) goto out;
    if (own_new) close(newfd);
    newfd = ex->target_fd; own_new = 0;
    int how = r->retarget; struct stat now = r->made;
    exchange(ex, dfd, name, tmp, oldfd, newfd, &ost, &ex->target_st, twin, &after, r);
    r->retarget = how; r->made = now;
  }
  if (r->status == ST_APPLIED) {
    /* ctime and link count as this step left them: the old inode's (when it lives on, as
       another path's) and the target's, so that later checks take them for hashify's own. */
    if (after.st_nlink) ex_seen_put(ex, &after);
    ex_seen_set(ex, ex->target_fd);
    if (kind == K_RESTORE && (ex->sib_fd < 0 || ex->sib_dev != e->dev || ex->sib_ino != e->ino)) {
      if (ex->sib_fd >= 0) close(ex->sib_fd);
      ex->sib_fd = ex_reopen_ro(newfd); newfd = -1; ex->sib_dev = e->dev; ex->sib_ino = e->ino;
    }
  }
out:
  if (r->status != ST_APPLIED && r->status != ST_ALREADY) ex->group_clean = 0;
  if (r->status == ST_APPLIED && !after.st_nlink) ex_reap(ex->reap, oldfd); /* its last close frees it: off this lane */
  else close(oldfd);
  if (newfd >= 0 && own_new) close(newfd);
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
