#!/usr/bin/env -S node --max-semi-space-size=1
// The flag above caps V8's young generation at 1 MB per semi-space (default 16 MB): the agent allocates
// a little per step and keeps almost nothing, so a big nursery only holds garbage. It saves ~10 MB of
// resident memory for a few more (sub-millisecond) scavenges. The Dockerfile passes the same flag.
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
