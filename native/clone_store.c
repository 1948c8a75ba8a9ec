/* clone: the store's files by inode, for src/clone/storeInodes.ts (see clone.h). */
#define _GNU_SOURCE
#include "clone.h"

/* Every regular file below the store's sha256/ and sha512/ directories, by inode: candidates
 * that src/clone/storeInodes.ts keeps only when the store's naming rule makes them entries.
 * Directories are opened beneath their parent with O_NOFOLLOW; symlinks are never entered. */
typedef struct { uint64_t *dev, *ino; size_t n, cap; strbuf_t rels; } filelist_t;

static int walk_store(int fd, strbuf_t *path, int depth, filelist_t *out) {
  struct stat dst;
  if (fstat(fd, &dst) < 0) { close(fd); return -1; }
  dev_t dev = dst.st_dev;
  DIR *d = fdopendir(fd);
  if (!d) { close(fd); return -1; }
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (depth == 0 && strcmp(e->d_name, "sha256") && strcmp(e->d_name, "sha512")) continue;
    size_t saved = path->len;
    if ((path->len && clone_sb_append(path, "/", 1) < 0) || clone_sb_append(path, e->d_name, strlen(e->d_name)) < 0) { rc = -1; break; }
    struct stat st;
    if (depth == 2 && e->d_type == DT_REG) {
      /* an entry: readdir already says its inode, and a shard holds no mount points; a wrong
       * listing costs nothing, since every link made from it is checked to be SRC's inode */
      st.st_mode = S_IFREG; st.st_dev = dev; st.st_ino = e->d_ino;
    } else if (depth == 2 && e->d_type != DT_UNKNOWN) {
      goto next;
    } else if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      goto next;
    }
    {
      if (S_ISDIR(st.st_mode) && depth < 2) {
        int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0 && walk_store(sub, path, depth + 1, out) < 0) { rc = -1; break; }
      } else if (S_ISREG(st.st_mode) && depth == 2) {
        if (out->n == out->cap) {
          size_t cap = out->cap ? out->cap * 2 : 4096;
          uint64_t *dv = realloc(out->dev, cap * sizeof *dv);
          if (dv) out->dev = dv;
          uint64_t *in = realloc(out->ino, cap * sizeof *in);
          if (in) out->ino = in;
          if (!dv || !in) { rc = -1; break; }
          out->cap = cap;
        }
        out->dev[out->n] = st.st_dev; out->ino[out->n] = st.st_ino; out->n++;
        if (clone_sb_append(&out->rels, path->buf, path->len + 1) < 0) { rc = -1; break; }
      }
    }
  next:
    path->len = saved;
    path->buf[saved] = 0;
  }
  closedir(d);
  return rc;
}

/* listStoreFiles(storeFd) -> { dev, ino: BigUint64Array, rels: Buffer (NUL after each) } */
napi_value clone_list_store(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !get_fd(env, argv[0], &fd)) { napi_throw_type_error(env, NULL, "storeFd expected"); return NULL; }
  filelist_t out = { 0 };
  strbuf_t path = { 0 };
  int sub = dup(fd);
  int r = sub < 0 || clone_sb_append(&path, "", 0) < 0 ? -1 : walk_store(sub, &path, 0, &out);
  int e = errno;
  free(path.buf);
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
