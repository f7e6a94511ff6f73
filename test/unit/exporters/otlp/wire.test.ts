/**
 * The hand-written OTLP wire, read back with OpenTelemetry's own generated code (the decoder the test
 * receiver uses, proven by the official exporters): every metric of every entry arrives as a data point
 * of its family's one Metric, with its value, type, unit, time, start time and attributes.
 */
import { describe, expect, it } from 'vitest';
import { METRIC_FAMILIES, type Metric, type MetricName } from '../../../../src/core/metric-families.js';
import { groupLabels, sampleToMetrics } from '../../../../src/core/metrics.js';
import { OTLP_NAMINGS, otlpFamily, type OtlpAttribute } from '../../../../src/core/otlp-names.js';
import type { QueuedSample } from '../../../../src/delivery/transport.js';
import { OtlpMetricsEncoder } from '../../../../src/exporters/otlp/wire.js';
import { makeProcess, makeSample } from '../../../support/fixtures/sample.js';
import { decodeExportRequest, type DecodedPoint } from '../../../support/servers/otlp-proto.js';

const T0 = Date.UTC(2026, 0, 1);
const RESOURCE: OtlpAttribute[] = [
  ['service.name', 'scaph'],
  ['service.version', '9.8.7'],
  ['host.name', 'box1'],
];

function entry(timestampMs: number, over: Parameters<typeof makeSample>[0] = {}, intervalMs = 2000): QueuedSample {
  const sample = makeSample({ timestampMs, intervalMs, ...over });
  return { timestampMs, startMs: timestampMs - intervalMs, metrics: sampleToMetrics(sample, {}, '9.8.7'), vanished: [], endedProcesses: [] };
}

function encoder(naming: 'scaph' | 'semconv' = 'scaph'): OtlpMetricsEncoder {
  return new OtlpMetricsEncoder({ naming, resource: RESOURCE, scopeVersion: '9.8.7' });
}

function point(points: readonly DecodedPoint[], metric: string, attributes: Record<string, string | number> = {}): DecodedPoint {
  const found = points.filter((p) => p.metric === metric && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v));
  if (found.length !== 1) throw new Error(`${found.length} points of ${metric} ${JSON.stringify(attributes)}`);
  return found[0] as DecodedPoint;
}

const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;

