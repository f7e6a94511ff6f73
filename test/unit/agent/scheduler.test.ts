import { describe, expect, it } from 'vitest';
import type { Exporter } from '../../../src/core/exporter.js';
import { silentLogger } from '../../../src/core/log.js';
import type { Sample } from '../../../src/core/sample.js';
import { Scheduler } from '../../../src/agent/scheduler.js';
import { MeasurementUnavailableError, type Sensor } from '../../../src/core/sensor.js';
import { makeSample } from '../../support/fixtures/sample.js';

class CountingSensor implements Sensor {
  readonly kind = 'test';
  reads: number[] = [];
  constructor(private readonly delayMs = 0) {}
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
    const a = recorder('a');
    const b = recorder('b');
    const s = new Scheduler(sensor, [a, b], { stepMs: 100, durationMs: 1000, logger: silentLogger() });
    s.start();
    await s.done;
    expect(sensor.reads.length).toBeGreaterThanOrEqual(8);
    expect(sensor.reads.length).toBeLessThanOrEqual(10);
    expect(a.got.length).toBe(sensor.reads.length);
    expect(b.got).toEqual(a.got);
    const gaps = sensor.reads.slice(1).map((t, i) => t - (sensor.reads[i] ?? 0));
    const mean = gaps.reduce((x, y) => x + y, 0) / gaps.length;
    expect(mean).toBeGreaterThan(80);
    expect(mean).toBeLessThan(140);
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
    await s.done;
    expect(ok.got.length).toBeGreaterThanOrEqual(8);
  });

  it('skips ticks instead of overlapping when a reading overruns its step', async () => {
    const sensor = new CountingSensor(130);
    const s = new Scheduler(sensor, [recorder('a')], { stepMs: 50, durationMs: 1000, logger: silentLogger() });
    s.start();
    await s.done;
    const gaps = sensor.reads.slice(1).map((t, i) => t - (sensor.reads[i] ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(129);
    expect(s.skippedTicks).toBeGreaterThan(0);
  });

  it('takes the first reading at firstTickMs, then keeps the step', async () => {
    const sensor = new CountingSensor();
    const t0 = performance.now();
    const s = new Scheduler(sensor, [recorder('a')], { stepMs: 400, firstTickMs: 50, durationMs: 1000, logger: silentLogger() });
    s.start();
    await s.done;
    // Ticks at 50, 450, 850 ms: the next (1250) is past the duration.
    expect(sensor.reads).toHaveLength(3);
    const [first = 0, ...rest] = sensor.reads;
    expect(first - t0).toBeLessThan(300);
    const gaps = rest.map((t, i) => t - (sensor.reads[i] ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThan(300);
    expect(gaps.reduce((x, y) => x + y, 0) / gaps.length).toBeGreaterThan(350);
  });

  it('waits out a step longer than one timer can (24.8 days) instead of firing at once', async () => {
    const sensor = new CountingSensor();
    const s = new Scheduler(sensor, [recorder('a')], { stepMs: 3_000_000_000, durationMs: null, logger: silentLogger() });
    s.start();
    await new Promise((r) => setTimeout(r, 100));
    s.stop();
    await s.done;
    expect(sensor.reads).toEqual([]);
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
    await scheduler.done;
    expect(reads).toBe(12);
    expect(a.got).toHaveLength(6);
    expect(missed.map((m) => m.reason)).toEqual([3, 4, 5, 6, 7, 8].map((n) => `zone gone (read ${n})`));
    for (const m of missed) expect(m.timestampMs).toBeGreaterThanOrEqual(startedAt);
    expect(scheduler.failedReadings).toBe(6);
    // (A loaded machine may add an "overran its step" line: not what this test is about.)
    const said = lines.filter((l) => !String(l['msg']).includes('overran'));
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
        s?.setStep(250);
      }
    });
    s = new Scheduler(sensor, [before, gate], { stepMs: 60, durationMs: 1600, logger: silentLogger() });
    s.start();
    await s.done;
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
    await new Promise((r) => setTimeout(r, 300));
    expect(sensor.reads).toHaveLength(1);
    const switchedAt = performance.now();
    s.setStep(100);
    await s.done;
    // Tick 2 was due 100 ms after tick 1, long past: it comes at once, not 400 ms after tick 1, not skipped.
    expect((sensor.reads[1] ?? 0) - switchedAt).toBeLessThan(150);
    const gaps = sensor.reads.slice(2).map((t, i) => t - (sensor.reads[i + 1] ?? 0));
    expect(gaps.reduce((x, y) => x + y, 0) / gaps.length).toBeGreaterThan(80);
    expect(gaps.reduce((x, y) => x + y, 0) / gaps.length).toBeLessThan(150);
    expect(sensor.reads.length).toBeGreaterThanOrEqual(10);
    // A skip is counted only where the loop itself was late (a loaded machine), never for the switch.
    expect(s.skippedTicks).toBeLessThanOrEqual(gaps.filter((g) => g > 150).length);
  });

  it('stop() ends the loop promptly', async () => {
    const sensor = new CountingSensor();
    const s = new Scheduler(sensor, [recorder('a')], { stepMs: 50, durationMs: null, logger: silentLogger() });
    s.start();
    setTimeout(() => s.stop(), 220);
    const t0 = performance.now();
    await s.done;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(sensor.reads.length).toBeGreaterThanOrEqual(3);
  });
});
