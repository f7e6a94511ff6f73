import { errorText } from '../core/errors.js';
import type { Exporter, MissedStep } from '../core/exporter.js';
import type { Logger } from '../core/log.js';
import type { Metric } from '../core/metric-families.js';
import { MetricsView } from '../core/metrics-view.js';
import type { Sample } from '../core/sample.js';
import { DEFAULT_FAILURE_LOG, FailureLog, type FailureLogOptions } from './failure-log.js';
import { classifyNetworkError, type Outcome, type Rejection } from './outcome.js';
import { BoundedQueue } from './queue.js';
import { DEFAULT_BACKOFF, MAX_RETRY_AFTER_MS, RetryLaterError, retryUntilDone, type BackoffOptions } from './retry.js';
import { VanishedSeriesTracker } from './series.js';
import { DeliveryStats, DROP_ENCODE_ERROR, DROP_QUEUE_FULL, DROP_SHUTDOWN, DROP_TOO_OLD } from './stats.js';
import { RejectionLog } from './rejection-log.js';
import { DeliverySummaryLog, deliverySummaryEveryMs } from './summary-log.js';
import type { QueuedSample, Transport } from './transport.js';

export interface PushExporterOptions {
  readonly logger: Logger;
  /** The exporter's metrics view: its metrics (selection, filters, version) and its delivery self-metrics. Default: every process, no filter, no version. */
  readonly view?: MetricsView;
  /** Queue cap in samples (steps). 1 = "latest wins" (Pushgateway). Default 1000. */
  readonly maxQueueSamples?: number;
  /** Queue cap in (approximate) bytes. Default 64 MiB. */
  readonly maxQueueBytes?: number;
  /** Most samples (steps) per request. Default 10. */
  readonly maxSamplesPerSend?: number;
  /** Samples older than this (vs the wall clock) are dropped, not sent. null = no limit. Default null. */
  readonly maxAgeMs?: number | null;
  /** Per-request timeout (covers connect, send and response). Default 10 s. */
  readonly timeoutMs?: number;
  /**
   * Waits between failed attempts: doubling from minDelayMs, capped at maxDelayMs (the recovery bound), jittered.
   * Default 0.5 s to 5 s; the commands give max(5 s, step) (backoffForStep).
   */
  readonly backoff?: BackoffOptions;
  /** Longest wait a server's Retry-After is honoured for; longer ones are cut to it. Default max(30 s, backoff.maxDelayMs). */
  readonly maxRetryAfterMs?: number;
  /** Append the scaph_delivery_* self-metrics to every batch. Default true. */
  readonly selfMetrics?: boolean;
  /**
   * A step without a sample (Exporter.missed) is queued as an entry without figures, so the next send
   * replaces what the backend holds as current (the Pushgateway: its group is the latest push, shown with
   * no timestamp). Default false: a backend storing each point at its own timestamp has nothing to withdraw.
   */
  readonly withdrawOnMissedStep?: boolean;
  readonly failureLog?: FailureLogOptions;
  /**
   * How often the delivery summary line comes, ms. Default 10 minutes (DELIVERY_SUMMARY_EVERY_MS; tests
   * shorten it with $SCAPH_TEST_DELIVERY_SUMMARY_MS).
   */
  readonly summaryEveryMs?: number;
  /** Wall clock, ms (tests). */
  readonly now?: () => number;
}

/** What an exporter's spec tunes of its delivery core; the rest (logger, view, backoff) is the agent's (src/agent/attach.ts). */
export type DeliveryTuning = Pick<PushExporterOptions, 'maxQueueSamples' | 'maxQueueBytes' | 'maxSamplesPerSend' | 'maxAgeMs' | 'timeoutMs' | 'withdrawOnMissedStep'>;

/** Told when the core is done with queued entries; a disk spool acknowledges its records with it. */
export interface SettleListener {
  /** Entries sent (ok) or given up on (drop), oldest first. Entries before them in the queue are done too. */
  settled(entries: readonly QueuedSample[], outcome: Outcome): void;
}

