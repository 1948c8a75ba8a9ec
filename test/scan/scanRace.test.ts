/**
 * `plan` never reads outside its roots, also when a guest swaps directories for symlinks to a
 * host directory while the scan runs. A real racing process exchanges (renameat2
 * RENAME_EXCHANGE) twenty directories of the root with symlinks to a host directory that holds
 * a "secret" file equal in content to files of the guest; an inotify watcher on the host
 * directory sees every open and read there. Before the scan resolved directories beneath the
 * root's descriptor, the scan listed the host directory and the hash read the secret.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { makeTree, type Entry } from '../helpers/tree.js';
import { hashify } from '../helpers/cli.js';

const SWAPPED = 20;
const RUNS = 4;

// Exchanges each a<k> with l<k> (a symlink to the host directory) until the stop file exists.
const RACER = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
base, n, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pairs = [(os.path.join(base, 'a%d' % k).encode(), os.path.join(base, 'l%d' % k).encode()) for k in range(n)]
while not os.path.exists(stop):
    for a, l in pairs:
        libc.syscall(316, -100, a, -100, l, 2)  # renameat2(AT_FDCWD, a, AT_FDCWD, l, RENAME_EXCHANGE)
`;

// Prints "ready", then one line per open or read inside the watched directories, until stopped.
const WATCHER = `
import ctypes, os, select, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
for d in sys.argv[2:]:
    assert libc.inotify_add_watch(fd, d.encode(), 0x1 | 0x20) >= 0  # IN_ACCESS | IN_OPEN
print('ready', flush=True)
while not os.path.exists(sys.argv[1]):
    if not select.select([fd], [], [], 0.05)[0]:
        continue
    buf = os.read(fd, 65536)
    at = 0
    while at < len(buf):
        wd, mask, cookie, ln = struct.unpack_from('iIII', buf, at)
        name = buf[at + 16:at + 16 + ln].rstrip(b'\\0').decode(errors='replace')
        print('event', wd, hex(mask), name, flush=True)
        at += 16 + ln
`;

function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`watcher exited (${code})`)));
  });
}

describe('a directory swapped for a symlink to a host directory during the scan', () => {
  test('plan never opens the host directory or its secret, and never plans it', async () => {
    const secret = 'secret bytes of the host, equal to a guest file\n';
    const spec: Record<string, Entry> = {
      'host/h/sub/secret': secret,
      'root/g/dup1': secret,
      'root/g/dup2': secret,
    };
    for (let k = 0; k < SWAPPED; k++) {
      spec[`root/g/a${k}/sub/own`] = `own file ${k}\n`;
      spec[`root/g/l${k}`] = { symlink: '../../host/h' };
    }
    const t = makeTree(spec);
    const stop = t.path('stop');
    const racer = spawn('python3', ['-c', RACER, t.path('root/g'), String(SWAPPED), stop], { stdio: 'ignore' });
    const watcher = spawn('python3', ['-c', WATCHER, stop, t.path('host/h'), t.path('host/h/sub')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let events = '';
    watcher.stdout!.on('data', (d) => (events += d));
    const plans: string[] = [];
    try {
      await started(watcher);
      for (let run = 0; run < RUNS; run++) {
        const p = t.path(`p${run}.jsonl`);
        const r = hashify(['plan', t.path('root'), '-o', p, '--no-cache', '-q', '--no-store']);
        expect({ status: r.status, stderr: r.stderr.split('\n').filter((l) => l && !/Warning|warning/.test(l)).join('\n') }).toEqual({ status: 0, stderr: '' });
        plans.push(readFileSync(p, 'utf8'));
      }
    } finally {
      writeFileSync(stop, '');
      await Promise.all([racer, watcher].map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    }
    try {
      // The racer really raced: every pair was exchanged many times (each name is one or the other).
      expect(existsSync(t.path('root/g/a0'))).toBe(true);
      expect(events.split('\n').filter((l) => l.startsWith('event'))).toEqual([]);
      for (const plan of plans) {
        expect(plan).not.toContain('/sub/secret');
        // The guest's own duplicates are still found.
        expect(plan).toContain('dup2');
      }
    } finally {
      t.cleanup();
    }
  }, 120000);
});
