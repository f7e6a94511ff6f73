/** Section 2: encoding throughput per sample against the npm peers (needs the push transports). */
import type { EncodingSection, Goal, Skipped } from '../results.js';

export interface EncodingPlan {
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

export async function runEncoding(_plan: EncodingPlan): Promise<{ section: EncodingSection | Skipped; goals: Goal[] }> {
  return {
    section: { skipped: 'skipped: the push transports are not on this branch yet' },
    goals: [],
  };
}
