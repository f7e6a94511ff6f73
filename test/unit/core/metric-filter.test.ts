import { describe, expect, it } from 'vitest';
import { dropLabelProblem, IDENTITY_LABELS, metricFilter, MetricFilter, type MetricFilterSpec } from '../../../src/core/metric-filter.js';
import { METRIC_FAMILIES, type Metric } from '../../../src/core/metric-families.js';
import { sampleToMetrics } from '../../../src/core/metrics.js';
import { MetricsView } from '../../../src/core/metrics-view.js';
import type { ContainerInfo, GroupSample, Sample } from '../../../src/core/sample.js';
import { makeProcess, makeSample } from '../../support/fixtures/sample.js';

const NONE: MetricFilterSpec = { keepMetrics: [], dropMetrics: [], dropLabels: [] };

function filter(spec: Partial<MetricFilterSpec>): MetricFilter {
  const f = metricFilter({ ...NONE, ...spec });
  if (f === null) throw new Error('expected a filter');
  return f;
}

function names(metrics: readonly Metric[]): string[] {
  return [...new Set(metrics.map((m) => m.name))];
}

function step(timestampMs: number): Sample {
  return makeSample({ timestampMs, processes: [makeProcess({ pid: 10 }), makeProcess({ pid: 11, cmdline: 'b --x' })] });
}

