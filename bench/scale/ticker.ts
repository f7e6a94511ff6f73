/**
 * Lets the processes of a synthetic tree use CPU while a program is measured on it, so the agent's
 * figures move as on a live host (powers, energies, the order of the top consumers) instead of repeating
 * a still tree: every second a rotating fifth of the processes gain 1 to 3 ticks each (every process
 * moves every 5 s), and the machine's busy and idle ticks grow by their sum each (half busy).
 */
import type { FakeProcess, ProcfsTree } from '../../test/support/fixtures/procfs-tree.js';

const EVERY_MS = 1000;
const SHARES = 5;

/** Starts ticking `processes` of `tree`; returns what stops it (the timer is unref'd). */
export function tickProcesses(tree: ProcfsTree, processes: readonly FakeProcess[]): () => void {
  let turn = 0;
  const timer = setInterval(() => {
    let ticks = 0;
    for (let i = turn % SHARES; i < processes.length; i += SHARES) {
      const p = processes[i] as FakeProcess;
      const n = 1 + (i % 3);
      p.utime += n;
      ticks += n;
      tree.writeProcessStat(p);
    }
    tree.advanceCpu({ user: ticks, idle: ticks });
    turn++;
  }, EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
