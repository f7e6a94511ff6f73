import type { Metric } from '../core/metric-families.js';
import type { EndedProcess } from '../core/sample.js';
import type { Outcome } from './outcome.js';

/** One scaph sample as the delivery core queues it: its timestamp and its metrics, ready to encode. */
export interface QueuedSample {
  /** The sample's wall-clock time, ms since the epoch: the timestamp to write, never the send time. */
  readonly timestampMs: number;
  /**
   * When a counter first met in this entry began counting, ms since the epoch: the reading before this one
   * (timestampMs less the sample's interval: scaph's counters cover the interval up to timestampMs), or for
   * the self-metrics entry when the exporter began. Absent for an entry without figures. What OTLP writes as
   * a cumulative series' start_time_unix_nano.
   */
  readonly startMs?: number;
  readonly metrics: readonly Metric[];
  /**
   * Series present in the previous sample and absent from this one, as a metric of each (name and labels;
   * its value is not meaningful). Filled only for a transport that marks vanished series
   * (`Transport.marksVanishedSeries`: remote-write's staleness markers).
   */
  readonly vanished: readonly Metric[];
  /** Processes that ended during this sample's interval (from the sample). */
  readonly endedProcesses: readonly EndedProcess[];
}

/**
 * What a push transport writes. Everything generic (queue, batching, order, retry, timeouts, counters,
 * self-metrics, spool, shutdown) is the delivery core's, which the agent puts in front of every push
 * transport the same way (src/agent/attach.ts); a transport only encodes a batch and sends it.
 *
 * - `encode` must be pure: the core may encode the same entries again on a retry.
 * - `send` resolves with an Outcome (it may throw on network errors: the core classifies them as
 *   retryable); it must stop when `signal` aborts (request timeout or shutdown deadline).
 * - `close` comes once, at stop, after the queue is flushed or given up on.
 */
export interface Transport<Batch> {
  readonly name: string;
  /** Where it sends, for log lines (a URL without credentials or query, host:port): never a secret. */
  readonly target?: string;
  /**
   * The backend may accept a request yet reject some of its points (OTLP partial success; remote-write 2.0's
   * Samples-Written below what was sent), an ok Outcome with `rejected`: the core counts them in
   * scaph_delivery_rejected_points_total (from 0), which it ships for this transport only.
   */
  readonly reportsRejectedPoints?: boolean;
  /** The wire ends a series that vanished (remote-write's staleness markers): the core fills QueuedSample.vanished. */
  readonly marksVanishedSeries?: boolean;
  /**
   * The part of the stop deadline kept for close (0 to 1; absent: 0, close gets what the flush left): the
   * Pushgateway's group deletion with --delete-on-exit takes half.
   */
  readonly closeShare?: number;
  encode(entries: readonly QueuedSample[]): Batch;
  send(batch: Batch, signal: AbortSignal): Promise<Outcome>;
  /** Releases connections, and may tell the backend goodbye within `deadlineMs` (what is left of the stop deadline). */
  close?(deadlineMs: number): Promise<void>;
}
