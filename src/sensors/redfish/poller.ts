/**
 * Asks the BMC for its power reading every interval, in the background: a sample never waits for the BMC
 * (BMCs answer in hundreds of ms to seconds), it takes the newest reading the poller holds. One request at a
 * time, the next one an interval after the previous one started (at once when that one took longer), each
 * within its deadline. A BMC that stops answering is said once, retried every interval, and said again when
 * it answers; meanwhile its last reading ages, and the source stops publishing it after two intervals.
 */
import type { Logger } from '../../core/log.js';
import type { RedfishClient } from './client.js';
import { powerOf, type PowerSchema } from './resources.js';
import { errorText } from '../../core/errors.js';

export interface RedfishReading {
  readonly watts: number;
  /** When its answer arrived (performance.now() clock), ms. */
  readonly atMs: number;
}

export interface PollTarget {
  readonly path: string;
  readonly schema: PowerSchema;
}

/** How long polls took: what the BMC costs, for logs and tests. */
export interface PollTimings {
  readonly polls: number;
  readonly failures: number;
  readonly lastMs: number;
  readonly maxMs: number;
  readonly totalMs: number;
}

/** What the poller asks of the BMC's client: one GET (a test gives its own). */
export type PowerGetter = Pick<RedfishClient, 'get'>;

export class RedfishPoller {
  latest: RedfishReading | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failing = false;
  private readonly abort = new AbortController();
  private inFlight: Promise<void> | null = null;
  private stats = { polls: 0, failures: 0, lastMs: 0, maxMs: 0, totalMs: 0 };

  constructor(
    private readonly client: PowerGetter,
    private readonly target: PollTarget,
    readonly intervalMs: number,
    private readonly url: string,
    private readonly logger: Logger,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Starts polling from the reading taken at start. */
  start(first: RedfishReading): void {
    this.latest = first;
    this.schedule(this.intervalMs);
  }

  get timings(): PollTimings {
    return { ...this.stats };
  }

  /** No more polls; the one under way is aborted (a hung BMC does not hold up the stop). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.inFlight;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.inFlight = this.poll().finally(() => (this.inFlight = null));
    }, delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const started = this.nowMs();
    try {
      const read = powerOf(this.target.schema, await this.client.get(this.target.path, this.abort.signal));
      if (!read.ok) throw new Error(read.problem);
      this.latest = { watts: read.watts, atMs: this.nowMs() };
      this.recovered();
    } catch (err) {
      if (this.stopped) return;
      this.stats.failures++;
      this.failed(err);
    } finally {
      const tookMs = this.nowMs() - started;
      this.stats = { ...this.stats, polls: this.stats.polls + 1, lastMs: tookMs, maxMs: Math.max(this.stats.maxMs, tookMs), totalMs: this.stats.totalMs + tookMs };
      this.logger.debug({ url: this.url, path: this.target.path, tookMs: Math.round(tookMs) }, 'Redfish poll');
      this.schedule(Math.max(0, this.intervalMs - tookMs));
    }
  }

  private failed(err: unknown): void {
    const error = errorText(err);
    if (this.failing) {
      this.logger.debug({ url: this.url, err: error }, 'the BMC still does not answer');
      return;
    }
    this.failing = true;
    this.logger.warn(
      { url: this.url, path: this.target.path, err: error, retryEveryS: this.intervalMs / 1000 },
      `the BMC stopped giving its power reading: host power is not published once its newest reading is more than two intervals old ` +
        `(${(2 * this.intervalMs) / 1000} s); asked again every ${this.intervalMs / 1000} s (said once)`,
    );
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.logger.warn({ url: this.url, path: this.target.path }, 'the BMC gives its power reading again');
  }
}
