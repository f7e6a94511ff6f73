import { describe, expect, it } from 'vitest';
import { sampleToMetrics } from '../../../src/core/metrics.js';
import { ProcessSelector } from '../../../src/core/process-selection.js';
import type { CarbonSample, GroupSample, Sample } from '../../../src/core/sample.js';
import { makeSample } from '../../support/fixtures/sample.js';

const group = (kind: GroupSample['kind'], key: string): GroupSample => ({ kind, key, container: kind === 'systemd_unit' ? { systemdUnit: key } : { containerId: key }, powerUw: 1, energyUj: 2, source: 'cgroup' });

function withCarbon(carbon: Partial<CarbonSample>): Sample {
  const base = makeSample({ groups: [group('container', 'c1'), group('systemd_unit', 'cron.service')] });
  return {
    ...base,
    carbon: { intensityGPerKwh: 56.5, source: 'static', zone: 'FR', hostGrams: 12.5, unattributedGrams: 2.25, groupGrams: [3, 4], processGrams: null, ...carbon },
  };
}

describe('carbon in the metrics view', () => {
  it('writes the host emissions, the unattributed part and the intensity with its zone and source', () => {
    const metrics = sampleToMetrics(withCarbon({}), { containers: true });
    const of = (name: string) => metrics.filter((m) => m.name === name).map((m) => ({ labels: m.labels, value: m.value, type: m.type, kind: m.kind }));
    expect(of('scaph_host_carbon_emissions_grams')).toEqual([{ labels: {}, value: 12.5, type: 'counter', kind: 'float' }]);
    expect(of('scaph_host_unattributed_carbon_emissions_grams')).toEqual([{ labels: {}, value: 2.25, type: 'counter', kind: 'float' }]);
    expect(of('scaph_carbon_intensity_grams_per_kwh')).toEqual([{ labels: { zone: 'FR', source: 'static' }, value: 56.5, type: 'gauge', kind: 'float' }]);
    expect(of('scaph_container_carbon_emissions_grams')).toEqual([{ labels: { container_id: 'c1' }, value: 3, type: 'counter', kind: 'float' }]);
    expect(of('scaph_systemd_unit_carbon_emissions_grams')).toEqual([{ labels: { systemd_unit: 'cron.service' }, value: 4, type: 'counter', kind: 'float' }]);
    expect(of('scaph_process_carbon_emissions_grams')).toEqual([]);
  });

  it('a fixed value without a zone has no zone label; no intensity known: no intensity series, counters still there', () => {
    let metrics = sampleToMetrics(withCarbon({ source: 'fixed', zone: '' }));
    expect(metrics.find((m) => m.name === 'scaph_carbon_intensity_grams_per_kwh')?.labels).toEqual({ source: 'fixed' });
    metrics = sampleToMetrics(withCarbon({ intensityGPerKwh: null, source: null }));
    expect(metrics.some((m) => m.name === 'scaph_carbon_intensity_grams_per_kwh')).toBe(false);
    expect(metrics.find((m) => m.name === 'scaph_host_carbon_emissions_grams')?.value).toBe(12.5);
    // Groups' emissions go out with their power: with --containers.
    expect(metrics.some((m) => m.name === 'scaph_container_carbon_emissions_grams')).toBe(false);
  });

  it('per process: each process series has its emissions, a selection writes those of the processes it sends', () => {
    const sample = withCarbon({ processGrams: [0.5, 0.25, 0.125] });
    const all = sampleToMetrics(sample).filter((m) => m.name === 'scaph_process_carbon_emissions_grams');
    expect(all.map((m) => [m.labels['pid'], m.value])).toEqual([['42', 0.5], ['7', 0.25], ['1', 0.125]]);
    const selector = new ProcessSelector({ maxTopConsumers: 1, minPowerUw: 0, include: null, exclude: null, holdSteps: 0 });
    const selected = sampleToMetrics(sample, {}, '', selector.select(sample)).filter((m) => m.name === 'scaph_process_carbon_emissions_grams');
    expect(selected.map((m) => [m.labels['pid'], m.value])).toEqual([['42', 0.5]]);
  });

  it('a sample without carbon has none of its series', () => {
    expect(sampleToMetrics(makeSample(), { containers: true }).filter((m) => m.name.includes('carbon'))).toEqual([]);
  });
});
