/**
 * Small real filesystems for the root-only fault tests: an image file, mkfs, `mount -o loop`
 * at a temp directory, and a cleanup that always unmounts (lazily if it must), detaches the
 * loop device and removes the image.
 *
 *   const probe = loopMountAvailable('ext4');
 *   const d = probe.ok ? describe : describe.skip;
 *   if (!probe.ok) console.warn(`skipping …: ${probe.reason}`);
 *   …
 *   const fs = makeLoopFs({ type: 'ext4', sizeMiB: 32 });
 *   try { … fs.dir … fs.remountRo() … } finally { fs.cleanup(); }
 *
 * Each filesystem lives in its own mkdtemp directory (image + mount point), so test files
 * running in parallel never share one.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type LoopFsType = 'ext4' | 'btrfs' | 'xfs';

export interface LoopFs {
  type: LoopFsType;
  /** The mount point. */
  dir: string;
  image: string;
  remountRo(): void;
  remountRw(): void;
  /** `mount -o remount,ro`, retried while the kernel says EBUSY (files being removed); false if it never succeeded. */
  tryRemountRo(attempts?: number): boolean;
  /** Unmounts (lazily when busy), detaches the loop device, removes image and directories. Never throws; safe to call twice. */
  cleanup(): void;
}

export interface LoopFsOptions {
  type: LoopFsType;
  sizeMiB: number;
  /** Extra mkfs arguments (e.g. ['-N', '80000'] for ext4). */
  mkfsArgs?: string[];
  /** Extra mount options (comma-separated list entries). */
  mountOptions?: string[];
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

function errText(err: unknown): string {
  const e = err as { stderr?: string | Buffer; message?: string };
  const stderr = e?.stderr ? String(e.stderr).trim() : '';
  return stderr || e?.message || String(err);
}

/** mkfs minimum sizes that are known to work (btrfs refuses tiny images). */
const MIN_MIB: Record<LoopFsType, number> = { ext4: 8, btrfs: 128, xfs: 300 };

function mkfs(type: LoopFsType, image: string, extra: string[]): void {
  if (type === 'ext4') run('mkfs.ext4', ['-q', '-F', ...extra, image]);
  else if (type === 'xfs') run('mkfs.xfs', ['-q', '-f', ...extra, image]);
  else run('mkfs.btrfs', ['-q', '-f', ...extra, image]);
}

/** Loop devices whose backing file is `image`. */
function loopDevicesOf(image: string): string[] {
  try {
    return run('losetup', ['-j', image])
      .split('\n')
      .map((l) => l.split(':')[0].trim())
      .filter(Boolean);
  } catch {
    return [];
  }
}

function isMounted(dir: string): boolean {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[1] === dir.replace(/ /g, '\\040'));
  } catch {
    return false;
  }
}

export function makeLoopFs(options: LoopFsOptions): LoopFs {
  const { type } = options;
  const sizeMiB = Math.max(options.sizeMiB, MIN_MIB[type]);
  const base = mkdtempSync(join(tmpdir(), `hashify-loop-${type}-`));
  const image = join(base, 'image');
  const dir = join(base, 'mnt');
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    const devices = loopDevicesOf(image);
    if (isMounted(dir)) {
      try {
        run('umount', [dir]);
      } catch {
        try {
          run('umount', ['-l', dir]);
        } catch (err) {
          console.warn(`loopfs: cannot unmount ${dir}: ${errText(err)}`);
        }
      }
    }
    // `mount -o loop` sets autoclear, but a lazy unmount or a failed mount can leave one.
    for (const dev of new Set([...devices, ...loopDevicesOf(image)])) {
      try {
        run('losetup', ['-d', dev]);
      } catch {
        /* already detached (autoclear) */
      }
    }
    try {
      rmSync(image, { force: true });
      if (!isMounted(dir)) rmSync(base, { recursive: true, force: true });
    } catch (err) {
      console.warn(`loopfs: cannot remove ${base}: ${errText(err)}`);
    }
  };
  try {
    writeFileSync(image, '');
    run('truncate', ['-s', `${sizeMiB}M`, image]);
    mkfs(type, image, options.mkfsArgs ?? []);
    mkdirSync(dir);
    run('mount', ['-t', type, '-o', ['loop', ...(options.mountOptions ?? [])].join(','), image, dir]);
  } catch (err) {
    cleanup();
    throw new Error(`cannot make a loop-mounted ${type} filesystem: ${errText(err)}`);
  }
  const remount = (mode: 'ro' | 'rw') => run('mount', ['-o', `remount,${mode}`, dir]);
  return {
    type,
    dir,
    image,
    remountRo: () => void remount('ro'),
    remountRw: () => void remount('rw'),
    tryRemountRo: (attempts = 2000) => {
      for (let i = 0; i < attempts; i++) {
        try {
          remount('ro');
          return true;
        } catch (err) {
          if (!/busy/i.test(errText(err))) throw err;
        }
      }
      return false;
    },
    cleanup,
  };
}

const probed = new Map<LoopFsType, { ok: boolean; reason: string }>();

/**
 * Can this process make and mount a loop filesystem of `type`? Checks root, the mkfs tool,
 * and then really mounts (and removes) a small one: a container without loop devices or
 * without the filesystem's kernel module fails here, with the reason.
 */
export function loopMountAvailable(type: LoopFsType = 'ext4'): { ok: boolean; reason: string } {
  const cached = probed.get(type);
  if (cached) return cached;
  let result: { ok: boolean; reason: string };
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    result = { ok: false, reason: 'not running as root (loop mounts need root)' };
  } else if (!['/usr/sbin/mkfs.' + type, '/sbin/mkfs.' + type, '/usr/bin/mkfs.' + type].some((p) => existsSync(p))) {
    result = { ok: false, reason: `mkfs.${type} is not installed (test/setup-test-deps.sh installs it)` };
  } else {
    try {
      const fs = makeLoopFs({ type, sizeMiB: MIN_MIB[type] });
      fs.cleanup();
      result = { ok: true, reason: '' };
    } catch (err) {
      result = { ok: false, reason: (err as Error).message.replace(/\s+/g, ' ') };
    }
  }
  probed.set(type, result);
  return result;
}

/**
 * A list of cleanups run after each test, newest first (also when the test failed), so a
 * loop filesystem is unmounted and detached as soon as its test is done.
 */
export function perTestCleanups(): Array<() => void> {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        c();
      } catch (err) {
        console.warn(`cleanup failed: ${(err as Error).message}`);
      }
    }
  });
  return cleanups;
}
