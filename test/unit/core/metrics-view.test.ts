import { describe, expect, it } from 'vitest';
import { isDeliveryFamily, type Metric } from '../../../src/core/metric-families.js';
import { metricFilter, type MetricFilter } from '../../../src/core/metric-filter.js';
import { sampleToMetrics, type DeliveryFigures } from '../../../src/core/metrics.js';
import { MetricsView, ProcessLabelCache } from '../../../src/core/metrics-view.js';
import { ProcessSelector } from '../../../src/core/process-selection.js';
import { anywhere, selectionOptions } from '../../support/fixtures/selection.js';
import type { Sample } from '../../../src/core/sample.js';
import { makeProcess, makeSample } from '../../support/fixtures/sample.js';

function labelsOfPid(metrics: readonly Metric[], pid: number): Metric['labels'] {
  const m = metrics.find((x) => x.name === 'scaph_process_power_consumption_microwatts' && x.labels['pid'] === String(pid));
  if (!m) throw new Error(`no series for pid ${pid}`);
  return m.labels;
}

function step(timestampMs: number, processes = [makeProcess({ pid: 10 }), makeProcess({ pid: 11, cmdline: 'b --x' })]): Sample {
  return makeSample({ timestampMs, processes });
}

function filterOf(keepMetrics: string[], dropLabels: string[] = []): MetricFilter {
  const f = metricFilter({ keepMetrics, dropMetrics: [], dropLabels });
  if (f === null) throw new Error('expected a filter');
  return f;
}

const FIGURES: DeliveryFigures = {
  sent: 7,
  retried: 2,
  dropped: { too_old: 1, queue_full: 3 },
  seriesSent: 41,
  queueDepth: 1,
  queueBytes: 2048,
  nextAttemptInMs: 1500,
  spoolSamples: null,
  spoolBytes: null,
  spoolWriteFailures: 0,
  lastSuccessMs: 1_700_000_000_250,
};