describe('OTLP wire, --naming scaph', () => {
  it('every metric of the entry is one data point, with the name, value, unit, description and labels /metrics has', () => {
    const e = entry(T0);
    const d = decodeExportRequest(encoder().encode([e]));
    expect(d.resources).toEqual([{ 'service.name': 'scaph', 'service.version': '9.8.7', 'host.name': 'box1' }]);
    expect(d.scopes).toEqual([{ name: 'scaph', version: '9.8.7' }]);
    expect(d.points).toHaveLength(e.metrics.length);
    for (const m of e.metrics) {
      const p = point(d.points, m.name, m.labels);
      const family = METRIC_FAMILIES[m.name as MetricName];
      expect(p.attributes).toEqual(m.labels);
      expect(p.value).toBe(m.value);
      expect(p.valueType).toBe(family.kind === 'int' ? 'int' : 'double');
      expect(p.description).toBe(m.help);
      expect(p.timeUnixNano).toBe(ns(T0));
      expect(p.flags).toBe(0);
      if (m.type === 'counter') expect(p).toMatchObject({ type: 'sum', temporality: 2, isMonotonic: true, startTimeUnixNano: ns(T0 - 2000) });
      else expect(p).toMatchObject({ type: 'gauge', temporality: null, startTimeUnixNano: 0n });
    }
    expect(point(d.points, 'scaph_host_power_microwatts')).toMatchObject({ unit: 'microwatts', value: 100_000_000, attributes: { value_source: 'powercap_rapl_pkg' } });
    expect(point(d.points, 'scaph_process_energy_microjoules', { pid: '42' })).toMatchObject({ unit: 'microjoules', value: 2_000_000 });
    expect(point(d.points, 'scaph_host_cpu_busy_ratio')).toMatchObject({ unit: '1', value: 0.4, valueType: 'double' });
    expect(point(d.points, 'scaph_process_cpu_usage_percentage', { pid: '7' }).unit).toBe('percentage');
    expect(point(d.points, 'scaph_host_memory_total_bytes').unit).toBe('By');
  });

  it('one Metric per family for a batch of several entries, its points in entry order, each with its entry time', () => {
    const entries = [entry(T0), entry(T0 + 2000), entry(T0 + 4000)];
    const d = decodeExportRequest(encoder().encode(entries));
    expect(new Set(d.metricNames).size).toBe(d.metricNames.length);
    expect(d.points).toHaveLength(entries.reduce((n, e) => n + e.metrics.length, 0));
    const host = d.points.filter((p) => p.metric === 'scaph_host_power_microwatts');
    expect(host.map((p) => p.timeMs)).toEqual([T0, T0 + 2000, T0 + 4000]);
  });

  it('integers stay exact beyond 32 bits; a non-integer in an int family goes as a double', () => {
    const big: Metric = { name: 'scaph_host_energy_microjoules', help: 'h', type: 'counter', kind: 'int', labels: {}, value: 2 ** 53 - 1 };
    const odd: Metric = { name: 'scaph_host_power_microwatts', help: 'h', type: 'gauge', kind: 'int', labels: {}, value: 1.5 };
    const negative: Metric = { name: 'scaph_host_idle_power_microwatts', help: 'h', type: 'gauge', kind: 'int', labels: {}, value: -5_000_000_000 };
    const d = decodeExportRequest(encoder().encode([{ timestampMs: T0, startMs: T0 - 1, metrics: [big, odd, negative], vanished: [], endedProcesses: [] }]));
    expect(point(d.points, 'scaph_host_energy_microjoules')).toMatchObject({ valueType: 'int', value: 2 ** 53 - 1 });
    expect(point(d.points, 'scaph_host_power_microwatts')).toMatchObject({ valueType: 'double', value: 1.5 });
    expect(point(d.points, 'scaph_host_idle_power_microwatts')).toMatchObject({ valueType: 'int', value: -5_000_000_000 });
  });

  it('attribute values in UTF-8, a command line of 4,000 characters', () => {
    const cmdline = `/usr/bin/café --nom=测试 ${'x'.repeat(4000)}`;
    const e = entry(T0, { processes: [makeProcess({ pid: 9, exe: 'café', cmdline })] });
    const d = decodeExportRequest(encoder().encode([e]));
    expect(point(d.points, 'scaph_process_power_consumption_microwatts', { pid: '9' }).attributes).toEqual({ pid: '9', exe: 'café', cmdline });
  });

  it('nanosecond times exact, a start time with a fraction of a millisecond too', () => {
    // A reading's interval is measured in ns: the start (time less interval) falls between two ms.
    const e = { ...entry(T0 + 123), startMs: T0 + 123 - 1999.75 };
    const d = decodeExportRequest(encoder().encode([e]));
    const p = point(d.points, 'scaph_host_energy_microjoules');
    expect(p.timeUnixNano).toBe(1_767_225_600_123_000_000n);
    expect(p.startTimeUnixNano).toBe(1_767_225_598_123_250_000n);
  });
});

