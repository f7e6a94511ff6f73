import snappy from 'snappy';
import { compress } from 'snappyjs';
import { describe, expect, it } from 'vitest';
import type { Metric } from '../../../../src/core/metric-families.js';
import { sampleToMetrics } from '../../../../src/core/metrics.js';
import type { QueuedSample } from '../../../../src/delivery/transport.js';
import type { SeriesLabelOptions } from '../../../../src/exporters/remote-write/wire.js';
import { decodeWriteRequest, encodeWriteRequest, toTimeSeries } from '../../../support/oracles/remote-write.js';
import { WriteRequestEncoder } from '../../../../src/exporters/remote-write/wire.js';
import { syntheticSample } from '../../../support/fixtures/synthetic-sample.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');

function entry(timestampMs: number, processes: { pid: number; exe: string; powerUw: number }[], vanished: readonly Metric[] = []): QueuedSample {
  const s = syntheticSample({ timestampMs, processes });
  return { timestampMs, metrics: sampleToMetrics(s), vanished, endedProcesses: [] };
}

/** Decoded message, with NaN made comparable. */
function decoded(bytes: Uint8Array) {
  return decodeWriteRequest(bytes).timeseries.map((s) => ({
    labels: s.labels,
    samples: s.samples.map((p) => ({ value: Number.isNaN(p.value) ? 'NaN' : p.value, timestamp: p.timestamp })),
  }));
}

function both(entries: readonly QueuedSample[], options: SeriesLabelOptions) {
  const reference = encodeWriteRequest(toTimeSeries(entries, options));
  const fast = new WriteRequestEncoder(options).encode(entries);
  return { reference: decoded(reference), fast: decoded(fast), fastBytes: fast };
}

const procs = [
  { pid: 42, exe: 'burner', powerUw: 1_500_000 },
  { pid: 7, exe: 'sshd "quoted" é', powerUw: 0 },
  { pid: 3_000_000, exe: 'big-pid', powerUw: 123_456_789 },
];

describe('WriteRequestEncoder (hand-written WriteRequest bytes)', () => {
  it('decodes to the same series, labels and samples as the protobufjs path', () => {
    const options = { job: 'scaph', instance: 'node-1', extraLabels: { dc: 'par1', team: '', socket_id: 'user-value', Zone: 'A' } };
    const { reference, fast } = both([entry(T0, procs)], options);
    expect(fast.length).toBeGreaterThan(15);
    expect(fast).toEqual(reference);
  });

  it('groups a series across entries and writes staleness markers, as the reference does', () => {
    const first = entry(T0, procs);
    const gone = first.metrics.filter((m) => m.name.startsWith('scaph_process_') && m.labels['pid'] === '42');
    const entries = [first, entry(T0 + 5000, procs.slice(1), gone), entry(T0 + 10_000, procs.slice(1))];
    const options = { job: 'j', instance: 'i', extraLabels: {} };
    const { reference, fast, fastBytes } = both(entries, options);
    expect(fast).toEqual(reference);
    const host = fast.filter((s) => s.labels.some((l) => l.value === 'scaph_host_power_microwatts'));
    expect(host[0]?.samples.map((p) => p.timestamp)).toEqual([T0, T0 + 5000, T0 + 10_000]);
    const marker = Buffer.from([0x09, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
    let count = 0;
    for (let i = fastBytes.indexOf(marker); i >= 0; i = fastBytes.indexOf(marker, i + 1)) count++;
    expect(count).toBe(5);
  });

  it('lets the metric name win over a __name__ label and drops empty names and values', () => {
    const m: Metric = { name: 'scaph_x', help: '', type: 'gauge', kind: 'int', value: 3, labels: { __name__: 'other', a: '', '': 'v', b: '1' } };
    const e: QueuedSample = { timestampMs: T0, metrics: [m], vanished: [], endedProcesses: [] };
    const options = { job: 'scaph', instance: 'h', extraLabels: { __name__: 'x', AAA: 'upper' } };
    const { reference, fast } = both([e], options);
    expect(fast).toEqual(reference);
    expect(fast[0]?.labels.map((l) => l.name)).toEqual(['AAA', '__name__', 'b', 'instance', 'job']);
    expect(fast[0]?.labels[1]?.value).toBe('scaph_x');
  });

  it('stays byte-identical to the reference across encodes while processes come and go, and forgets ended series', () => {
    const options = { job: 'scaph', instance: 'h', extraLabels: {} };
    const encoder = new WriteRequestEncoder(options);
    let previous: QueuedSample | null = null;
    for (let step = 0; step < 300; step++) {
      // 4 processes per step, each living 3 steps: series end and new ones start every step.
      const live = [0, 1, 2, 3].map((k) => ({ pid: 1000 + step + k * 100, exe: `p${step % 7}`, powerUw: step * 1000 + k }));
      const current = entry(T0 + step * 1000, live);
      const entries = previous && step % 5 === 0 ? [previous, current] : [current];
      const transient = encoder.encodeTransient(entries);
      expect(decoded(transient)).toEqual(decoded(encodeWriteRequest(toTimeSeries(entries, options))));
      previous = current;
    }
    // 300 steps made ~1,000 distinct process series; only the recent ones stay interned.
    expect(encoder.cachedSeries).toBeLessThan(5 * 4 * 100);
    expect(encoder.cachedSeries).toBeGreaterThan(0);
  });

  it('gives encode() its own bytes, while encodeTransient() reuses one buffer', () => {
    const encoder = new WriteRequestEncoder({ job: 'j', instance: 'i', extraLabels: {} });
    const first = encoder.encode([entry(T0, procs)]);
    const kept = Buffer.from(first);
    const transient = encoder.encodeTransient([entry(T0 + 1000, procs.slice(0, 1))]);
    encoder.encodeTransient([entry(T0 + 2000, procs)]);
    expect(first.equals(kept)).toBe(true);
    expect(transient.buffer).toBe(encoder.encodeTransient([entry(T0 + 3000, procs)]).buffer);
  });

  it('compresses as it writes: encodeSnappy() is snappyjs over encode(), for requests of many 64 KiB blocks and a series longer than one', () => {
    const options = { job: 'scaph', instance: 'h', extraLabels: {} };
    const encoder = new WriteRequestEncoder(options);
    const reference = new WriteRequestEncoder(options);
    const many = Array.from({ length: 1500 }, (_, k) => ({ pid: 100 + k, exe: `worker-${k % 13}`, powerUw: k * 1000 }));
    // A command line of 300,000 characters: its series alone is longer than the write window.
    const long: Metric = { name: 'scaph_process_memory_bytes', help: '', type: 'gauge', kind: 'int', value: 7, labels: Object.freeze({ pid: '9', exe: 'long', cmdline: 'x'.repeat(300_000) }) };
    const requests = [
      [entry(T0, many)],
      [entry(T0 + 1000, many.slice(1)), { ...entry(T0 + 2000, many.slice(2)), metrics: [...entry(T0 + 2000, many.slice(2)).metrics, long] }],
      [entry(T0 + 3000, [])],
      [],
    ];
    for (const entries of requests) {
      const plain = reference.encode(entries);
      const compressed = encoder.encodeSnappy(entries);
      expect(compressed.equals(Buffer.from(compress(plain)))).toBe(true);
      expect(decoded(snappy.uncompressSync(compressed) as Buffer)).toEqual(decoded(encodeWriteRequest(toTimeSeries(entries, options))));
    }
    expect(reference.encode(requests[0] as QueuedSample[]).length).toBeGreaterThan(4 * 65_536);
  });
});
