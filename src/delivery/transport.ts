import type { Metric } from '../core/metric-families.js';
import type { EndedProcess } from '../core/sample.js';
import type { Outcome } from './outcome.js';

/** One scaph sample as the delivery core queues it: its timestamp and its metrics, ready to encode. */
export interface QueuedSample {
  /** The sample's wall-clock time, ms since the epoch: the timestamp to write, never the send time. */
  readonly timestampMs: number;
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
  /** The wire ends a series that vanished (remote-write's staleness markers): the core fills QueuedSample.vanished. */
  readonly marksVanishedSeries?: boolean;
  /**
   * The backend says how many points it wrote (remote-write 2.0), so an ok Outcome may carry rejectedPoints:
   * the core then keeps the scaph_delivery_points_rejected_total counter (from 0).
   */
  readonly reportsRejectedPoints?: boolean;
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
