/*
 * readDir: one directory's entries with their lstat fields in one call (fstatat relative to
 * the directory's descriptor), for the scan. The directory is resolved by the kernel beneath
 * the root's descriptor (open_beneath: no symlink anywhere on the way, no "..", no other
 * mount), so a directory a guest swaps for a symlink mid-scan is never entered.
 */
#define _GNU_SOURCE
#include "napi_util.h"
#include "dirlist.h"
#include "hash_io.h"
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <stdint.h>

/*
 * readDir(rootFd, rel) -> ArrayBuffer of the directory's regular files and subdirectories, sorted
 * by name bytes, one record each (all fields little-endian, 8-byte aligned):
 *   u32 kind (1 file, 2 directory, 0 vanished between readdir and fstatat), u32 name length,
 *   u64 dev, ino, size, i64 mtime, ctime, atime (ns), u32 mode, uid, gid, nlink, name bytes
 *   padded to 8. Symlinks, devices, FIFOs and sockets are left out. `rel` (relative to the
 *   root, "" for the root itself) is opened beneath rootFd, and every entry is stat'ed
 *   relative to that descriptor without following symlinks. The layout is decoded in one
 *   place on the JS side: src/scan/dirRecords.ts.
 */
#define REC_HEAD 72

/* The scan's kinds: 1 file, 2 directory, 0 vanished; -1: left out (symlinks, devices, …). */
static int scan_kind(const struct listed *e) {
  return e->gone ? 0 : S_ISREG(e->st.st_mode) ? 1 : S_ISDIR(e->st.st_mode) ? 2 : -1;
}

/* Only files and directories are stat'ed (and names readdir cannot type). */
static int scan_keeps(unsigned char t) { return t == DT_REG || t == DT_DIR || t == DT_UNKNOWN; }

/* One record's fields (the layout above) before its name. */
static void scan_fill(const struct listed *e, int kind, uint8_t *p) {
  uint32_t *u32 = (uint32_t *)p; uint64_t *u64 = (uint64_t *)(p + 8); int64_t *i64 = (int64_t *)(p + 32);
  u32[0] = kind; u32[1] = e->len;
  u64[0] = e->st.st_dev; u64[1] = e->st.st_ino; u64[2] = e->st.st_size;
  i64[0] = (int64_t)e->st.st_mtim.tv_sec * 1000000000 + e->st.st_mtim.tv_nsec;
  i64[1] = (int64_t)e->st.st_ctim.tv_sec * 1000000000 + e->st.st_ctim.tv_nsec;
  i64[2] = (int64_t)e->st.st_atim.tv_sec * 1000000000 + e->st.st_atim.tv_nsec;
  uint32_t *tail = (uint32_t *)(p + 56);
  tail[0] = e->st.st_mode; tail[1] = e->st.st_uid; tail[2] = e->st.st_gid; tail[3] = (uint32_t)e->st.st_nlink;
}

/* One directory, `rel` beneath rootfd, listed (the scan's kinds only); 0, or an errno with *what
 * naming the call that failed. */
