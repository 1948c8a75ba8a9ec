/** `hashify switch A B`: exchanges two directory trees in one atomic rename. */
import { switchTrees } from '../clone/switchTrees.js';
import { Output, type GlobalOptions } from './output.js';

export interface SwitchArgs extends GlobalOptions {
  a: string;
  b: string;
}

export function runSwitch(args: SwitchArgs, out: Output): number {
  const r = switchTrees(args.a, args.b);
  out.result({ a: r.a, b: r.b, switched: true }, () => [`Switched ${JSON.stringify(r.a)} and ${JSON.stringify(r.b)} (the same command again switches back).`]);
  return 0;
}
