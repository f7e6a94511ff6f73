import type { DeliveryFigures } from '../core/metrics.js';

/** Why entries were dropped; transports may add their own (e.g. http_400). */
export const DROP_QUEUE_FULL = 'queue_full';
export const DROP_TOO_OLD = 'too_old';
export const DROP_SHUTDOWN = 'shutdown';
export const DROP_ENCODE_ERROR = 'encode_error';

export interface DeliveryStatsSnapshot {
  readonly sent: number;
  readonly retried: number;
  readonly dropped: Readonly<Record<string, number>>;
  readonly droppedTotal: number;
  readonly queueDepth: number;
  readonly queueBytes: number;
  readonly lastSuccessMs: number | null;
  readonly attempts: number;
  readonly failedAttempts: number;
  /** While failing, ms until the next attempt (0 while one is in flight); null while delivering. */
  readonly nextAttemptInMs: number | null;
  readonly seriesSent: number;
}

/**
 * Counters of one push transport. "Samples" here are scaph samples (one per step), the unit the
 * queue holds, not individual series points.
 */
export class DeliveryStats {
  sent = 0;
  retried = 0;
  attempts = 0;
  failedAttempts = 0;
  queueDepth = 0;
  queueBytes = 0;
  lastSuccessMs: number | null = null;
  /** While failing: when the next attempt is due (wall clock, ms); null while delivering. */
  nextAttemptAtMs: number | null = null;
  /** Disk spool backlog (records not yet acknowledged) and size; null when the transport has no spool. */
  spoolSamples: number | null = null;
  spoolBytes: number | null = null;
  /** Samples the disk spool refused to store (disk full, read-only): kept in memory only. */
  spoolWriteFailures = 0;
  /**
   * Series in the newest step the backend acknowledged: its metrics after the filters, one series each
   * (not this transport's own scaph_delivery_* series, nor staleness markers). 0 until the first one.
   */
  seriesSent = 0;
  /**
   * Data points the backend rejected within requests it accepted (OTLP partial success, remote-write 2.0's
   * Written headers); null for a transport that cannot report them (Transport.reportsRejectedPoints).
   */
  rejectedPoints: number | null = null;
  private readonly dropped = new Map<string, number>();

  constructor(readonly transport: string) {}

  addDropped(reason: string, count: number): void {
    if (count <= 0) return;
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + count);
  }

  droppedFor(reason: string): number {
    return this.dropped.get(reason) ?? 0;
  }

  /** ms until the next attempt while failing (0 once it is due or under way), null while delivering. */
  nextAttemptInMs(nowMs: number = Date.now()): number | null {
    return this.nextAttemptAtMs === null ? null : Math.max(0, this.nextAttemptAtMs - nowMs);
  }

  snapshot(nowMs: number = Date.now()): DeliveryStatsSnapshot {
    let droppedTotal = 0;
    for (const n of this.dropped.values()) droppedTotal += n;
    return {
      sent: this.sent,
      retried: this.retried,
      dropped: Object.fromEntries(this.dropped),
      droppedTotal,
      queueDepth: this.queueDepth,
      queueBytes: this.queueBytes,
      lastSuccessMs: this.lastSuccessMs,
      attempts: this.attempts,
      failedAttempts: this.failedAttempts,
      nextAttemptInMs: this.nextAttemptInMs(nowMs),
      seriesSent: this.seriesSent,
    };
  }

  /** What the scaph_delivery_* self-metrics say (the metrics view names and builds them: core/metrics.ts). */
  figures(nowMs: number = Date.now()): DeliveryFigures {
    return {
      sent: this.sent,
      retried: this.retried,
      dropped: Object.fromEntries(this.dropped),
      rejectedPoints: this.rejectedPoints,
      seriesSent: this.seriesSent,
      queueDepth: this.queueDepth,
      queueBytes: this.queueBytes,
      nextAttemptInMs: this.nextAttemptInMs(nowMs),
      spoolSamples: this.spoolSamples,
      spoolBytes: this.spoolBytes,
      spoolWriteFailures: this.spoolWriteFailures,
      lastSuccessMs: this.lastSuccessMs,
    };
  }
}