/** An Exporter backed by the delivery core, with its counters and a test hook. */
export interface PushExporter extends Exporter {
  readonly stats: DeliveryStats;
  /** Resolves once the queue is empty and no request is in flight. */
  idle(): Promise<void>;
  /**
   * Puts a durable spool behind the queue: settled entries are reported to it, and entries still queued
   * at shutdown are not counted as dropped (the spool replays them on the next start).
   */
  attachSpool(listener: SettleListener): void;
}

export const PUSH_DEFAULTS = {
  maxQueueSamples: 1000,
  maxQueueBytes: 64 * 1024 * 1024,
  maxSamplesPerSend: 10,
  timeoutMs: 10_000,
} as const;

interface Entry extends QueuedSample {
  readonly seq: number;
  readonly bytes: number;
  inFlight: boolean;
}

/**
 * Wraps a Transport with the delivery core: `export` converts the sample to metrics and enqueues it
 * (it never waits on the network); one send loop takes the oldest entries first, one request in
 * flight at a time so every series goes out in timestamp order, retries with backoff, and counts what
 * it sends, retries and drops. The wait between failed attempts is capped (backoff.maxDelayMs: max(5 s,
 * step) from the commands), so a backend that returns is tried within that bound; after a success the
 * next batch goes at once, so a backlog drains back to back at the transport's full rate.
 */
export function createPushExporter<Batch>(transport: Transport<Batch>, options: PushExporterOptions): PushExporter {
  return new PushExporterImpl(transport, options);
}

class PushExporterImpl<Batch> implements PushExporter {
  readonly name: string;
  readonly stats: DeliveryStats;
  private readonly queue: BoundedQueue<Entry>;
  private readonly failures: FailureLog;
  private readonly summary: DeliverySummaryLog;
  private readonly rejections: RejectionLog;
  private readonly vanished: VanishedSeriesTracker | null;
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private readonly maxPerSend: number;
  private readonly timeoutMs: number;
  private readonly maxAgeMs: number | null;
  private readonly backoff: BackoffOptions;
  private readonly maxRetryAfterMs: number;
  private readonly view: MetricsView;
  /** In-flight entries evicted by a full queue: counted when their request ends (sent or dropped). */
  private evictedInFlight = 0;
  private seq = 0;
  private selfTimestampMs = 0;
  /** When this exporter began: its self-metrics counters count from here. */
  private readonly createdAtMs: number;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private idleWaiters: Array<() => void> = [];
  private busy = false;
  private spool: SettleListener | null = null;
  private retryAfterLogged = { askedS: -1, atMs: 0 };

  constructor(
    private readonly transport: Transport<Batch>,
    private readonly options: PushExporterOptions,
  ) {
    this.name = transport.name;
    this.stats = new DeliveryStats(transport.name);
    this.queue = new BoundedQueue<Entry>({
      maxSamples: options.maxQueueSamples ?? PUSH_DEFAULTS.maxQueueSamples,
      maxBytes: options.maxQueueBytes ?? PUSH_DEFAULTS.maxQueueBytes,
    });
    this.now = options.now ?? Date.now;
    this.failures = new FailureLog(options.logger, this.stats, options.failureLog ?? DEFAULT_FAILURE_LOG, this.now);
    this.summary = new DeliverySummaryLog(options.logger, this.stats, transport.target, options.summaryEveryMs ?? deliverySummaryEveryMs(), this.now);
    this.rejections = new RejectionLog(options.logger, transport.name);
    if (transport.reportsRejectedPoints === true) this.stats.rejectedPoints = 0;
    this.vanished = transport.marksVanishedSeries === true ? new VanishedSeriesTracker() : null;
    if (transport.reportsRejectedPoints === true) this.stats.rejectedPoints = 0;
    this.maxPerSend = Math.max(1, options.maxSamplesPerSend ?? PUSH_DEFAULTS.maxSamplesPerSend);
    this.timeoutMs = options.timeoutMs ?? PUSH_DEFAULTS.timeoutMs;
    this.maxAgeMs = options.maxAgeMs ?? null;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? Math.max(MAX_RETRY_AFTER_MS, this.backoff.maxDelayMs);
    this.view = options.view ?? new MetricsView();
    this.createdAtMs = this.now();
  }

