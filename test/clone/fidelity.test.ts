/**
 * clone reproduces every entry of SRC in DST: type, mode (setuid, sticky, setgid), owner,
 * size, device numbers, atime and mtime in nanoseconds (directories' too), symlink targets,
 * xattrs (user, trusted on a symlink, ACLs, file capabilities), SRC's own hard-link sets
 * (of files, symlinks and FIFOs), holes, odd names, also when DST's directory gives new
 * inodes its group. Without a store, every inode of DST is new; with one, store-backed files
 * are links to their entries and the rest are new inodes.
 */
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { hashify } from '../helpers/cli.js';
import { have, scratchDir, treeFacts } from './support.js';

const BUILD = String.raw`
set -e
cd "$1"
mkdir -p src/d1/d2 src/sticky src/setgid src/empty
echo one > src/d1/f
printf 'exec' > src/d1/setuid; chown 1234:5678 src/d1/setuid; chmod 4755 src/d1/setuid
echo owned > src/owned; chown 1001:1002 src/owned; chmod 640 src/owned
ln src/d1/f src/d1/d2/f-link; ln src/d1/f src/f-link2
ln -s d1/f src/sym; chown -h 1001:1002 src/sym
ln -s /etc/passwd src/outside-sym
ln -s dangling-target src/dangling
ln -P src/sym src/sym-hardlink
mkfifo src/fifo; ln src/fifo src/fifo-link
mknod src/null c 1 3; mknod src/loopdev b 7 99
python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.bind('src/sock')"
truncate -s 1M src/sparse; printf 'middle' | dd of=src/sparse bs=1 seek=500000 conv=notrunc status=none; truncate -s 3M src/sparse
: > src/emptyfile
printf 'x' > src/$'\xff\xfe-latin1'
touch src/$(printf 'n%.0s' {1..255})
setfattr -n user.note -v hello src/d1/f
setfattr -n user.dirnote -v dir src/d1
setfattr -h -n trusted.sym -v link src/sym
chmod 1777 src/sticky; chmod 2755 src/setgid; chmod 0700 src/d1/d2; chmod 0555 src/empty
chown 1234:5678 src/d1/d2
# deep enough for the worker threads (directories at depth 3 are their jobs), with hard-link
# sets across jobs and between a job and the shallow part
mkdir -p src/deep/x/p/r src/deep/x/q/r src/deep/x/s
for i in $(seq 1 40); do echo "p $i" > src/deep/x/p/r/f$i; echo "q $i" > src/deep/x/q/r/f$i; ln -s f$i src/deep/x/s/l$i; done
ln src/deep/x/p/r/f1 src/deep/x/q/r/link-to-p1; ln src/deep/x/p/r/f1 src/deep/x/s/link-to-p1; ln src/deep/x/q/r/f2 src/deep/q2-shallow
mkfifo src/deep/x/s/fifo; ln src/deep/x/s/fifo src/deep/x/p/fifo-link
`;
const ACLS = String.raw`
set -e
cd "$1"
setfacl -m u:1234:rw src/owned
setfacl -d -m u:1234:rx src/d1
`;
const CAPS = String.raw`
set -e
cd "$1"
printf 'bin' > src/ping; setcap cap_net_raw+ep src/ping
`;
/** Distinct times with nanoseconds on every entry, deepest first so directories keep theirs. */
const TIMES = String.raw`
set -e
cd "$1"
i=10
find src -depth -print0 | while IFS= read -r -d '' p; do
  i=$((i + 1))
  touch -h -a -d "@$((1577934245 + i)).$((100000000 + i * 7919))" "$p"
  touch -h -m -d "@$((1557126489 + i)).$((900000000 - i * 104729))" "$p"
done
`;

function build(dir: string): void {
  execFileSync('bash', ['-c', BUILD, 'build', dir]);
  if (have('setfacl')) execFileSync('bash', ['-c', ACLS, 'acls', dir]);
  else console.warn('clone fidelity: setfacl not installed, ACLs not tested (run test/setup-test-deps.sh)');
  if (have('setcap')) execFileSync('bash', ['-c', CAPS, 'caps', dir]);
  else console.warn('clone fidelity: setcap not installed, file capabilities not tested');
  execFileSync('bash', ['-c', TIMES, 'times', dir]);
}

const root = process.getuid?.() === 0;
if (!root) console.warn('skipping clone fidelity tests: they need root (owners, devices, trusted xattrs)');
const d = root && have('setfattr') ? describe : describe.skip;