describe('MetricFilter', () => {
  it('keeps exactly the families whose whole name matches a keep regex, then leaves out those a drop regex matches', () => {
    const all = sampleToMetrics(makeSample(), {}, 'v');
    const kept = filter({ keepMetrics: ['scaph_(host|process)_.*'], dropMetrics: ['.*_memory_.*', 'scaph_host_load_avg_.*'] }).apply(all);
    const expected = names(all).filter((n) => /^scaph_(host|process)_/.test(n) && !n.includes('_memory_') && !n.startsWith('scaph_host_load_avg_'));
    expect(names(kept)).toEqual(expected);
    expect(kept).toHaveLength(all.filter((m) => expected.includes(m.name)).length);
    // Anchored at both ends: "process" alone matches no whole name.
    expect(filter({ keepMetrics: ['process'] }).apply(all)).toEqual([]);
    // Several keep regexes: any of them.
    expect(names(filter({ keepMetrics: ['scaph_socket_power_microwatts', 'scaph_self_version'] }).apply(all))).toEqual(['scaph_socket_power_microwatts', 'scaph_self_version']);
  });

  it('drops labels from every series; values, order and untouched metrics stay as they were', () => {
    const all = sampleToMetrics(makeSample(), {}, 'v');
    const out = filter({ dropLabels: ['cmdline', 'exe'] }).apply(all);
    expect(out).toHaveLength(all.length);
    for (const [i, m] of out.entries()) {
      const source = all[i] as Metric;
      expect(m.name).toBe(source.name);
      expect(m.value).toBe(source.value);
      const { cmdline: _c, exe: _e, ...rest } = source.labels;
      expect(m.labels).toEqual(rest);
      // A metric with nothing to drop is handed on as is.
      if (!('cmdline' in source.labels) && !('exe' in source.labels)) expect(m).toBe(source);
    }
    expect(out.some((m) => 'cmdline' in m.labels || 'exe' in m.labels)).toBe(false);
  });

  it('keeps one frozen filtered labels object per source labels object, across steps (encoders cache by it)', () => {
    const f = filter({ dropLabels: ['cmdline'] });
    const view = new MetricsView({ filter: f });
    const first = view.metrics(step(1000));
    const second = view.metrics(step(3000));
    const of = (list: readonly Metric[], pid: string): Metric['labels'] =>
      (list.find((m) => m.name === 'scaph_process_power_consumption_microwatts' && m.labels['pid'] === pid) as Metric).labels;
    expect(of(first, '10')).toEqual({ pid: '10', exe: 'proc10' });
    expect(Object.isFrozen(of(first, '10'))).toBe(true);
    expect(of(second, '10')).toBe(of(first, '10'));
    expect(second.filter((m) => m.labels === of(first, '10'))).toHaveLength(5);
  });

  it('equal specs share one filter (and one filtered list per view); a filtered view still shares the unfiltered list', () => {
    const a = filter({ dropLabels: ['exe', 'cmdline'], keepMetrics: ['scaph_.*'] });
    expect(filter({ dropLabels: ['cmdline', 'exe', 'cmdline'], keepMetrics: ['scaph_.*'] })).toBe(a);
    expect(filter({ dropLabels: ['cmdline'], keepMetrics: ['scaph_.*'] })).not.toBe(a);
    expect(metricFilter(NONE)).toBeNull();
    const s = step(5000);
    const unfiltered = new MetricsView({ version: 'v' }).metrics(s);
    const filtered = new MetricsView({ filter: a, version: 'v' }).metrics(s);
    expect(new MetricsView({ filter: a, version: 'v' }).metrics(s)).toBe(filtered);
    expect(new MetricsView({ version: 'v' }).metrics(s)).toBe(unfiltered);
    expect(filtered).toEqual(a.apply(unfiltered));
    // Untouched metrics (no exe or cmdline) are the very objects of the shared list.
    const host = unfiltered.find((m) => m.name === 'scaph_host_power_microwatts');
    expect(filtered).toContain(host);
  });

  it('refuses to drop a label that tells series apart, a transport label, or a malformed name', () => {
    for (const name of IDENTITY_LABELS) expect(dropLabelProblem(name)).toMatch(/tells series apart/);
    expect(dropLabelProblem('instance')).toMatch(/the exporter adds it/);
    expect(dropLabelProblem('bad-name')).toMatch(/not a label name/);
    expect(dropLabelProblem('__name__')).toMatch(/not a label name/);
    for (const name of ['cmdline', 'exe', 'vmname', 'value_source', 'container_image', 'kubernetes_pod_label_app']) expect(dropLabelProblem(name)).toBeNull();
    expect(() => new MetricFilter({ ...NONE, dropLabels: ['pid'] })).toThrow(/tells series apart/);
  });

  it('no identity label can be dropped, so no two series of a step end up with the same labels', () => {
    const droppable = new Set<string>();
    // Everything alike but the identity: same image, name, node, qos, pod labels.
    const pod = (uid: string, name: string, id: string): ContainerInfo => ({
      containerId: id,
      containerRuntime: 'containerd',
      containerName: 'app',
      containerImage: 'app:1',
      kubernetesPodUid: uid,
      kubernetesPodQosClass: 'Burstable',
      kubernetesPodName: name,
      kubernetesPodNamespace: 'default',
      kubernetesNodeName: 'node1',
      kubernetesContainerName: 'app',
      kubernetesPodLabels: { kubernetes_pod_label_app: 'web' },
    });
    const a = pod('u1', 'web-1', 'c1');
    const b = pod('u2', 'web-2', 'c2');
    const unitA: ContainerInfo = { systemdUnit: 'a.service' };
    const unitB: ContainerInfo = { systemdUnit: 'b.service' };
    const group = (kind: GroupSample['kind'], key: string, container: ContainerInfo): GroupSample => ({ kind, key, container, powerUw: 1, energyUj: 1, source: 'cgroup' });
    const sample = makeSample({
      processes: [
        makeProcess({ pid: 1, exe: 'same', cmdline: 'same', container: a, vmName: 'vm' }),
        makeProcess({ pid: 2, exe: 'same', cmdline: 'same', container: b, vmName: 'vm' }),
        makeProcess({ pid: 3, exe: 'same', cmdline: 'same', container: unitA }),
        makeProcess({ pid: 4, exe: 'same', cmdline: 'same', container: unitB }),
      ],
      groups: [
        group('container', 'c1', a),
        group('container', 'c2', b),
        group('pod', 'u1', a),
        group('pod', 'u2', b),
        group('namespace', 'default', a),
        group('namespace', 'kube-system', { ...a, kubernetesPodNamespace: 'kube-system' }),
        group('systemd_unit', 'a.service', unitA),
        group('systemd_unit', 'b.service', unitB),
      ],
    });
    const all = sampleToMetrics(sample, { qemu: true, containers: true }, 'v');
    for (const m of all) for (const k in m.labels) if (dropLabelProblem(k) === null) droppable.add(k);
    const out = filter({ dropLabels: [...droppable] }).apply(all);
    const keys = out.map((m) => `${m.name}${JSON.stringify(m.labels)}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(out).toHaveLength(all.length);
    expect([...droppable].sort()).toEqual([
      'cmdline',
      'container_image',
      'container_name',
      'container_runtime',
      'exe',
      'kubernetes_container_name',
      'kubernetes_node_name',
      'kubernetes_pod_label_app',
      'kubernetes_pod_qos_class',
      'value_source',
      'version',
      'vmname',
    ]);
  });

  it('every family name is matched by its own name as a keep regex (the option check relies on it)', () => {
    for (const name of Object.keys(METRIC_FAMILIES)) expect(filter({ keepMetrics: [name] }).keeps(name)).toBe(true);
  });
});
