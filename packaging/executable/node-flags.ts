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
 * - --gc-memory-reducer-start-delay-ms=2000 (default 8000), --bytecode-old-age=1 (6) and
 *   --memory-reducer-gc-count=3 (2): the peak of a run is the heap just before the memory reducer's first
 *   compaction (~11 s in: the first steps have grown it, start-up's garbage and bytecode still in it).
 *   With these the reducer compacts once right after start-up, dropping start-up's garbage and the
 *   bytecode of functions that ran only then, so the first steps grow a smaller heap; the third GC lets
 *   it compact again ~10 s later when the first attempt met a step. Peak RSS 85.9 -> 84.2 MB (median
 *   of 4 runs, each with another host name so that the exporters' splay puts the steps elsewhere;
 *   node 20 + dist 80.5 MB). Bench, executable row, 3 rounds: 82.9 MB (82.8-83.0) against node 20 +
 *   dist's 80.6 (79.8-80.6), 1.03x, where it was 1.06x; CPU 0.80x node 20's, as before.
 * - --expose-gc: the agent runs a full collection every 30 s unless V8 ran one of its own in between
 *   (src/core/memory-reducer.ts, which says why). Over 150 s the executable's RSS rose with no full
 *   collection after start-up (79.9, 81.4, 82.9, 84.0, 85.6 MB at 30 s ... 150 s; peak 86.3 MB at
 *   163 s against node 20 + dist's 79.1 MB at 11 s, 1.09x), all of it in the malloc heap (7.6 -> 11.9 MB
 *   in 95 s: the backing stores of promoted buffers), none in V8's pages. With it: 81.5, 79.8, 80.3, 80.8,
 *   81.0 MB, the peak the start-up one (83.3 MB at 12 s; node 20 + dist 79.0 MB in the same run), CPU
 *   1.03 % of a core against node 20's 1.28 %. 10,000 processes (remote-write, 30 s after 10 s, three
 *   runs): peak RSS 146.3-148.6 MB against 145.4-145.7 without it, CPU 1.79-2.32 s against 1.82-2.21 s;
 *   collecting every 30 s even when V8 had just collected: 150.7-151.3 MB.
 * Tried and left out: smaller semi-spaces (2 MB: the old space creeps 11.5 -> 17 MB in 3 minutes as each
 * step's objects are promoted), --minor-ms (promotes even more), --optimize-for-size (2.5x the CPU),
 * --jitless/--lite-mode (11 MB less, 1.6-2x the CPU of Node 20).
 * Also left out, measured on the bench's executable-row config (peak RSS = VmHWM, 500 processes, four
 * push transports; the peak is the heap just before the memory reducer's first compaction, ~11 s in):
 * - --initial-old-space-size=12: no change (85.7 vs 85.4 MB, 3 interleaved rounds).
 * - --max-lazy, --bytecode-old-age=1 alone: no change or +0.4 MB.
 * - --gc-memory-reducer-start-delay-ms=2000 and --bytecode-old-age=1 without --memory-reducer-gc-count=3
 *   (see above): -1.6 MB in 4 runs of 5, +0.9 MB in the fifth, where the first step kept the early
 *   compaction from happening and the next one did not come within 20 s.
 * - useCodeCache in the SEA config: no change (85.8 vs 85.7 MB).
 * - A bundle minified beyond whitespace (esbuild minify, with or without keepNames): 0.6-0.7 MB less
 *   blob, but +2.8 / +4.2 MB of heap.
 * - The bundle as a compressed SEA asset (gzip, 0.66 MB), or even uncompressed, run by a small main
 *   script through vm.compileFunction: -1.9 MB of blob pages, but +8.5 MB anonymous memory against the
 *   SEA's own main-script path (Node's internal CJS compile of the main script), whatever the source.
 * Left out against the RSS that grew over minutes (150-165 s runs, bench config; "n24" = node 24 + dist
 * with these flags and --trace-gc, whose stdout showed the full collections):
 * - --memory-saver-mode (its 2 MB growing step): 87.5 MB at 164 s against 86.3 without, CPU 0.91 % against
 *   0.85 %; n24: one full collection in 100 s. The limit is still ~live x 1.3 plus the young generation,
 *   and what grows is malloc'd memory that counts toward it only as external memory.
 * - --incremental-marking-hard-trigger=20 (marking from 20 % of the way to the limit), n24: no full
 *   collection after 12 s (malloc heap 8.7 -> 11.4 MB), start-up peak 96.0 MB against ~90.
 * - --external-memory-accounted-in-global-limit, n24: no full collection after 4.5 s; with
 *   --incremental-marking-hard-trigger=25: full collections at 34 and 62 s (malloc heap 8.7 -> 9.7 MB) but
 *   V8's pages +2.3 MB and the start-up peak 96.1 MB.
 * - vm.measureMemory({ execution: 'eager' }) every 30 s instead of gc() (it starts a full collection, no
 *   flag needed), n24: malloc heap flat, but Node.js prints an ExperimentalWarning for it.
 * - The first collection at 5, 7 or 9 s, before the start-up peak: 82.0, 83.0, 83.1 MB (single runs,
 *   within the noise of that peak).
 */
export const RUNTIME_V8_FLAGS = {
  nodeMajor: 24,
  flags: [
    '--max-opt=2',
    '--no-sparkplug',
    '--invocation-count-for-feedback-allocation=100',
    '--invocation-count-for-maglev=2000',
    '--invocation-count-for-maglev-osr=1000',
    '--gc-memory-reducer-start-delay-ms=2000',
    '--bytecode-old-age=1',
    '--memory-reducer-gc-count=3',
    '--expose-gc',
  ],
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
