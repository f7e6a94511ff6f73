import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/log.js';
import { MetricsView } from '../../../src/core/metrics-view.js';
import { createPushExporter, type PushExporter, type PushExporterOptions } from '../../../src/delivery/push-exporter.js';
import type { QueuedSample, Transport } from '../../../src/delivery/transport.js';
import type { Outcome } from '../../../src/delivery/outcome.js';
import { syntheticSample } from '../../support/fixtures/synthetic-sample.js';
import { FakeTransport } from '../../support/fakes/fake-transport.js';

const FAST = { minDelayMs: 10, maxDelayMs: 40 };
const T0 = Date.parse('2026-03-01T12:00:00Z');
const opts = (o: Partial<PushExporterOptions> = {}): PushExporterOptions => ({ logger: silentLogger(), backoff: FAST, ...o });

/** A self-metric's value now, as the next batch would carry it. */
function deliveryGauge(ex: PushExporter, name: string): number | undefined {
  return new MetricsView().deliveryMetrics(ex.name, ex.stats.figures()).find((m) => m.name === name)?.value;
}
const sample = (i: number) => syntheticSample({ timestampMs: T0 + i * 1000 });
const until = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('createPushExporter', () => {
  it("caps a server's Retry-After (30 s unless told), says both figures once, and delivers every sample", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const t = new FakeTransport([
      { kind: 'retry', afterMs: 97_200_000, error: 'HTTP 429' },
      { kind: 'retry', afterMs: 97_200_000, error: 'HTTP 429' },
    ]);
    const ex = createPushExporter(t, { logger, backoff: { minDelayMs: 10, maxDelayMs: 50 }, maxRetryAfterMs: 100 });
    await ex.start();
    const started = performance.now();
    for (let i = 0; i < 5; i++) ex.export(sample(i));
    await ex.idle();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(t.delivered).toEqual(Array.from({ length: 5 }, (_, i) => T0 + i * 1000));
    const said = lines.filter((l) => String(l['msg']).includes('Retry-After'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ retryAfterAskedS: 97_200, retryInS: 0.1 });
    await ex.stop(1000);
  });

  it('a Retry-After no clock reaches (400 digits: Infinity) is said as "more than 2^53 - 1 s", with no field holding null', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const t = new FakeTransport([{ kind: 'retry', afterMs: Number.POSITIVE_INFINITY, error: 'HTTP 429' }]);
    const ex = createPushExporter(t, { logger, backoff: { minDelayMs: 10, maxDelayMs: 50 }, maxRetryAfterMs: 100 });
    await ex.start();
    ex.export(sample(0));
    await ex.idle();
    expect(t.delivered).toEqual([T0]);
    const said = lines.filter((l) => String(l['msg']).includes('Retry-After'));
    expect(said).toHaveLength(1);
    expect(said[0]?.['msg']).toBe('the server asked to wait more than 9007199254740991 s before retrying (Retry-After); scaph waits at most 0.1 s and retries then');
    expect(said[0]).not.toHaveProperty('retryAfterAskedS');
    await ex.stop(1000);
  });

  it('export() returns at once while a send hangs; the queue grows instead', async () => {
    const t = new FakeTransport([], 'hang');
    const ex = createPushExporter(t, opts({ timeoutMs: 60_000 }));
    await ex.start();
    ex.export(sample(0));
    await until(() => t.attempts.length === 1);
    const started = performance.now();
    for (let i = 1; i <= 20; i++) ex.export(sample(i));
    expect(performance.now() - started).toBeLessThan(200);
    expect(ex.stats.queueDepth).toBe(21);
    expect(t.attempts.length).toBe(1); // one request in flight, still hanging
    await ex.stop(50);
    expect(ex.stats.droppedFor('shutdown')).toBe(21);
    expect(t.closed).toBe(true);
  });

  it('retries 5xx/network failures and delivers every sample once, oldest first, in order', async () => {
    const retry: Outcome = { kind: 'retry', error: 'HTTP 503' };
    const t = new FakeTransport([retry, retry, retry]);
    const ex = createPushExporter(t, opts({ maxSamplesPerSend: 3 }));
    await ex.start();
    for (let i = 0; i < 10; i++) ex.export(sample(i));
    await ex.idle();
    expect(t.delivered).toEqual(Array.from({ length: 10 }, (_, i) => T0 + i * 1000));
    expect(t.attempts.slice(0, 3).map((a) => a.timestamps)).toEqual([[T0, T0 + 1000, T0 + 2000], [T0, T0 + 1000, T0 + 2000], [T0, T0 + 1000, T0 + 2000]]);
    expect(ex.stats.sent).toBe(10);
    expect(ex.stats.retried).toBe(9);
    expect(ex.stats.snapshot().droppedTotal).toBe(0);
    await ex.stop(1000);
  });

  it('scaph_delivery_series_sent: the series of the newest step acknowledged, after the filters; not moved by a retry or a drop', async () => {
    const { metricFilter } = await import('../../../src/core/metric-filter.js');
    const withProcesses = (i: number, n: number) =>
      syntheticSample({ timestampMs: T0 + i * 1000, processes: Array.from({ length: n }, (_, p) => ({ pid: 100 + p, exe: `p${p}`, powerUw: 1000 })) });
    const seriesSent = (ex: PushExporter): number | undefined => deliveryGauge(ex, 'scaph_delivery_series_sent');
    const filter = metricFilter({ keepMetrics: ['scaph_process_.*'], dropMetrics: ['scaph_process_memory_.*'], dropLabels: [] });
    const t = new FakeTransport([{ kind: 'ok' }, { kind: 'retry', error: 'HTTP 503' }, { kind: 'drop', reason: 'http_400', error: 'HTTP 400' }]);
    const ex = createPushExporter(t, opts({ maxSamplesPerSend: 1, view: new MetricsView({ filter }) }));
    expect(seriesSent(ex)).toBe(0);
    await ex.start();
    ex.export(withProcesses(0, 4));
    await ex.idle();
    // 4 processes x 3 families kept (power, energy, cpu).
    expect(seriesSent(ex)).toBe(12);
    // The second step is retried, then dropped: the figure stays the first step's.
    ex.export(withProcesses(1, 7));
    await ex.idle();
    expect(ex.stats.droppedFor('http_400')).toBe(1);
    expect(ex.stats.retried).toBe(1);
    expect(seriesSent(ex)).toBe(12);
    ex.export(withProcesses(2, 2));
    await ex.idle();
    expect(seriesSent(ex)).toBe(6);
    expect(ex.stats.snapshot().seriesSent).toBe(6);
    // What the transport got in the acknowledged request: the same count, without the self-metrics entry.
    const lastData = t.batches.at(-1)?.filter((e) => !e.metrics.some((m) => m.name.startsWith('scaph_delivery_')));
    expect(lastData?.map((e) => e.metrics.length)).toEqual([6]);
    await ex.stop(1000);
  });

  it('drops a rejected (4xx) batch once, counts it by reason, and goes on with the next', async () => {
    const t = new FakeTransport([{ kind: 'drop', reason: 'http_400', error: 'HTTP 400: out of order sample' }]);
    const ex = createPushExporter(t, opts({ maxSamplesPerSend: 2 }));
    for (let i = 0; i < 5; i++) ex.export(sample(i));
    await ex.start();
    await ex.idle();
    expect(t.attempts.length).toBe(3);
    expect(ex.stats.droppedFor('http_400')).toBe(2);
    expect(t.delivered).toEqual([T0 + 2000, T0 + 3000, T0 + 4000]);
    await ex.stop(1000);
  });

  it('counts the points a backend acknowledged but did not write in scaph_delivery_rejected_points_total, only for a transport that can tell', async () => {
    const t = Object.assign(new FakeTransport([{ kind: 'ok', rejected: { points: 3, message: 'fewer written', said: true } }, { kind: 'ok' }, { kind: 'ok', rejected: { points: 4, message: 'fewer written', said: true } }]), { reportsRejectedPoints: true });
    const ex = createPushExporter(t, opts({ maxSamplesPerSend: 1 }));
    expect(deliveryGauge(ex, 'scaph_delivery_rejected_points_total')).toBe(0);
    for (let i = 0; i < 3; i++) ex.export(sample(i));
    await ex.start();
    await ex.idle();
    // Acknowledged: sent, not retried, not dropped.
    expect(ex.stats.sent).toBe(3);
    expect(ex.stats.retried).toBe(0);
    expect(ex.stats.rejectedPoints).toBe(7);
    expect(deliveryGauge(ex, 'scaph_delivery_rejected_points_total')).toBe(7);
    await ex.stop(1000);
    const other = createPushExporter(new FakeTransport([{ kind: 'ok', rejected: { points: 3, message: 'fewer written', said: true } }]), opts());
    other.export(sample(0));
    await other.start();
    await other.idle();
    expect(other.stats.rejectedPoints).toBeNull();
    expect(deliveryGauge(other, 'scaph_delivery_rejected_points_total')).toBeUndefined();
    await other.stop(1000);
  });

  it('drops samples older than maxAgeMs instead of sending them', async () => {
    const now = T0 + 100_000;
    const t = new FakeTransport();
    const ex = createPushExporter(t, opts({ maxAgeMs: 30_000, now: () => now }));
    for (let i = 0; i < 100; i++) ex.export(sample(i * 1)); // T0 .. T0+99 s
    await ex.start();
    await ex.idle();
    // Cut-off T0 + 70 s: samples 0..69 are too old.
    expect(ex.stats.droppedFor('too_old')).toBe(70);
    expect(t.delivered[0]).toBe(T0 + 70_000);
    expect(t.delivered.length).toBe(30);
    await ex.stop(100);
  });

  it('while the backend is down the queue stays capped and drops the oldest, counting them', async () => {
    const t = new FakeTransport([], { kind: 'retry', error: 'ECONNREFUSED' });
    const ex = createPushExporter(t, opts({ maxQueueSamples: 10, maxSamplesPerSend: 2 }));
    await ex.start();
    for (let i = 0; i < 50; i++) ex.export(sample(i));
    expect(ex.stats.queueDepth).toBe(10);
    await until(() => t.attempts.length >= 3);
    const dropped = ex.stats.droppedFor('queue_full');
    // Entries in flight when evicted are counted when their attempt ends: 40 in all once settled.
    expect(dropped).toBe(40);
    t.fallback = { kind: 'ok' };
    await ex.idle();
    expect(t.delivered).toEqual(Array.from({ length: 10 }, (_, i) => T0 + (40 + i) * 1000));
    await ex.stop(100);
  });

  it('capacity 1 and no max age: latest wins (Pushgateway)', async () => {
    const t = new FakeTransport(['hang']);
    const ex = createPushExporter(t, opts({ maxQueueSamples: 1, maxAgeMs: null, timeoutMs: 300 }));
    await ex.start();
    ex.export(sample(0));
    await until(() => t.attempts.length === 1);
    for (let i = 1; i <= 5; i++) ex.export(sample(i));
    await ex.idle();
    expect(t.delivered).toEqual([T0 + 5000]);
    expect(ex.stats.droppedFor('queue_full')).toBe(5); // 0 (in flight, timed out) and 1..4
    await ex.stop(100);
  });

  it('a step without a sample: a Pushgateway-like core (withdrawOnMissedStep) queues an entry without figures that replaces the latest; others ignore it', async () => {
    const withdrawing = new FakeTransport(['hang']);
    const pg = createPushExporter(withdrawing, opts({ maxQueueSamples: 1, maxAgeMs: null, timeoutMs: 300, withdrawOnMissedStep: true }));
    await pg.start();
    pg.export(sample(0));
    await until(() => withdrawing.attempts.length === 1);
    pg.export(sample(1));
    expect(pg.missed?.({ timestampMs: T0 + 2000, reason: 'zone gone' })).toBe(true);
    await pg.idle();
    // The hung push of 0 timed out; 1 was replaced by the step without figures, which went out alone (plus the self-metrics).
    const last = withdrawing.batches[withdrawing.batches.length - 1] ?? [];
    expect(last.map((e) => [e.timestampMs, e.metrics.filter((m) => !m.name.startsWith('scaph_delivery_')).length])).toEqual([
      [T0 + 2000, 0],
      [expect.any(Number), 0],
    ]);
    expect(withdrawing.delivered).toEqual([T0 + 2000]);
    await pg.stop(100);

    const plain = new FakeTransport();
    const rw = createPushExporter(plain, opts());
    await rw.start();
    rw.export(sample(0));
    expect(rw.missed?.({ timestampMs: T0 + 1000, reason: 'zone gone' })).toBe(false);
    rw.export(sample(2));
    await rw.idle();
    // Each point goes with its own timestamp, once: nothing to withdraw, nothing resent.
    expect(plain.delivered).toEqual([T0, T0 + 2000]);
    await rw.stop(100);
  });

  it('a hanging send times out and is retried', async () => {
    const t = new FakeTransport(['hang']);
    const ex = createPushExporter(t, opts({ timeoutMs: 200 }));
    await ex.start();
    ex.export(sample(0));
    await ex.idle();
    expect(t.attempts.length).toBe(2);
    const gap = (t.attempts[1]?.atMs ?? 0) - (t.attempts[0]?.atMs ?? 0);
    expect(gap).toBeGreaterThanOrEqual(195);
    expect(t.delivered).toEqual([T0]);
    expect(ex.stats.retried).toBe(1);
    await ex.stop(100);
  });

  it('stop() flushes what is queued within the deadline', async () => {
    const t = new FakeTransport([{ kind: 'retry', error: 'HTTP 500' }]);
    const ex = createPushExporter(t, opts({ maxSamplesPerSend: 1 }));
    await ex.start();
    for (let i = 0; i < 5; i++) ex.export(sample(i));
    const started = performance.now();
    await ex.stop(5000);
    expect(performance.now() - started).toBeLessThan(4000);
    expect(t.delivered.length).toBe(5);
    expect(ex.stats.droppedFor('shutdown')).toBe(0);
  });

  it('stop() gives up at the deadline when the backend stays down', async () => {
    const t = new FakeTransport([], { kind: 'retry', error: 'HTTP 503' });
    const ex = createPushExporter(t, opts());
    await ex.start();
    for (let i = 0; i < 3; i++) ex.export(sample(i));
    const started = performance.now();
    await ex.stop(300);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2000);
    expect(ex.stats.droppedFor('shutdown')).toBe(3);
  });

  it('appends the self-metrics to every batch and tracks vanished series on demand', async () => {
    const batches: (readonly QueuedSample[])[] = [];
    const t: Transport<readonly QueuedSample[]> = {
      name: 'capture',
      marksVanishedSeries: true,
      encode: (e) => e,
      send: async (b) => {
        batches.push(b);
        return { kind: 'ok' };
      },
    };
    const ex = createPushExporter(t, opts({ maxSamplesPerSend: 1 }));
    await ex.start();
    ex.export(syntheticSample({ timestampMs: T0, processes: [{ pid: 7, exe: 'burn', powerUw: 5 }] }));
    await ex.idle();
    ex.export(syntheticSample({ timestampMs: T0 + 1000 }));
    await ex.idle();
    expect(batches.length).toBe(2);
    const self = batches[1]?.[1];
    const sent = self?.metrics.find((m) => m.name === 'scaph_delivery_samples_sent_total');
    expect(sent).toMatchObject({ labels: { transport: 'capture' }, value: 1, type: 'counter' });
    expect(self?.metrics.find((m) => m.name === 'scaph_delivery_last_success_timestamp_seconds')?.value).toBeGreaterThan(T0 / 1000 - 1e6);
    const vanished = batches[1]?.[0]?.vanished.map((m) => m.name) ?? [];
    expect(vanished.sort()).toEqual([
      'scaph_process_cpu_usage_percentage',
      'scaph_process_energy_microjoules',
      'scaph_process_memory_bytes',
      'scaph_process_memory_virtual_bytes',
      'scaph_process_power_consumption_microwatts',
    ]);
    expect(batches[0]?.[0]?.vanished).toEqual([]);
    await ex.stop(100);
  });
});

