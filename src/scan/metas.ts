/**
 * The (mode, uid, gid) triples of a scan, each stored once: a file's row holds the number
 * of its triple (most files of a tree share a handful). `list` is what crosses to other
 * threads; the numbers by key are rebuilt where triples are added.
 */
export class Metas {
  private ids = new Map<string, number>();
  private last = -1;

  /** Three numbers per triple. */
  constructor(readonly list: number[] = []) {
    for (let id = 0; id * 3 < list.length; id++) this.ids.set(`${list[id * 3]}:${list[id * 3 + 1]}:${list[id * 3 + 2]}`, id);
  }

  /** The number of a triple, added when new. */
  of(mode: number, uid: number, gid: number): number {
    const m = this.list;
    const last = this.last;
    if (last >= 0 && m[last * 3] === mode && m[last * 3 + 1] === uid && m[last * 3 + 2] === gid) return last;
    const key = `${mode}:${uid}:${gid}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = m.length / 3;
      m.push(mode, uid, gid);
      this.ids.set(key, id);
    }
    this.last = id;
    return id;
  }

  mode(id: number): number {
    return this.list[id * 3];
  }
  uid(id: number): number {
    return this.list[id * 3 + 1];
  }
  gid(id: number): number {
    return this.list[id * 3 + 2];
  }
}