static int list_beneath(int rootfd, const char *rel, struct listed **ents, size_t *n, const char **what) {
  int fd = open_beneath(rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
  if (fd < 0) { *what = "openat2"; return errno; }
  DIR *d = fdopendir(fd);
  if (!d) { int err = errno; *what = "fdopendir"; close(fd); return err; }
  *what = "readdir";
  return list_dir(d, scan_keeps, ents, n);
}

/* The records packed straight into an ArrayBuffer of V8's own: its collector knows their size,
 * where an external buffer's memory (~88 bytes an entry) stayed unaccounted, piling up listings
 * until some collection (+27 MiB peak at a million files). */
static napi_value xreaddir(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int rootfd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *rel = argc < 2 || !get_fd(env, argv[0], &rootfd) ? NULL : get_bytes_z(env, argv[1], NULL);
  if (!rel) { napi_throw_type_error(env, NULL, "root fd and relative path Buffer expected"); return NULL; }
  struct listed *ents; size_t n; const char *what;
  int err = list_beneath(rootfd, rel, &ents, &n, &what);
  free(rel);
  if (err) return throw_errno(env, what, err);
  return pack_listed(env, ents, n, REC_HEAD, scan_kind, scan_fill);
}

/* One directory listed and packed in calloc'd memory (no napi call: for libuv's threads); NULL
 * with *err set on failure. */
static uint8_t *read_packed(int rootfd, const char *rel, size_t *bytes, int *err) {
  struct listed *ents; size_t n; const char *what;
  if ((*err = list_beneath(rootfd, rel, &ents, &n, &what))) return NULL;
  uint8_t *p = pack_listed_raw(ents, n, REC_HEAD, scan_kind, scan_fill, bytes);
  if (!p) *err = ENOMEM;
  return p;
}

/* Packed records copied into an ArrayBuffer of V8's own (see xreaddir), the calloc'd ones freed. */
static napi_value take_packed(napi_env env, uint8_t *p, size_t bytes) {
  napi_value v; void *data;
  bool ok = napi_create_arraybuffer(env, bytes, &data, &v) == napi_ok;
  if (ok) memcpy(data, p, bytes);
  free(p);
  return ok ? v : NULL;
}

/* A batch of directories for a thread of libuv's pool, and what each gave. */
struct dirs_job {
  size_t n; int *fds; char **rels; uint8_t **out; size_t *bytes; int *err;
  napi_async_work work; napi_deferred deferred;
};

static void dirs_free(struct dirs_job *j) {
  for (size_t k = 0; k < j->n; k++) { if (j->rels) free(j->rels[k]); if (j->out) free(j->out[k]); }
  free(j->fds); free(j->rels); free(j->out); free(j->bytes); free(j->err); free(j);
}

static void dirs_execute(napi_env env, void *data) {
  struct dirs_job *j = data;
  for (size_t k = 0; k < j->n; k++) j->out[k] = read_packed(j->fds[k], j->rels[k], &j->bytes[k], &j->err[k]);
}

/* Each directory's ArrayBuffer, or its errno as a number. */
static void dirs_complete(napi_env env, napi_status st, void *data) {
  struct dirs_job *j = data;
  napi_value arr;
  napi_create_array_with_length(env, j->n, &arr);
  for (size_t k = 0; k < j->n; k++) {
    bool read = j->out[k] != NULL;
    napi_value v = read ? take_packed(env, j->out[k], j->bytes[k]) : NULL;
    j->out[k] = NULL; /* freed by take_packed */
    if (!v) napi_create_int32(env, read ? ENOMEM : j->err[k], &v);
    napi_set_element(env, arr, (uint32_t)k, v);
  }
  napi_resolve_deferred(env, j->deferred, arr);
  napi_delete_async_work(env, j->work);
  dirs_free(j);
}

/*
 * readDirsAsync(rootFds: Int32Array, rels: Buffer[]) -> Promise<(ArrayBuffer | number)[]>: readDir
 * of each (rootFds[k], rels[k]) on a thread of libuv's pool; a directory that cannot be read
 * gives its errno instead. The root descriptors must stay open until it settles.
 */
static napi_value xreaddirsasync(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int32_t *fds; size_t nfds; uint32_t n = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || !typed(env, argv[0], (void **)&fds, &nfds, 4) || napi_get_array_length(env, argv[1], &n) != napi_ok || n != nfds) {
    napi_throw_type_error(env, NULL, "readDirsAsync: root fds and as many path Buffers expected"); return NULL;
  }
  struct dirs_job *j = calloc(1, sizeof *j);
  if (!j || !(j->fds = malloc(n * sizeof *j->fds + 1)) || !(j->rels = calloc(n + 1, sizeof *j->rels)) || !(j->out = calloc(n + 1, sizeof *j->out)) ||
      !(j->bytes = calloc(n + 1, sizeof *j->bytes)) || !(j->err = calloc(n + 1, sizeof *j->err))) {
    if (j) dirs_free(j);
    return throw_errno(env, "readDirsAsync", ENOMEM);
  }
  j->n = n;
  memcpy(j->fds, fds, n * sizeof *fds);
  for (uint32_t k = 0; k < n; k++) {
    napi_value v;
    if (napi_get_element(env, argv[1], k, &v) != napi_ok || !(j->rels[k] = get_bytes_z(env, v, NULL))) {
      dirs_free(j);
      napi_throw_type_error(env, NULL, "readDirsAsync: path Buffer without NUL expected"); return NULL;
    }
  }
  return queue_work(env, "readDirs", dirs_execute, dirs_complete, j, &j->deferred, &j->work);
}

/* freeNow(buffer): frees an ArrayBuffer's memory now (detaches it) rather than at some later
 * collection: a scan's listings once taken in (88 bytes an entry), the hashing's per-row arrays. */
static napi_value xfreenow(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; bool is = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_is_arraybuffer(env, argv[0], &is) != napi_ok || !is) { napi_throw_type_error(env, NULL, "ArrayBuffer expected"); return NULL; }
  napi_detach_arraybuffer(env, argv[0]);
  return NULL;
}

void register_scan(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = { FN("readDir", xreaddir), FN("readDirsAsync", xreaddirsasync), FN("freeNow", xfreenow) };
  define_functions(env, exports, props, sizeof props / sizeof props[0]);
}
