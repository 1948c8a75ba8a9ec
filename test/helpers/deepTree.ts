/**
 * Trees whose paths are longer than PATH_MAX (4096 bytes), which no path-taking call can
 * reach: Node's fs.mkdirSync, writeFileSync or lstatSync of such a path fail with
 * ENAMETOOLONG. A small python3 script builds and reads them one directory at a time, each
 * step relative to the descriptor of the directory above (mkdir/open/stat with dir_fd).
 */
import { execFileSync } from 'node:child_process';

const SCRIPT = String.raw`
import hashlib, json, os, stat, sys

def walk_to(root, parts, create):
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for name in parts:
        if create:
            try: os.mkdir(name, 0o755, dir_fd=fd)
            except FileExistsError: pass
        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        os.close(fd)
        fd = sub
    return fd

def make(root, files):
    for f in files:
        parts = f['path'].split('/')
        fd = walk_to(root, parts[:-1], True)
        if 'link' in f:
            lparts = f['link'].split('/')
            src = walk_to(root, lparts[:-1], False)
            os.link(lparts[-1], parts[-1], src_dir_fd=src, dst_dir_fd=fd)
            os.close(src)
        else:
            out = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=fd)
            os.write(out, f['content'].encode())
            os.close(out)
            os.utime(parts[-1], ns=(f['mtime'] * 10**9, f['mtime'] * 10**9), dir_fd=fd, follow_symlinks=False)
        os.close(fd)

def listing(root):
    out = {}
    def walk(fd, rel):
        for name in sorted(os.listdir(fd)):
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            path = rel + '/' + name if rel else name
            if stat.S_ISDIR(st.st_mode):
                if path == '.hash': continue
                sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                walk(sub, path)
                os.close(sub)
            elif stat.S_ISREG(st.st_mode):
                f = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
                data = os.read(f, st.st_size + 1)
                os.close(f)
                out[path] = {'ino': str(st.st_ino), 'nlink': st.st_nlink, 'mode': st.st_mode, 'uid': st.st_uid, 'gid': st.st_gid,
                             'mtime': str(st.st_mtime_ns), 'sha256': hashlib.sha256(data).hexdigest()}
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    walk(fd, '')
    os.close(fd)
    return out

def swap(root, path, aside):
    parts = path.split('/')
    fd = walk_to(root, parts[:-1], False)
    os.rename(parts[-1], aside, src_dir_fd=fd, dst_dir_fd=fd)
    os.symlink(aside, parts[-1], dir_fd=fd)
    os.close(fd)

if sys.argv[1] == 'make': make(sys.argv[2], json.loads(sys.stdin.read()))
elif sys.argv[1] == 'swap': swap(sys.argv[2], sys.argv[3], sys.argv[4])
else: print(json.dumps(listing(sys.argv[2])))
`;

/** A file to make: `content` with mtime `mtime` (whole seconds), or a hard link to the file at `link`; paths relative to the root. */
export type DeepFile = { path: string; content: string; mtime: number } | { path: string; link: string };

/** What a regular file below the root is (the store `.hash` left out), by relative path. */
export interface DeepStat {
  ino: string;
  nlink: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: string;
  sha256: string;
}

/** Makes the files (and every directory above them) below `root`, however long their paths. */
export function makeDeep(root: string, files: DeepFile[]): void {
  execFileSync('python3', ['-c', SCRIPT, 'make', root], { input: JSON.stringify(files) });
}

/** Every regular file below `root` with its inode, link count, metadata and content hash. */
export function listDeep(root: string): Record<string, DeepStat> {
  return JSON.parse(execFileSync('python3', ['-c', SCRIPT, 'list', root], { encoding: 'utf8', maxBuffer: 1 << 26 }));
}

/** Renames the directory at `path` to `aside` in the same parent and puts a symlink to `aside` in its place: following it leads to the same files. */
export function swapForSymlink(root: string, path: string, aside: string): void {
  execFileSync('python3', ['-c', SCRIPT, 'swap', root, path, aside]);
}

/** Removes a tree with paths beyond PATH_MAX (fs.rmSync walks by path and fails there; rm(1) walks by descriptor). */
export function removeDeep(path: string): void {
  execFileSync('rm', ['-rf', '--', path]);
}
