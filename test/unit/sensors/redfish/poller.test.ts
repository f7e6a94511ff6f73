/**
 * RedfishPoller on vitest's fake clock, against a scripted BMC (no server): when it asks, that it asks one
 * request at a time, what it keeps of each answer, and what it says when the BMC stops and starts answering.
 * Times are exact (the fake clock moves only when the test moves it). The same source against a Redfish
 * service over HTTPS, in real time, is test/e2e/sensors/redfish-source.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RedfishPoller, type PowerGetter } from '../../../../src/sensors/redfish/poller.js';
import { captureLogger } from '../../../support/fakes/log-capture.js';

const INTERVAL_MS = 400;
const URL = 'https://bmc.example';
const PATH = '/redfish/v1/Chassis/1U/EnvironmentMetrics';

/** A BMC whose answers the test scripts: a reading after `delayMs`, an error, a refused reading, or none until aborted. */
class ScriptedBmc implements PowerGetter {
  watts: number | null = 300;
  answer: 'reading' | 'error' | 'hang' = 'reading';
  delayMs = 0;
  readonly calls: Array<{ readonly path: string; readonly atMs: number; endMs: number | null }> = [];
  private inFlight = 0;
  maxInFlight = 0;

  async get(path: string, stop: AbortSignal): Promise<unknown> {
    const call = { path, atMs: performance.now(), endMs: null as number | null };
    this.calls.push(call);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      if (this.answer === 'hang') await aborted(stop);
      if (this.delayMs > 0) await Promise.race([new Promise((r) => setTimeout(r, this.delayMs)), aborted(stop)]);
      if (this.answer === 'error') throw new Error('HTTP 503 to GET ' + path);
      return { PowerWatts: { Reading: this.watts } };
    } finally {
      this.inFlight--;
      call.endMs = performance.now();
    }
  }

  get startTimes(): number[] {
    return this.calls.map((c) => c.atMs);
  }
}

function aborted(stop: AbortSignal): Promise<never> {
  return new Promise((_, reject) => stop.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function poller(bmc: ScriptedBmc, logger = captureLogger().logger): RedfishPoller {
  const p = new RedfishPoller(bmc, { path: PATH, schema: 'EnvironmentMetrics' }, INTERVAL_MS, URL, logger);
  p.start({ watts: 250, atMs: performance.now() });
  return p;
}

describe('RedfishPoller', () => {
  it('asks every interval in the background and keeps the newest reading with the time it came', async () => {
    const bmc = new ScriptedBmc();
    const t0 = performance.now();
    const p = poller(bmc);
    expect(p.latest).toEqual({ watts: 250, atMs: t0 });
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(p.latest).toEqual({ watts: 300, atMs: t0 + 400 });
    bmc.watts = 310;
    await vi.advanceTimersByTimeAsync(2 * INTERVAL_MS);
    expect(p.latest).toEqual({ watts: 310, atMs: t0 + 1200 });
    expect(bmc.startTimes).toEqual([t0 + 400, t0 + 800, t0 + 1200]);
    expect(bmc.calls.every((c) => c.path === PATH)).toBe(true);
    expect(p.timings).toMatchObject({ polls: 3, failures: 0 });
    await p.stop();
  });

  it('one request at a time: the next an interval after the previous started, at once when that one took longer', async () => {
    const bmc = new ScriptedBmc();
    const t0 = performance.now();
    const p = poller(bmc);
    bmc.delayMs = 150;
    await vi.advanceTimersByTimeAsync(1000);
    // 400 (answered at 550), 800 (950).
    expect(bmc.startTimes).toEqual([t0 + 400, t0 + 800]);
    expect(p.latest?.atMs).toBe(t0 + 950);
    bmc.delayMs = 1000;
    await vi.advanceTimersByTimeAsync(3000);
    // 1200 (answered at 2200), then at once (a timer of 0 fires on the next millisecond): 2201 (3201), 3202.
    expect(bmc.startTimes.slice(2)).toEqual([t0 + 1200, t0 + 2201, t0 + 3202]);
    expect(bmc.maxInFlight).toBe(1);
    expect(p.timings).toMatchObject({ polls: 4, lastMs: 1000, maxMs: 1000, totalMs: 2300 });
    await p.stop();
  });

  it('a BMC that stops answering: said once, asked again every interval, its last reading kept as it was; said once when it answers', async () => {
    const bmc = new ScriptedBmc();
    const { logger, lines, warnings } = captureLogger();
    const t0 = performance.now();
    const p = poller(bmc, logger);
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    bmc.answer = 'error';
    await vi.advanceTimersByTimeAsync(5 * INTERVAL_MS);
    // Five failed polls, one every interval; the reading of the last answer stays, with its time (it ages).
    expect(bmc.startTimes).toEqual([400, 800, 1200, 1600, 2000, 2400].map((t) => t0 + t));
    expect(p.latest).toEqual({ watts: 300, atMs: t0 + 400 });
    expect(warnings().map((l) => l.msg)).toEqual([
      'the BMC stopped giving its power reading: host power is not published once its newest reading is more than two intervals old (0.8 s); asked again every 0.4 s (said once)',
    ]);
    expect(warnings()[0]).toMatchObject({ url: URL, path: PATH, err: `HTTP 503 to GET ${PATH}`, retryEveryS: 0.4 });
    expect(lines.filter((l) => l.msg === 'the BMC still does not answer')).toHaveLength(4);
    expect(p.timings).toMatchObject({ polls: 6, failures: 5 });
    bmc.answer = 'reading';
    bmc.watts = 320;
    await vi.advanceTimersByTimeAsync(2 * INTERVAL_MS);
    expect(p.latest).toEqual({ watts: 320, atMs: t0 + 3200 });
    expect(warnings().map((l) => l.msg).slice(1)).toEqual(['the BMC gives its power reading again']);
    await p.stop();
  });

  it.each([
    ['null', null, 'PowerWatts.Reading is null (the BMC has no reading now)'],
    ['negative', -250, 'PowerWatts.Reading'],
    ['beyond 100 kW', 5e9, 'PowerWatts.Reading'],
  ] as const)('a %s reading is a failed poll: not kept, said with what was wrong', async (_what, watts, said) => {
    const bmc = new ScriptedBmc();
    const { logger, warnings } = captureLogger();
    const t0 = performance.now();
    const p = poller(bmc, logger);
    bmc.watts = watts;
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(p.latest).toEqual({ watts: 250, atMs: t0 });
    expect(warnings()).toHaveLength(1);
    expect(String(warnings()[0]?.['err'])).toContain(said);
    expect(p.timings).toMatchObject({ polls: 1, failures: 1 });
    await p.stop();
  });

  it('stop() aborts a poll the BMC holds, says nothing of it, and asks no more', async () => {
    const bmc = new ScriptedBmc();
    const { logger, warnings } = captureLogger();
    const p = poller(bmc, logger);
    bmc.answer = 'hang';
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(bmc.calls).toHaveLength(1);
    expect(bmc.calls[0]?.endMs).toBeNull();
    // Resolves without the clock moving: the hung request is aborted, not waited for.
    await p.stop();
    expect(bmc.calls[0]?.endMs).not.toBeNull();
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(bmc.calls).toHaveLength(1);
    expect(warnings()).toEqual([]);
  });
});
