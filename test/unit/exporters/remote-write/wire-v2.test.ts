import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { METRIC_FAMILIES, type Metric, type MetricLabels } from '../../../../src/core/metric-families.js';
import { processLabels, sampleToMetrics } from '../../../../src/core/metrics.js';
import type { ProcessSample } from '../../../../src/core/sample.js';
import type { QueuedSample } from '../../../../src/delivery/transport.js';
import { RequestV2Encoder } from '../../../../src/exporters/remote-write/wire-v2.js';
import { WriteRequestEncoder } from '../../../../src/exporters/remote-write/wire.js';
import type { SeriesLabelOptions } from '../../../../src/exporters/remote-write/series-labels.js';
import { syntheticSample, type SyntheticProcess } from '../../../support/fixtures/synthetic-sample.js';
import { comparable, decodeRequestV2, expectedSeriesV2, METRIC_TYPES, requestV2Problems, resolveRequestV2, type SeriesV2 } from '../../../support/oracles/remote-write-v2.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
/** When the agent started counting: 30 s before the first sample. */
const START = T0 - 30_000;
const OPTIONS: SeriesLabelOptions = { job: 'scaph', instance: 'node-1', extraLabels: { dc: 'par1', team: '', socket_id: 'user-value', Zone: 'A' } };

function entry(timestampMs: number, processes: SyntheticProcess[], vanished: readonly Metric[] = []): QueuedSample {
  const s = syntheticSample({ timestampMs, processes });
  return { timestampMs, metrics: sampleToMetrics(s, {}, '1.2.3'), vanished, endedProcesses: [] };
}

function encoder(options: SeriesLabelOptions = OPTIONS, countersStartMs: number | null = START): RequestV2Encoder {
  return new RequestV2Encoder({ ...options, countersStartMs });
}

function decoded(bytes: Uint8Array): SeriesV2[] {
  return resolveRequestV2(decodeRequestV2(bytes));
}

function find(series: readonly SeriesV2[], name: string, label?: [string, string]): SeriesV2 | undefined {
  return series.find((s) => s.labels.some((l) => l.name === '__name__' && l.value === name) && (!label || s.labels.some((l) => l.name === label[0] && l.value === label[1])));
}

const procs: SyntheticProcess[] = [
  { pid: 42, exe: 'burner', powerUw: 1_500_000, energyUj: 9_000_000 },
  { pid: 7, exe: 'sshd "quoted" é', powerUw: 0 },
  { pid: 3_000_000, exe: 'big-pid', powerUw: 123_456_789 },
];