describe('start times of the cumulative series', () => {
  const energy = (d: ReturnType<typeof decodeExportRequest>, pid: string): DecodedPoint => point(d.points, 'scaph_process_energy_microjoules', { pid });

  it('when scaph began counting (the reading before the first entry met), kept across requests; a process met later starts at its own', () => {
    const wire = encoder();
    const first = decodeExportRequest(wire.encode([entry(T0)]));
    const later = entry(T0 + 2000, { processes: [makeProcess({ pid: 42, exe: 'burner', energyUj: 5_000_000 }), makeProcess({ pid: 99, exe: 'new', energyUj: 10 })] });
    const second = decodeExportRequest(wire.encode([later]));
    expect(energy(first, '42').startTimeUnixNano).toBe(ns(T0 - 2000));
    expect(energy(second, '42').startTimeUnixNano).toBe(ns(T0 - 2000));
    expect(energy(second, '99').startTimeUnixNano).toBe(ns(T0));
    // The host counters, whose labels object is new every sample, keep theirs too.
    expect(point(second.points, 'scaph_host_energy_microjoules').startTimeUnixNano).toBe(ns(T0 - 2000));
  });

  it('a counter that goes down started again: a new start, from the reading before; the earlier points of a batch encoded again keep the old one', () => {
    const wire = encoder();
    const at = (t: number, energyUj: number): QueuedSample => entry(t, { processes: [makeProcess({ pid: 42, exe: 'burner', energyUj })] });
    const batch = [at(T0, 5_000_000), at(T0 + 2000, 6_000_000), at(T0 + 4000, 100)];
    const once = decodeExportRequest(wire.encode(batch));
    const again = decodeExportRequest(wire.encode(batch));
    for (const d of [once, again]) {
      const starts = d.points.filter((p) => p.metric === 'scaph_process_energy_microjoules').map((p) => p.startTimeUnixNano);
      expect(starts).toEqual([ns(T0 - 2000), ns(T0 - 2000), ns(T0 + 2000)]);
    }
    const next = decodeExportRequest(wire.encode([at(T0 + 6000, 300)]));
    expect(energy(next, '42').startTimeUnixNano).toBe(ns(T0 + 2000));
  });

  it('gauges carry no start time', () => {
    const d = decodeExportRequest(encoder().encode([entry(T0)]));
    expect(d.points.filter((p) => p.type === 'gauge').every((p) => p.startTimeUnixNano === 0n)).toBe(true);
  });

  it('series not met for 15 minutes are forgotten (bounded), the others kept', () => {
    const wire = encoder();
    wire.encode([entry(T0)]);
    const kept = wire.keptSeries;
    expect(kept).toBeGreaterThan(5);
    // Swept every 16 encodes: at the 32nd, 31 minutes on.
    for (let i = 1; i <= 31; i++) wire.encode([entry(T0 + i * 60_000, { processes: [makeProcess({ pid: 7, exe: 'sshd' })] })]);
    // Process 42 and 1 left: their energy series are gone, the host's and process 7's stay.
    expect(wire.keptSeries).toBe(kept - 2);
  });
});

describe('series that vanish', () => {
  it('a point with no value and the NO_RECORDED_VALUE flag, at the entry time, with the series start time', () => {
    const wire = encoder();
    const e0 = entry(T0);
    wire.encode([e0]);
    const gone = e0.metrics.filter((m) => m.labels['pid'] === '42');
    const d = decodeExportRequest(wire.encode([{ ...entry(T0 + 2000), vanished: gone }]));
    const power = d.points.filter((p) => p.metric === 'scaph_process_power_consumption_microwatts' && p.attributes['pid'] === '42');
    expect(power).toHaveLength(2);
    const stale = power.find((p) => p.flags === 1);
    expect(stale).toMatchObject({ valueType: 'none', timeMs: T0 + 2000 });
    const energy = d.points.find((p) => p.metric === 'scaph_process_energy_microjoules' && p.attributes['pid'] === '42' && p.flags === 1);
    expect(energy?.startTimeUnixNano).toBe(ns(T0 - 2000));
  });
});

