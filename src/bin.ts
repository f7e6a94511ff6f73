#!/usr/bin/env -S node --min-semi-space-size=3 --max-semi-space-size=3 --no-allocation-site-pretenuring --single-threaded --heap-growing-percent=50
// The flags above trade a little latency nobody sees for resident memory (the agent is idle between
// steps; bench: 113 -> ~70 MB steady RSS with 500 processes and three push transports):
// - --min/--max-semi-space-size=3 fix V8's young generation at 3 MB per semi-space (default: grows to
//   16 MB). A step (500 processes, three push transports) allocates ~1.5 MB and keeps almost nothing,
//   so it fits and dies young. A 1 MB nursery made each step's objects survive two scavenges and be
//   promoted: the old space filled with garbage (a full collection every ~6 steps, old space swinging
//   11 -> 21 MB). At 2 MB some still were (old space +0.13 MB a step, RSS creeping 70 -> 78 MB in 3
//   minutes); at 3 MB the old space stays flat at ~11 MB.
// - --no-allocation-site-pretenuring: V8 otherwise learns, from the objects that survive the start-up,
//   to allocate a step's metrics and process samples straight in the old space, with the same result.
// - --single-threaded: no V8 background threads (concurrent marking, compilation), whose stacks and
//   malloc arenas cost ~3 MB; that work runs between steps on the main thread instead.
// - --heap-growing-percent=50: after a full collection the old space may grow by half its live size before
//   the next one (V8 otherwise picks up to 4x on a machine with memory to spare). With thousands of
//   processes a step's objects outlive the 3 MB nursery and are promoted, so the old space fills with dead
//   steps up to that limit: at 10,000 processes (bench, scale section) the heap swung between ~45 MB live
//   and ~160 MB, peak RSS ~230 MB; with it ~150 MB, for a full collection every few steps. A small heap
//   (500 processes: ~11 MB old space, flat) is not collected more often for it.
// The Dockerfile passes the same flags (test/e2e/deploy/node-flags.test.ts checks they agree); the single
// executable adds those tuned for its own Node.js 24 (RUNTIME_V8_FLAGS in packaging/executable/node-flags.ts).
import { main } from './cli.js';
import { JOURNAL_PRIORITY } from './core/journald.js';
import { writeStderrLine } from './core/log.js';
import { keepMemoryReducerWorking } from './core/memory-reducer.js';

// `scaph stdout | head`: the reader went away. That ends the run quietly, like any Unix filter. Any other
// stdout error (`> /dev/full`: ENOSPC) is one line and exit 1, never a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  writeStderrLine(`scaph: cannot write to stdout (${err.code ?? err.message}): free space or redirect it elsewhere`, JOURNAL_PRIORITY.err);
  process.exit(1);
});

keepMemoryReducerWorking();

main(process.argv.slice(2)).then(
  (code) => finish(code),
  (err: unknown) => {
    writeStderrLine(`scaph: ${(err as Error).message}`, JOURNAL_PRIORITY.err);
    finish(70);
  },
);

function finish(code: number): void {
  process.exitCode = code;
  // Normally nothing is left and Node exits now, after stdout is flushed. If a socket or timer is still
  // open (a transport that would not close), don't hang: exit anyway a little later.
  setTimeout(() => process.exit(code), 3000).unref();
}
