import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Exporter } from '../../../src/core/exporter.js';
import { silentLogger } from '../../../src/core/log.js';
import type { Sample } from '../../../src/core/sample.js';
import { MAX_TIMER_MS, Scheduler } from '../../../src/agent/scheduler.js';
import { MeasurementUnavailableError, type Sensor } from '../../../src/core/sensor.js';
import { makeSample } from '../../support/fixtures/sample.js';

/**
 * The loop runs on vitest's fake clock (setTimeout, performance.now, process.hrtime and Date together), so
 * each tick comes at its exact time and a 3 s schedule takes no wall time; a loaded machine cannot make a
 * timer late here. Runs the clock until `p` settles, at most `limitMs` of it.
 */
async function settle<T>(p: Promise<T>, limitMs = 3_600_000): Promise<T> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  const end = performance.now() + limitMs;
  for (;;) {
    // What is due now (and every promise already resolved) first.
    await vi.advanceTimersByTimeAsync(0);
    if (settled) return p;
    if (vi.getTimerCount() === 0 || performance.now() > end) throw new Error('the loop neither ended nor has a timer left');
    await vi.advanceTimersToNextTimerAsync();
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

class CountingSensor implements Sensor {
  readonly kind = 'test';
  reads: number[] = [];
  /** How long each reading takes (a test may change it while the loop runs). */
  constructor(public delayMs = 0) {}
  async start(): Promise<void> {}
  async read(): Promise<Sample> {
    this.reads.push(performance.now());
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    return makeSample({ timestampMs: Date.now() });
  }
}

function recorder(name: string, onExport: (s: Sample) => void = () => {}): Exporter & { got: Sample[] } {
  const got: Sample[] = [];
  return { name, got, start: async () => {}, stop: async () => {}, export: (s) => { got.push(s); onExport(s); } };
}

describe('Scheduler', () => {
  it('samples once per step and hands each sample to every exporter', async () => {
    const sensor = new CountingSensor();
    const t0 = performance.now();
    const a = recorder('a');
    const b = recorder('b');
    const s = new Scheduler(sensor, [a, b], { stepMs: 100, durationMs: 1000, logger: silentLogger() });
    s.start();
    await settle(s.done);
    // Ticks at 100, 200, ... 1000 ms: one reading each, handed to both.
    expect(sensor.reads).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000].map((t) => t0 + t));
    expect(a.got.length).toBe(sensor.reads.length);
    expect(b.got).toEqual(a.got);
  });

  it('is not delayed by an exporter that throws or does slow work asynchronously', async () => {
    const sensor = new CountingSensor();
    const thrower = recorder('thrower', () => {
      throw new Error('boom');
    });
    const slow = recorder('slow', () => {
      void new Promise((r) => setTimeout(r, 5000));
    });
    const ok = recorder('ok');
    const s = new Scheduler(sensor, [thrower, slow, ok], { stepMs: 50, durationMs: 500, logger: silentLogger() });
    s.start();
    await settle(s.done);
    expect(ok.got.length).toBeGreaterThanOrEqual(8);
  });

  it('skips ticks instead of overlapping when a reading overruns its step', async () => {
    const sensor = new CountingSensor(130);
    const s = new Scheduler(sensor, [recorder('a')], { stepMs: 50, durationMs: 1000, logger: silentLogger() });
    s.start();
    await settle(s.done);
    const gaps = sensor.reads.slice(1).map((t, i) => t - (sensor.reads[i] ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(129);
    expect(s.skippedTicks).toBeGreaterThan(0);
  });

  it('takes the first reading at firstTickMs, then keeps the step', async () => {
    const sensor = new CountingSensor();
    const t0 = performance.now();
    const s = new Scheduler(sensor, [recorder('a')], { stepMs: 400, firstTickMs: 50, durationMs: 1000, logger: silentLogger() });
    s.start();
    await settle(s.done);
    // Ticks at 50, 450, 850 ms: the next (1250) is past the duration.
    expect(sensor.reads).toHaveLength(3);
    const [first = 0, ...rest] = sensor.reads;
    expect(first - t0).toBeLessThan(300);
    const gaps = rest.map((t, i) => t - (sensor.reads[i] ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThan(300);
    expect(gaps.reduce((x, y) => x + y, 0) / gaps.length).toBeGreaterThan(350);
  });

  /** Runs a scheduler on the grid clock `clockMs` (its value at construction); the reads' times, ms after construction. */
  async function readTimes(options: { stepMs: number; firstTickMs: number; phaseMs: number | null; durationMs: number; delayMs?: number }) {
    const sensor = new CountingSensor(options.delayMs ?? 0);
    const t0 = performance.now();
    const s = new Scheduler(sensor, [recorder('a')], { ...options, logger: silentLogger(), clockMs: () => 0 });
    s.start();
    await settle(s.done);
    return { reads: sensor.reads.map((t) => t - t0), scheduler: s };
  }

  /** Each read within `lateMs` after its expected time (on the fake clock, at it). */
  function expectOnTime(reads: readonly number[], expected: readonly number[], lateMs: number): void {
    expect(reads).toHaveLength(expected.length);
    reads.forEach((t, i) => {
      expect(t, `read ${i + 1} at ${t.toFixed(0)} ms, expected ${expected[i]}`).toBeGreaterThanOrEqual((expected[i] as number) - 2);
      expect(t, `read ${i + 1} at ${t.toFixed(0)} ms, expected ${expected[i]}`).toBeLessThan((expected[i] as number) + lateMs);
    });
  }

  it('with splay, lays the ticks after the first on the wall-clock grid (phase + k x step)', async () => {
    // Grid 370 ms past every second of the clock (0 at start); the first grid tick at least 500 ms after
    // the first tick (100 ms): 1370 ms. Without splay: 100, 1100, 2100, 3100.
    const { reads } = await readTimes({ stepMs: 1000, firstTickMs: 100, phaseMs: 370, durationMs: 3500 });
    expectOnTime(reads, [100, 1370, 2370, 3370], 1);
  });

  it('with splay off (phaseMs null), keeps today\'s steps from the first tick', async () => {
    const { reads } = await readTimes({ stepMs: 1000, firstTickMs: 100, phaseMs: null, durationMs: 3500 });
    expectOnTime(reads, [100, 1100, 2100, 3100], 1);
  });

  it('with splay, a reading that overruns its step skips to the next point of the grid', async () => {
    // Grid 130 ms past every 400 ms, from 530 ms; each reading takes 500 ms: read at 100 (ends 600: 530
    // skipped), 930 (ends 1430: 1330 skipped), 1730, 2530.
    const { reads, scheduler } = await readTimes({ stepMs: 400, firstTickMs: 100, phaseMs: 130, durationMs: 3000, delayMs: 500 });
    expectOnTime(reads, [100, 930, 1730, 2530], 1);
    expect(scheduler.skippedTicks).toBeGreaterThanOrEqual(3);
  });

  /**
   * Runs a scheduler on the grid clock (0 at construction) until its duration; `changes[n]` is called when
   * the n-th sample is handed out (a reload between two ticks). The reads' times, ms after construction,
   * and the samples each exporter got.
   */
  async function readTimesChanging(
    options: { stepMs: number; firstTickMs: number; phaseMs: number | null; durationMs: number },
    changes: Readonly<Record<number, (s: Scheduler, sensor: CountingSensor, gate: Exporter) => void>>,
  ) {
    const sensor = new CountingSensor();
    const t0 = performance.now();
    let s: Scheduler | null = null;
    let handed = 0;
    const gate: Exporter = recorder('gate', () => {
      handed += 1;
      if (s) changes[handed]?.(s, sensor, gate);
    });
    s = new Scheduler(sensor, [gate], { ...options, logger: silentLogger(), clockMs: () => 0 });
    s.start();
    await settle(s.done);
    return { reads: sensor.reads.map((t) => t - t0), scheduler: s };
  }

  it('with splay, setStep moves the loop to the new step\'s grid (its phase), never less than half a step after the last tick; setExporters from the next tick', async () => {
    const a = recorder('a');
    const b = recorder('b');
    // 130 ms past every 400 ms: 100 (first tick), 530, 930; then a 1 s step 200 ms past every second: its
    // point at 1200 is 270 ms after the last tick (under half a step), so the next is 2200, then 3200.
    const { reads } = await readTimesChanging(
      { stepMs: 400, firstTickMs: 100, phaseMs: 130, durationMs: 3300 },
      {
        1: (s, _sensor, gate) => s.setExporters([gate, a]),
        3: (s, _sensor, gate) => {
          s.setExporters([gate, b]);
          s.setStep(1000, 200);
        },
      },
    );
    expectOnTime(reads, [100, 530, 930, 2200, 3200], 1);
    // Each list from the tick after its switch (the one that switched is handed out in full): a the 2nd and
    // 3rd reading, b the last two.
    expect(a.got).toHaveLength(2);
    expect(b.got).toHaveLength(2);
  });

  it('splay turned off by a reload: one step after the last tick; turned on again: the first grid point far enough after it', async () => {
    // 100, 530, 930 on the grid; off: 1330, 1730 (a step after the last tick); on: the first point of 130 +
    // k x 400 at least 200 ms (half a step) after 1730: 2130, then 2530, 2930.
    const { reads, scheduler } = await readTimesChanging(
      { stepMs: 400, firstTickMs: 100, phaseMs: 130, durationMs: 3000 },
      { 3: (s) => s.setStep(400, null), 5: (s) => s.setStep(400, 130) },
    );
    expectOnTime(reads, [100, 530, 930, 1330, 1730, 2130, 2530, 2930], 1);
    expect(scheduler.skippedTicks).toBe(0);
  });

  it('with splay, a new step set before the first tick keeps the first tick and starts the grid of the new step after it', async () => {
    // The first tick stays at 100 (the 400 ms grid would have come next at 530); the 1 s grid 370 ms past
    // every second, from at least 100 + 500 ms: 1370.
    const sensor = new CountingSensor();
    const t0 = performance.now();
    const s = new Scheduler(sensor, [recorder('a')], { stepMs: 400, firstTickMs: 100, phaseMs: 130, durationMs: 2500, logger: silentLogger(), clockMs: () => 0 });
    s.start();
    s.setStep(1000, 370);
    await settle(s.done);
    expectOnTime(sensor.reads.map((t) => t - t0), [100, 1370, 2370], 1);
  });

  it('with splay, readings that overrun the new step skip to the next points of the new grid', async () => {
    // 100, 530, 930 on the 400 ms grid; then 300 ms, 50 ms past (from at least 150 ms after 930: 1250), and
    // each reading takes 400 ms: read at 1250 (ends 1650: 1550 skipped), 1850 (2150 skipped), 2450, 3050.
    const { reads, scheduler } = await readTimesChanging(
      { stepMs: 400, firstTickMs: 100, phaseMs: 130, durationMs: 3200 },
      {
        3: (s, sensor) => {
          sensor.delayMs = 400;
          s.setStep(300, 50);
        },
      },
    );
    expectOnTime(reads, [100, 530, 930, 1250, 1850, 2450, 3050], 1);
    expect(scheduler.skippedTicks).toBeGreaterThanOrEqual(3);
  });

  it('waits out a step longer than one timer can (24.8 days) instead of firing at once', async () => {
    const sensor = new CountingSensor();
    const s = new Scheduler(sensor, [recorder('a')], { stepMs: 3_000_000_000, durationMs: null, logger: silentLogger() });
    s.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(sensor.reads).toEqual([]);
    // Past the longest wait of one timer (2^31 - 1 ms), the loop waits on; it reads at the step itself.
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(sensor.reads).toEqual([]);
    await vi.advanceTimersByTimeAsync(3_000_000_000 - MAX_TIMER_MS - 101);
    expect(sensor.reads).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sensor.reads).toHaveLength(1);
    s.stop();
    await settle(s.done);
    expect(sensor.reads).toHaveLength(1);
  });

  it('says once that readings fail and once that they work again, publishing nothing in between', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    let reads = 0;
    let scheduler: Scheduler | null = null;
    const sensor: Sensor = {
      kind: 'flaky',
      start: async () => undefined,
      read: async () => {
        reads += 1;
        if (reads === 12) scheduler?.stop();
        if (reads >= 3 && reads <= 8) throw new MeasurementUnavailableError(`zone gone (read ${reads})`);
        return makeSample({ timestampMs: Date.now() });
      },
    };
    const a = recorder('a');
    const missed: Array<{ readonly reason: string; readonly timestampMs: number }> = [];
    // An exporter that withdraws what it holds on a step without a sample hears of every such step, in order.
    const withdrawing: Exporter = { ...recorder('w'), missed: (step) => missed.push(step) > 0 };
    const startedAt = Date.now();
    scheduler = new Scheduler(sensor, [a, withdrawing], { stepMs: 30, durationMs: null, logger });
    scheduler.start();
    await settle(scheduler.done);
    expect(reads).toBe(12);
    expect(a.got).toHaveLength(6);
    expect(missed.map((m) => m.reason)).toEqual([3, 4, 5, 6, 7, 8].map((n) => `zone gone (read ${n})`));
    for (const m of missed) expect(m.timestampMs).toBeGreaterThanOrEqual(startedAt);
    expect(scheduler.failedReadings).toBe(6);
    const said = lines;
    expect(said.map((l) => l['msg'])).toEqual([
      'no sample this step: nothing is published until readings work again (retried every step)',
      'readings work again: publishing resumes',
    ]);
    expect(said[0]?.['err']).toBe('zone gone (read 3)');
    expect(said[1]?.['skippedSteps']).toBe(6);
  });

  it('a reload: new exporters and a new step apply from the next tick, with no burst and no gap', async () => {
    const sensor = new CountingSensor();
    const before = recorder('before');
    const after = recorder('after');
    let s: Scheduler | null = null;
    const switchAt = 4;
    const gate = recorder('gate', () => {
      if (before.got.length === switchAt) {
        s?.setExporters([after]);
        s?.setStep(250, null);
      }
    });
    s = new Scheduler(sensor, [before, gate], { stepMs: 60, durationMs: 1600, logger: silentLogger() });
    s.start();
    await settle(s.done);
    // Every sample went to one list or the other, the switch between two ticks.
    expect(before.got).toHaveLength(switchAt);
    expect(after.got.length).toBeGreaterThanOrEqual(3);
    expect([...before.got, ...after.got]).toHaveLength(sensor.reads.length);
    const gaps = sensor.reads.slice(1).map((t, i) => t - (sensor.reads[i] ?? 0));
    for (const gap of gaps.slice(0, switchAt - 1)) expect(gap).toBeLessThan(200);
    // From the switch on, one reading per new step: the first one new step after the last old tick.
    for (const gap of gaps.slice(switchAt - 1)) expect(gap).toBeGreaterThan(200);
  });

  it('a shorter step whose next tick is already due: one reading at once (not counted as skipped), then the new step', async () => {
    const sensor = new CountingSensor();
    const s = new Scheduler(sensor, [recorder('a')], { stepMs: 400, firstTickMs: 10, durationMs: 1500, logger: silentLogger() });
    s.start();
    await vi.advanceTimersByTimeAsync(300);
    expect(sensor.reads).toHaveLength(1);
    const switchedAt = performance.now();
    s.setStep(100, null);
    await settle(s.done);
    // Tick 2 was due 100 ms after tick 1, long past: it comes at once, not 400 ms after tick 1, not skipped.
    expect(sensor.reads[1]).toBe(switchedAt);
    const gaps = sensor.reads.slice(2).map((t, i) => t - (sensor.reads[i + 1] ?? 0));
    expect(gaps.reduce((x, y) => x + y, 0) / gaps.length).toBeGreaterThan(80);
    expect(gaps.reduce((x, y) => x + y, 0) / gaps.length).toBeLessThan(150);
    expect(sensor.reads.length).toBeGreaterThanOrEqual(10);
    // Not counted as a skip.
    expect(s.skippedTicks).toBe(0);
  });

  it('stop() ends the loop promptly', async () => {
    const sensor = new CountingSensor();
    const s = new Scheduler(sensor, [recorder('a')], { stepMs: 50, durationMs: null, logger: silentLogger() });
    s.start();
    setTimeout(() => s.stop(), 220);
    const t0 = performance.now();
    await settle(s.done);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(sensor.reads.length).toBeGreaterThanOrEqual(3);
  });
});
