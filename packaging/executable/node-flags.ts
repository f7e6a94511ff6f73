/**
 * The node/V8 flags the agent runs with. Their one source is the shebang of src/bin.ts (carried into
 * dist/src/bin.js): node applies them when the script is executed, the single executable carries them as
 * its built-in execArgv (sea-config.json), and the bench and the Dockerfile test read them here.
 *
 * The single executable adds RUNTIME_V8_FLAGS, tuned for the V8 of the Node.js it is built from
 * (packaging/runtime.json) and meaningless or harmful on another: `node dist/src/bin.js` runs on whatever
 * Node.js >= 20.18 the host has, so they cannot go into the shebang.
 */
import { readFileSync } from 'node:fs';

/** The node flags in a `#!/usr/bin/env -S node <flags>` (or `#!/usr/bin/env node`) first line. */
export function shebangNodeFlags(script: string): string[] {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\S*env(?: -S)? node((?: \S+)*)\s*$/.exec(first);
  if (!match) throw new Error(`${script}: first line is not a node shebang: ${first}`);
  return (match[1] ?? '').split(' ').filter((flag) => flag !== '');
}

/**
 * V8 flags for the executable's Node.js 24 (V8 13.6), on top of the shebang's, so that it holds about the
 * memory of `node dist/src/bin.js` on Node.js 20 (bench, executable row: node 24 + dist 95.4 -> 86.9 MB
 * peak RSS; the executable, with its one-byte bundle, 82.8 MB against Node 20's 77.8; CPU 0.6x Node 20's):
 * - --max-opt=2: Maglev is the top tier, Turbofan never runs. Node 24 ships both optimising compilers
 *   (Node 20's build has no Maglev); Turbofan's code alone is ~6 MB of the binary's pages that a run of the
 *   agent faults in, and Maglev's code is fast enough for a process idle between steps.
 * - --no-sparkplug: no baseline-compiled copies of functions between the interpreter and Maglev (~1 MB).
 * - --invocation-count-for-feedback-allocation=100 (default 8), --invocation-count-for-maglev=2000 (400)
 *   and --invocation-count-for-maglev-osr=1000 (100): code that runs only at start-up or once a step gets
 *   no feedback vector and no Maglev code; what runs per process or per series still reaches Maglev within
 *   a few steps (~0.8 MB together).
 * Tried and left out: smaller semi-spaces (2 MB: the old space creeps 11.5 -> 17 MB in 3 minutes as each
 * step's objects are promoted), --minor-ms (promotes even more), --optimize-for-size (2.5x the CPU),
 * --jitless/--lite-mode (11 MB less, 1.6-2x the CPU of Node 20).
 */
export const RUNTIME_V8_FLAGS = {
  nodeMajor: 24,
  flags: ['--max-opt=2', '--no-sparkplug', '--invocation-count-for-feedback-allocation=100', '--invocation-count-for-maglev=2000', '--invocation-count-for-maglev-osr=1000'],
} as const;

export class RuntimeFlagsError extends Error {
  constructor(version: string) {
    super(
      `packaging/runtime.json pins Node.js ${version}, but the executable's V8 flags (RUNTIME_V8_FLAGS in packaging/executable/node-flags.ts) were tuned for Node.js ${RUNTIME_V8_FLAGS.nodeMajor}: measure them again with the bench's executable row and update nodeMajor`,
    );
    this.name = 'RuntimeFlagsError';
  }
}

/** The executable's built-in execArgv: the shebang's flags, then those tuned for its Node.js `runtimeVersion`. */
export function executableExecArgv(script: string, runtimeVersion: string): string[] {
  if (Number(runtimeVersion.replace(/^v/, '').split('.')[0]) !== RUNTIME_V8_FLAGS.nodeMajor) throw new RuntimeFlagsError(runtimeVersion);
  return [...shebangNodeFlags(script), ...RUNTIME_V8_FLAGS.flags];
}
