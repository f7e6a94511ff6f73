import { setFlagsFromString } from 'node:v8';

/**
 * Keeps V8's young generation committed between steps. After each scavenge V8 hands the idle half of the
 * young generation back to the OS when the program allocates slowly (under 1 KB/ms; the agent allocates
 * ~0.5 KB/ms, all of it in one burst per step), so every page a step allocates into is faulted in again:
 * ~350 minor faults a step with 500 processes and three push transports, which cost more CPU than the
 * step's own work in a VM (steady bench, side by side: 1.3x the I/O floor with them, 0.9x without). V8
 * skips that shrink in its "predictable" mode. Set at run time, after start-up, that is all it changes for
 * the agent (and an incremental marking step may finish in one go): the random seeds were drawn at
 * start-up, so Math.random (backoff jitter) and the hash seeds stay random. As a command-line flag it would
 * fix those seeds too, the same on every host.
 */
export function keepYoungGenerationCommitted(): void {
  setFlagsFromString('--predictable');
}
