#!/usr/bin/env -S node --max-semi-space-size=1 --single-threaded
// The flags above trade a little latency nobody sees for resident memory (the agent is idle between
// steps; bench: 113 -> ~80 MB peak with 500 processes and three push transports):
// - --max-semi-space-size=1 caps V8's young generation at 1 MB per semi-space (default 16 MB): the
//   agent allocates a little per step and keeps almost nothing, so a big nursery only holds garbage
//   (~10 MB; a few more sub-millisecond scavenges).
// - --single-threaded: no V8 background threads (concurrent marking, compilation), whose stacks and
//   malloc arenas cost ~3 MB; that work runs between steps on the main thread instead.
// The Dockerfile passes the same flags (test/deploy/node-flags.test.ts checks they agree).
import { main } from './cli.js';

// `scaph json | head`: the reader went away. That ends the run quietly, like any Unix filter.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => finish(code),
  (err: unknown) => {
    process.stderr.write(`scaph: ${(err as Error).message}\n`);
    finish(70);
  },
);

function finish(code: number): void {
  process.exitCode = code;
  // Normally nothing is left and Node exits now, after stdout is flushed. If a socket or timer is still
  // open (a transport that would not close), don't hang: exit anyway a little later.
  setTimeout(() => process.exit(code), 3000).unref();
}
