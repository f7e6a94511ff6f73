import type { Logger } from '../core/log.js';
import { periodMs } from '../core/test-period.js';
import type { DeliveryStats } from './stats.js';

/** One summary per push exporter at most this often (10 minutes). */
export const DELIVERY_SUMMARY_EVERY_MS = 600_000;
/** Test hook: a shorter summary period, ms (see core/test-period.ts). */
export const DELIVERY_SUMMARY_ENV = 'SCAPH_TEST_DELIVERY_SUMMARY_MS';

/** The summary period: DELIVERY_SUMMARY_EVERY_MS, unless a test shortened it. */
export function deliverySummaryEveryMs(env: NodeJS.ProcessEnv = process.env): number {
  return periodMs(DELIVERY_SUMMARY_ENV, DELIVERY_SUMMARY_EVERY_MS, env);
}

interface Counts {
  readonly sent: number;
  readonly retried: number;
  readonly failedAttempts: number;
  readonly dropped: Readonly<Record<string, number>>;
}

/**
 * Says when delivery works, not only when it fails: one info line when the backend accepts the first batch
 * (which transport and where, how many samples), then one summary per period (what was delivered, retried
 * and dropped since the previous one, what is queued) and one at stop. A period with failed attempts or
 * drops is summarised as a warning, so `journalctl -p warning` sees it; failures themselves are FailureLog's.
 */
export class DeliverySummaryLog {
  private accepted = false;
  /** The first period starts with the first sample handed over (not at construction: the sensor may take a while to start). */
  private periodStartMs: number | null = null;
  private last: Counts = { sent: 0, retried: 0, failedAttempts: 0, dropped: {} };

  constructor(
    private readonly logger: Logger,
    private readonly stats: DeliveryStats,
    private readonly target: string | undefined,
    private readonly everyMs: number = deliverySummaryEveryMs(),
    private readonly now: () => number = Date.now,
  ) {}

  /** A batch of `samples` was acknowledged (the stats already count it). */
  delivered(samples: number): void {
    if (this.accepted) return;
    this.accepted = true;
    this.logger.info({ ...this.where(), samples, series: this.stats.seriesSent }, 'first delivery accepted by the backend');
  }

  /** Called as delivery goes on (each sample handed over, each retry): a summary once the period is over. */
  tick(): void {
    const t = this.now();
    this.periodStartMs ??= t;
    if (t - this.periodStartMs >= this.everyMs) this.summary(t, 'delivery summary');
  }

  /** At stop: what happened since the last summary, if anything did. */
  final(): void {
    const t = this.now();
    if (this.periodStartMs === null) return;
    const c = this.counts();
    if (c.sent === this.last.sent && c.retried === this.last.retried && total(c.dropped) === total(this.last.dropped) && this.stats.queueDepth === 0) return;
    this.summary(t, 'delivery summary at stop');
  }

  private summary(t: number, msg: string): void {
    const c = this.counts();
    const dropped = delta(c.dropped, this.last.dropped);
    const failedAttempts = c.failedAttempts - this.last.failedAttempts;
    const fields = {
      ...this.where(),
      periodS: Math.round((t - (this.periodStartMs ?? t)) / 1000),
      sent: c.sent - this.last.sent,
      retried: c.retried - this.last.retried,
      failedAttempts,
      dropped: total(dropped),
      ...(total(dropped) > 0 ? { droppedBy: dropped } : {}),
      queued: this.stats.queueDepth,
      ...(this.stats.spoolSamples === null ? {} : { spooled: this.stats.spoolSamples }),
      sentTotal: c.sent,
    };
    if (failedAttempts > 0 || total(dropped) > 0) this.logger.warn(fields, msg);
    else this.logger.info(fields, msg);
    this.last = c;
    this.periodStartMs = t;
  }

  private where(): { transport: string; target?: string } {
    return { transport: this.stats.transport, ...(this.target === undefined ? {} : { target: this.target }) };
  }

  private counts(): Counts {
    const s = this.stats.snapshot(this.now());
    return { sent: s.sent, retried: s.retried, failedAttempts: s.failedAttempts, dropped: s.dropped };
  }
}

function total(byReason: Readonly<Record<string, number>>): number {
  let n = 0;
  for (const k in byReason) n += byReason[k] ?? 0;
  return n;
}

/** Per reason, what was added since `before` (reasons with nothing new left out). */
function delta(now: Readonly<Record<string, number>>, before: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k in now) {
    const d = (now[k] ?? 0) - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}