describe('self-metrics timestamps', () => {
  it('stay strictly increasing when the wall clock steps back', async () => {
    let now = T0 + 10_000;
    const selfTs: number[] = [];
    const t: Transport<readonly QueuedSample[]> = {
      name: 'capture',
      marksVanishedSeries: true,
      encode: (e) => e,
      send: async (b) => {
        selfTs.push(b[b.length - 1]?.timestampMs ?? 0);
        return { kind: 'ok' };
      },
    };
    const ex = createPushExporter(t, opts({ now: () => now }));
    await ex.start();
    for (const clock of [T0 + 10_000, T0 + 5_000, T0 + 5_000, T0 + 20_000]) {
      now = clock;
      ex.export(sample(0));
      await ex.idle();
    }
    expect(selfTs).toEqual([T0 + 10_000, T0 + 10_001, T0 + 10_002, T0 + 20_000]);
    await ex.stop(100);
  });
});

describe('recovery after an outage', () => {
  it('tries a returning backend within the backoff cap, then drains the backlog back to back', async () => {
    const t = new FakeTransport([], { kind: 'retry', error: 'ECONNREFUSED' });
    const ex = createPushExporter(t, opts({ backoff: { minDelayMs: 20, maxDelayMs: 300 }, maxSamplesPerSend: 5 }));
    await ex.start();
    for (let i = 0; i < 30; i++) ex.export(sample(i));
    // Long enough for the waits to reach the cap (20, 40, 80, 160, 300, 300 ...).
    await new Promise((r) => setTimeout(r, 1500));
    const failedBefore = t.attempts.length;
    const back = performance.now();
    t.fallback = { kind: 'ok' };
    await ex.idle();
    const ok = t.attempts.slice(failedBefore);
    expect(ok.map((a) => a.outcome)).toEqual(Array.from({ length: 6 }, () => ({ kind: 'ok' })));
    expect((ok[0]?.atMs ?? 0) - back).toBeLessThanOrEqual(300 + 50);
    // Six batches of five, each sent as soon as the previous one was acknowledged.
    const drainMs = (ok[5]?.atMs ?? 0) - (ok[0]?.atMs ?? 0);
    expect(drainMs).toBeLessThan(150);
    expect(t.delivered).toEqual(Array.from({ length: 30 }, (_, i) => T0 + i * 1000));
    await ex.stop(100);
  });

  it('while failing, the self-metrics and the logs say when the next attempt comes; 0 once delivering', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const t = new FakeTransport([], { kind: 'retry', error: 'HTTP 503' });
    const ex = createPushExporter(t, {
      logger,
      backoff: { minDelayMs: 400, maxDelayMs: 400, jitter: 0 },
      failureLog: { repeatEveryMs: 60_000, summaryEveryMs: 500 },
    });
    await ex.start();
    ex.export(sample(0));
    await until(() => t.attempts.length >= 1);
    await new Promise((r) => setTimeout(r, 50));
    const gauge = (): number | undefined => deliveryGauge(ex, 'scaph_delivery_next_attempt_seconds');
    const waiting = gauge() ?? -1;
    expect(waiting).toBeGreaterThan(0.2);
    expect(waiting).toBeLessThanOrEqual(0.4);
    expect(ex.stats.snapshot().nextAttemptInMs).toBeGreaterThan(200);
    await until(() => t.attempts.length >= 3);
    expect(lines.find((l) => l['msg'] === 'delivery failed; will retry')).toMatchObject({ error: 'HTTP 503', retryInS: 0.4 });
    expect(lines.find((l) => l['msg'] === 'delivery failing: summary')).toMatchObject({ nextAttemptInS: 0.4 });
    t.fallback = { kind: 'ok' };
    await ex.idle();
    expect(gauge()).toBe(0);
    expect(ex.stats.snapshot().nextAttemptInMs).toBeNull();
    await ex.stop(100);
  });
});

