/**
 * The hand-written Riemann encoder against the protobufjs path it replaces: for random samples (seeded),
 * every frame is byte-identical to encodeFrame({ events: RiemannEventBuilder.build(...) }) split the same
 * way, and decodes with protobufjs to the same Msg.
 */
import { describe, expect, it } from 'vitest';
import type { Metric, MetricLabels } from '../../../../src/core/metric-families.js';
import { sampleToMetrics } from '../../../../src/core/metrics.js';
import type { QueuedSample } from '../../../../src/delivery/transport.js';
import type { RiemannEventOptions } from '../../../../src/exporters/riemann/events.js';
import { RiemannEventBuilder } from '../../../support/oracles/riemann-events.js';
import { decodeMsg, encodeFrame, FRAME_HEADER_BYTES, type RiemannMsg } from '../../../../src/exporters/riemann/proto.js';
import { RiemannWireEncoder } from '../../../../src/exporters/riemann/wire.js';
import { syntheticSample } from '../../../support/fixtures/synthetic-sample.js';
import { seededRandom } from '../../../support/fixtures/prng.js';

const T0 = Date.parse('2026-03-01T12:00:00.123456Z');

/** The old path: event objects, split into Msgs of at most `max` events, framed by protobufjs. */
function referenceFrames(options: RiemannEventOptions, max: number, entries: readonly QueuedSample[]): Buffer[] {
  const builder = new RiemannEventBuilder(options);
  const frames: Buffer[] = [];
  for (const entry of entries) {
    const events = builder.build(entry.metrics, entry.timestampMs);
    for (let start = 0; start < events.length; start += max) frames.push(encodeFrame({ events: events.slice(start, start + max) }));
  }
  return frames;
}

function body(frame: Buffer): Buffer {
  expect(frame.readUInt32BE(0)).toBe(frame.length - FRAME_HEADER_BYTES);
  return frame.subarray(FRAME_HEADER_BYTES);
}

function decodeAll(frames: readonly Buffer[]): RiemannMsg[] {
  return frames.map((f) => decodeMsg(body(f)));
}

function expectSameAsReference(encoder: RiemannWireEncoder, options: RiemannEventOptions, max: number, entries: readonly QueuedSample[]): void {
  const frames = encoder.encode(entries);
  const reference = referenceFrames(options, max, entries);
  expect(frames.map((f) => f.events)).toEqual(reference.map((f) => decodeMsg(body(f)).events?.length ?? 0));
  expect(decodeAll(frames.map((f) => f.bytes))).toEqual(decodeAll(reference));
  expect(frames).toHaveLength(reference.length);
  for (let i = 0; i < reference.length; i++) expect(frames[i]?.bytes.equals(reference[i] as Buffer), `frame ${i}`).toBe(true);
}

// Valid UTF-16 only: see src/exporters/riemann/wire.ts on lone surrogates.
const TEXTS = ['', 'a', 'firefox', 'énergie', '能源', '🔥 burner', 'x'.repeat(39), 'y'.repeat(40), 'z'.repeat(300), 'tab\tnew\nline', '\u0000nul'];
const NAMES = [
  'scaph_host_power_microwatts',
  'scaph_process_power_consumption_microwatts',
  'scaph_process_energy_microjoules',
  'scaph_socket_power_microwatts',
  'scaph_domain_power_microwatts',
  'scaph_process_',
  'scaph_',
  '',
  'métrique_🔥',
];
const LABEL_KEYS = ['pid', 'exe', 'cmdline', 'socket_id', 'domain_name', 'rapl_domain_name', 'reason', 'container_id', 'kubernetes_pod_namespace', 'kubernetes_pod_name', 'systemd_unit', 'vmname', 'ключ'];
const VALUES = [
  0, -0, 1, -1, 63, -64, 64, -65, 127, 128, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 35, -(2 ** 40) + 3,
  2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 53 + 2, -(2 ** 60), 2 ** 64, 1e300, -1e-300, 0.5, -12.25, Math.PI,
  Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MAX_VALUE, Number.MIN_VALUE,
];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)] as T;
}

function randomLabels(rand: () => number): MetricLabels {
  const labels: Record<string, string> = {};
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) labels[pick(rand, LABEL_KEYS)] = pick(rand, TEXTS);
  return labels;
}

function randomMetrics(rand: () => number, count: number): Metric[] {
  const helps = new Map<string, string>();
  const metrics: Metric[] = [];
  let labels = randomLabels(rand);
  for (let i = 0; i < count; i++) {
    // Share labels objects between neighbours, as the metrics view does for a process's metrics.
    if (rand() < 0.4) labels = randomLabels(rand);
    const name = pick(rand, NAMES);
    if (!helps.has(name)) helps.set(name, pick(rand, TEXTS));
    const value = pick(rand, VALUES);
    metrics.push({ name, help: helps.get(name) as string, type: 'gauge', kind: rand() < 0.7 ? 'int' : 'float', labels, value });
  }
  return metrics;
}

function randomOptions(rand: () => number): RiemannEventOptions {
  const tags = Array.from({ length: Math.floor(rand() * 3) }, () => pick(rand, TEXTS));
  return {
    hostname: pick(rand, TEXTS),
    ttlS: pick(rand, [60, 0, 0.1, 1e-3, 3.5e38, 1e39, -5, Number.NaN]),
    tags,
    perSocketServices: rand() < 0.5,
    ...(rand() < 0.5 ? { description: rand() < 0.5 } : {}),
  };
}

function queued(metrics: Metric[], timestampMs: number): QueuedSample {
  return { timestampMs, metrics, vanished: [], endedProcesses: [] };
}

