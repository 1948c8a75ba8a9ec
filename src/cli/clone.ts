/** `hashify clone SRC DST`: a copy of SRC in which store-backed files are links to their entries. */
import { cloneTree } from '../clone/cloneTree.js';
import { displayPath, jsonText as json } from '../pathBytes.js';
import { Output, formatBytes, formatSeconds, type GlobalOptions } from './output.js';

export interface CloneArgs extends GlobalOptions {
  src: string;
  dst: string;
  store?: string;
}

export function runClone(args: CloneArgs, out: Output): number {
  const r = cloneTree({
    src: args.src,
    dst: args.dst,
    store: args.store,
    onNoStore: (store) => out.warn(`no store at ${displayPath(store)}: every file is copied (name one with --store)`),
    onProgress: (p) => out.progress(`clone: ${p.entries} entries, ${p.linked} linked, ${p.copied} copied (${formatBytes(p.bytesCopied)})`),
  });
  out.result(
    { src: json(r.src), dst: json(r.dst), entries: r.entries, linked: r.linked, copied: r.copied, bytesCopied: r.bytesCopied, seconds: r.seconds, hardlinked: r.hardlinked, atLinkLimit: r.atLinkLimit, mountPoints: r.mountPoints, store: r.store && json(r.store), sync: r.sync },
    () => [
      `Cloned ${displayPath(r.src)} to ${displayPath(r.dst)} in ${formatSeconds(r.seconds)}: ${r.entries} entries, ${r.linked} files linked to the store, ${r.copied} copied (${formatBytes(r.bytesCopied)}).`,
      ...(r.atLinkLimit ? [`${r.atLinkLimit} store-backed files were copied: their entry is at its link-count limit.`] : []),
      ...(r.mountPoints ? [`${r.mountPoints} mount points were not crossed (left empty in the clone).`] : []),
    ],
  );
  return 0;
}
