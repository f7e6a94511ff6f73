/** The soak's figures: sampled vs delivered per backend, RSS per minute, and their rendering. */
import { RECOVERY_FLOOR_MS } from '../../src/delivery/retry.js';
import type { RssPoint } from './agent.js';
import type { SoakPlan } from './plan.js';
import type { RecoverySummary } from './recovery.js';

export interface DeliveryRow {
  readonly backend: string;
  readonly sampled: number;
  /** Distinct sampled timestamps the backend holds. */
  readonly delivered: number;
  readonly lost: number;
  /** Samples taken while this backend was down: they went out from the queue or the spool after. */
  readonly sampledWhileDown: number;
  /** Samples that arrived more than once (sent again after a SIGKILL or a reply lost with the connection). */
  readonly resent: number;
}

export interface RssSummary {
  /** Highest RSS seen in each minute, MB. */
  readonly maxPerMinuteMb: readonly number[];
  /** Per run of the agent: median RSS of its second minute and of its last minute, MB. */
  readonly runs: ReadonlyArray<{ readonly run: number; readonly earlyMedianMb: number; readonly lateMedianMb: number; readonly minutes: number }>;
}

export interface SoakReport {
  readonly minutes: number;
  readonly stepS: number;
  readonly seed: number;
  readonly plan: SoakPlan;
  readonly agentExitCode: number | null;
  readonly delivery: readonly DeliveryRow[];
  readonly rss: RssSummary;
  /** Per backend, how soon it got data again after its restarts. */
  readonly recovery: readonly RecoverySummary[];
  readonly agentLog: Readonly<Record<string, number>>;
}

/** The documented recovery bound at this step: max(5 s, step). */
export function recoveryBoundMs(stepS: number): number {
  return Math.max(RECOVERY_FLOOR_MS, stepS * 1000);
}

export function deliveryRows(
  sampled: readonly number[],
  backends: ReadonlyArray<{ name: string; delivered: ReadonlyMap<number, number> }>,
  plan: SoakPlan,
  t0: number,
): DeliveryRow[] {
  return backends.map(({ name, delivered }) => {
    const held = sampled.filter((t) => delivered.has(t));
    const outages = plan.outages[name] ?? [];
    return {
      backend: name,
      sampled: sampled.length,
      delivered: held.length,
      lost: sampled.length - held.length,
      sampledWhileDown: sampled.filter((t) => outages.some((o) => t >= t0 + o.startMs && t < t0 + o.endMs)).length,
      resent: held.reduce((n, t) => n + Math.max(0, (delivered.get(t) ?? 1) - 1), 0),
    };
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor(sorted.length / 2)] as number);
}

export function rssSummary(points: readonly RssPoint[], minutes: number): RssSummary {
  const maxPerMinuteMb: number[] = [];
  for (let m = 0; m < Math.ceil(minutes); m++) {
    const inMinute = points.filter((p) => p.atMs >= m * 60_000 && p.atMs < (m + 1) * 60_000).map((p) => p.rssMb);
    maxPerMinuteMb.push(inMinute.length > 0 ? round1(Math.max(...inMinute)) : Number.NaN);
  }
  const runs = [...new Set(points.map((p) => p.run))].map((run) => {
    const own = points.filter((p) => p.run === run);
    const start = own[0]?.atMs ?? 0;
    const end = own[own.length - 1]?.atMs ?? 0;
    return {
      run,
      minutes: round1((end - start) / 60_000),
      earlyMedianMb: round1(median(own.filter((p) => p.atMs >= start + 60_000 && p.atMs < start + 120_000).map((p) => p.rssMb))),
      lateMedianMb: round1(median(own.filter((p) => p.atMs >= end - 60_000).map((p) => p.rssMb))),
    };
  });
  return { maxPerMinuteMb, runs };
}

function seconds(ms: number): string {
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'n/a';
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export function renderReport(r: SoakReport): string {
  const lines = [
    `scaph soak: ${r.minutes} min, step ${r.stepS} s, seed ${r.seed}; agent SIGKILLed at ${r.plan.agentKills.map((k) => `${Math.round(k.startMs / 1000)} s`).join(' and ')}; final stop exit ${r.agentExitCode}`,
    '',
    '| backend | down (s into the run) | sampled | of which while down | delivered | lost | resent |',
    '|---|---|---|---|---|---|---|',
    ...r.delivery.map((d) => {
      const outages = (r.plan.outages[d.backend] ?? []).map((o) => `${Math.round(o.startMs / 1000)}-${Math.round(o.endMs / 1000)}`).join(', ');
      return `| ${d.backend} | ${outages} | ${d.sampled} | ${d.sampledWhileDown} | ${d.delivered} | ${d.lost} | ${d.resent} |`;
    }),
    '',
    `Recovery after each backend restart (bound: first send within max(5 s, step) = ${recoveryBoundMs(r.stepS) / 1000} s; polled every 0.2 s):`,
    '',
    '| backend | restarts | first outage sample stored after the return: median / max | whole backlog stored: median / max |',
    '|---|---|---|---|',
    ...r.recovery.map((x) => {
      const left = x.leftOut > 0 ? ` (+${x.leftOut} with the agent SIGKILLed meanwhile, not counted)` : '';
      return `| ${x.backend} | ${x.restarts}${left} | ${seconds(x.firstMedianMs)} / ${seconds(x.firstMaxMs)} | ${seconds(x.fullMedianMs)} / ${seconds(x.fullMaxMs)} |`;
    }),
    '',
    `RSS, highest per minute (MB): ${r.rss.maxPerMinuteMb.join(', ')}`,
    ...r.rss.runs.map((x) => `agent run ${x.run} (${x.minutes} min): median RSS ${x.earlyMedianMb} MB in its 2nd minute, ${x.lateMedianMb} MB in its last`),
    '',
    `agent log lines (warn and above): ${Object.entries(r.agentLog).map(([m, n]) => `${n} × "${m}"`).join('; ')}`,
    '',
  ];
  return lines.join('\n');
}
