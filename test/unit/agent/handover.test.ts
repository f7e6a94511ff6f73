import { describe, expect, it } from 'vitest';
import { HandoverExporter } from '../../../src/agent/handover.js';
import type { ScaphError } from '../../../src/core/errors.js';
import type { Exporter } from '../../../src/core/exporter.js';
import type { Sample } from '../../../src/core/sample.js';
import { syntheticSample } from '../../support/fixtures/synthetic-sample.js';

/** An exporter that takes `costMs` of CPU per sample, like one encoding a big sample and writing its spool. */
function slowRecorder(costMs: number): Exporter & { got: number[]; stopped: boolean; end(err: ScaphError | null): void } {
  let end: (err: ScaphError | null) => void = () => undefined;
  const r = {
    name: 'slow',
    got: [] as number[],
    stopped: false,
    ended: new Promise<ScaphError | null>((resolve) => (end = resolve)),
    end: (err: ScaphError | null) => end(err),
    start: async () => undefined,
    stop: async () => {
      r.stopped = true;
    },
    export: (s: Sample) => {
      const until = performance.now() + costMs;
      while (performance.now() < until);
      r.got.push(s.timestampMs);
    },
  };
  return r;
}

const sample = (t: number): Sample => syntheticSample({ timestampMs: t });

describe('HandoverExporter', () => {
  it('holds samples until attach, then hands them over in order, a few ms at a time; later ones queue behind', async () => {
    const h = new HandoverExporter('slow');
    for (let t = 1; t <= 40; t++) h.export(sample(t));
    expect(h.holding).toBe(40);
    const target = slowRecorder(2);
    const t0 = performance.now();
    h.attach(target);
    // The first slice returns the event loop after ~5 ms, not after the 80 ms the whole backlog costs.
    expect(performance.now() - t0).toBeLessThan(40);
    expect(target.got.length).toBeGreaterThan(0);
    expect(target.got.length).toBeLessThan(40);
    h.export(sample(41));
    await h.drained();
    h.export(sample(42));
    expect(target.got).toEqual(Array.from({ length: 42 }, (_, i) => i + 1));
    expect(h.holding).toBe(0);
  });

  it('ends when its exporter ends (once attached), and stops it after handing everything over', async () => {
    const h = new HandoverExporter('slow');
    for (let t = 1; t <= 10; t++) h.export(sample(t));
    const target = slowRecorder(2);
    h.attach(target);
    await h.stop(100);
    expect(target.got).toHaveLength(10);
    expect(target.stopped).toBe(true);
    target.end(null);
    await expect(h.ended).resolves.toBeNull();
  });

  it('an exporter that could not start: the held samples are counted as lost, later ones go nowhere', async () => {
    const h = new HandoverExporter('broken');
    for (let t = 1; t <= 3; t++) h.export(sample(t));
    expect(h.fail()).toBe(3);
    h.export(sample(4));
    expect(h.holding).toBe(0);
    await h.stop(100);
    const settled = await Promise.race([h.ended.then(() => 'ended'), new Promise((r) => setTimeout(() => r('running'), 50))]);
    expect(settled).toBe('running');
  });
});

describe('HandoverExporter: steps without a sample', () => {
  it('holds them in their place among the samples and hands them over in order; after that, passes them straight on', async () => {
    const h = new HandoverExporter('rec');
    const events: string[] = [];
    const target: Exporter = {
      name: 'rec',
      start: async () => undefined,
      stop: async () => undefined,
      export: (s: Sample) => void events.push(`sample ${s.timestampMs}`),
      missed: (step) => events.push(`missed ${step.timestampMs}`) > 0,
    };
    h.export(sample(1));
    expect(h.missed({ timestampMs: 2, reason: 'zone gone' })).toBe(false);
    h.export(sample(3));
    h.attach(target);
    await h.drained();
    expect(h.missed({ timestampMs: 4, reason: 'zone gone' })).toBe(true);
    expect(events).toEqual(['sample 1', 'missed 2', 'sample 3', 'missed 4']);
  });

  it('an exporter that could not be built: the samples held are lost (a step without one is no sample)', () => {
    const h = new HandoverExporter('rec');
    h.export(sample(1));
    h.missed({ timestampMs: 2, reason: 'zone gone' });
    h.export(sample(3));
    expect(h.fail()).toBe(2);
    expect(h.missed({ timestampMs: 4, reason: 'zone gone' })).toBe(false);
  });
});
