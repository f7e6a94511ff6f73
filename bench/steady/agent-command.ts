/**
 * How the bench starts the agent: as installed (`/usr/bin/scaph`, `npx scaph`), that is with the node
 * flags of bin.js's shebang, run by this same node binary.
 */
import { readFileSync } from 'node:fs';

/** The node flags in a `#!/usr/bin/env -S node <flags>` (or `#!/usr/bin/env node`) first line. */
export function shebangNodeFlags(script: string): string[] {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\S*env(?: -S)? node((?: \S+)*)\s*$/.exec(first);
  if (!match) throw new Error(`${script}: first line is not a node shebang: ${first}`);
  return (match[1] ?? '').split(' ').filter((flag) => flag !== '');
}

/** argv for spawn(process.execPath, …) that runs `script` the way its shebang would. */
export function agentArgv(script: string, args: readonly string[]): string[] {
  return [...shebangNodeFlags(script), script, ...args];
}
