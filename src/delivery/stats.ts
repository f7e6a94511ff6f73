import type { Metric, MetricLabels } from '../core/metrics.js';

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
  private readonly dropped = new Map<string, number>();
  /**
   * The self-metrics' labels, frozen and the same every step: the encoders keep what they derive from a
   * frozen labels object (label bytes, series slots) instead of working it out again every step.
   */
  private readonly labels: MetricLabels;
  private readonly reasonLabels = new Map<string, MetricLabels>();
  /** The label names of the scaph_delivery_* series. */
  static readonly LABEL_NAMES: readonly string[] = ['transport', 'reason'];

  constructor(readonly transport: string) {
    this.labels = Object.freeze({ transport });
  }

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

  /** The self-metrics, shipped in the same pipeline as the power metrics. */
  toMetrics(nowMs: number = Date.now()): Metric[] {
    const t = this.labels;
    const out: Metric[] = [
      counter('scaph_delivery_samples_sent_total', 'Samples delivered and acknowledged by the backend', t, this.sent),
      counter('scaph_delivery_samples_retried_total', 'Samples whose delivery attempt failed and was retried', t, this.retried),
    ];
    for (const [reason, n] of [...this.dropped].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      out.push(counter('scaph_delivery_samples_dropped_total', 'Samples given up on, by reason', this.reasonLabelsOf(reason), n));
    }
    out.push(
      gauge(
        'scaph_delivery_series_sent',
        'Series in the last step the backend acknowledged (after --keep-metrics, --drop-metrics; scaph_delivery_* not counted)',
        t,
        this.seriesSent,
        'int',
      ),
    );
    out.push(gauge('scaph_delivery_queue_depth', 'Samples waiting in the delivery queue', t, this.queueDepth, 'int'));
    out.push(gauge('scaph_delivery_queue_bytes', 'Approximate memory held by the delivery queue, in bytes', t, this.queueBytes, 'int'));
    out.push(
      gauge(
        'scaph_delivery_next_attempt_seconds',
        'While delivery fails, seconds until the next attempt (0 while delivering or while an attempt is under way)',
        t,
        (this.nextAttemptInMs(nowMs) ?? 0) / 1000,
        'float',
      ),
    );
    if (this.spoolSamples !== null) {
      out.push(gauge('scaph_delivery_spool_samples', 'Samples in the disk spool not yet acknowledged by the backend', t, this.spoolSamples, 'int'));
    }
    if (this.spoolBytes !== null) {
      out.push(gauge('scaph_delivery_spool_bytes', 'Size of the disk spool segment files, in bytes', t, this.spoolBytes, 'int'));
      out.push(counter('scaph_delivery_spool_write_failures_total', 'Samples the disk spool could not store (kept in memory only)', t, this.spoolWriteFailures));
    }
    if (this.lastSuccessMs !== null) {
      out.push(
        gauge(
          'scaph_delivery_last_success_timestamp_seconds',
          'Time of the last delivery the backend acknowledged, in seconds since the epoch',
          t,
          this.lastSuccessMs / 1000,
          'float',
        ),
      );
    }
    return out;
  }

  private reasonLabelsOf(reason: string): MetricLabels {
    let labels = this.reasonLabels.get(reason);
    if (labels === undefined) {
      labels = Object.freeze({ transport: this.transport, reason });
      this.reasonLabels.set(reason, labels);
    }
    return labels;
  }
}

function counter(name: string, help: string, labels: MetricLabels, value: number): Metric {
  return { name, help, type: 'counter', kind: 'int', labels, value };
}

function gauge(name: string, help: string, labels: MetricLabels, value: number, kind: 'int' | 'float'): Metric {
  return { name, help, type: 'gauge', kind, labels, value };
}
