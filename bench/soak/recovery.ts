/**
 * Recovery latency over the soak's backend restarts: from the moment a backend is back (its restart
 * resolved) to the first sample taken during its outage being stored, and to every sample taken before
 * the return being stored. The backend is polled every 200 ms, so each figure is late by at most that
 * (plus one read of the backend). Restarts whose measurement an agent SIGKILL overlaps are kept apart:
 * the agent being down is not delivery latency.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { median } from '../stats.js';
import type { SoakAgent } from './agent.js';
import type { SoakBackend } from './backends.js';
import type { Outage } from './plan.js';

const POLL_MS = 200;
const GIVE_UP_MS = 120_000;

export interface RecoveryMeasure {
  readonly backend: string;
  /** When the backend went down and came back, ms into the run. */
  readonly downAtMs: number;
  readonly upAtMs: number;
  /** From the return to the first sample of the outage stored; null if none was taken or it never came. */
  readonly firstMs: number | null;
  /** From the return to every sample taken before it stored; null if that never happened within 2 minutes. */
  readonly fullMs: number | null;
  /** An agent SIGKILL overlapped the outage or the measurement: not counted in the summary. */
  readonly agentKilled: boolean;
}

export interface RecoverySummary {
  readonly backend: string;
  /** Restarts measured (agent up throughout). */
  readonly restarts: number;
  readonly firstMedianMs: number;
  readonly firstMaxMs: number;
  readonly fullMedianMs: number;
  readonly fullMaxMs: number;
  /** Restarts left out because the agent was SIGKILLed meanwhile. */
  readonly leftOut: number;
}

/** Polls `backend` from its return until the backlog is stored (or 2 minutes passed). Times are wall-clock ms. */
export async function watchRecovery(
  backend: SoakBackend,
  agent: SoakAgent,
  t0: number,
  downAt: number,
  upAt: number,
  agentKills: readonly Outage[],
): Promise<RecoveryMeasure> {
  let firstMs: number | null = null;
  let fullMs: number | null = null;
  while (fullMs === null && Date.now() - upAt < GIVE_UP_MS) {
    const now = Date.now();
    const stored = await backend.delivered().catch(() => new Map<number, number>());
    const before = agent.sampled().filter((t) => t < upAt);
    if (firstMs === null && before.some((t) => t >= downAt && stored.has(t))) firstMs = now - upAt;
    if (before.length > 0 && before.every((t) => stored.has(t))) fullMs = now - upAt;
    if (fullMs === null) await sleep(POLL_MS);
  }
  const endAt = upAt + (fullMs ?? GIVE_UP_MS);
  const agentKilled = agentKills.some((k) => t0 + k.startMs < endAt && t0 + k.endMs > downAt);
  return { backend: backend.name, downAtMs: downAt - t0, upAtMs: upAt - t0, firstMs, fullMs, agentKilled };
}

export function summarizeRecoveries(measures: readonly RecoveryMeasure[], backends: readonly string[]): RecoverySummary[] {
  return backends.map((backend) => {
    const own = measures.filter((m) => m.backend === backend);
    const counted = own.filter((m) => !m.agentKilled);
    const first = counted.map((m) => m.firstMs ?? Number.POSITIVE_INFINITY);
    const full = counted.map((m) => m.fullMs ?? Number.POSITIVE_INFINITY);
    return {
      backend,
      restarts: counted.length,
      firstMedianMs: median(first),
      firstMaxMs: first.length > 0 ? Math.max(...first) : Number.NaN,
      fullMedianMs: median(full),
      fullMaxMs: full.length > 0 ? Math.max(...full) : Number.NaN,
      leftOut: own.length - counted.length,
    };
  });
}