describe('RiemannWireEncoder', () => {
  it('gives the protobufjs frames, byte for byte, for random samples (unicode, empty strings, huge, negative, NaN)', () => {
    const times = [T0, T0 + 0.5, 0, 999, 1e15, -1500, -T0, 4.5e15];
    for (let seed = 1; seed <= 60; seed++) {
      const rand = seededRandom(seed);
      const options = randomOptions(rand);
      const max = pick(rand, [1, 2, 7, 500]);
      const encoder = new RiemannWireEncoder(options, max);
      const entries = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => queued(randomMetrics(rand, Math.floor(rand() * 40)), pick(rand, times)));
      // Twice: the second encode runs on warm caches and a reused scratch buffer.
      expectSameAsReference(encoder, options, max, entries);
      expectSameAsReference(encoder, options, max, entries);
    }
  });

  it('gives the protobufjs frames for real metrics of many processes (scratch buffer grows)', () => {
    const processes = Array.from({ length: 600 }, (_, i) => ({ pid: 100 + i, exe: i % 2 ? `wörker-${i}` : `w-${i}`, powerUw: 1000 * i }));
    const metrics = sampleToMetrics(syntheticSample({ timestampMs: T0, processes }));
    const options = { hostname: 'box1', ttlS: 60, tags: ['prod', 'dc1'] };
    const encoder = new RiemannWireEncoder(options, 500);
    const entries = [queued(metrics, T0), queued(metrics, T0 + 5000)];
    const frames = encoder.encode(entries);
    expect(frames.reduce((sum, f) => sum + f.bytes.length, 0)).toBeGreaterThan(64 * 1024);
    expect(frames.map((f) => [f.entry.timestampMs, f.index, f.events])).toEqual([
      [T0, 0, 500],
      [T0, 1, 500],
      [T0, 2, 500],
      [T0, 3, 500],
      [T0, 4, 500],
      [T0, 5, 500],
      [T0, 6, metrics.length - 3000],
      [T0 + 5000, 0, 500],
      [T0 + 5000, 1, 500],
      [T0 + 5000, 2, 500],
      [T0 + 5000, 3, 500],
      [T0 + 5000, 4, 500],
      [T0 + 5000, 5, 500],
      [T0 + 5000, 6, metrics.length - 3000],
    ]);
    expectSameAsReference(encoder, options, 500, entries);
  });

  it('frames of an earlier batch survive later encodes (the scratch buffer is not handed out)', () => {
    const options = { hostname: 'h', ttlS: 60, tags: [] };
    const encoder = new RiemannWireEncoder(options, 3);
    const first = [queued(randomMetrics(seededRandom(7), 20), T0)];
    const kept = encoder.encode(first).map((f) => f.bytes);
    const copy = kept.map((b) => Buffer.from(b));
    encoder.encode([queued(randomMetrics(seededRandom(8), 200), T0 + 1000)]);
    expect(kept).toEqual(copy);
    expect(kept).toEqual(referenceFrames(options, 3, first));
  });

  it('a name whose help text changes gets the new description; a sample without metrics gives no frame', () => {
    const options = { hostname: 'h', ttlS: 60, tags: ['t'] };
    const encoder = new RiemannWireEncoder(options, 500);
    const m: Metric = { name: 'scaph_host_power_microwatts', help: 'old', type: 'gauge', kind: 'int', labels: {}, value: 5 };
    encoder.encode([queued([m], T0)]);
    const changed = [queued([{ ...m, help: 'new' }], T0)];
    expectSameAsReference(encoder, options, 500, changed);
    expect(decodeMsg(body(encoder.encode(changed)[0]?.bytes as Buffer)).events?.[0]?.description).toBe('new');
    expect(encoder.encode([queued([], T0)])).toEqual([]);
  });

  it('integers beyond 2^53 go as metric_d, safe ones (negative too) as exact metric_sint64', () => {
    const options = { hostname: 'h', ttlS: 60, tags: [] };
    const encoder = new RiemannWireEncoder(options, 500);
    const values = [2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53 + 2, -1, Number.NaN];
    const metrics = values.map((value): Metric => ({ name: 'scaph_x', help: 'h', type: 'counter', kind: 'int', labels: {}, value }));
    const events = decodeMsg(body(encoder.encode([queued(metrics, T0)])[0]?.bytes as Buffer)).events ?? [];
    expect(events.map((e) => [e.metricSint64, e.metricD])).toEqual([
      [2 ** 53 - 1, undefined],
      [-(2 ** 53 - 1), undefined],
      [undefined, 2 ** 53 + 2],
      [-1, undefined],
      [undefined, Number.NaN],
    ]);
  });
});

describe('decodeMsg', () => {
  it("decodes the server's ok reply by its two bytes to what protobufjs gives, and anything else generically", () => {
    const ok = body(encodeFrame({ ok: true }));
    expect([...ok]).toEqual([0x10, 0x01]);
    expect(decodeMsg(ok)).toEqual({ ok: true });
    // Not the fast path: ok=false with an error, ok with events, an empty Msg.
    expect(decodeMsg(body(encodeFrame({ ok: false, error: 'no' })))).toEqual({ ok: false, error: 'no' });
    expect(decodeMsg(body(encodeFrame({ ok: true, events: [{ service: 's', metricD: 1.5 }] })))).toEqual({ ok: true, events: [{ service: 's', metricD: 1.5 }] });
    expect(decodeMsg(Buffer.alloc(0))).toEqual({});
    // A reply object is the caller's: changing one does not change the next.
    const first = decodeMsg(ok);
    first.ok = false;
    expect(decodeMsg(ok)).toEqual({ ok: true });
  });
});
