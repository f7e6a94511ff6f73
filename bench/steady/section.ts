/** Section 3: steady-state overhead of `scaph run -c` with three push transports. */
import type { Goal, SteadyStateSection, Skipped } from '../results.js';

export interface SteadyPlan {
  readonly quick: boolean;
  readonly outDir: string;
  readonly log: (line: string) => void;
}

export async function runSteadyState(_plan: SteadyPlan): Promise<{ section: SteadyStateSection | Skipped; goals: Goal[] }> {
  return { section: { skipped: 'skipped: `scaph run -c` is not on this branch yet' }, goals: [] };
}
