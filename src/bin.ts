#!/usr/bin/env node
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
