import type { Logger } from '../core/log.js';
import type { DeliveryStats } from './stats.js';

export interface FailureLogOptions {
  /** A given error text is logged at most once per this period. */
  readonly repeatEveryMs: number;
  /** While failing, one summary line at most this often. */
  readonly summaryEveryMs: number;
}

export const DEFAULT_FAILURE_LOG: FailureLogOptions = { repeatEveryMs: 60_000, summaryEveryMs: 60_000 };

const MAX_REMEMBERED_ERRORS = 64;

/**
 * Rate-limited logging of delivery failures: one line per distinct error (status + body excerpt, or
 * network error) per period, and while failing one summary line per period with the counters. Keeps a
 * backend outage from flooding the logs with a line per attempt.
 */
export class FailureLog {
  private readonly lastLogged = new Map<string, number>();
  private lastSummaryMs: number | null = null;
  private failingSinceMs: number | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly stats: DeliveryStats,
    private readonly options: FailureLogOptions = DEFAULT_FAILURE_LOG,
    private readonly now: () => number = Date.now,
  ) {}

  /** A failed attempt: `action` is what the core does about it (retry / drop); `waitMs`: until the retry. */
  failure(error: string, action: 'retry' | 'drop', reason?: string, waitMs?: number): void {
    const t = this.now();
    this.failingSinceMs ??= t;
    const key = `${action}|${error}`;
    const last = this.lastLogged.get(key);
    if (last === undefined || t - last >= this.options.repeatEveryMs) {
      if (this.lastLogged.size >= MAX_REMEMBERED_ERRORS) this.lastLogged.clear();
      this.lastLogged.set(key, t);
      const fields = { transport: this.stats.transport, error, ...(reason ? { reason } : {}), ...(waitMs === undefined ? {} : { retryInS: seconds(waitMs) }) };
      if (action === 'drop') this.logger.error(fields, 'delivery rejected by the backend; dropping the batch (not retried)');
      else this.logger.warn(fields, 'delivery failed; will retry');
    }
    this.maybeSummary(t);
  }

  /** A successful send: ends a failing period (and says so once). */
  success(): void {
    if (this.failingSinceMs === null) return;
    const t = this.now();
    this.logger.info(
      { transport: this.stats.transport, failedForMs: t - this.failingSinceMs, ...this.stats.snapshot() },
      'delivery recovered',
    );
    this.failingSinceMs = null;
    this.lastSummaryMs = null;
  }

  private maybeSummary(t: number): void {
    if (this.lastSummaryMs !== null && t - this.lastSummaryMs < this.options.summaryEveryMs) return;
    if (this.lastSummaryMs === null && this.failingSinceMs !== null && t - this.failingSinceMs < this.options.summaryEveryMs) return;
    this.lastSummaryMs = t;
    const s = this.stats.snapshot(t);
    this.logger.warn(
      {
        transport: this.stats.transport,
        failingForMs: this.failingSinceMs === null ? 0 : t - this.failingSinceMs,
        nextAttemptInS: s.nextAttemptInMs === null ? 0 : seconds(s.nextAttemptInMs),
        sent: s.sent,
        retried: s.retried,
        dropped: s.dropped,
        queueDepth: s.queueDepth,
        lastSuccessMs: s.lastSuccessMs,
      },
      'delivery failing: summary',
    );
  }
}

/** ms as seconds with one decimal, for log fields. */
function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}
