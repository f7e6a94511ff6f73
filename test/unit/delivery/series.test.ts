import { describe, expect, it } from 'vitest';
import { metricOf } from '../../../src/core/metric-families.js';
import { sampleToMetrics } from '../../../src/core/metrics.js';
import { MetricsView } from '../../../src/core/metrics-view.js';
import { seriesKey, VanishedSeriesTracker } from '../../../src/delivery/series.js';
import { makeProcess, makeSample } from '../../support/fixtures/sample.js';

const A = makeProcess({ pid: 10 });
const B = makeProcess({ pid: 11 });

describe('VanishedSeriesTracker', () => {
  it('reports the one series of a labels object that goes while the others stay, in any order, and each when it goes again', () => {
    const t = new VanishedSeriesTracker();
    const labels = Object.freeze({ pid: '1' });
    const [power, energy, memory] = ['scaph_process_power_consumption_microwatts', 'scaph_process_energy_microjoules', 'scaph_process_memory_bytes'] as const;
    const step = (...names: Array<typeof power | typeof energy | typeof memory>): string[] => t.next(names.map((n) => metricOf(n, 1, labels))).map((m) => m.name);
    expect(step(power, energy, memory)).toEqual([]);
    expect(step(power, memory)).toEqual([energy]);
    expect(step(power, memory)).toEqual([]);
    expect(step(memory)).toEqual([power]);
    expect(step(power, memory)).toEqual([]);
    expect(step(memory, power)).toEqual([]);
    expect(step()).toEqual([memory, power]);
    expect(step(energy)).toEqual([]);
    expect(step()).toEqual([energy]);
  });

  it("returns an ended process's five series once, from the sample that no longer has it", () => {
    const t = new VanishedSeriesTracker();
    const view = new MetricsView();
    expect(t.next(view.metrics(makeSample({ timestampMs: 1, processes: [A, B] })))).toEqual([]);
    const vanished = t.next(view.metrics(makeSample({ timestampMs: 2, processes: [A] })));
    expect(vanished.map((m) => m.name).sort()).toEqual([
      'scaph_process_cpu_usage_percentage', 'scaph_process_energy_microjoules', 'scaph_process_memory_bytes',
      'scaph_process_memory_virtual_bytes', 'scaph_process_power_consumption_microwatts',
    ]);
    expect(new Set(vanished.map((m) => m.labels['pid']))).toEqual(new Set(['11']));
    expect(t.next(view.metrics(makeSample({ timestampMs: 3, processes: [A] })))).toEqual([]);
  });

  it('compares series by content: equal labels in a new (unfrozen) object are the same series', () => {
    const t = new VanishedSeriesTracker();
    t.next(sampleToMetrics(makeSample({ timestampMs: 1, processes: [A, B] })));
    expect(t.next(sampleToMetrics(makeSample({ timestampMs: 2, processes: [A, B] })))).toEqual([]);
    const gone = t.next(sampleToMetrics(makeSample({ timestampMs: 3, processes: [B] })));
    expect(gone).toHaveLength(5);
    expect(gone.every((m) => m.labels['pid'] === '10')).toBe(true);
  });

  it('tracks a series again when it comes back with the same (frozen) labels object, and reports it when it goes again', () => {
    const t = new VanishedSeriesTracker();
    const labels = Object.freeze({ pid: '7', exe: 'a', cmdline: 'a' });
    const power = { name: 'scaph_process_power_consumption_microwatts', help: '', type: 'gauge', kind: 'int', labels, value: 1 } as const;
    const energy = { ...power, name: 'scaph_process_energy_microjoules', type: 'counter' } as const;
    // A vanished series comes back as its name and labels, help, type and kind; its value means nothing (NaN).
    const ended = (m: typeof power | typeof energy) => ({ ...m, value: Number.NaN });
    expect(t.next([power, energy])).toEqual([]);
    expect(t.next([power])).toEqual([ended(energy)]);
    expect(t.next([power])).toEqual([]);
    expect(t.next([power, energy])).toEqual([]);
    expect(t.next([energy])).toEqual([ended(power)]);
    expect(t.next([])).toEqual([ended(energy)]);
    expect(t.next([])).toEqual([]);
  });
});

describe('seriesKey', () => {
  it('is the same for the same name and label content, different for another name or value', () => {
    const m = { name: 'x', help: '', type: 'gauge', kind: 'int', value: 1 } as const;
    const frozen = Object.freeze({ a: '1', b: '2' });
    expect(seriesKey({ ...m, labels: frozen })).toBe(seriesKey({ ...m, labels: { a: '1', b: '2' } }));
    expect(seriesKey({ ...m, labels: frozen })).not.toBe(seriesKey({ ...m, name: 'y', labels: frozen }));
    expect(seriesKey({ ...m, labels: frozen })).not.toBe(seriesKey({ ...m, labels: { a: '1', b: '3' } }));
  });
});
