/** Loads native/linux.c, built by `make build` into dist/native/linux.node. */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface LinuxAddon {
  list(fd: number): Buffer;
  get(fd: number, name: string): Buffer | null;
  set(fd: number, name: string, value: Buffer): void;
  remove(fd: number, name: string): void;
  setTimes(fd: number, atimeNs: bigint, mtimeNs: bigint): void;
  syncfs(fd: number): void;
  /** One directory's regular files and subdirectories with their lstat fields; layout in native/linux.c. */
  readDir(path: Buffer): ArrayBuffer;
}

let addon: LinuxAddon | undefined;

export function linux(): LinuxAddon {
  if (addon) return addon;
  // dist/native/linux.node beside the compiled code; from src/ (tests) the built one in dist/.
  const candidates = ['./linux.node', '../../dist/native/linux.node'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the native addon is not built (looked for ${candidates.join(', ')}): run \`make build\``);
  addon = createRequire(import.meta.url)(found) as LinuxAddon;
  return addon;
}
