/**
 * Measures how soon a push transport gets data into a backend that comes back after an outage: samples
 * are exported one per step (wall-clock timestamps, host power encoding the step's rank), the backend is
 * stopped for `outageMs` and started again, and the backend itself is polled (every 100 ms) for what it
 * stores. "Return" is the moment the backend answers its readiness check again, or took a request if that
 * came first (a server may accept one a little before its readiness check says so). Reported: the time
 * from the return to the first stored sample taken during the outage, and to the whole backlog (every
 * sample taken before the return) being stored.
 */
import { silentLogger } from '../../../src/core/log.js';
import type { Exporter } from '../../../src/core/exporter.js';
import type { PushExporter } from '../../../src/delivery/push-exporter.js';
import type { ExporterCommandSpec } from '../../../src/exporters/command.js';
import { commandPlan, type CommandPlan } from '../fixtures/command-plan.js';
import { syntheticSample } from '../fixtures/synthetic-sample.js';

export const HOST_SERIES = 'scaph_host_power_microwatts';
export const AGENT_HOST = 'scaph-recovery-host';

/** Host power of the sample of rank i (two sockets): every sample recognisable by its value. */
export function hostPowerUw(i: number): number {
  return 40_000_000 + i * 1_117;
}

/** The rank of a sample from its host power (inverse of hostPowerUw), or -1. */
export function rankOf(powerUw: number): number {
  const i = (powerUw - 40_000_000) / 1_117;
  return Number.isInteger(i) ? i : -1;
}

/** One host-power point a backend holds. */
export interface StoredPoint {
  readonly timestampMs: number;
  readonly powerUw: number;
}

/** A backend that can be stopped and started again, and asked what it holds. */
export interface RecoveryBackend {
  stop(): Promise<void>;
  start(): Promise<void>;
  /**
   * The host-power points stored, in the backend's order, one entry per stored point. `exportedMs` (every
   * sample's timestamp, by rank) is for backends that keep no timestamp (Pushgateway).
   */
  stored(exportedMs: readonly number[]): Promise<StoredPoint[]>;
}

export interface Recovery {
  readonly outageMs: number;
  /** From the end of stop() to the end of start() (the server's own start-up included). */
  readonly downMs: number;
  /** Samples queued at the stop (in flight) plus those taken until the return. */
  readonly backlog: number;
  /** From the return to the first stored sample taken during the outage. */
  readonly firstMs: number;
  /** From the return to every sample taken before it being stored. */
  readonly fullMs: number;
  /** Client side, exact: from the return to the first acknowledged request. */
  readonly firstAckMs: number;
  /** Client side, exact: from the first acknowledged request to the one that completed the backlog. */
  readonly drainAckMs: number;
  /** Largest scaph_delivery_next_attempt_seconds seen while the backend was down, s. */
  readonly gaugeMaxS: number;
  /** Requests the transport made from the return until the backlog was stored (successful ones and not). */
  readonly attemptsAfterReturn: number;
  /** Every sample's timestamp, in the order exported. */
  readonly exportedMs: readonly number[];
  /** What the backend holds at the end (after the exporter went idle). */
  readonly finalStored: readonly StoredPoint[];
}

export interface RecoveryRun {
  readonly backend: RecoveryBackend;
  readonly exporter: Exporter;
  /** The delivery core behind the exporter (stats). */
  readonly push: PushExporter;
  readonly stepMs: number;
  readonly outageMs: number;
  /** Steps exported (and stored) before the outage. Default 3. */
  readonly stepsBefore?: number;
  /** Latest wins (Pushgateway): the backlog is the newest sample only, and the backend keeps only it. */
  readonly latestOnly?: boolean;
}