d('clone reproduces every field of SRC in DST', () => {
  test('types, modes, owners, ns times (directories too), devices, symlinks, xattrs, hard-link sets, holes', () => {
    const s = scratchDir();
    try {
      build(s.dir);
      const src = join(s.dir, 'src');
      const dst = join(s.dir, 'dst');
      treeFacts(src); // first read: relatime settles directories' atimes
      const before = treeFacts(src);
      const r = hashify(['clone', src, dst, '--json']);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
      const after = treeFacts(src);
      const copy = treeFacts(dst);

      expect(after.entries).toEqual(before.entries); // SRC was only read
      expect(copy.entries).toEqual(before.entries);
      expect(copy.xattrs).toEqual(before.xattrs);
      expect(copy.linkSets).toEqual(before.linkSets);
      expect(before.linkSets).toEqual([
        ['d1/d2/f-link', 'd1/f', 'f-link2'],
        ['deep/q2-shallow', 'deep/x/q/r/f2'],
        ['deep/x/p/fifo-link', 'deep/x/s/fifo'],
        ['deep/x/p/r/f1', 'deep/x/q/r/link-to-p1', 'deep/x/s/link-to-p1'],
        ['fifo', 'fifo-link'],
        ['sym', 'sym-hardlink'],
      ]);
      expect([...before.xattrs.keys()].sort()).toEqual(expect.arrayContaining(['src/d1', 'src/d1/f', 'src/sym'].map((p) => p.slice(4))));
      if (have('setcap')) expect(before.xattrs.get('ping')).toMatch(/security\.capability=/);

      const srcInodes = new Set([...before.inodes.values()].map(([dev, ino]) => `${dev}:${ino}`));
      for (const [rel, [dev, ino]] of copy.inodes) expect([rel, srcInodes.has(`${dev}:${ino}`)]).toEqual([rel, false]);
      // holes kept: the 3 MiB file with six bytes of data costs a block or two
      expect(fs.statSync(join(dst, 'sparse')).blocks).toBeLessThanOrEqual(16);

      const json = r.json();
      expect(json).toMatchObject({ src, dst, entries: before.entries.size - 1, linked: 0 });
      expect(json).toEqual(expect.objectContaining({ copied: expect.any(Number), bytesCopied: expect.any(Number), seconds: expect.any(Number) }));
    } finally {
      s.cleanup();
    }
  });

  test('into a set-group-ID directory of another group: every owner and mode is still SRC\'s', () => {
    // the clone's new inodes take that group (and directories the set-group-ID bit) while it
    // builds; an entry of SRC with that group and the clone's user is not chowned
    const s = scratchDir();
    try {
      build(s.dir);
      const src = join(s.dir, 'src');
      fs.mkdirSync(join(src, 'group-dir/sub'), { recursive: true });
      fs.writeFileSync(join(src, 'group-dir/file'), 'in the group\n');
      fs.symlinkSync('file', join(src, 'group-dir/link'));
      for (const p of ['group-dir', 'group-dir/sub', 'group-dir/file']) fs.chownSync(join(src, p), 0, 5678);
      fs.lchownSync(join(src, 'group-dir/link'), 0, 5678);
      const parent = join(s.dir, 'setgid-parent');
      fs.mkdirSync(parent);
      fs.chownSync(parent, 0, 5678);
      fs.chmodSync(parent, 0o2775);
      treeFacts(src);
      const before = treeFacts(src);
      const r = hashify(['clone', src, join(parent, 'dst')]);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
      const copy = treeFacts(join(parent, 'dst'));
      expect(copy.entries).toEqual(before.entries);
      expect(copy.xattrs).toEqual(before.xattrs);
      expect(before.entries.get('group-dir/sub')).toMatch(/^dir 40755 0:5678 /);
      expect(before.entries.get('d1')).toMatch(/^dir 40755 0:0 /);
    } finally {
      s.cleanup();
    }
  });

  test('store-backed files become links to their store entries; every other file is a new inode', () => {
    const s = scratchDir();
    try {
      const g = join(s.dir, 'guests');
      for (const guest of ['a', 'b']) {
        fs.mkdirSync(join(g, guest, 'usr/lib'), { recursive: true });
        for (let i = 0; i < 5; i++) fs.writeFileSync(join(g, guest, `usr/lib/lib${i}.so`), `shared library ${i}\n`.repeat(100));
        fs.writeFileSync(join(g, guest, 'hostname'), `guest ${guest}\n`);
      }
      fs.writeFileSync(join(g, 'a/usr/lib/small'), '');
      execFileSync('touch', ['-d', '2021-01-01', ...['a', 'b'].flatMap((x) => [join(g, x, 'usr/lib'), ...[0, 1, 2, 3, 4].map((i) => join(g, x, `usr/lib/lib${i}.so`))])]);
      const plan = join(s.dir, 'p.plan.jsonl');
      expect(hashify(['plan', join(g, 'a'), join(g, 'b'), '-o', plan, '--no-cache', '-q']).status).toBe(0);
      expect(hashify(['apply', plan, '-q']).status).toBe(0);

      const src = join(g, 'a');
      const dst = join(g, 'a.next');
      treeFacts(src);
      const before = treeFacts(src);
      const r = hashify(['clone', src, dst, '--json']);
      expect(r.status).toBe(0);
      expect(r.json()).toMatchObject({ linked: 5, copied: 2, entries: 9, bytesCopied: 'guest a\n'.length });
      const copy = treeFacts(dst);
      expect(copy.entries).toEqual(treeFacts(src).entries);
      expect(copy.entries).toEqual(before.entries);

      const storeInodes = new Set(
        execFileSync('find', [join(g, '.hash/sha256'), '-type', 'f', '-printf', '%D:%i\n'], { encoding: 'utf8' }).trim().split('\n'),
      );
      for (let i = 0; i < 5; i++) {
        const st = fs.statSync(join(dst, `usr/lib/lib${i}.so`), { bigint: true });
        expect(storeInodes.has(`${st.dev}:${st.ino}`)).toBe(true);
        expect(st.nlink).toBe(4n); // the entry, a, b and the clone
      }
      for (const rel of ['hostname', 'usr/lib/small']) {
        expect(fs.statSync(join(dst, rel)).ino).not.toBe(fs.statSync(join(src, rel)).ino);
      }
    } finally {
      s.cleanup();
    }
  });
});