describe('partial success (an ok outcome with rejected points)', () => {
  /** A FakeTransport that says its backend reports rejected points (OTLP). */
  class RejectingTransport extends FakeTransport {
    readonly reportsRejectedPoints = true;
  }

  it('counts the points in scaph_delivery_rejected_points_total, says each distinct message once, and resends nothing', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const t = new RejectingTransport([
      { kind: 'ok', rejected: { points: 3, message: 'out of order' } },
      { kind: 'ok', rejected: { points: 2, message: 'out of order' } },
      { kind: 'ok', rejected: { points: 0, message: 'deprecated field' } },
      { kind: 'ok', rejected: { points: 1, message: 'too old' } },
    ]);
    const ex = createPushExporter(t, opts({ logger, maxSamplesPerSend: 1 }));
    await ex.start();
    for (let i = 0; i < 5; i++) {
      ex.export(sample(i));
      await ex.idle();
    }
    expect(t.delivered).toEqual(Array.from({ length: 5 }, (_, i) => T0 + i * 1000));
    expect(t.attempts).toHaveLength(5);
    expect(ex.stats.rejectedPoints).toBe(6);
    expect(deliveryGauge(ex, 'scaph_delivery_rejected_points_total')).toBe(6);
    const said = lines.filter((l) => /partial success|with a warning/.test(String(l['msg'])));
    expect(said.map((l) => [l['error'] ?? l['warning'], l['rejectedPoints']])).toEqual([
      ['out of order', 3],
      ['deprecated field', undefined],
      ['too old', 1],
    ]);
    expect(said[2]?.['rejectedPointsTotal']).toBe(6);
    await ex.stop(1000);
  });

  it('a transport that cannot report rejections ships no such series', async () => {
    const t = new FakeTransport();
    const ex = createPushExporter(t, opts());
    await ex.start();
    ex.export(sample(0));
    await ex.idle();
    expect(ex.stats.rejectedPoints).toBeNull();
    expect(deliveryGauge(ex, 'scaph_delivery_rejected_points_total')).toBeUndefined();
    const self = t.batches[0]?.at(-1);
    expect(self?.metrics.some((m) => m.name === 'scaph_delivery_samples_sent_total')).toBe(true);
    expect(self?.metrics.some((m) => m.name === 'scaph_delivery_rejected_points_total')).toBe(false);
    await ex.stop(1000);
  });
});

describe('when counters began (QueuedSample.startMs)', () => {
  it("a sample's entry: its time less its interval; the self-metrics entry: when the exporter began", async () => {
    let now = T0 - 60_000;
    const t = new FakeTransport();
    const ex = createPushExporter(t, opts({ now: () => now }));
    await ex.start();
    now = T0 + 5000;
    ex.export(syntheticSample({ timestampMs: T0, intervalMs: 2500 }));
    await ex.idle();
    const [entry, self] = t.batches[0] ?? [];
    expect(entry?.startMs).toBe(T0 - 2500);
    expect(self?.startMs).toBe(T0 - 60_000);
    expect(self?.timestampMs).toBe(T0 + 5000);
    await ex.stop(1000);
  });
});
