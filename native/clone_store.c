/* clone: the store's files by inode, for src/clone/storeInodes.ts, and the set the walkers
 * look them up in (see clone.h). */
#define _GNU_SOURCE
#include "clone.h"

/* Every regular file below the store's sha256/ and sha512/ directories, by inode: candidates
 * that src/clone/storeInodes.ts keeps only when the store's naming rule makes them entries.
 * Directories are read with getdents64 and opened beneath their parent with O_NOFOLLOW, so a
 * symlink is never entered. A file's inode is the one its directory record gives: a shard
 * holds no mount points, and a wrong listing costs nothing, since every link made from it is
 * checked to be SRC's inode. */
typedef struct { uint64_t *dev, *ino; size_t n, cap; strbuf_t rels; char *buf; dev_t fsdev; } filelist_t;

static int add_file(filelist_t *out, const strbuf_t *path, ino_t ino) {
  if (out->n == out->cap) {
    size_t cap = out->cap ? out->cap * 2 : 4096;
    uint64_t *dv = realloc(out->dev, cap * sizeof *dv);
    if (dv) out->dev = dv;
    uint64_t *in = realloc(out->ino, cap * sizeof *in);
    if (in) out->ino = in;
    if (!dv || !in) return -1;
    out->cap = cap;
  }
  out->dev[out->n] = out->fsdev; out->ino[out->n] = ino; out->n++;
  return clone_sb_append(&out->rels, path->buf, path->len + 1);
}

/* The directory fd (its path below the store: path) and what is below it, up to depth 2; closes fd. */
static int walk_store(int fd, strbuf_t *path, int depth, filelist_t *out) {
  int rc = 0;
  ssize_t n;
  while (rc == 0 && (n = getdents64(fd, out->buf + depth * DIRBUF, DIRBUF)) > 0) {
    for (ssize_t pos = 0; rc == 0 && pos < n;) {
      struct dirent64 *e = (struct dirent64 *)(out->buf + depth * DIRBUF + pos);
      pos += e->d_reclen;
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      if (depth == 0 && strcmp(e->d_name, "sha256") && strcmp(e->d_name, "sha512")) continue;
      unsigned char type = e->d_type;
      if (type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
      }
      if (depth < 2 ? type != DT_DIR : type != DT_REG) continue;
      size_t saved = path->len;
      if ((path->len && clone_sb_append(path, "/", 1) < 0) || clone_sb_append(path, e->d_name, strlen(e->d_name)) < 0) { rc = -1; break; }
      if (depth == 2) {
        rc = add_file(out, path, e->d_ino);
      } else {
        int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) rc = walk_store(sub, path, depth + 1, out);
      }
      path->len = saved;
      path->buf[saved] = 0;
    }
  }
  if (rc == 0 && n < 0) rc = -1;
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}

/* listStoreFiles(storeFd) -> { dev, ino: BigUint64Array, rels: Buffer (NUL after each) } */
napi_value clone_list_store(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_fd(env, argv[0], &fd)) { napi_throw_type_error(env, NULL, "storeFd expected"); return NULL; }
  filelist_t out = { 0 };
  strbuf_t path = { 0 };
  struct stat st;
  int sub = fstat(fd, &st) < 0 ? -1 : dup(fd);
  out.fsdev = st.st_dev;
  out.buf = malloc(3 * DIRBUF);
  int r = -1, e = errno;
  if (sub >= 0 && out.buf && clone_sb_append(&path, "", 0) == 0) r = walk_store(sub, &path, 0, &out); /* closes sub */
  else if (sub >= 0) close(sub);
  if (r < 0) e = errno;
  free(path.buf); free(out.buf);
  if (r < 0) { free(out.dev); free(out.ino); free(out.rels.buf); return throw_errno(env, "list store", e ? e : ENOMEM); }
  napi_value res, ab, arr, buf; void *data;
  napi_create_object(env, &res);
  for (int k = 0; k < 2; k++) {
    napi_create_arraybuffer(env, out.n * 8, &data, &ab);
    if (out.n) memcpy(data, k ? out.ino : out.dev, out.n * 8);
    napi_create_typedarray(env, napi_biguint64_array, out.n, ab, 0, &arr);
    napi_set_named_property(env, res, k ? "ino" : "dev", arr);
  }
  napi_create_buffer_copy(env, out.rels.len, out.rels.buf ? out.rels.buf : "", &data, &buf);
  napi_set_named_property(env, res, "rels", buf);
  free(out.dev); free(out.ino); free(out.rels.buf);
  return res;
}

/* The index of shard `name` (len bytes) in s, opened beneath the store's root on first sight. */
static int shard_index(shards_t *s, int store_fd, const char *name, size_t len, uint32_t *index) {
  for (size_t i = s->n; i-- > 0;) {
    if (!strncmp(s->names[i], name, len) && s->names[i][len] == 0) { *index = (uint32_t)i; return 0; }
  }
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    int *fds = realloc(s->fds, cap * sizeof *fds);
    if (fds) s->fds = fds;
    char **names = realloc(s->names, cap * sizeof *names);
    if (names) s->names = names;
    if (!fds || !names) return -1;
    s->cap = cap;
  }
  char *copy = strndup(name, len);
  if (!copy) return -1;
  s->names[s->n] = copy;
  s->fds[s->n] = open_beneath(store_fd, copy, O_PATH | O_DIRECTORY, 0);
  *index = (uint32_t)s->n++;
  return 0;
}

/* The store's entries, as src/clone/storeInodes.ts kept them: { dev, ino } BigUint64Arrays and
 * rels, their paths below the store, NUL-terminated one after another. Each is kept by its
 * name in its shard, whose directory is opened once: a link names one component, not three. */
int clone_add_store_entries(napi_env env, clone_t *c, napi_value obj) {
  napi_value vdev, vino, vrels;
  if (napi_get_named_property(env, obj, "dev", &vdev) != napi_ok || napi_get_named_property(env, obj, "ino", &vino) != napi_ok ||
      napi_get_named_property(env, obj, "rels", &vrels) != napi_ok) return -1;
  napi_typedarray_type t1, t2; size_t n1, n2; void *devs, *inos; char *rels; size_t rlen;
  if (napi_get_typedarray_info(env, vdev, &t1, &n1, &devs, NULL, NULL) != napi_ok || napi_get_typedarray_info(env, vino, &t2, &n2, &inos, NULL, NULL) != napi_ok ||
      t1 != napi_biguint64_array || t2 != napi_biguint64_array || n1 != n2 || napi_get_buffer_info(env, vrels, (void **)&rels, &rlen) != napi_ok) return -1;
  size_t off = 0;
  for (size_t i = 0; i < n1; i++) {
    const char *rel = rels + off, *end = off < rlen ? memchr(rel, 0, rlen - off) : NULL;
    const char *cut = end ? memrchr(rel, '/', (size_t)(end - rel)) : NULL;
    if (!cut) return -1;
    uint32_t shard;
    if (shard_index(c->shards, c->store_fd, rel, (size_t)(cut - rel), &shard) < 0 ||
        clone_iset_put(&c->store, (dev_t)((uint64_t *)devs)[i], (ino_t)((uint64_t *)inos)[i], cut + 1, (size_t)(end - cut - 1), shard) < 0) return -1;
    off = (size_t)(end - rels) + 1;
  }
  return 0;
}

void clone_free_shards(shards_t *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) { if (s->fds[i] >= 0) close(s->fds[i]); free(s->names[i]); }
  free(s->fds); free(s->names); free(s);
}
