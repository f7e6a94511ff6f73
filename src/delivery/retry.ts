import pRetry from 'p-retry';

export interface BackoffOptions {
  /** First backoff delay, ms (then doubled each failure, randomised x1..x2 so senders spread out). */
  readonly minDelayMs: number;
  /** Cap on one backoff delay, ms. */
  readonly maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { minDelayMs: 500, maxDelayMs: 30_000 };

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

export interface RetryHooks {
  /** Called after every failed attempt, before waiting; `waitMs` is the server-imposed wait when there is one. */
  onRetry?(error: RetryLaterError, attempt: number): void;
}

/**
 * Runs `attempt` until it resolves, with exponential backoff and jitter between failures (p-retry).
 * A failure carrying `afterMs` waits exactly that long instead (the server knows best) and does not
 * grow the backoff. Retries forever: the caller bounds it with `signal` (shutdown) and by resolving
 * once nothing is left to send (max age). Rejects only with the signal's reason, or with an error that
 * is not a RetryLaterError (a bug).
 */
export async function retryUntilDone<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  signal: AbortSignal,
  backoff: BackoffOptions = DEFAULT_BACKOFF,
  hooks: RetryHooks = {},
): Promise<T> {
  return pRetry(attempt, {
    retries: Number.POSITIVE_INFINITY,
    factor: 2,
    minTimeout: backoff.minDelayMs,
    maxTimeout: backoff.maxDelayMs,
    randomize: true,
    unref: true,
    signal,
    shouldRetry: ({ error }) => error instanceof RetryLaterError,
    onFailedAttempt: async ({ error, attemptNumber }) => {
      if (!(error instanceof RetryLaterError)) return;
      hooks.onRetry?.(error, attemptNumber);
      if (error.afterMs !== undefined) await abortableDelay(error.afterMs, signal);
    },
    // A server-imposed wait already happened in onFailedAttempt: no extra backoff on top of it.
    shouldConsumeRetry: ({ error }) => !(error instanceof RetryLaterError && error.afterMs !== undefined),
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
