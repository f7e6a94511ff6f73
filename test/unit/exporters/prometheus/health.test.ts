import { afterEach, describe, expect, it } from 'vitest';
import { prometheusCommand } from '../../../../src/exporters/prometheus/command.js';
import { specCommand } from '../../../../src/config/exporter-options.js';
import { settingsFrom } from '../../../../src/exporters/command.js';
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

async function startExporter(healthMaxAgeMs: number | undefined, logger: Logger = silentLogger(), stepMs?: number): Promise<PrometheusExporter> {
  const exporter = new PrometheusExporter({
    address: '127.0.0.1',
    port: 0,
    suffix: 'metrics',
    view: new MetricsView({ version: '9.9.9' }),
    logger,
    ...(healthMaxAgeMs === undefined ? {} : { healthMaxAgeMs }),
    ...(stepMs === undefined ? {} : { stepMs }),
  });
  await exporter.start();
  started.push(exporter);
  return exporter;
}

async function probe(e: PrometheusExporter): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${e.port}/healthz`);
  return { status: res.status, body: await res.text() };
}

async function scrape(e: PrometheusExporter): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${e.port}/metrics`);
  return { status: res.status, body: await res.text() };
}

/** What /metrics holds while no sample is current: the version, no figure. */
const NO_FIGURES =
  '# HELP scaph_self_version Version of scaph that produced these metrics (the value is always 1)\n# TYPE scaph_self_version gauge\nscaph_self_version{version="9.9.9"} 1\n';

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
  it('503 before the first sample, 200 while samples arrive, 503 once they stop (how late the reading is), 200 again after', async () => {
    const { logger, warnings } = captureLogger();
    const e = await startExporter(300, logger, 150);
    const before = await probe(e);
    expect(before).toEqual({ status: 503, body: 'not ready: no sample yet\n' });
    expect((await scrape(e)).status).toBe(503);

    e.export(makeSample());
    const fresh = await probe(e);
    expect(fresh.status).toBe(200);
    expect(fresh.body).toMatch(/^ok: last sample \d+\.\d s ago\n$/);
    expect((await scrape(e)).body).toMatch(/^scaph_host_power_microwatts\{value_source="powercap_rapl_pkg"\} 100000000$/m);

    await sleep(450);
    const stale = await probe(e);
    expect(stale.status).toBe(503);
    // A step is 0.15 s: the reading due 0.15 s after the sample is ~0.3 s late.
    expect(stale.body).toMatch(
      /^stalled: the reading due (0\.[3-9]|[1-9]\d*\.\d) s ago has not come \(a step is 0\.15 s\); last sample (0\.[4-9]|[1-9]\d*\.\d) s ago, more than the 0\.3 s allowed \(--health-max-age\); see the agent's log\n$/,
    );
    // The figures are not served as current any more: the version only, so Prometheus marks the power series stale.
    expect(await scrape(e)).toEqual({ status: 200, body: NO_FIGURES });
    // Probes and scrapes repeat: the stall is logged once, not per probe, and says how late the reading is.
    await probe(e);
    const said = warnings();
    expect(said.map((w) => w.msg)).toHaveLength(1);
    expect(said[0]?.msg).toMatch(/^sampling has stalled: the reading due (0\.[3-9]|[1-9]\d*\.\d) s ago has not come \(a step is 0\.15 s\); \/metrics serves no figure and \/healthz answers 503 until one comes$/);
    expect(said[0]).toMatchObject({ stepMs: 150, maxAgeMs: 300 });
    expect(said[0]?.['lateMs']).toBeGreaterThanOrEqual(300);

    e.export(makeSample());
    expect((await probe(e)).status).toBe(200);
    expect((await scrape(e)).body).toMatch(/^scaph_host_power_microwatts\{value_source="powercap_rapl_pkg"\} 100000000$/m);
    expect((await fetch(`http://127.0.0.1:${e.port}/other`)).status).toBe(404);
  });

  it('a reading that failed: /metrics serves no figure at once, /healthz says why (200, then 503 past --health-max-age), the next sample brings them back', async () => {
    const { logger, warnings } = captureLogger();
    const e = await startExporter(300, logger, 100);
    e.export(makeSample());
    expect((await scrape(e)).body).toContain('scaph_host_power_microwatts{value_source="powercap_rapl_pkg"} 100000000');
    const reason = 'host power cannot be measured: /sys/class/powercap/intel-rapl:0/energy_uj: ENOENT';
    expect(e.missed({ timestampMs: Date.now(), reason })).toBe(true);
    expect(await scrape(e)).toEqual({ status: 200, body: NO_FIGURES });
    const soon = await probe(e);
    expect(soon.status).toBe(200);
    expect(soon.body).toMatch(new RegExp(`^ok: last sample \\d+\\.\\d s ago; the last reading failed \\(${reason.replace(/[()./:]/g, '\\$&')}\\), /metrics serves no figure until one works\n$`));
    e.missed({ timestampMs: Date.now(), reason });
    await sleep(350);
    const late = await probe(e);
    expect(late.status).toBe(503);
    expect(late.body).toMatch(/^readings failing: the last 2 readings failed \(host power cannot be measured: .*ENOENT\), \/metrics serves no figure until one works; last sample \d+\.\d s ago, more than the 0\.3 s allowed/);
    await probe(e);
    await scrape(e);
    // What is true: readings fail, sampling has not stalled. Once.
    expect(warnings().map((w) => w.msg)).toEqual(['readings have failed for longer than --health-max-age (0.3 s): /healthz answers 503 until one works']);
    expect(warnings()[0]).toMatchObject({ failedReadings: 2, err: reason });

    e.export(makeSample({ host: { ...makeSample().host, powerUw: 12_000_000 } }));
    expect((await probe(e)).status).toBe(200);
    expect((await scrape(e)).body).toMatch(/^scaph_host_power_microwatts\{value_source="powercap_rapl_pkg"\} 12000000$/m);
  });

  it('follows the agent: healthy while the scheduler samples, unhealthy while the sensor hangs', async () => {
    const sensor = new StallableSensor();
    const e = await startExporter(400, silentLogger(), 50);
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
    expect(stalled.body).toMatch(/^stalled: the reading due \d+\.\d s ago has not come \(a step is 0\.05 s\)/);
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

  it('refuses a --health-max-age below 2 steps, naming both and the smallest accepted; 2 steps are accepted', () => {
    const settings = (argv: string[]): unknown => {
      const cmd = specCommand(prometheusCommand);
      cmd.parse(argv, { from: 'user' });
      return settingsFrom(prometheusCommand, cmd.opts());
    };
    expect(() => settings(['--step', '2', '--health-max-age', '1'])).toThrow(
      '--health-max-age 1 is shorter than 2 steps (--step 2): samples come one step apart, so /healthz would answer 503 between samples that arrive on time. The smallest accepted is 4 (or leave it out: 3 steps, 6)',
    );
    expect(() => settings(['--step', '0.1', '--health-max-age', '0.19'])).toThrow(/The smallest accepted is 0\.2 \(or leave it out: 3 steps, 0\.3\)$/);
    expect(settings(['--step', '0.1', '--health-max-age', '0.2'])).toMatchObject({ healthMaxAgeMs: 200, stepMs: 100 });
  });
});
