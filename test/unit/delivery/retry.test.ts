import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  backoffForStep,
  DEFAULT_BACKOFF,
  RetryLaterError,
  retryUntilDone,
  serverDelayMs,
  type BackoffOptions,
  type RetryOptions,
} from '../../../src/delivery/retry.js';

const never = (): number => 0;
const almostOne = (): number => 0.999_999;

/** The waits retryUntilDone announces for `failures` failed attempts (each carrying `afterMs`), then a success. */
async function toldWaits(failures: number, afterMs: number | undefined, backoff: BackoffOptions, options: RetryOptions = {}): Promise<number[]> {
  const told: number[] = [];
  await retryUntilDone(
    async (n) => {
      if (n <= failures) throw new RetryLaterError('failed', afterMs);
    },
    new AbortController().signal,
    backoff,
    { ...options, onRetry: (_err, _n, waitMs) => told.push(waitMs) },
  );
  return told;
}

describe('backoffDelayMs', () => {
  it('doubles from the first wait and stops at the cap (no jitter drawn)', () => {
    const waits = Array.from({ length: 10 }, (_, i) => backoffDelayMs(i + 1, DEFAULT_BACKOFF, never));
    expect(waits).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000, 5000, 5000, 5000]);
  });

  it('jitters each wait down by up to 20 %, so the cap stays a bound', () => {
    expect(backoffDelayMs(1, DEFAULT_BACKOFF, almostOne)).toBe(400);
    expect(backoffDelayMs(20, DEFAULT_BACKOFF, almostOne)).toBe(4000);
    for (let failures = 1; failures <= 60; failures++) {
      const w = backoffDelayMs(failures, DEFAULT_BACKOFF);
      expect(w).toBeLessThanOrEqual(5000);
      expect(w).toBeGreaterThanOrEqual(Math.min(5000, 500 * 2 ** (failures - 1)) * 0.8 - 1);
    }
  });

  it('a first wait above the cap is cut to it; the thousandth failure is still capped', () => {
    expect(backoffDelayMs(1, { minDelayMs: 9000, maxDelayMs: 2000, jitter: 0 })).toBe(2000);
    expect(backoffDelayMs(1000, { minDelayMs: 500, maxDelayMs: 2000, jitter: 0 })).toBe(2000);
    expect(backoffDelayMs(5000, { minDelayMs: 0, maxDelayMs: 2000, jitter: 0 })).toBe(0);
  });
});

describe('backoffForStep', () => {
  it('caps the wait at max(5 s, step) unless told otherwise', () => {
    expect(backoffForStep(1000)).toEqual({ minDelayMs: 500, maxDelayMs: 5000, jitter: 0.2 });
    expect(backoffForStep(30_000).maxDelayMs).toBe(30_000);
    expect(backoffForStep(30_000, { maxDelayMs: 2000, minDelayMs: 100 })).toEqual({ minDelayMs: 100, maxDelayMs: 2000, jitter: 0.2 });
  });
});

describe('serverDelayMs (Retry-After)', () => {
  it('waits at least what the server asked, up to 20 % more, never beyond the cap', () => {
    expect(serverDelayMs(10_000, 30_000, DEFAULT_BACKOFF, never)).toBe(10_000);
    expect(serverDelayMs(10_000, 30_000, DEFAULT_BACKOFF, almostOne)).toBe(12_000);
    expect(serverDelayMs(29_000, 30_000, DEFAULT_BACKOFF, almostOne)).toBe(30_000);
  });
});

describe('retryUntilDone', () => {
  it('waits the server-imposed afterMs between attempts, not the (longer) backoff', async () => {
    const times: number[] = [];
    const result = await retryUntilDone(
      async (n) => {
        times.push(performance.now());
        if (n < 3) throw new RetryLaterError('429', 300);
        return n;
      },
      new AbortController().signal,
      { minDelayMs: 10_000, maxDelayMs: 10_000 },
    );
    expect(result).toBe(3);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(295);
      expect(gap).toBeLessThan(3000);
    }
  });

  it('backs off exponentially up to the cap, and tells each wait before it happens', async () => {
    const times: number[] = [];
    const told: number[] = [];
    await retryUntilDone(
      async (n) => {
        times.push(performance.now());
        if (n < 6) throw new RetryLaterError('503', undefined);
      },
      new AbortController().signal,
      { minDelayMs: 50, maxDelayMs: 300 },
      { onRetry: (_err, _n, waitMs) => told.push(waitMs) },
    );
    // Nominal 50, 100, 200, 300, 300, each drawn in [80 %, 100 %].
    const nominal = [50, 100, 200, 300, 300];
    told.forEach((w, i) => {
      expect(w).toBeLessThanOrEqual(nominal[i] as number);
      expect(w).toBeGreaterThanOrEqual((nominal[i] as number) * 0.8 - 1);
    });
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    gaps.forEach((g, i) => expect(g).toBeGreaterThanOrEqual((told[i] as number) - 2));
  });

  it('"Retry-After: 0" asks for nothing: the backoff applies (no busy loop)', async () => {
    expect(await toldWaits(3, 0, { minDelayMs: 20, maxDelayMs: 100, jitter: 0 })).toEqual([20, 40, 80]);
  });

  it('cuts a Retry-After at maxRetryAfterMs', async () => {
    expect(await toldWaits(1, 97_200_000, DEFAULT_BACKOFF, { maxRetryAfterMs: 50 })).toEqual([50]);
  });

  it('two agents failing together do not retry in lockstep: their waits at the cap differ', async () => {
    const both = await Promise.all([0, 1].map(() => toldWaits(11, undefined, { minDelayMs: 5, maxDelayMs: 40 })));
    // Nominal 5, 10, 20, 40, 40 ...: from the fifth wait on, at the cap, each drawn in [32, 40].
    const [a, b] = both.map((waits) => waits.slice(4));
    for (const w of [...(a ?? []), ...(b ?? [])]) {
      expect(w).toBeGreaterThanOrEqual(32);
      expect(w).toBeLessThanOrEqual(40);
    }
    expect(a).toHaveLength(7);
    expect(a).not.toEqual(b);
    expect(new Set(a).size).toBeGreaterThan(1);
  });

  it('stops waiting when aborted', async () => {
    const ac = new AbortController();
    const started = performance.now();
    const p = retryUntilDone(
      async () => {
        throw new RetryLaterError('429', 60_000);
      },
      ac.signal,
    );
    setTimeout(() => ac.abort(new Error('stop now')), 100);
    await expect(p).rejects.toThrow('stop now');
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('does not retry errors that are not RetryLaterError', async () => {
    let calls = 0;
    await expect(
      retryUntilDone(async () => {
        calls += 1;
        throw new Error('bug');
      }, new AbortController().signal),
    ).rejects.toThrow('bug');
    expect(calls).toBe(1);
  });
});
