/*
 * What a filesystem can do, asked of the kernel rather than found out by writing into it.
 * xfsReflink(path): XFS clones only when it was made with reflink=1; its geometry ioctl
 * (XFS_IOC_FSGEOMETRY_V1, answered on any descriptor of the filesystem) has that flag.
 * The struct is declared here because xfslibs-dev is not installed on every machine.
 */
#define _GNU_SOURCE
#include "napi_util.h"
#include <sys/ioctl.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

struct xfs_fsop_geom_v1 {
  uint32_t blocksize, rtextsize, agblocks, agcount, logblocks, sectsize, inodesize, imaxpct;
  uint64_t datablocks, rtblocks, rtextents, logstart;
  unsigned char uuid[16];
  uint32_t sunit, swidth;
  int32_t version;
  uint32_t flags;
  uint32_t logsectsize, rtsectsize, dirblocksize;
};
#define XFS_IOC_FSGEOMETRY_V1 _IOR('X', 100, struct xfs_fsop_geom_v1)
#define XFS_FSOP_GEOM_FLAGS_REFLINK 0x100000

/* xfsReflink(path: Buffer) -> true when the XFS filesystem holding the directory path can clone. */
static napi_value xxfsreflink(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = argc < 1 ? NULL : get_bytes_z(env, argv[0], NULL);
  if (!path) { napi_throw_type_error(env, NULL, "path Buffer expected"); return NULL; }
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int e = errno;
  free(path);
  if (fd < 0) return throw_errno(env, "open", e);
  struct xfs_fsop_geom_v1 geo = {0};
  int r = ioctl(fd, XFS_IOC_FSGEOMETRY_V1, &geo);
  e = errno;
  close(fd);
  if (r < 0) return throw_errno(env, "ioctl", e);
  napi_value out; napi_get_boolean(env, (geo.flags & XFS_FSOP_GEOM_FLAGS_REFLINK) != 0, &out);
  return out;
}

void register_fsinfo(napi_env env, napi_value exports) {
  static const napi_property_descriptor fns[] = { FN("xfsReflink", xxfsreflink) };
  define_functions(env, exports, fns, sizeof fns / sizeof fns[0]);
}
