import pRetry from 'p-retry';

export interface BackoffOptions {
  /** First wait after a failure, ms; doubled after each further failure. */
  readonly minDelayMs: number;
  /**
   * Longest wait between two attempts, ms: the bound on how long after a backend's return the first send
   * comes. A minDelayMs above it is cut to it.
   */
  readonly maxDelayMs: number;
  /**
   * Each wait is drawn in [(1 - jitter) × w, w] (w: the doubled wait, capped), so the agents of a fleet that
   * lost their backend at the same moment spread out instead of retrying in lockstep, and the cap stays a
   * bound. 0..1, default 0.2.
   */
  readonly jitter?: number;
}

/** The recovery bound's floor: a backend that returns is tried again within max(5 s, step) (Prometheus' own max_backoff). */
export const RECOVERY_FLOOR_MS = 5_000;
export const DEFAULT_MIN_DELAY_MS = 500;
export const DEFAULT_JITTER = 0.2;

export const DEFAULT_BACKOFF: BackoffOptions = { minDelayMs: DEFAULT_MIN_DELAY_MS, maxDelayMs: RECOVERY_FLOOR_MS, jitter: DEFAULT_JITTER };

/**
 * The backoff of a transport that sends one request per step: the longest wait is max(5 s, step) unless
 * told otherwise, so a returning backend is found within one step (and within 5 s at short steps).
 */
export function backoffForStep(stepMs: number, given: { readonly minDelayMs?: number | undefined; readonly maxDelayMs?: number | undefined } = {}): BackoffOptions {
  return {
    minDelayMs: given.minDelayMs ?? DEFAULT_MIN_DELAY_MS,
    maxDelayMs: given.maxDelayMs ?? Math.max(RECOVERY_FLOOR_MS, stepMs),
    jitter: DEFAULT_JITTER,
  };
}

/**
 * The wait after the `failures`-th failure in a row (1 = the first): minDelayMs doubled each time, capped
 * at maxDelayMs, then jittered downwards. Never more than maxDelayMs.
 */
export function backoffDelayMs(failures: number, backoff: BackoffOptions, random: () => number = Math.random): number {
  const max = Math.max(0, backoff.maxDelayMs);
  // The exponent stops at 52: far past any cap, and 0 × 2^52 is still 0 (0 × Infinity would be NaN).
  const nominal = Math.min(max, Math.min(backoff.minDelayMs, max) * 2 ** Math.min(52, Math.max(0, failures - 1)));
  return Math.round(nominal * (1 - jitterOf(backoff) * random()));
}

/**
 * The wait a server asked for (Retry-After), jittered upwards (it is the least the server wants, and a fleet
 * told the same figure at the same moment should not come back together) and never beyond `capMs`.
 */
export function serverDelayMs(afterMs: number, capMs: number, backoff: BackoffOptions, random: () => number = Math.random): number {
  return Math.round(Math.min(capMs, afterMs * (1 + jitterOf(backoff) * random())));
}

function jitterOf(backoff: BackoffOptions): number {
  return Math.min(1, Math.max(0, backoff.jitter ?? DEFAULT_JITTER));
}

/** Thrown by an attempt that should be tried again, after `afterMs` when the server said so (Retry-After). */
export class RetryLaterError extends Error {
  constructor(
    message: string,
    readonly afterMs: number | undefined,
  ) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

export interface RetryOptions {
  /** Called after every failed attempt, before waiting `waitMs` (already jittered and capped). */
  onRetry?(error: RetryLaterError, attempt: number, waitMs: number): void;
  /** Longest wait a server's Retry-After gets (the caller cuts longer ones to it and says so). Default 30 s. */
  readonly maxRetryAfterMs?: number;
  /** For tests: the jitter's random numbers in [0, 1). Default Math.random. */
  random?(): number;
}

/** The longest a server's Retry-After is honoured for, unless the backoff's own cap is longer. */
export const MAX_RETRY_AFTER_MS = 30_000;

/**
 * Runs `attempt` until it resolves. Between failures it waits backoffDelayMs (doubling, capped, jittered);
 * a failure carrying a positive `afterMs` (the server's Retry-After) waits serverDelayMs instead (that long,
 * jittered upwards, at most maxRetryAfterMs) and does not grow the backoff. p-retry runs the attempts and stops at the signal; the waits are
 * computed here because p-retry's jitter is applied before its cap (at the cap every agent would wait
 * exactly the same) and because the caller reports the wait (self-metric, log). Retries forever: the
 * caller bounds it with `signal` (shutdown) and by resolving once nothing is left to send (max age).
 * Rejects only with the signal's reason, or with an error that is not a RetryLaterError (a bug).
 */
export async function retryUntilDone<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  signal: AbortSignal,
  backoff: BackoffOptions = DEFAULT_BACKOFF,
  options: RetryOptions = {},
): Promise<T> {
  const random = options.random ?? Math.random;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? MAX_RETRY_AFTER_MS;
  let failures = 0;
  return pRetry(attempt, {
    retries: Number.POSITIVE_INFINITY,
    // p-retry's own wait is zero: the wait happens in onFailedAttempt.
    minTimeout: 0,
    randomize: false,
    unref: true,
    signal,
    shouldRetry: ({ error }) => error instanceof RetryLaterError,
    onFailedAttempt: async ({ error, attemptNumber }) => {
      if (!(error instanceof RetryLaterError)) return;
      // "Retry-After: 0" (or a date gone by) says nothing: the backoff applies, so such a server is not hammered.
      const waitMs =
        error.afterMs !== undefined && error.afterMs > 0
          ? serverDelayMs(error.afterMs, maxRetryAfterMs, backoff, random)
          : backoffDelayMs(++failures, backoff, random);
      options.onRetry?.(error, attemptNumber, waitMs);
      await abortableDelay(waitMs, signal);
    },
  });
}

/** Resolves after ms (unref'd timer), rejects with the signal's reason when aborted first. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