const POLL_MS = 100;
const DEADLINE_AFTER_RETURN_MS = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Exports one sample per step on the wall clock until stopped; remembers each timestamp. */
class Ticker {
  readonly exportedMs: number[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(exporter: Exporter, stepMs: number) {
    this.done = this.loop(exporter, stepMs);
  }

  private async loop(exporter: Exporter, stepMs: number): Promise<void> {
    const t0 = Math.ceil(Date.now() / stepMs) * stepMs;
    for (let i = 0; this.running; i++) {
      const ts = t0 + i * stepMs;
      const wait = ts - Date.now();
      if (wait > 0) await sleep(wait);
      if (!this.running) break;
      const power = hostPowerUw(i);
      exporter.export(syntheticSample({ timestampMs: ts, hostname: AGENT_HOST, socketPowersUw: [power - 19_000_000, 19_000_000] }));
      this.exportedMs.push(ts);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

async function until(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`recovery: ${what} not reached within ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

async function storedTimes(backend: RecoveryBackend, exportedMs: readonly number[]): Promise<Set<number>> {
  return new Set((await backend.stored(exportedMs)).map((p) => p.timestampMs));
}

/** One outage: see the file comment. The exporter must be started; it is stopped at the end. */
export async function measureRecovery(run: RecoveryRun): Promise<Recovery> {
  const { backend, push, stepMs, outageMs } = run;
  const ticker = new Ticker(run.exporter, stepMs);
  try {
    const before = run.stepsBefore ?? 3;
    await until(async () => ticker.exportedMs.length >= before && (await backend.stored(ticker.exportedMs)).length > 0 && push.stats.queueDepth === 0, 20_000, 'the first samples');
    await backend.stop();
    const downAt = Date.now();
    const queuedAtStop = push.stats.queueDepth;
    const acks = watchAcks(push, downAt);
    let gaugeMaxS = 0;
    while (Date.now() - downAt < outageMs) {
      gaugeMaxS = Math.max(gaugeMaxS, (push.stats.nextAttemptInMs() ?? 0) / 1000);
      await sleep(Math.min(POLL_MS, outageMs - (Date.now() - downAt)));
    }
    await backend.start();
    // A server may take a request a little before its readiness check answers: then it was back by then.
    const upAt = Math.min(Date.now(), acks.firstAckAt ?? Number.POSITIVE_INFINITY);
    const attemptsAtReturn = push.stats.attempts;
    const beforeReturn = ticker.exportedMs.filter((t) => t < upAt);
    // What was queued at the stop, and every sample taken until the return (latest wins: the newest only).
    const backlog = run.latestOnly ? 1 : queuedAtStop + beforeReturn.filter((t) => t >= downAt).length;
    // Taken while the backend was down, so stored after its return for sure; latest wins: whatever is newest.
    const fromOutage = (t: number): boolean => t >= downAt && (run.latestOnly === true || t < upAt);
    let firstMs = -1;
    let fullMs = -1;
    await until(
      async () => {
        const now = Date.now();
        const stored = await storedTimes(backend, ticker.exportedMs);
        if (firstMs < 0 && [...stored].some(fromOutage)) firstMs = now - upAt;
        const complete = run.latestOnly ? firstMs >= 0 : beforeReturn.every((t) => stored.has(t));
        if (complete && fullMs < 0) fullMs = now - upAt;
        return fullMs >= 0;
      },
      DEADLINE_AFTER_RETURN_MS,
      'the backlog stored',
    );
    const attemptsAfterReturn = push.stats.attempts - attemptsAtReturn;
    const { firstAckAt, backlogAckAt } = await acks.until(backlog);
    await ticker.stop();
    await push.idle();
    return {
      outageMs,
      downMs: upAt - downAt,
      backlog,
      firstMs,
      fullMs,
      firstAckMs: firstAckAt - upAt,
      drainAckMs: backlogAckAt - firstAckAt,
      gaugeMaxS,
      attemptsAfterReturn,
      exportedMs: ticker.exportedMs,
      finalStored: await backend.stored(ticker.exportedMs),
    };
  } finally {
    await ticker.stop();
    await run.exporter.stop(5000);
  }
}

/**
 * Watches the delivery core's counters every 5 ms from the stop: when the first request was acknowledged
 * and when the one that took the sent count past the backlog was (lastSuccessMs is the exact time of each).
 */
function watchAcks(
  push: PushExporter,
  downAt: number,
): { readonly firstAckAt: number | null; until(backlog: number): Promise<{ firstAckAt: number; backlogAckAt: number }> } {
  const sentAtStop = push.stats.sent;
  let firstAckAt = -1;
  let backlogAckAt = -1;
  let target = Number.POSITIVE_INFINITY;
  const timer = setInterval(() => {
    const last = push.stats.lastSuccessMs;
    if (last === null || last < downAt) return;
    if (firstAckAt < 0) firstAckAt = last;
    if (backlogAckAt < 0 && push.stats.sent - sentAtStop >= target) backlogAckAt = last;
  }, 5);
  return {
    get firstAckAt() {
      return firstAckAt < 0 ? null : firstAckAt;
    },
    async until(backlog) {
      target = backlog;
      try {
        await until(() => backlogAckAt >= 0, DEADLINE_AFTER_RETURN_MS, 'the backlog acknowledged');
      } finally {
        clearInterval(timer);
      }
      return { firstAckAt, backlogAckAt };
    },
  };
}

/** `[recovery] <what>: outage 12 s (down 12.4 s), backlog 13 samples: first stored 2.31 s after the return, all 2.52 s (bound 5 s) …` */
export function describeRecovery(what: string, r: Recovery, boundMs: number): string {
  const s = (ms: number): string => (ms / 1000).toFixed(2);
  return (
    `[recovery] ${what}: outage ${r.outageMs / 1000} s (down ${s(r.downMs)} s), backlog ${r.backlog} samples: ` +
    `first outage sample stored ${s(r.firstMs)} s after the return, whole backlog ${s(r.fullMs)} s (bound ${boundMs / 1000} s; ` +
    `first request acknowledged at ${s(r.firstAckMs)} s, backlog acknowledged ${r.drainAckMs} ms later, ${r.attemptsAfterReturn} requests); ` +
    `next-attempt gauge up to ${r.gaugeMaxS.toFixed(2)} s while down`
  );
}

/** The subcommand's settings and exporter from argv (the CLI's own parsers), as `scaph <name> …` would build them on AGENT_HOST. */
export function planFor(spec: ExporterCommandSpec, argv: readonly string[]): Promise<CommandPlan> {
  return commandPlan(spec, argv, { logger: silentLogger(), hostname: AGENT_HOST, version: '0.0.0-test' });
}
