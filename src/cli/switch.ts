/** `hashify switch A B`: exchanges two directory trees in one atomic rename. */
import { switchTrees } from '../clone/switchTrees.js';
import { Output, type GlobalOptions } from './output.js';
import { displayPath, jsonText } from '../pathBytes.js';

export interface SwitchArgs extends GlobalOptions {
  a: string;
  b: string;
}

export function runSwitch(args: SwitchArgs, out: Output): number {
  const r = switchTrees(args.a, args.b);
  out.result({ a: jsonText(r.a), b: jsonText(r.b), switched: true }, () => [`Switched ${displayPath(r.a)} and ${displayPath(r.b)} (the same command again switches back).`]);
  return 0;
}
