/**
 * The Riemann exporter over TCP against the protocol-faithful server (test/support/servers/riemann.ts): events
 * end to end through the pipeline, partial acknowledgement and resend, ok=false, server killed and
 * restarted, the TTL bound on the queue, connect timeout. The same event checks also run against the
 * real Riemann image where testcontainers finds a container engine (left out with one line otherwise).
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runPipeline } from '../../../src/agent/pipeline.js';
import { createPushExporter } from '../../../src/delivery/push-exporter.js';
import { riemannDelivery, RiemannTransport } from '../../../src/exporters/riemann/transport.js';
import { containerForSuite, describeWithContainers } from '../../support/servers/container-suites.js';
import { RIEMANN_IMAGE } from '../../support/servers/images.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';
import { RIEMANN_START_MS, startRiemannContainer } from '../../support/servers/riemann-container.js';
import { metricOf, queryRiemann } from '../../support/harness/riemann-backend.js';
import {
  AGENT_HOSTNAME,
  FakeSensor,
  captureLogger,
  eventually,
  pushExporter,
  riemannPlan,
  sampleAt,
  sleep,
} from '../../support/harness/riemann.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fakeServer(): Promise<FakeRiemannServer> {
  const s = await FakeRiemannServer.start();
  cleanups.push(() => s.stop());
  return s;
}

const HOST_POWER = 'scaph_host_power_microwatts';
const FIREFOX_POWER = 'process_power_consumption_microwatts_1234_firefox';

/** Event checks that hold on any Riemann server: sent through the real pipeline, read back with a query. */
function eventSuite(backend: () => Promise<{ host: string; port: number }>): void {
  it('sends one event per metric with host, services, attributes, tags, ttl and typed metrics', async () => {
    const { host, port } = await backend();
    const { logger } = captureLogger();
    const plan = await riemannPlan(['-a', host, '-p', String(port), '-d', '0.2', '--ttl', '120', '--tag', 'prod', '--tag', 'dc1'], logger);
    const sensor = new FakeSensor();
    await runPipeline({ sensor, exporters: [plan.exporter], stepMs: plan.stepMs, durationMs: 1000, logger, stopDeadlineMs: 5000 });
    expect(sensor.reads).toBeGreaterThanOrEqual(3);
    expect(pushExporter(plan).stats.snapshot().sent).toBe(sensor.reads);

    const firefox = await queryRiemann(host, port, 'service =~ "process_power_consumption_microwatts_%_firefox"');
    expect(firefox.map((e) => e.service)).toEqual([FIREFOX_POWER]);
    const f = firefox[0];
    expect(f?.host).toBe(AGENT_HOSTNAME);
    expect(metricOf(f ?? {})).toBe(1_500_000);
    expect(f?.state).toBe('ok');
    expect(f?.ttl).toBe(120);
    expect(f?.tags).toEqual(['scaphandre', 'prod', 'dc1']);
    expect(f?.description).toMatch(/^Power consumption attributed to the process/);
    const attrs = Object.fromEntries((f?.attributes ?? []).map((a) => [a.key, a.value]));
    expect(attrs).toEqual({ pid: '1234', exe: 'firefox', cmdline: 'firefox --run' });
    const ageS = Date.now() / 1000 - (f?.time ?? 0);
    expect(ageS).toBeGreaterThanOrEqual(0);
    expect(ageS).toBeLessThan(60);

    const [hostPower] = await queryRiemann(host, port, `service = "${HOST_POWER}"`);
    expect(metricOf(hostPower ?? {})).toBe(40_000_000);
    const [cpu] = await queryRiemann(host, port, 'service = "process_cpu_usage_percentage_99_bash"');
    expect(metricOf(cpu ?? {})).toBe(12.5);
    // Only the power event carries the command line; the process's other events name the same pid.
    expect(cpu?.attributes?.map((a) => a.key)).toEqual(['pid', 'exe']);
    const self = await queryRiemann(host, port, 'service = "scaph_delivery_samples_sent_total"');
    expect(self).toHaveLength(1);
  });
}

