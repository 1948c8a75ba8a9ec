// Generates N small OS-like guests that share most files, with the differences real guests
// have: per-guest configuration in etc/, a few files owned by another user, a binary with a
// file capability (when setcap is there), a changed document, and a name that is not UTF-8.
import { mkdirSync, writeFileSync, utimesSync, chownSync, linkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const [root, count] = [process.argv[2], Number(process.argv[3] ?? 4)];
const mtime = new Date('2025-06-01T12:00:00Z');
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const text = (n) => Array.from({ length: n }, (_, i) => `line ${i} ${Math.floor(rand() * 1e9).toString(36)}`).join('\n') + '\n';
const bin = (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));

// One base image, written into every guest.
const base = new Map();
for (let i = 0; i < 40; i++) base.set(`usr/bin/tool${i}`, bin(20_000 + i * 1500));
for (let i = 0; i < 25; i++) base.set(`usr/lib/x86_64-linux-gnu/libdemo${i}.so.1`, bin(60_000 + i * 9000));
for (let i = 0; i < 200; i++) base.set(`usr/share/doc/pkg${i % 40}/file${i}.txt`, text(20 + (i % 60)));
for (let i = 0; i < 80; i++) base.set(`usr/share/locale/l${i % 10}/LC_MESSAGES/m${i}.mo`, bin(3000 + i * 40));
base.set('usr/bin/ping', bin(90_000));
base.set('usr/share/doc/base/README', text(200));
base.set(Buffer.concat([Buffer.from('usr/share/doc/caf'), Buffer.from([0xe9]), Buffer.from('-latin1.txt')]), text(30));
for (let i = 0; i < 10; i++) base.set(`etc/conf${i}.conf`, text(15));

for (let g = 0; g < count; g++) {
  const guest = join(root, `guest${g}`);
  for (const [rel, content] of base) {
    const path = Buffer.isBuffer(rel) ? Buffer.concat([Buffer.from(guest + '/'), rel]) : Buffer.from(join(guest, rel));
    mkdirSync(path.subarray(0, path.lastIndexOf(0x2f)), { recursive: true });
    let body = content;
    if (!Buffer.isBuffer(rel) && rel.startsWith('etc/')) body = text(15) + `hostname guest${g}\n`; // per guest
    if (rel === 'usr/share/doc/base/README' && g === 3) body = text(201); // an upgraded package
    writeFileSync(path, body);
    utimesSync(path, mtime, mtime);
  }
  if (g === 2) for (let i = 0; i < 3; i++) chownSync(join(guest, `usr/share/doc/pkg${i}/file${i}.txt`), 1000, 1000); // another owner
  linkSync(join(guest, 'usr/bin/tool1'), join(guest, 'usr/bin/tool1-alias')); // a hard link inside a guest
  try {
    execFileSync('setcap', ['cap_net_raw+ep', join(guest, 'usr/bin/ping')], { stdio: 'ignore' });
    if (g === 1) execFileSync('setcap', ['-r', join(guest, 'usr/bin/ping')], { stdio: 'ignore' }); // one guest without it
  } catch {
    // No setcap: a user xattr shows the same rule.
    if (g !== 1) try { execFileSync('setfattr', ['-n', 'user.demo', '-v', 'cap', join(guest, 'usr/bin/ping')], { stdio: 'ignore' }); } catch {}
  }
}
console.log(`   ${count} guests of ${base.size + 1} files each`);
