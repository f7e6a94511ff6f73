import { describe, expect, it } from 'vitest';
import { RetryLaterError, retryUntilDone } from '../../../src/delivery/retry.js';

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
  it('backs off exponentially with jitter when no wait is imposed', async () => {
    const times: number[] = [];
    await retryUntilDone(
      async (n) => {
        times.push(performance.now());
        if (n < 4) throw new RetryLaterError('503', undefined);
      },
      new AbortController().signal,
      { minDelayMs: 50, maxDelayMs: 10_000 },
    );
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    // Delay k is 50 * 2^k * [1, 2).
    expect(gaps[0]).toBeGreaterThanOrEqual(48);
    expect(gaps[1]).toBeGreaterThanOrEqual(98);
    expect(gaps[2]).toBeGreaterThanOrEqual(198);
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
