import { afterEach, describe, expect, it } from 'vitest';
import { prometheusCommand } from '../../../../src/exporters/prometheus/command.js';
import { silentLogger, type Logger } from '../../../../src/core/log.js';
import type { Sample } from '../../../../src/core/sample.js';
import { Scheduler } from '../../../../src/agent/scheduler.js';
import { MetricsView } from '../../../../src/core/metrics-view.js';
import type { Sensor } from '../../../../src/core/sensor.js';
import { DEFAULT_HEALTH_MAX_AGE_MS, PrometheusExporter } from '../../../../src/exporters/prometheus/exporter.js';
import { makeSample } from '../../../support/fixtures/sample.js';
import { commandPlan } from '../../../support/fixtures/command-plan.js';
import { waitFor } from '../../../support/servers/free-port.js';
import { captureLogger } from '../../../support/fakes/log-capture.js';

const started: Array<{ stop(deadlineMs: number): Promise<void> | void }> = [];
afterEach(async () => {
  for (const s of started.splice(0).reverse()) await s.stop(1000);
});

async function startExporter(healthMaxAgeMs: number | undefined, logger: Logger = silentLogger()): Promise<PrometheusExporter> {
  const exporter = new PrometheusExporter({
    address: '127.0.0.1',
    port: 0,
    suffix: 'metrics',
    view: new MetricsView(),
    logger,
    ...(healthMaxAgeMs === undefined ? {} : { healthMaxAgeMs }),
  });
  await exporter.start();
  started.push(exporter);
  return exporter;
}

async function probe(e: PrometheusExporter): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${e.port}/healthz`);
  return { status: res.status, body: await res.text() };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A sensor that answers at once until stall(), then leaves reads pending until resume(). */
class StallableSensor implements Sensor {
  readonly kind = 'fake';
  reads = 0;
  private stalled = false;
  private waiting: Array<() => void> = [];
  async start(): Promise<void> {}
  read(): Promise<Sample> {
    this.reads += 1;
    if (!this.stalled) return Promise.resolve(makeSample());
    return new Promise((resolve) => this.waiting.push(() => resolve(makeSample())));
  }
  stall(): void {
    this.stalled = true;
  }
  resume(): void {
    this.stalled = false;
    for (const w of this.waiting.splice(0)) w();
  }
}

describe('prometheus exporter /healthz', () => {
  it('503 before the first sample, 200 while samples arrive, 503 once they stop, 200 again after', async () => {
    const { logger, warnings } = captureLogger();
    const e = await startExporter(300, logger);
    const before = await probe(e);
    expect(before).toEqual({ status: 503, body: 'not ready: no sample yet\n' });

    e.export(makeSample());
    const fresh = await probe(e);
    expect(fresh.status).toBe(200);
    expect(fresh.body).toMatch(/^ok: last sample 0\.\d s ago\n$/);

    await sleep(450);
    const stale = await probe(e);
    expect(stale.status).toBe(503);
    expect(stale.body).toMatch(/^stalled: last sample 0\.[4-9]\d* s ago, more than the 0\.3 s allowed \(--health-max-age\); see the agent's log\n$/);
    // Probes repeat every few seconds: the stall is logged once, not per probe.
    await probe(e);
    expect(warnings().map((w) => w.msg)).toEqual(['no sample for longer than --health-max-age: sampling has stalled; /healthz answers 503']);

    e.export(makeSample());
    expect((await probe(e)).status).toBe(200);
    // The metrics path is unaffected by the health path and vice versa.
    expect((await fetch(`http://127.0.0.1:${e.port}/metrics`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${e.port}/other`)).status).toBe(404);
  });

  it('follows the agent: healthy while the scheduler samples, unhealthy while the sensor hangs', async () => {
    const sensor = new StallableSensor();
    const e = await startExporter(400);
    const scheduler = new Scheduler(sensor, [e], { stepMs: 50, durationMs: null, logger: silentLogger() });
    started.push({ stop: () => scheduler.stop() });
    scheduler.start();

    await waitFor(async () => ((await probe(e)).status === 200 ? true : null), 5_000, '/healthz 200 while sampling', 20);
    const readsBefore = sensor.reads;
    sensor.stall();
    const stalled = await waitFor(async () => {
      const p = await probe(e);
      return p.status === 503 ? p : null;
    }, 5_000, '/healthz 503 once the sensor hangs', 50);
    expect(stalled.body).toMatch(/^stalled: /);
    // One read is hanging; the loop does not pile up reads behind it.
    expect(sensor.reads).toBe(readsBefore + 1);

    sensor.resume();
    await waitFor(async () => ((await probe(e)).status === 200 ? true : null), 5_000, '/healthz 200 after the sensor recovers', 20);
    // The loop goes on reading after the hung read ended.
    await waitFor(async () => (sensor.reads > readsBefore + 3 ? true : null), 5_000, 'reads after the recovery', 20);
    expect((await probe(e)).status).toBe(200);
  });

  it('defaults to 3 steps of the exporter (scaph prometheus --step), or --health-max-age', async () => {
    const limits: number[] = [];
    for (const argv of [['--step', '2'], ['--step', '2', '--health-max-age', '45'], []]) {
      const { exporter } = await commandPlan(prometheusCommand, argv, { logger: silentLogger(), hostname: 'h', version: '' });
      limits.push((exporter as PrometheusExporter).healthMaxAgeMs);
    }
    expect(limits).toEqual([6_000, 45_000, 15_000]);
    expect(DEFAULT_HEALTH_MAX_AGE_MS).toBe(15_000);
  });
});
