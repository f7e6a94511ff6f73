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
});
