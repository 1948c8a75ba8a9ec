/**
 * A real process that maps a file, reads every page of it (so its pages are in the page
 * cache), optionally chroots into a directory (as a guest's processes are), says "ready"
 * and sleeps until killed. python3 does the mmap and the chroot; callers skip with a printed
 * reason where python3 is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

const SCRIPT = `
import mmap, os, sys, time
f = open(sys.argv[1], 'rb')
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
sum(m[i] for i in range(0, len(m), 4096))
how = 'plain'
if len(sys.argv) > 2 and sys.argv[2]:
    try:
        os.chroot(sys.argv[2]); os.chdir('/'); how = 'chroot'
    except OSError as e:
        how = 'nochroot ' + e.strerror
if len(sys.argv) > 3:
    f.close()
    f = None
print('ready ' + how, flush=True)
while True:
    time.sleep(60)
`;

export interface Mapper {
  pid: number;
  /** 'plain', 'chroot', or 'nochroot REASON' when chroot was asked for and refused. */
  how: string;
  kill(): void;
}

/** True when python3 can run the mapper. */
export function mapperAvailable(): boolean {
  return spawnSync('python3', ['-c', 'import mmap'], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts a process that maps `file` (and keeps it open, unless `closeFd`), chrooted into
 * `chrootTo` if given. With `bindFrom`, it runs in a mount namespace of its own (as a
 * container does) where `bindFrom` is bind-mounted on `chrootTo` before the chroot, so its
 * root, seen from the host, is a path outside every plan root.
 */
export function startMapper(file: string, options: { chrootTo?: string; closeFd?: boolean; bindFrom?: string } = {}): Promise<Mapper> {
  const args = ['-c', SCRIPT, file];
  if (options.chrootTo || options.closeFd) args.push(options.chrootTo ?? '');
  if (options.closeFd) args.push('close');
  const child: ChildProcess = options.bindFrom
    ? spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" "$1" && shift && exec python3 "$@"', options.bindFrom, options.chrootTo!, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn('python3', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`mapper exited with ${code} before it was ready`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = /^ready (.*)\n/.exec(out);
      if (!line) return;
      child.removeAllListeners('exit');
      resolve({ pid: child.pid!, how: line[1], kill: () => child.kill('SIGKILL') });
    });
  });
}
