import { describe, expect, it } from 'vitest';
import type { Exporter } from '../../../src/core/exporter.js';
import type { Sample } from '../../../src/core/sample.js';
import { SteppedExporter } from '../../../src/agent/stepped-exporter.js';
import { syntheticSample } from '../../support/fixtures/synthetic-sample.js';

function recorder(): Exporter & { got: number[] } {
  const got: number[] = [];
  return { name: 'rec', got, start: async () => undefined, stop: async () => undefined, export: (s: Sample) => void got.push(s.timestampMs) };
}

/** Feeds samples every sensorStep s for `total` s on a fake clock; returns the seconds the exporter took. */
function run(stepS: number, sensorStepS: number, totalS: number, jitterMs = 0): number[] {
  const rec = recorder();
  let now = 0;
  const gate = new SteppedExporter(rec, stepS * 1000, sensorStepS * 1000, () => now);
  for (let t = 0; t <= totalS * 1000; t += sensorStepS * 1000) {
    now = t + (t % 3 === 0 ? jitterMs : -jitterMs);
    gate.export(syntheticSample({ timestampMs: t }));
  }
  return rec.got.map((ms) => ms / 1000);
}

describe('SteppedExporter', () => {
  it('passes every sample when the exporter step is at or below the sensor step', () => {
    expect(run(1, 2, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(run(2, 2, 10, 300)).toEqual([0, 2, 4, 6, 8, 10]);
  });

  it('takes the latest sample at multiples of the sensor step, tolerating timer jitter', () => {
    expect(run(6, 2, 24, 400)).toEqual([0, 6, 12, 18, 24]);
    expect(run(1, 0.25, 3)).toEqual([0, 1, 2, 3]);
  });

  it('averages a step that is not a multiple of the sensor step to the requested rate', () => {
    const taken = run(5, 2, 100);
    expect(taken.slice(0, 6)).toEqual([0, 4, 10, 14, 20, 24]);
    expect(taken).toHaveLength(21);
  });
});

describe('SteppedExporter across a reload', () => {
  it('keeps its own step and schedule when the sensor step changes', () => {
    const rec = recorder();
    let now = 0;
    const gate = new SteppedExporter(rec, 6000, 2000, () => now);
    const feed = (fromMs: number, toMs: number, everyMs: number): void => {
      for (let t = fromMs; t <= toMs; t += everyMs) {
        now = t;
        gate.export(syntheticSample({ timestampMs: t }));
      }
    };
    feed(0, 10_000, 2000);
    gate.setSensorStep(500);
    feed(10_500, 25_000, 500);
    expect(rec.got.map((ms) => ms / 1000)).toEqual([0, 6, 12, 18, 24]);
  });
});

describe('SteppedExporter: a step without a sample', () => {
  function gated(withdraws: boolean): { gate: SteppedExporter; got: number[]; missed: string[]; at: (ms: number) => void } {
    const got: number[] = [];
    const missed: string[] = [];
    let now = 0;
    const inner: Exporter = {
      name: 'inner',
      start: async () => undefined,
      stop: async () => undefined,
      export: (s: Sample) => void got.push(s.timestampMs / 1000),
      missed: (step) => {
        missed.push(step.reason);
        return withdraws;
      },
    };
    return { gate: new SteppedExporter(inner, 10_000, 2_000, () => now), got, missed, at: (ms) => (now = ms) };
  }

  it('reaches the exporter whatever its step; one that withdrew its figures gets the next sample at once', () => {
    const { gate, got, missed, at } = gated(true);
    for (const t of [0, 2, 4]) {
      at(t * 1000);
      gate.export(syntheticSample({ timestampMs: t * 1000 }));
    }
    at(6000);
    expect(gate.missed({ timestampMs: 6000, reason: 'zone gone' })).toBe(true);
    for (const t of [8, 10, 12, 14, 16, 18, 20]) {
      at(t * 1000);
      gate.export(syntheticSample({ timestampMs: t * 1000 }));
    }
    expect(missed).toEqual(['zone gone']);
    // 0, then (withdrawn at 6) 8 at once instead of 10, and every 10 s from there.
    expect(got).toEqual([0, 8, 18]);
  });

  it('an exporter with nothing to withdraw keeps its schedule', () => {
    const { gate, got, at } = gated(false);
    for (const t of [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]) {
      at(t * 1000);
      if (t === 6) expect(gate.missed({ timestampMs: 6000, reason: 'zone gone' })).toBe(false);
      else gate.export(syntheticSample({ timestampMs: t * 1000 }));
    }
    expect(got).toEqual([0, 10, 20]);
  });

  it('on a splay grid, one that withdrew gets the next sample at once, then its grid points again', () => {
    const got: number[] = [];
    const clock = { now: 0 };
    const inner: Exporter = { name: 'inner', start: async () => undefined, stop: async () => undefined, export: (s: Sample) => void got.push(s.timestampMs), missed: () => true };
    const gate = new SteppedExporter(inner, 10_000, 2000, () => clock.now, { phaseMs: 3_000, periodMs: 10_000 });
    const feed = (times: readonly number[]): void => {
      for (const t of times) {
        clock.now = t;
        gate.export(syntheticSample({ timestampMs: t }));
      }
    };
    // The start-up reading at 1 s (held), the grid ticks 700 ms past every 2 s: 2.7 s (nearest 3 s) takes it.
    feed([1000, 2700, 4700, 6700]);
    clock.now = 8700;
    expect(gate.missed({ timestampMs: 8700, reason: 'zone gone' })).toBe(true);
    // 10.7 s at once (not 23 s away, at the grid point after the one it would have taken), then the grid
    // points as after any gap: the next one (13 s, taken at 12.7 s), 23 s, 33 s.
    feed([10_700, 12_700, 14_700, 16_700, 18_700, 20_700, 22_700, 24_700, 26_700, 28_700, 30_700, 32_700]);
    expect(got).toEqual([1000, 2700, 10_700, 12_700, 22_700, 32_700]);
  });
});

describe('SteppedExporter with splay across a reload', () => {
  const feed = (gate: SteppedExporter, clock: { now: number }, times: readonly number[]): void => {
    for (const t of times) {
      clock.now = t;
      gate.export(syntheticSample({ timestampMs: t }));
    }
  };
  const every = (fromMs: number, toMs: number, stepMs: number): number[] => Array.from({ length: Math.floor((toMs - fromMs) / stepMs) + 1 }, (_, k) => fromMs + k * stepMs);

  it('on its own grid (longer than both sensor steps) keeps its schedule when the sensor step changes', () => {
    const rec = recorder();
    const clock = { now: 0 };
    const grid = { phaseMs: 3_000, periodMs: 10_000 };
    const gate = new SteppedExporter(rec, 10_000, 2000, () => clock.now, grid);
    // The start-up reading at 1 s, then the loop's grid 700 ms past every 2 s; then a 1 s loop, 200 ms past.
    feed(gate, clock, [1000, ...every(2700, 20_700, 2000)]);
    gate.setSensorStep(1000, grid);
    feed(gate, clock, every(21_200, 45_200, 1000));
    // The ticks nearest 3, 13 s (2 s loop), then 23, 33, 43 s (1 s loop): one per step, on the grid.
    expect(rec.got).toEqual([1000, 2700, 12_700, 23_200, 33_200, 43_200]);
  });

  it("on the loop's grid moves with it; built by a reload it holds no start-up reading; rebuilt, it goes on with the old one's schedule", () => {
    const clock = { now: 0 };
    const old = recorder();
    const own = { phaseMs: 3_000, periodMs: 10_000 };
    const before = new SteppedExporter(old, 10_000, 2000, () => clock.now, own);
    feed(before, clock, [1000, ...every(2700, 14_700, 2000)]);
    expect(old.got).toEqual([1000, 2700, 12_700]);
    // Rebuilt (same step, same grid): its first tick (14.7 s) is not taken for 13 s again; the next point is 23 s.
    const fresh = recorder();
    const after = new SteppedExporter(fresh, 10_000, 2000, () => clock.now, own, 'loop tick');
    after.continueSchedule(before);
    feed(after, clock, every(16_700, 24_700, 2000));
    expect(fresh.got).toEqual([22_700]);
    // The sensor step goes to 10 s: the exporter's step is the loop's, so is its grid (every sample).
    after.setSensorStep(10_000, { phaseMs: 4_100, periodMs: 10_000 });
    feed(after, clock, [34_100, 44_100]);
    expect(fresh.got).toEqual([22_700, 34_100, 44_100]);
    // Built by a reload at another step (no schedule to go on with): the next point of its grid, no hold.
    const other = recorder();
    const added = new SteppedExporter(other, 20_000, 10_000, () => clock.now, { phaseMs: 15_000, periodMs: 20_000 }, 'loop tick');
    added.continueSchedule(before);
    feed(added, clock, [54_100, 64_100, 74_100, 84_100]);
    expect(other.got).toEqual([54_100, 74_100]);
  });
});
