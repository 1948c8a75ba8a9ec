/*
 * clone: making the finished temp tree durable before it is renamed into place, so that after
 * a crash DST is either absent (the temp tree is left, and the next clone removes it) or whole.
 *
 * On a filesystem with a journal that commits every metadata change in order (ext4 with a
 * journal, XFS), the rename's transaction is durable only with every earlier one: each
 * directory, symlink, device, link and inode the walk made comes before it. What the journal
 * does not order is file data waiting for delayed allocation: a copied file whose blocks are
 * allocated only after the rename would come back empty. So the copies' writeback (started
 * as each was copied) is waited for, which allocates their blocks in a transaction before the
 * rename's; the fsync of DST's parent after the rename commits it all (src/clone/cloneTree.ts).
 *
 * Anywhere else the order of writes to the disk is not the order of the calls: ext4 without a
 * journal writes each block back when the flusher gets to it, btrfs logs one inode per fsync.
 * There syncfs() writes the whole filesystem back (everyone's dirty data too) before the rename.
 */
#define _GNU_SOURCE
#include "clone.h"
#include <sys/sysmacros.h>

/* Whether the ext4 filesystem holding fd has a journal: its sysfs directory (named as the
 * kernel names its block device) says the journal's thread, or "<none>". 0 when unknown. */
static int ext4_has_journal(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) return 0;
  char link[64], target[256], path[320], text[64];
  snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0 || n >= (ssize_t)sizeof target - 1) return 0;
  target[n] = 0;
  const char *name = strrchr(target, '/');
  snprintf(path, sizeof path, "/sys/fs/ext4/%s/journal_task", name ? name + 1 : target);
  int jfd = open(path, O_RDONLY | O_CLOEXEC);
  if (jfd < 0) return 0;
  n = read(jfd, text, sizeof text - 1);
  close(jfd);
  if (n <= 0) return 0;
  text[n] = 0;
  return strncmp(text, "<none>", 6) != 0 && text[0] != '\n';
}

/* 1 when the journal orders the clone's writes before the rename (see the file comment). */
static int journal_orders(int fd) {
  struct statfs sf;
  if (fstatfs(fd, &sf) < 0) return 0;
  if (sf.f_type == XFS_SUPER_MAGIC) return 1;
  return sf.f_type == EXT4_SUPER_MAGIC && ext4_has_journal(fd);
}

/* Waits for the writeback of the copied file at rel, resolved beneath DST's root (no symlink
 * on the way, as everywhere else: the tree's directories carry SRC's owners). */
static int wait_data(clone_t *c, const char *rel) {
  int fd = open_beneath(c->dst_root, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0) return -1;
  int r = sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
  int e = errno;
  close(fd);
  errno = e;
  return r;
}

/* cloneSync(handle) -> "journal" | "syncfs": how the tree was made durable (file comment). */
napi_value clone_sync(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; clone_t *c;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&c) != napi_ok) { napi_throw_type_error(env, NULL, "handle expected"); return NULL; }
  const char *how = "syncfs";
  if (journal_orders(c->dst_root)) {
    how = "journal";
    for (int k = -1; k < c->nworkers; k++) {
      strbuf_t *list = k < 0 ? &c->made_files : &c->workers[k]->made_files;
      for (size_t off = 0; off < list->len; off += strlen(list->buf + off) + 1) {
        if (wait_data(c, list->buf + off) < 0) return throw_errno(env, "sync_file_range", errno);
      }
    }
  } else if (syncfs(c->dst_root) < 0) {
    return throw_errno(env, "syncfs", errno);
  }
  napi_value out;
  napi_create_string_utf8(env, how, NAPI_AUTO_LENGTH, &out);
  return out;
}
