import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PushExporter } from '../../../src/delivery/push-exporter.js';
import { FaultProxy } from '../../support/servers/fault-proxy.js';
import { freePort, type ManagedServer } from '../../support/servers/managed-server.js';
import { promRawSamples, startPrometheus } from '../../support/servers/prometheus.js';
import { hostPowerUw, makeExporter, runSteps } from '../../support/harness/remote-write.js';

let prom: ManagedServer;
let proxy: FaultProxy;
let exporter: PushExporter | null = null;

beforeAll(async () => {
  prom = await startPrometheus();
  proxy = new FaultProxy(prom.baseUrl);
  await proxy.start();
}, 90_000);

afterEach(async () => {
  await exporter?.stop(1000);
  exporter = null;
  proxy.script.length = 0;
  proxy.fallback = { kind: 'pass' };
  proxy.requests.length = 0;
});

afterAll(async () => {
  await proxy?.close();
  await prom?.dispose();
});

async function pushThroughProxy(job: string, steps: number, options: Parameters<typeof makeExporter>[1] = {}) {
  exporter = makeExporter(`${proxy.url}/api/v1/write`, { maxSamplesPerSend: 1, ...options }, { job });
  await exporter.start();
  const run = await runSteps(exporter, steps, 200);
  await exporter.idle();
  const last = run.timestampsMs[steps - 1] as number;
  const stored = await promRawSamples(prom, `scaph_host_power_microwatts{job="${job}"}`, last + 1, 120);
  return { ...run, stored: stored[0]?.points ?? [], stats: exporter.stats };
}

const gapsMs = () => proxy.requests.slice(1).map((r, i) => r.atMs - (proxy.requests[i]?.atMs ?? 0));

describe('remote-write through a fault-injecting proxy in front of Prometheus', () => {
  it('500 is retried with backoff, then the sample is stored', async () => {
    proxy.script.push({ kind: 'status', status: 500, body: 'internal trouble' }, { kind: 'status', status: 503 });
    const r = await pushThroughProxy('fault-500', 1, { backoff: { minDelayMs: 200, maxDelayMs: 5000 } });
    expect(proxy.requests.map((q) => q.status)).toEqual([500, 503, 204]);
    expect(r.stored).toEqual([{ timestampMs: r.timestampsMs[0], value: hostPowerUw(0) }]);
    expect(r.stats.retried).toBe(2);
    const [g1, g2] = gapsMs();
    // Backoff k = 200 * 2^k, drawn 80-100 % of it: first wait 160-200 ms, second 320-400 ms (+ scheduling slack).
    expect(g1).toBeGreaterThanOrEqual(155);
    expect(g1).toBeLessThan(200 + 150);
    expect(g2).toBeGreaterThanOrEqual(315);
    expect(g2).toBeLessThan(400 + 150);
    console.info(`[fault 500] retry waits ${gapsMs().map(Math.round).join(', ')} ms`);
  });

  it('429 waits for Retry-After (seconds) before retrying', async () => {
    proxy.script.push({ kind: 'status', status: 429, headers: { 'retry-after': '2' } });
    const r = await pushThroughProxy('fault-429', 1, { backoff: { minDelayMs: 50, maxDelayMs: 100 } });
    expect(proxy.requests.map((q) => q.status)).toEqual([429, 204]);
    const [gap] = gapsMs();
    expect(gap).toBeGreaterThanOrEqual(1990);
    expect(gap).toBeLessThan(4000);
    expect(r.stored).toEqual([{ timestampMs: r.timestampsMs[0], value: hostPowerUw(0) }]);
    console.info(`[fault 429] Retry-After: 2 -> waited ${Math.round(gap ?? 0)} ms`);
  });

  it('429 waits for Retry-After given as an HTTP date', async () => {
    const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3000);
    proxy.script.push({ kind: 'status', status: 429, headers: { 'retry-after': at.toUTCString() } });
    const r = await pushThroughProxy('fault-429-date', 1, { backoff: { minDelayMs: 50, maxDelayMs: 100 } });
    expect(proxy.requests.map((q) => q.status)).toEqual([429, 204]);
    const secondAt = Date.now() - (performance.now() - (proxy.requests[1]?.atMs ?? 0));
    expect(secondAt).toBeGreaterThanOrEqual(at.getTime() - 50);
    expect(r.stored.length).toBe(1);
    console.info(`[fault 429 date] waited ${Math.round(gapsMs()[0] ?? 0)} ms for a date ${at.getTime() - Date.now()} ms ahead at the end`);
  });

  it('400 drops the batch once (no retry loop), counts it, and later samples still go through', async () => {
    proxy.script.push({ kind: 'status', status: 400, body: 'out of bounds' });
    const r = await pushThroughProxy('fault-400', 3);
    expect(proxy.requests.map((q) => q.status)).toEqual([400, 204, 204]);
    expect(r.stats.droppedFor('http_400')).toBe(1);
    expect(r.stats.retried).toBe(0);
    expect(r.stored).toEqual([1, 2].map((i) => ({ timestampMs: r.timestampsMs[i], value: hostPowerUw(i) })));
  });

  it('a hanging server times out and the request is retried', async () => {
    proxy.script.push({ kind: 'hang' });
    const r = await pushThroughProxy('fault-hang', 1, { timeoutMs: 1000, backoff: { minDelayMs: 50, maxDelayMs: 100 } });
    expect(proxy.requests.map((q) => q.fault)).toEqual(['hang', 'pass']);
    const [gap] = gapsMs();
    expect(gap).toBeGreaterThanOrEqual(950); // arrival is stamped after the body is read: a few ms of slack
    expect(gap).toBeLessThan(3000);
    expect(r.stats.retried).toBe(1);
    expect(r.stored).toEqual([{ timestampMs: r.timestampsMs[0], value: hostPowerUw(0) }]);
    console.info(`[fault hang] timeout 1000 ms -> retried after ${Math.round(gap ?? 0)} ms`);
  });
});