describe('RequestV2Encoder (hand-written io.prometheus.write.v2.Request bytes)', () => {
  it('decodes to the series, labels, samples, types, help, units and start timestamps the oracle expects', () => {
    const entries = [entry(T0, procs)];
    const bytes = encoder().encode(entries);
    expect(comparable(decoded(bytes))).toEqual(comparable(expectedSeriesV2(entries, OPTIONS, START)));
  });

  it('gives each family its type, help and unit, and counters the start of counting', () => {
    const series = decoded(encoder().encode([entry(T0, procs)]));
    const power = find(series, 'scaph_host_power_microwatts');
    expect(power?.metadata).toEqual({ type: METRIC_TYPES.gauge, help: METRIC_FAMILIES.scaph_host_power_microwatts.help, unit: 'microwatts' });
    expect(power?.samples).toEqual([{ value: 40_000_000, timestamp: T0, startTimestamp: 0 }]);
    expect(power?.labels).toEqual([
      { name: 'Zone', value: 'A' },
      { name: '__name__', value: 'scaph_host_power_microwatts' },
      { name: 'dc', value: 'par1' },
      { name: 'instance', value: 'node-1' },
      { name: 'job', value: 'scaph' },
      { name: 'socket_id', value: 'user-value' },
      { name: 'value_source', value: 'powercap_rapl_pkg' },
    ]);
    const energy = find(series, 'scaph_process_energy_microjoules', ['pid', '42']);
    expect(energy?.metadata).toEqual({ type: METRIC_TYPES.counter, help: METRIC_FAMILIES.scaph_process_energy_microjoules.help, unit: 'microjoules' });
    expect(energy?.samples).toEqual([{ value: 9_000_000, timestamp: T0, startTimestamp: START }]);
    expect(find(series, 'scaph_socket_energy_microjoules', ['socket_id', '0'])?.samples).toEqual([{ value: 21_000_000, timestamp: T0, startTimestamp: START }]);
    expect(find(series, 'scaph_process_cpu_usage_percentage', ['pid', '7'])?.metadata.unit).toBe('percent');
    // A family without a unit points at symbols[0].
    expect(find(series, 'scaph_self_version')?.metadata).toEqual({ type: METRIC_TYPES.gauge, help: METRIC_FAMILIES.scaph_self_version.help, unit: '' });
  });

  it('leaves the start out of the raw psys counter, of samples older than the start, and without one', () => {
    const psys: Metric = { name: 'scaph_host_rapl_psys_microjoules', help: 'raw', type: 'counter', kind: 'int', value: 123, labels: {} };
    const energy: Metric = { name: 'scaph_host_energy_microjoules', help: 'e', type: 'counter', kind: 'int', value: 5, labels: { value_source: 'powercap_rapl_psys' } };
    const before: QueuedSample = { timestampMs: START - 1000, metrics: [psys, energy], vanished: [], endedProcesses: [] };
    const at: QueuedSample = { timestampMs: START, metrics: [psys, energy], vanished: [], endedProcesses: [] };
    const after: QueuedSample = { timestampMs: T0, metrics: [psys, energy], vanished: [], endedProcesses: [] };
    const series = decoded(encoder().encode([before, at, after]));
    expect(find(series, 'scaph_host_rapl_psys_microjoules')?.samples.map((s) => s.startTimestamp)).toEqual([0, 0, 0]);
    expect(find(series, 'scaph_host_energy_microjoules')?.samples.map((s) => s.startTimestamp)).toEqual([0, 0, START]);
    const none = decoded(encoder(OPTIONS, null).encode([after]));
    expect(find(none, 'scaph_host_energy_microjoules')?.samples).toEqual([{ value: 5, timestamp: T0, startTimestamp: 0 }]);
  });

  it('writes a valid symbol table: "" first, each string once, only strings the request uses, every reference in range', () => {
    const raw = decodeRequestV2(encoder().encode([entry(T0, procs), entry(T0 + 5000, procs)]));
    expect(requestV2Problems(raw)).toEqual([]);
    expect(raw.symbols[0]).toBe('');
    const used = new Set<number>([0]);
    for (const ts of raw.timeseries) {
      for (const r of ts.labelsRefs) used.add(r);
      used.add(ts.metadata?.helpRef ?? 0);
      used.add(ts.metadata?.unitRef ?? 0);
    }
    expect(used.size).toBe(raw.symbols.length);
    // A label name shared by every series is one symbol: `instance` appears once in the table.
    expect(raw.symbols.filter((s) => s === 'instance')).toHaveLength(1);
    expect(raw.timeseries.every((ts) => ts.labelsRefs.length % 2 === 0)).toBe(true);
  });

  it('groups a series across entries and writes staleness markers with their exact bits and no start', () => {
    const first = entry(T0, procs);
    const gone = first.metrics.filter((m) => m.name.startsWith('scaph_process_') && m.labels['pid'] === '42');
    const entries = [first, entry(T0 + 5000, procs.slice(1), gone), entry(T0 + 10_000, procs.slice(1))];
    const bytes = encoder().encode(entries);
    expect(comparable(decoded(bytes))).toEqual(comparable(expectedSeriesV2(entries, OPTIONS, START)));
    const host = find(decoded(bytes), 'scaph_host_power_microwatts');
    expect(host?.samples.map((p) => p.timestamp)).toEqual([T0, T0 + 5000, T0 + 10_000]);
    const marker = Buffer.from([0x09, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
    let count = 0;
    for (let i = bytes.indexOf(marker); i >= 0; i = bytes.indexOf(marker, i + 1)) count++;
    expect(count).toBe(5);
    const stale = find(decoded(bytes), 'scaph_process_energy_microjoules', ['pid', '42']);
    expect(stale?.samples[1]?.startTimestamp).toBe(0);
    expect(Number.isNaN(stale?.samples[1]?.value)).toBe(true);
  });

  it('lets the metric name win over a __name__ label and drops empty names and values', () => {
    const m: Metric = { name: 'scaph_x', help: '', type: 'gauge', kind: 'int', value: 3, labels: { __name__: 'other', a: '', '': 'v', b: '1' } };
    const e: QueuedSample = { timestampMs: T0, metrics: [m], vanished: [], endedProcesses: [] };
    const options = { job: 'scaph', instance: 'h', extraLabels: { __name__: 'x', AAA: 'upper' } };
    const series = decoded(encoder(options).encode([e]));
    expect(comparable(series)).toEqual(comparable(expectedSeriesV2([e], options, START)));
    expect(series[0]?.labels.map((l) => l.name)).toEqual(['AAA', '__name__', 'b', 'instance', 'job']);
    expect(series[0]?.metadata).toEqual({ type: METRIC_TYPES.gauge, help: '', unit: '' });
  });

  it('stays equal to the oracle across encodes while processes come and go, and forgets ended series and their strings', () => {
    const options = { job: 'scaph', instance: 'h', extraLabels: {} };
    const enc = encoder(options);
    let previous: QueuedSample | null = null;
    for (let step = 0; step < 300; step++) {
      const live = [0, 1, 2, 3].map((k) => ({ pid: 1000 + step + k * 100, exe: `p${step % 7}`, powerUw: step * 1000 + k }));
      const current = entry(T0 + step * 1000, live);
      const entries = previous && step % 5 === 0 ? [previous, current] : [current];
      const raw = decodeRequestV2(enc.encodeTransient(entries));
      expect(requestV2Problems(raw)).toEqual([]);
      expect(comparable(resolveRequestV2(raw))).toEqual(comparable(expectedSeriesV2(entries, options, START)));
      expect(enc.points).toBe(entries.reduce((n, e) => n + e.metrics.length, 0));
      previous = current;
    }
    // 300 steps made ~1,200 process series and as many pids; only the recent ones stay interned.
    expect(enc.cachedSeries).toBeLessThan(5 * 4 * 100);
    expect(enc.cachedSeries).toBeGreaterThan(0);
    expect(enc.cachedSymbols).toBeLessThan(4 * 100 + 200);
  });

  it('gives encode() its own bytes, while encodeTransient() reuses one buffer', () => {
    const enc = encoder();
    const first = enc.encode([entry(T0, procs)]);
    const kept = Buffer.from(first);
    const transient = enc.encodeTransient([entry(T0 + 1000, procs.slice(0, 1))]);
    enc.encodeTransient([entry(T0 + 2000, procs)]);
    expect(first.equals(kept)).toBe(true);
    expect(transient.buffer).toBe(enc.encodeTransient([entry(T0 + 3000, procs)]).buffer);
  });

  it('allocates no more per encode than the 1.0 encoder on a steady set of 500 processes (nothing per metric)', () => {
    const entries = steadyEntries(500, 24);
    const v1 = new WriteRequestEncoder(OPTIONS);
    const v2 = encoder();
    // After a warm-up (caches filled, code optimised by the JIT), the least of three rounds: a round
    // that meets a deoptimisation or the JIT's own work is not the encoder's steady state.
    const perEncode = (encode: (e: QueuedSample) => unknown): number => {
      for (let round = 0; round < 4; round++) for (const e of entries) encode(e);
      const rounds = [0, 1, 2].map(() =>
        allocatedBytes(() => {
          for (const e of entries) encode(e);
        }),
      );
      return Math.min(...rounds) / entries.length;
    };
    const v2Bytes = perEncode((e) => v2.encodeTransient([e]));
    const v1Bytes = perEncode((e) => v1.encodeTransient([e]));
    const metrics = (entries[0] as QueuedSample).metrics.length;
    console.info(`allocated per encode of ${metrics} metrics: 1.0 ${Math.round(v1Bytes)} bytes, 2.0 ${Math.round(v2Bytes)} bytes`);
    // The few objects a step brings (the host's new labels object), never a byte per metric.
    expect(v2Bytes).toBeLessThan(metrics);
    expect(v2Bytes).toBeLessThanOrEqual(v1Bytes + 1024);
  });
});

/** Steps of `processes` processes whose labels objects stay the same from step to step (as the metrics view gives them). */
function steadyEntries(processes: number, steps: number): QueuedSample[] {
  const labels = new Map<number, MetricLabels>();
  const labelsOf = (p: ProcessSample): MetricLabels => {
    let l = labels.get(p.pid);
    if (!l) {
      l = Object.freeze(processLabels(p, {}));
      labels.set(p.pid, l);
    }
    return l;
  };
  const out: QueuedSample[] = [];
  for (let step = 0; step < steps; step++) {
    const list = Array.from({ length: processes }, (_, i) => ({ pid: 1000 + i, exe: `worker-${i % 97}`, powerUw: 1_000_000 + i * 1000 + step, energyUj: 5_000_000 + step * 1000 + i }));
    const s = syntheticSample({ timestampMs: T0 + step * 5000, processes: list });
    out.push({ timestampMs: s.timestampMs, metrics: sampleToMetrics(s, {}, '1.2.3', null, labelsOf), vanished: [], endedProcesses: [] });
  }
  return out;
}

/**
 * Bytes allocated on V8's young generation while `run` runs (synchronously: nothing else runs meanwhile).
 * A full collection first empties it; the figure is only true if no scavenge came in between, so the
 * caller keeps what it allocates under the young generation's size (it checks the figure is not negative).
 */
function allocatedBytes(run: () => void): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const young = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0;
  gc();
  const before = young();
  run();
  const after = young();
  expect(after).toBeGreaterThanOrEqual(before);
  return after - before;
}
