import { closeSync, readSync } from 'node:fs';
import { openNoAtime } from '../openNoAtime.js';

/** True when the two files have exactly the same bytes (`--verify-content`). */
export function sameContent(a: Buffer, b: Buffer): boolean {
  const fa = openNoAtime(a);
  try {
    const fb = openNoAtime(b);
    try {
      const ba = Buffer.allocUnsafe(1 << 20);
      const bb = Buffer.allocUnsafe(1 << 20);
      for (let pos = 0; ; ) {
        const na = readSync(fa, ba, 0, ba.length, pos);
        let nb = 0;
        while (nb < na) {
          const k = readSync(fb, bb, nb, na - nb, pos + nb);
          if (k === 0) break;
          nb += k;
        }
        if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) return false;
        if (na === 0) return readSync(fb, bb, 0, 1, pos) === 0;
        pos += na;
      }
    } finally {
      closeSync(fb);
    }
  } finally {
    closeSync(fa);
  }
}