describe('remote-write while the backend is down', () => {
  it('keeps the queue within its sample and byte caps and counts what it drops', async () => {
    const port = await freePort(); // nothing listens there: ECONNREFUSED on every attempt
    exporter = makeExporter(`http://127.0.0.1:${port}/api/v1/write`, {
      maxQueueSamples: 50,
      maxSamplesPerSend: 5,
      backoff: { minDelayMs: 20, maxDelayMs: 50 },
    });
    await exporter.start();
    const t0 = Date.now();
    let maxDepth = 0;
    let maxBytes = 0;
    for (let i = 0; i < 2000; i++) {
      exporter.export(
        (await import('../../support/fixtures/synthetic-sample.js')).syntheticSample({
          timestampMs: t0 + i,
          processes: Array.from({ length: 20 }, (_, p) => ({ pid: 1000 + p, exe: `w${p}`, powerUw: p })),
        }),
      );
      maxDepth = Math.max(maxDepth, exporter.stats.queueDepth);
      maxBytes = Math.max(maxBytes, exporter.stats.queueBytes);
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    const perSampleBytes = maxBytes / maxDepth;
    expect(maxDepth).toBe(50);
    const stats = exporter.stats;
    await exporter.stop(100);
    exporter = null;
    // Every sample is accounted for: evicted from the full queue, or left unsent at shutdown.
    expect(stats.droppedFor('queue_full') + stats.droppedFor('shutdown')).toBe(2000);
    expect(stats.droppedFor('queue_full')).toBeGreaterThanOrEqual(1950);
    expect(stats.sent).toBe(0);
    expect(stats.queueDepth).toBe(0);
    console.info(
      `[down] 2000 samples exported, queue max depth ${maxDepth}, max ${maxBytes} bytes (~${Math.round(perSampleBytes)} B/sample), ` +
        `dropped queue_full ${stats.droppedFor('queue_full')}, shutdown ${stats.droppedFor('shutdown')}, attempts ${stats.attempts}`,
    );

    // The byte cap alone: room for about 10 such samples.
    exporter = makeExporter(`http://127.0.0.1:${port}/api/v1/write`, {
      maxQueueSamples: 1000,
      maxQueueBytes: Math.floor(perSampleBytes * 10.5),
      backoff: { minDelayMs: 20, maxDelayMs: 50 },
    });
    await exporter.start();
    for (let i = 0; i < 100; i++) {
      exporter.export(
        (await import('../../support/fixtures/synthetic-sample.js')).syntheticSample({
          timestampMs: t0 + i,
          processes: Array.from({ length: 20 }, (_, p) => ({ pid: 1000 + p, exe: `w${p}`, powerUw: p })),
        }),
      );
      expect(exporter.stats.queueBytes).toBeLessThanOrEqual(Math.floor(perSampleBytes * 10.5));
    }
    expect(exporter.stats.queueDepth).toBe(10);
  });
});