  async start(): Promise<void> {
    this.loop ??= this.run();
  }

  export(sample: Sample): void {
    if (this.stopping) return;
    this.enqueue(sample.timestampMs, this.view.metrics(sample), sample.endedProcesses, sample.timestampMs - sample.intervalMs);
  }

  missed(step: MissedStep): boolean {
    if (this.stopping || this.options.withdrawOnMissedStep !== true) return false;
    this.enqueue(step.timestampMs, [], []);
    return true;
  }

  private enqueue(timestampMs: number, metrics: readonly Metric[], endedProcesses: QueuedSample['endedProcesses'], startMs?: number): void {
    const entry: Entry = {
      seq: this.seq++,
      timestampMs,
      ...(startMs === undefined ? {} : { startMs }),
      metrics,
      vanished: this.vanished ? this.vanished.next(metrics) : [],
      endedProcesses,
      bytes: estimateBytes(metrics),
      inFlight: false,
    };
    for (const old of this.queue.push(entry)) {
      if (old.inFlight) this.evictedInFlight += 1;
      else {
        this.stats.addDropped(DROP_QUEUE_FULL, 1);
        this.spool?.settled([old], { kind: 'drop', reason: DROP_QUEUE_FULL, error: 'queue full' });
      }
    }
    this.updateDepth();
    this.summary.tick();
    this.wake?.();
  }

  stop(deadlineMs: number): Promise<void> {
    this.stopped ??= this.stopWithin(deadlineMs);
    return this.stopped;
  }

