/**
 * The soak's timeline: when each backend goes down and comes back, and when the agent is SIGKILLed and
 * restarted. Random, but from a seed, so a run that found something can be replayed (`--seed`).
 */
import { seededRandom } from '../../test/support/fixtures/prng.js';

export interface Outage {
  readonly startMs: number;
  readonly endMs: number;
}

export interface SoakPlan {
  readonly durationMs: number;
  readonly seed: number;
  /** Per backend name, its outages (sorted, apart from each other). */
  readonly outages: Readonly<Record<string, readonly Outage[]>>;
  /** When the agent is SIGKILLed, and how long it stays down. */
  readonly agentKills: readonly Outage[];
}

const between = (rand: () => number, lo: number, hi: number): number => Math.round(lo + rand() * (hi - lo));

/**
 * `count` outages of `minMs`..`maxMs` each, starting in [fromMs, toMs], at least `gapMs` apart: the
 * window is cut in `count` slices and each outage falls at a random place in its slice.
 */
function outagesIn(rand: () => number, count: number, fromMs: number, toMs: number, minMs: number, maxMs: number, gapMs: number): Outage[] {
  const slice = (toMs - fromMs) / count;
  const out: Outage[] = [];
  for (let i = 0; i < count; i++) {
    const length = between(rand, minMs, Math.min(maxMs, slice - gapMs));
    const startMs = between(rand, fromMs + i * slice, fromMs + (i + 1) * slice - length - gapMs);
    out.push({ startMs, endMs: startMs + length });
  }
  return out;
}

export function makePlan(durationMs: number, seed: number, backends: readonly string[]): SoakPlan {
  const rand = seededRandom(seed);
  const outages: Record<string, Outage[]> = {};
  // Each backend: 3 outages of 5-45 s (scaled down for short runs), anywhere after the first 20 s.
  const scale = Math.min(1, durationMs / 600_000);
  for (const name of backends) outages[name] = outagesIn(rand, 3, 20_000 * scale, durationMs - 30_000 * scale, 5_000 * scale, 45_000 * scale, 5_000 * scale);
  // The agent: SIGKILLed twice, in the second and the third quarter of the run, down 1-5 s each time.
  const agentKills = [0.25, 0.55].map((at) => {
    const startMs = between(rand, durationMs * at, durationMs * (at + 0.2));
    return { startMs, endMs: startMs + between(rand, 1_000, 5_000) };
  });
  return { durationMs, seed, outages, agentKills };
}