describe('MetricsView', () => {
  it('without options gives what sampleToMetrics gives: every process, no filter, no version', () => {
    const s = makeSample();
    expect(new MetricsView().metrics(s)).toEqual(sampleToMetrics(s));
    expect(new MetricsView({ qemu: true, version: '1.2.3' }).metrics(s)).toEqual(sampleToMetrics(s, { qemu: true }, '1.2.3'));
  });

  it('applies its selection: only the selected processes get series, the rest go into the others series', () => {
    const s = step(1000, [makeProcess({ pid: 10, powerUw: 9_000_000 }), makeProcess({ pid: 11, powerUw: 2_000_000 }), makeProcess({ pid: 12, powerUw: 1_000_000 })]);
    const view = new MetricsView({ selection: selectionOptions({ maxTopConsumers: 1 }) });
    const metrics = view.metrics(s);
    expect(new Set(metrics.filter((m) => m.labels['pid'] !== undefined).map((m) => m.labels['pid']))).toEqual(new Set(['10']));
    const value = (name: string): number | undefined => metrics.find((m) => m.name === name)?.value;
    expect(value('scaph_process_others_power_microwatts')).toBe(3_000_000);
    expect(value('scaph_process_others_count')).toBe(2);
    // The same selection as select() gives for that sample (idempotent for the latest sample).
    expect(view.select(s)?.processes.map((p) => p.pid)).toEqual([10]);
    expect(new MetricsView().select(s)).toBeNull();
  });

  it('applies its filter after the selection; the delivery self-metrics are never filtered', () => {
    const s = step(2000);
    const view = new MetricsView({ filter: filterOf(['scaph_host_power_microwatts', 'scaph_process_power_consumption_microwatts'], ['cmdline']), version: 'v' });
    const metrics = view.metrics(s);
    expect([...new Set(metrics.map((m) => m.name))]).toEqual(['scaph_host_power_microwatts', 'scaph_process_power_consumption_microwatts']);
    expect(labelsOfPid(metrics, 10)).toEqual({ pid: '10', exe: 'proc10' });
    const delivery = view.deliveryMetrics('remote-write', FIGURES);
    expect(delivery.every((m) => isDeliveryFamily(m.name))).toBe(true);
    expect(delivery.map((m) => [m.name, m.labels, m.value])).toEqual([
      ['scaph_delivery_samples_sent_total', { transport: 'remote-write' }, 7],
      ['scaph_delivery_samples_retried_total', { transport: 'remote-write' }, 2],
      ['scaph_delivery_samples_dropped_total', { transport: 'remote-write', reason: 'queue_full' }, 3],
      ['scaph_delivery_samples_dropped_total', { transport: 'remote-write', reason: 'too_old' }, 1],
      ['scaph_delivery_series_sent', { transport: 'remote-write' }, 41],
      ['scaph_delivery_queue_depth', { transport: 'remote-write' }, 1],
      ['scaph_delivery_queue_bytes', { transport: 'remote-write' }, 2048],
      ['scaph_delivery_next_attempt_seconds', { transport: 'remote-write' }, 1.5],
      ['scaph_delivery_last_success_timestamp_seconds', { transport: 'remote-write' }, 1_700_000_000.25],
    ]);
    // Frozen labels, the same objects every batch (the encoders cache per labels object).
    const again = view.deliveryMetrics('remote-write', FIGURES);
    expect(again[0]?.labels).toBe(delivery[0]?.labels);
    expect(Object.isFrozen(delivery[2]?.labels)).toBe(true);
    expect(again[2]?.labels).toBe(delivery[2]?.labels);
  });

  it('says the spool figures only with a spool', () => {
    const names = (f: DeliveryFigures): string[] => new MetricsView().deliveryMetrics('warp10', f).map((m) => m.name);
    expect(names(FIGURES)).not.toContain('scaph_delivery_spool_samples');
    const spooled = names({ ...FIGURES, spoolSamples: 4, spoolBytes: 4096, spoolWriteFailures: 1 });
    expect(spooled).toEqual(expect.arrayContaining(['scaph_delivery_spool_samples', 'scaph_delivery_spool_bytes', 'scaph_delivery_spool_write_failures_total']));
    expect(names({ ...FIGURES, lastSuccessMs: null })).not.toContain('scaph_delivery_last_success_timestamp_seconds');
  });

  it("hands out one frozen labels object per (pid, starttime) across samples, shared by a process's metrics", () => {
    const view = new MetricsView();
    const first = view.metrics(step(1000));
    const second = view.metrics(step(3000));
    const labels = labelsOfPid(first, 10);
    expect(Object.isFrozen(labels)).toBe(true);
    expect(labelsOfPid(second, 10)).toBe(labels);
    expect(second.filter((m) => m.labels === labels)).toHaveLength(5);
    expect(labelsOfPid(second, 11)).not.toBe(labels);
  });

  it('builds new labels when a pid is reused (new starttime) or its command line changes', () => {
    const view = new MetricsView();
    const before = labelsOfPid(view.metrics(step(1000)), 10);
    const reused = labelsOfPid(view.metrics(step(3000, [makeProcess({ pid: 10, starttime: 99_999, exe: 'other' })])), 10);
    expect(reused).not.toBe(before);
    expect(reused['exe']).toBe('other');
    const execd = labelsOfPid(view.metrics(step(5000, [makeProcess({ pid: 10, starttime: 99_999, exe: 'other', cmdline: 'new argv' })])), 10);
    expect(execd).not.toBe(reused);
    expect(execd['cmdline']).toBe('new argv');
  });

  it('shares one list between views of the same sample alike, not across different views', () => {
    const s = step(7000);
    const a = new MetricsView({ qemu: false, version: 'v' }).metrics(s);
    expect(new MetricsView({ qemu: false, version: 'v' }).metrics(s)).toBe(a);
    expect(new MetricsView({ qemu: false, version: 'other-version' }).metrics(s)).not.toBe(a);
    const capped = new MetricsView({ maxCmdlineLength: 3, version: 'v' }).metrics(s);
    expect(capped).not.toBe(a);
    expect(labelsOfPid(capped, 11)['cmdline']).toBe('b …');
    // A selection is stateful and one exporter's own: a view that selects never shares another's list.
    const selecting = new MetricsView({ selection: selectionOptions({ include: anywhere('proc10') }), version: 'v' });
    const selected = selecting.metrics(s);
    expect(selected.filter((m) => m.labels['pid'] !== undefined)).toHaveLength(5);
    expect(selecting.metrics(s)).toBe(selected);
    expect(new MetricsView({ selection: selectionOptions({ include: anywhere('proc10') }), version: 'v' }).metrics(s)).not.toBe(selected);
    // A filtered view still shares the unfiltered list it filters: untouched metrics are its very objects.
    const filtered = new MetricsView({ filter: filterOf(['scaph_host_.*']), version: 'v' }).metrics(s);
    expect(filtered).toContain(a.find((m) => m.name === 'scaph_host_power_microwatts'));
  });

  it('selects as a selector handed every sample does, sample after sample', () => {
    const options = selectionOptions({ maxTopConsumers: 1, holdSteps: 1 });
    const view = new MetricsView({ selection: options });
    const selector = new ProcessSelector(options);
    for (let i = 0; i < 4; i++) {
      const s = step(1000 * (i + 1), [makeProcess({ pid: 10, powerUw: i % 2 === 0 ? 5 : 1 }), makeProcess({ pid: 11, powerUw: i % 2 === 0 ? 1 : 5 })]);
      expect(view.select(s)?.processes.map((p) => p.pid)).toEqual(selector.select(s).processes.map((p) => p.pid));
    }
  });
});

describe('ProcessLabelCache', () => {
  it('forgets processes that were absent from the previous sample', () => {
    const cache = new ProcessLabelCache();
    const all = step(1000);
    cache.beginSample(all);
    for (const p of all.processes) cache.labelsOf(p, {});
    expect(cache.size).toBe(2);
    const one = step(3000, [makeProcess({ pid: 10 })]);
    cache.beginSample(one);
    cache.labelsOf(one.processes[0]!, {});
    // pid 11 was seen in the previous sample: kept one more sample, then dropped.
    cache.beginSample(step(5000));
    expect(cache.size).toBe(1);
  });
});
