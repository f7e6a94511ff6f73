/**
 * Keeps one metadata source (Docker Engine API, Kubernetes API) fresh: a load at start, then at a
 * bounded interval, plus an early load when a lookup misses (rate-limited). Loads run beside sampling and
 * never before it: start() only sets them going, so a source that hangs holds up no power figure (labels
 * appear when it answers). Each load has its deadline (the source's timeout) and stop() aborts the one under
 * way. Failures are logged once per outage — one warning that says what failed and what to do — and the
 * agent runs on without the labels.
 */
import { causeChain, errorText } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';

export interface RefreshOptions {
  /** Reload at least this often, ms. */
  readonly intervalMs: number;
  /** An early reload (on a lookup miss) waits at least this long after the previous load started, ms. */
  readonly minGapMs: number;
}

/** The refresh timing a metadata source's options may set; the defaults suit both sources. */
export interface RefreshTimingOptions {
  /** Default 30 s. */
  readonly refreshIntervalMs?: number;
  /** Default 5 s. */
  readonly minRefreshGapMs?: number;
}

export function refreshTiming(options: RefreshTimingOptions): RefreshOptions {
  return { intervalMs: options.refreshIntervalMs ?? 30_000, minGapMs: options.minRefreshGapMs ?? 5_000 };
}

export interface MetadataLoader {
  /** Human name of the source for logs: "Docker Engine API", "Kubernetes API". */
  readonly sourceName: string;
  /** Loads and installs fresh metadata; throws on failure. `signal` aborts it (stop). */
  load(signal: AbortSignal): Promise<void>;
  /** One sentence saying what failed and what the user can do about it. */
  explain(error: unknown): string;
}

export class MetadataRefresher {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private lastStartMs = Number.NEGATIVE_INFINITY;
  private failing = false;
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly loader: MetadataLoader,
    private readonly options: RefreshOptions,
    private readonly logger: Logger,
  ) {}

  /**
   * Sets the first load going (not awaited: see settled()) and the interval timer. Never throws: a failure
   * is the one warning.
   */
  start(): void {
    if (this.stopped) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Early reload after a lookup miss; ignored while failing (the interval retries) or too soon. */
  refreshSoon(): void {
    if (this.failing || this.stopped) return;
    if (performance.now() - this.lastStartMs < this.options.minGapMs) return;
    void this.refresh();
  }

  get isFailing(): boolean {
    return this.failing;
  }

  /** Resolves when the load under way (if any) has ended: lets callers and tests wait for fresh data. */
  async settled(): Promise<void> {
    await this.inFlight;
  }

  /** No more loads; the one under way is aborted (a hung API must not hold up the agent's exit). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.abort.abort();
  }

  /** One load at a time: a caller arriving during a load shares it. */
  refresh(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.stopped) return Promise.resolve();
    this.lastStartMs = performance.now();
    this.inFlight = this.runLoad().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async runLoad(): Promise<void> {
    try {
      await this.loader.load(this.abort.signal);
      if (this.failing) this.logger.info({ source: this.loader.sourceName }, `${this.loader.sourceName} reachable again`);
      this.failing = false;
    } catch (error) {
      if (this.stopped) return; // aborted by stop(): not a failure of the source
      if (this.failing) {
        this.logger.debug({ source: this.loader.sourceName, err: errorText(error) }, 'metadata load failed again');
        return;
      }
      this.failing = true;
      this.logger.warn({ source: this.loader.sourceName, err: errorText(error) }, this.loader.explain(error));
    }
  }
}

/**
 * Runs `load` with one signal that aborts at `timeoutMs` (a TimeoutError, which requestFailureCode reads as
 * ETIMEDOUT) or when `stop` does. A plain timer, cleared when the load ends: Node holds the sources of
 * AbortSignal.any weakly, so an AbortSignal.timeout in it can be garbage-collected and its timer never fires
 * (nodejs/node#57736; seen here: a hung Docker socket never timed out in the agent, whose steps allocate).
 */
export async function withDeadline<T>(stop: AbortSignal, timeoutMs: number, load: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (stop.aborted) throw stop.reason;
  const controller = new AbortController();
  const onStop = (): void => controller.abort(stop.reason);
  stop.addEventListener('abort', onStop, { once: true });
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
  timer.unref();
  try {
    return await load(controller.signal);
  } finally {
    clearTimeout(timer);
    stop.removeEventListener('abort', onStop);
  }
}

/**
 * Why a metadata request failed, as the socket's code: undici's own codes and every timeout read as what
 * the socket would have said (ETIMEDOUT), so a loader's explain() has one set of cases.
 */
export function requestFailureCode(error: unknown): string | undefined {
  for (const e of causeChain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !code.startsWith('UND_ERR_')) return code;
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'ETIMEDOUT';
    const name = (e as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') return 'ETIMEDOUT';
  }
  return undefined;
}

const MAX_REMEMBERED_MISSES = 10_000;

/**
 * Records that a key missed, so it triggers one early reload only: some ids never appear in the API
 * (the pod sandbox / pause container, containers of other tools), and must not cause a reload loop.
 * Those that do appear later are picked up by the interval reload. Bounded to stay small.
 */
export function rememberMiss(missed: Set<string>, key: string): void {
  if (missed.size >= MAX_REMEMBERED_MISSES) missed.clear();
  missed.add(key);
}