  /** Flushes within the deadline, less the transport's share (closeShare), which close() then gets with what is left. */
  private async stopWithin(deadlineMs: number): Promise<void> {
    const startedMs = performance.now();
    this.stopping = true;
    this.wake?.();
    const loop = this.loop ?? Promise.resolve();
    const flushMs = Math.max(0, deadlineMs) * (1 - Math.min(1, Math.max(0, this.transport.closeShare ?? 0)));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), flushMs);
    });
    const how = await Promise.race([loop.then(() => 'flushed' as const), deadline]);
    clearTimeout(timer);
    if (how === 'deadline') {
      this.abort.abort(new Error('shutdown deadline reached'));
      await loop;
    }
    const left = this.queue.drain().length + this.evictedInFlight;
    this.evictedInFlight = 0;
    this.updateDepth();
    if (this.spool) {
      if (left > 0) this.options.logger.info({ transport: this.name, samples: left }, 'unsent samples stay in the spool for the next start');
    } else {
      this.stats.addDropped(DROP_SHUTDOWN, left);
      if (left > 0) this.options.logger.warn({ transport: this.name, samples: left }, 'shutdown deadline reached; unsent samples dropped');
    }
    this.summary.final();
    this.notifyIdle();
    await this.transport.close?.(Math.max(0, deadlineMs - (performance.now() - startedMs)));
  }

  attachSpool(listener: SettleListener): void {
    this.spool = listener;
  }

  idle(): Promise<void> {
    if (this.queue.length === 0 && !this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      if (this.queue.length === 0) {
        this.notifyIdle();
        if (this.stopping) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      this.busy = true;
      try {
        await retryUntilDone(() => this.attempt(), this.abort.signal, this.backoff, {
          maxRetryAfterMs: this.maxRetryAfterMs,
          onRetry: (err, _attempt, waitMs) => this.waiting(err.message, waitMs),
        });
      } catch (err) {
        if (this.abort.signal.aborted) break;
        // Not a RetryLaterError: a bug in a transport. Drop the head batch so the loop cannot spin on it.
        this.options.logger.error({ transport: this.name, err: errorText(err) }, 'delivery failed unexpectedly; dropping the batch');
        this.finish(this.queue.peek(this.maxPerSend), { kind: 'drop', reason: 'internal_error', error: errorText(err) });
      } finally {
        this.busy = false;
      }
    }
  }

  /** A failed attempt, about to wait `waitMs`: the self-metric and the (rate-limited) log say when the next comes. */
  private waiting(error: string, waitMs: number): void {
    this.stats.nextAttemptAtMs = this.now() + waitMs;
    this.failures.failure(error, 'retry', undefined, waitMs);
    this.summary.tick();
  }

  /** One attempt at the oldest entries. Resolves when they are settled (sent or dropped); throws to retry. */
  private async attempt(): Promise<void> {
    this.dropTooOld();
    const entries = this.queue.peek(this.maxPerSend);
    if (entries.length === 0) return;
    let batch: Batch;
    try {
      batch = this.transport.encode(this.withSelfMetrics(entries));
    } catch (err) {
      this.finish(entries, { kind: 'drop', reason: DROP_ENCODE_ERROR, error: `encoding failed: ${errorText(err)}` });
      return;
    }
    for (const e of entries) e.inFlight = true;
    const outcome = await this.send(batch);
    for (const e of entries) e.inFlight = false;
    this.stats.attempts += 1;
    if (outcome.kind === 'retry') {
      this.stats.failedAttempts += 1;
      this.stats.retried += entries.length;
      this.settleEvicted(DROP_QUEUE_FULL);
      throw new RetryLaterError(outcome.error, this.cappedRetryAfter(outcome.afterMs));
    }
    this.finish(entries, outcome);
  }

  /**
   * A server's Retry-After, honoured up to maxRetryAfterMs (30 s, or the backoff's cap when longer): a server
   * asking for hours (misconfigured, or a date far ahead) must not stop delivery for hours. Said when it
   * happens, with both figures (again when the server asks for something else, or after 10 minutes).
   */
  private cappedRetryAfter(afterMs: number | undefined): number | undefined {
    const capMs = this.maxRetryAfterMs;
    if (afterMs === undefined || afterMs <= capMs) return afterMs;
    const t = this.now();
    const askedS = Math.round(afterMs / 1000);
    if (askedS !== this.retryAfterLogged.askedS || t - this.retryAfterLogged.atMs >= 600_000) {
      this.retryAfterLogged = { askedS, atMs: t };
      // "Retry-After: 999…9" (400 digits) is Infinity here: said as what it is, not as "Infinity s" (nor a null field).
      const exact = Number.isSafeInteger(askedS);
      this.options.logger.warn(
        { transport: this.name, ...(exact ? { retryAfterAskedS: askedS } : {}), retryInS: capMs / 1000 },
        `the server asked to wait ${exact ? askedS : `more than ${Number.MAX_SAFE_INTEGER}`} s before retrying (Retry-After); scaph waits at most ${capMs / 1000} s and retries then`,
      );
    }
    return capMs;
  }

  private async send(batch: Batch): Promise<Outcome> {
    // A plain controller and timer rather than AbortSignal.any([.., AbortSignal.timeout()]): on Node 20
    // the composed timeout signal can be collected before it fires, and the request then hangs on.
    const request = new AbortController();
    const timer = setTimeout(() => request.abort(new RequestTimeoutError(this.timeoutMs)), this.timeoutMs);
    const onStop = (): void => request.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    try {
      return await this.transport.send(batch, request.signal);
    } catch (err) {
      return classifyNetworkError(request.signal.aborted ? (request.signal.reason ?? err) : err);
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }

  /** Settles a batch that was sent (ok) or given up on (drop): out of the queue, into the counters. */
  private finish(entries: readonly Entry[], outcome: Outcome): void {
    const last = entries[entries.length - 1];
    if (last) this.queue.shiftWhile((e) => e.seq <= last.seq);
    this.spool?.settled(entries, outcome);
    // The backend answered: the next batch goes at once.
    this.stats.nextAttemptAtMs = null;
    if (outcome.kind === 'ok') {
      this.stats.sent += entries.length;
      if (last) this.stats.seriesSent = last.metrics.length;
      this.evictedInFlight = 0;
      this.stats.lastSuccessMs = this.now();
      this.failures.success();
      this.summary.delivered(entries.length);
      if (outcome.rejected) this.rejected(outcome.rejected);
    } else if (outcome.kind === 'drop') {
      this.stats.failedAttempts += 1;
      this.stats.addDropped(outcome.reason, entries.length);
      this.evictedInFlight = 0;
      this.failures.failure(outcome.error, 'drop', outcome.reason);
    }
    this.updateDepth();
  }

  /** A partial success: counted (when the transport reports such) and said once per message. */
  private rejected(r: Rejection): void {
    if (this.stats.rejectedPoints !== null) this.stats.rejectedPoints += Math.max(0, r.points);
    if (r.said !== true) this.rejections.rejected(r, this.stats.rejectedPoints ?? r.points);
  }

  private settleEvicted(reason: string): void {
    this.stats.addDropped(reason, this.evictedInFlight);
    this.evictedInFlight = 0;
  }

  private dropTooOld(): void {
    if (this.maxAgeMs === null) return;
    const oldest = this.now() - this.maxAgeMs;
    const dropped = this.queue.shiftWhile((e) => e.timestampMs < oldest);
    if (dropped.length === 0) return;
    this.stats.addDropped(DROP_TOO_OLD, dropped.length);
    this.spool?.settled(dropped, { kind: 'drop', reason: DROP_TOO_OLD, error: 'older than the max age' });
    this.updateDepth();
  }

  private withSelfMetrics(entries: readonly Entry[]): readonly QueuedSample[] {
    if (this.options.selfMetrics === false) return entries;
    // Strictly increasing even if the wall clock steps back: receivers reject out-of-order samples
    // (Prometheus refuses the whole request), which would take the batch's real data down with it.
    this.selfTimestampMs = Math.max(this.now(), this.selfTimestampMs + 1);
    const self: QueuedSample = { timestampMs: this.selfTimestampMs, startMs: Math.min(this.createdAtMs, this.selfTimestampMs), metrics: this.view.deliveryMetrics(this.name, this.stats.figures(this.now())), vanished: [], endedProcesses: [] };
    return [...entries, self];
  }

  private updateDepth(): void {
    this.stats.queueDepth = this.queue.length;
    this.stats.queueBytes = this.queue.bytes;
  }

  private notifyIdle(): void {
    if (this.busy && !this.stopping) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/**
 * Rough memory held by one queued sample (objects and strings), so the byte cap means something. Worked out
 * once per metric list (exporters that view a sample alike share one) and once per labels object (a process's
 * series share one across steps): each exporter sizing 50,000 metrics a step, walking each label set's keys,
 * allocated ~3 MB a step at 10,000 processes with three push exporters.
 */
function estimateBytes(metrics: readonly Metric[]): number {
  let bytes = listBytes.get(metrics);
  if (bytes !== undefined) return bytes;
  bytes = 64;
  let labels: Metric['labels'] | null = null;
  let perMetric = 0;
  for (let i = 0; i < metrics.length; i++) {
    const m = metrics[i] as Metric;
    // A process's metrics share one labels object, in a row: size it once.
    if (m.labels !== labels) {
      labels = m.labels;
      perMetric = 96 + labelSetBytes(labels);
    }
    bytes += perMetric;
  }
  listBytes.set(metrics, bytes);
  return bytes;
}

const listBytes = new WeakMap<readonly Metric[], number>();
const labelBytes = new WeakMap<Metric['labels'], number>();

function labelSetBytes(labels: Metric['labels']): number {
  let bytes = labelBytes.get(labels);
  if (bytes !== undefined) return bytes;
  bytes = 0;
  for (const k in labels) bytes += 32 + 2 * (k.length + (labels[k]?.length ?? 0));
  labelBytes.set(labels, bytes);
  return bytes;
}

/** The per-request deadline passed; classified as a retryable timeout. */
class RequestTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}
