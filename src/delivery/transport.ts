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
   * its value is not meaningful). Filled only when the exporter runs with `trackVanishedSeries`, for
   * staleness markers.
   */
  readonly vanished: readonly Metric[];
  /** Processes that ended during this sample's interval (from the sample). */
  readonly endedProcesses: readonly EndedProcess[];
}

/**
 * What a push transport writes. Everything generic (queue, batching, order, retry, timeouts, counters,
 * shutdown) is the delivery core's; a transport only encodes a batch and sends it.
 *
 * - `encode` must be pure: the core may encode the same entries again on a retry.
 * - `send` resolves with an Outcome (it may throw on network errors: the core classifies them as
 *   retryable); it must stop when `signal` aborts (request timeout or shutdown deadline).
 */
export interface Transport<Batch> {
  readonly name: string;
  /** Where it sends, for log lines (a URL without credentials or query, host:port): never a secret. */
  readonly target?: string;
  encode(entries: readonly QueuedSample[]): Batch;
  send(batch: Batch, signal: AbortSignal): Promise<Outcome>;
  close?(): Promise<void>;
}