describe('Riemann exporter against the fake server (TCP)', { timeout: 40_000 }, () => {
  eventSuite(async () => ({ host: '127.0.0.1', port: (await fakeServer()).port }));

  it('writes integers as metric_sint64 and fractions as metric_d on the wire, every sample once', async () => {
    const server = await fakeServer();
    const { logger } = captureLogger();
    const plan = await riemannPlan(['-a', '127.0.0.1', '-p', String(server.port)], logger);
    const exporter = pushExporter(plan);
    await exporter.start();
    cleanups.push(() => exporter.stop(2000));
    const t = Date.now();
    exporter.export(sampleAt(t));
    exporter.export(sampleAt(t + 1000));
    await exporter.idle();
    const power = server.events.filter((e) => e.service === FIREFOX_POWER);
    expect(power.map((e) => [e.metricField, e.metric, e.timeMicros])).toEqual([
      ['metric_sint64', 1_500_000, t * 1000],
      ['metric_sint64', 1_500_000, (t + 1000) * 1000],
    ]);
    const cpu = server.events.filter((e) => e.service === 'process_cpu_usage_percentage_1234_firefox');
    expect(cpu.map((e) => [e.metricField, e.metric])).toEqual([
      ['metric_d', 12.5],
      ['metric_d', 12.5],
    ]);
    expect(server.counts.connections).toBe(1);
  });

  it('resends only what was not acknowledged when the server drops the connection mid-batch', async () => {
    const server = await fakeServer();
    server.hangUpAt.add(3);
    const { logger } = captureLogger();
    const plan = await riemannPlan(['-a', '127.0.0.1', '-p', String(server.port), '--max-events-per-msg', '10'], logger);
    const exporter = pushExporter(plan);
    await exporter.start();
    cleanups.push(() => exporter.stop(2000));
    const t = Date.now();
    const metricsPerSample = 2 * 5 + 21; // 2 processes x 5, plus host (unattributed power and energy included), sockets, domains and self metrics
    exporter.export(sampleAt(t));
    exporter.export(sampleAt(t + 1000));
    await exporter.idle();
    const sampleEvents = server.events.filter((e) => e.timeMicros === t * 1000 || e.timeMicros === (t + 1000) * 1000);
    // Sockets and domains share a service and differ by attributes: the key includes them.
    const keys = sampleEvents.map((e) => `${e.service}@${e.timeMicros}${JSON.stringify(e.attributes)}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(sampleEvents.length).toBe(2 * metricsPerSample);
    expect(server.counts.connections).toBe(2);
    expect(exporter.stats.snapshot().sent).toBe(2);
  });

  it('counts ok=false acknowledgements, logs them and does not resend', async () => {
    const server = await fakeServer();
    let seen = 0;
    server.reject = () => (++seen <= 2 ? 'java.lang.ArithmeticException: Divide by zero' : null);
    const { logger, lines } = captureLogger();
    const transport = new RiemannTransport({
      host: '127.0.0.1', port: server.port, tls: null, hostname: AGENT_HOSTNAME, ttlS: 60, tags: [],
      maxEventsPerMsg: 10, connectTimeoutMs: 2000, logger,
    });
    const exporter = createPushExporter(transport, { ...riemannDelivery(60, 1000), logger, selfMetrics: false });
    await exporter.start();
    cleanups.push(() => exporter.stop(2000));
    exporter.export(sampleAt(Date.now()));
    await exporter.idle();
    exporter.export(sampleAt(Date.now() + 1));
    await exporter.idle();
    expect(transport.counters).toEqual({ msgsAcked: 4, msgsRejected: 2, eventsAcked: 40, eventsRejected: 20 });
    expect(server.counts.messages).toBe(6);
    expect(exporter.stats.snapshot().dropped).toEqual({ riemann_error: 1 });
    expect(exporter.stats.snapshot().sent).toBe(1);
    const logged = lines.filter((l) => String(l['error'] ?? '').includes('Riemann answered ok=false: java.lang.ArithmeticException'));
    expect(logged).toHaveLength(1);
  });

  it('survives the server being killed and restarted: reconnects, and samples taken meanwhile arrive once', async () => {
    const server = await fakeServer();
    const { logger, lines } = captureLogger();
    const plan = await riemannPlan(['-a', '127.0.0.1', '-p', String(server.port), '-d', '0.1', '--ttl', '60'], logger);
    const exporter = pushExporter(plan);
    await exporter.start();
    cleanups.push(() => exporter.stop(2000));
    const sent: number[] = [];
    let slowestExportMs = 0;
    const tick = setInterval(() => {
      const t = Date.now();
      sent.push(t);
      const before = performance.now();
      exporter.export(sampleAt(t));
      slowestExportMs = Math.max(slowestExportMs, performance.now() - before);
    }, 100);
    cleanups.push(async () => clearInterval(tick));
    await eventually(() => server.events.some((e) => e.service === HOST_POWER), 'first events');
    await server.stop();
    const downAt = Date.now();
    await sleep(1500);
    await server.restart();
    const upAt = Date.now();
    await sleep(300);
    clearInterval(tick);
    const last = sent[sent.length - 1] ?? 0;
    await eventually(() => server.events.some((e) => e.service === HOST_POWER && e.timeMicros === last * 1000), 'last sample after restart', 20_000);
    const times = server.events.filter((e) => e.service === HOST_POWER).map((e) => (e.timeMicros ?? 0) / 1000);
    expect(new Set(times).size).toBe(times.length);
    expect([...times].sort((a, b) => a - b)).toEqual(sent);
    expect(times.filter((t) => t > downAt && t < upAt).length).toBeGreaterThanOrEqual(10);
    expect(server.counts.connections).toBeGreaterThanOrEqual(2);
    expect(exporter.stats.snapshot().dropped).toEqual({});
    // export() only enqueues: the outage never held up the sampling loop.
    expect(slowestExportMs).toBeLessThan(50);
    expect(lines.some((l) => l.level === 40 && String(l['error']).includes('connection refused'))).toBe(true);
  });

  it('keeps at most one TTL of samples while Riemann is down; what arrives later is not expired', async () => {
    const server = await fakeServer();
    const { logger } = captureLogger();
    const plan = await riemannPlan(['-a', '127.0.0.1', '-p', String(server.port), '-d', '0.1', '--ttl', '1'], logger);
    const exporter = pushExporter(plan);
    await exporter.start();
    cleanups.push(() => exporter.stop(2000));
    await server.stop();
    const tick = setInterval(() => exporter.export(sampleAt(Date.now())), 100);
    cleanups.push(async () => clearInterval(tick));
    await sleep(3000);
    const depth = exporter.stats.snapshot().queueDepth;
    expect(depth).toBeLessThanOrEqual(11); // ceil(ttl / step) + 1
    await server.restart();
    await eventually(() => server.events.some((e) => e.service === HOST_POWER && e.receivedAtMs - (e.timeMicros ?? 0) / 1000 < 500), 'fresh samples');
    clearInterval(tick);
    const dropped = exporter.stats.snapshot().dropped;
    expect((dropped['too_old'] ?? 0) + (dropped['queue_full'] ?? 0)).toBeGreaterThanOrEqual(15);
    for (const e of server.events.filter((x) => x.service === HOST_POWER)) {
      // Dequeued within the TTL; the margin covers the send itself on a loaded machine.
      expect(e.receivedAtMs - (e.timeMicros ?? 0) / 1000).toBeLessThan(1000 + 750);
    }
  });

  it('gives up a connection attempt after --connect-timeout and says so', async () => {
    const silent: Server = createServer(() => undefined); // accepts, never speaks TLS
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sockets = new Set<import('node:net').Socket>();
    silent.on('connection', (s) => sockets.add(s));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const port = (silent.address() as import('node:net').AddressInfo).port;
    const { logger } = captureLogger();
    const transport = new RiemannTransport({
      host: '127.0.0.1', port, tls: { rejectUnauthorized: true }, hostname: 'h', ttlS: 60, tags: [],
      maxEventsPerMsg: 10, connectTimeoutMs: 300, logger,
    });
    const batch = transport.encode([{ timestampMs: Date.now(), metrics: [], vanished: [], endedProcesses: [] }]);
    expect(batch.frames).toHaveLength(0);
    const one = transport.encode([{ timestampMs: Date.now(), metrics: [{ name: 'x', help: 'h', type: 'gauge', kind: 'int', labels: {}, value: 1 }], vanished: [], endedProcesses: [] }]);
    const started = Date.now();
    const outcome = await transport.send(one, AbortSignal.timeout(10_000));
    const tookMs = Date.now() - started;
    expect(outcome).toEqual({ kind: 'retry', error: `connecting to 127.0.0.1:${port} took longer than 300 ms` });
    expect(tookMs).toBeGreaterThanOrEqual(290);
    expect(tookMs).toBeLessThan(3000);
    await transport.close();
  });
});

await describeWithContainers('Riemann exporter against the real Riemann (testcontainers)', RIEMANN_IMAGE, () => {
  const riemann = containerForSuite(() => startRiemannContainer(), RIEMANN_START_MS);
  eventSuite(async () => ({ host: riemann().host, port: riemann().port }));
});
