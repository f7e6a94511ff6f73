import { describe, expect, it } from 'vitest';
import { sampleToMetrics, type Metric } from '../../../src/core/metrics.js';
import { metricsView, ProcessLabelCache } from '../../../src/core/metrics-view.js';
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

describe('metricsView', () => {
  it('gives the same metrics as sampleToMetrics', () => {
    const s = makeSample();
    expect(metricsView(s, { qemu: true }, '1.2.3')).toEqual(sampleToMetrics(s, { qemu: true }, '1.2.3'));
  });

  it("hands out one frozen labels object per (pid, starttime) across samples, shared by a process's metrics", () => {
    const options = {};
    const first = metricsView(step(1000), options);
    const second = metricsView(step(3000), options);
    const labels = labelsOfPid(first, 10);
    expect(Object.isFrozen(labels)).toBe(true);
    expect(labelsOfPid(second, 10)).toBe(labels);
    expect(second.filter((m) => m.labels === labels)).toHaveLength(5);
    expect(labelsOfPid(second, 11)).not.toBe(labels);
  });

  it('builds new labels when a pid is reused (new starttime) or its command line changes', () => {
    const options = {};
    const before = labelsOfPid(metricsView(step(1000), options), 10);
    const reused = labelsOfPid(metricsView(step(3000, [makeProcess({ pid: 10, starttime: 99_999, exe: 'other' })]), options), 10);
    expect(reused).not.toBe(before);
    expect(reused['exe']).toBe('other');
    const execd = labelsOfPid(metricsView(step(5000, [makeProcess({ pid: 10, starttime: 99_999, exe: 'other', cmdline: 'new argv' })]), options), 10);
    expect(execd).not.toBe(reused);
    expect(execd['cmdline']).toBe('new argv');
  });

  it('shares one list between exporters viewing the same sample the same way, not across different views', () => {
    const s = step(7000);
    const a = metricsView(s, { qemu: false }, 'v');
    expect(metricsView(s, { qemu: false }, 'v')).toBe(a);
    expect(metricsView(s, { qemu: false }, 'other-version')).not.toBe(a);
    const capped = metricsView(s, { maxCmdlineLength: 3 }, 'v');
    expect(capped).not.toBe(a);
    expect(labelsOfPid(capped, 11)['cmdline']).toBe('b …');
    // A selector is stateful and one exporter's own: a view with one never shares another's list.
    const selector = new ProcessSelector(selectionOptions({ include: anywhere('proc10') }));
    const selected = metricsView(s, { selector }, 'v');
    expect(selected.filter((m) => m.labels['pid'] !== undefined)).toHaveLength(5);
    expect(metricsView(s, { selector }, 'v')).toBe(selected);
    expect(metricsView(s, { selector: new ProcessSelector(selectionOptions({ include: anywhere('proc10') })) }, 'v')).not.toBe(selected);
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
