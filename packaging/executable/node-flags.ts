/**
 * The node/V8 flags the agent runs with. Their one source is the shebang of src/bin.ts (carried into
 * dist/src/bin.js): node applies them when the script is executed, the single executable carries them as
 * its built-in execArgv (sea-config.json), and the bench and the Dockerfile test read them here.
 */
import { readFileSync } from 'node:fs';

/** The node flags in a `#!/usr/bin/env -S node <flags>` (or `#!/usr/bin/env node`) first line. */
export function shebangNodeFlags(script: string): string[] {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\S*env(?: -S)? node((?: \S+)*)\s*$/.exec(first);
  if (!match) throw new Error(`${script}: first line is not a node shebang: ${first}`);
  return (match[1] ?? '').split(' ').filter((flag) => flag !== '');
}