describe('OTLP wire, --naming semconv', () => {
  it('hardware conventions for the host and the CPU packages, SI units, exact watts and joules', () => {
    const sample = { host: { ...makeSample().host, powerUw: 12_345_678, energyUj: 987_654_321 } };
    const d = decodeExportRequest(encoder('semconv').encode([entry(T0, sample)]));
    expect(point(d.points, 'hw.host.power')).toMatchObject({ type: 'gauge', unit: 'W', value: 12.345678, valueType: 'double', attributes: { 'hw.id': 'host', 'scaph.value_source': 'powercap_rapl_pkg' } });
    expect(point(d.points, 'hw.host.energy')).toMatchObject({ type: 'sum', isMonotonic: true, temporality: 2, unit: 'J', value: 987.654321 });
    expect(point(d.points, 'hw.power', { 'hw.id': 'intel-rapl:1' })).toMatchObject({ unit: 'W', value: 40, attributes: { 'hw.id': 'intel-rapl:1', 'hw.type': 'cpu' } });
    expect(point(d.points, 'hw.energy', { 'hw.id': 'intel-rapl:0' }).value).toBe(90);
    expect(point(d.points, 'scaph.rapl.domain.power', { 'hw.id': 'intel-rapl:0:2' }).attributes).toEqual({ 'hw.id': 'intel-rapl:0:2', 'hw.parent': 'intel-rapl:0', 'scaph.rapl.domain': 'dram' });
    expect(point(d.points, 'scaph.host.cpu.busy')).toMatchObject({ unit: '1', value: 0.4 });
    expect(point(d.points, 'scaph.host.memory.total')).toMatchObject({ unit: 'By', value: 8e9, valueType: 'int' });
    expect(d.points.filter((p) => /(?<!_)\bmicro/.test(p.description)).map((p) => p.metric)).toEqual([]);
    expect(otlpFamily('scaph_host_energy_timestamp_seconds', 'semconv')?.description).toBe('Time of the energy reading behind scaph_host_energy_microjoules, in seconds since the epoch');
  });

  it('process attributes from the registry, process.pid an integer; CPU usage as a fraction', () => {
    const e = entry(T0, { processes: [makeProcess({ pid: 42, exe: 'burner', cmdline: 'burner -j 4', powerUw: 30_000_000, energyUj: 1_500_000, cpuUsagePercent: 37.5 })] });
    const d = decodeExportRequest(encoder('semconv').encode([e]));
    const attributes = { 'process.pid': 42, 'process.executable.name': 'burner', 'process.command_line': 'burner -j 4' };
    expect(point(d.points, 'scaph.process.power', { 'process.pid': 42 })).toMatchObject({ unit: 'W', value: 30, attributes });
    expect(point(d.points, 'scaph.process.energy', { 'process.pid': 42 })).toMatchObject({ type: 'sum', unit: 'J', value: 1.5, startTimeUnixNano: ns(T0 - 2000) });
    expect(point(d.points, 'scaph.process.cpu.utilization', { 'process.pid': 42 })).toMatchObject({ unit: '1', value: 0.375 });
  });

  it('containers and pods: container.id, k8s.pod.name, k8s.namespace.name, pod labels as k8s.pod.label.*', () => {
    const container = { containerId: 'abc123', containerRuntime: 'containerd', containerName: 'web', kubernetesPodName: 'web-0', kubernetesPodNamespace: 'shop', kubernetesPodUid: 'uid-1', kubernetesPodLabels: { kubernetes_pod_label_app: 'web' } };
    const sample = makeSample({ timestampMs: T0, processes: [makeProcess({ pid: 5, exe: 'nginx', container })], groups: [{ kind: 'pod', key: 'uid-1', container, powerUw: 3_000_000, energyUj: 6_000_000, source: 'processes' }] });
    const metrics = sampleToMetrics(sample, { containers: true }, '');
    const d = decodeExportRequest(encoder('semconv').encode([{ timestampMs: T0, startMs: T0 - 2000, metrics, vanished: [], endedProcesses: [] }]));
    expect(point(d.points, 'scaph.process.power', { 'process.pid': 5 }).attributes).toMatchObject({
      'container.id': 'abc123',
      'container.runtime.name': 'containerd',
      'container.name': 'web',
      'k8s.pod.name': 'web-0',
      'k8s.namespace.name': 'shop',
      'k8s.pod.uid': 'uid-1',
      'k8s.pod.label.app': 'web',
    });
    expect(Object.keys(groupLabels('pod', container)).length).toBeGreaterThan(0);
    expect(point(d.points, 'scaph.pod.energy')).toMatchObject({ value: 6, unit: 'J', attributes: { 'k8s.pod.name': 'web-0', 'k8s.namespace.name': 'shop', 'k8s.pod.uid': 'uid-1', 'k8s.pod.label.app': 'web' } });
  });
});

describe('the naming table', () => {
  it('names every family under both namings, without two families sharing a name', () => {
    for (const naming of OTLP_NAMINGS) {
      const names = Object.keys(METRIC_FAMILIES).map((name) => otlpFamily(name, naming)?.name);
      expect(names.every((n) => typeof n === 'string' && n.length > 0)).toBe(true);
      expect(new Set(names).size).toBe(names.length);
    }
    expect(otlpFamily('no_such_family', 'scaph')).toBeNull();
  });
});
