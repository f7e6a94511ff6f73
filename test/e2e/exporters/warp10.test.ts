import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveWriteToken } from '../../../src/exporters/warp10/command.js';
import { UsageError } from '../../../src/core/errors.js';
import { METRIC_FAMILIES, type MetricName } from '../../../src/core/metric-families.js';
import { sampleToMetrics } from '../../../src/core/metrics.js';
import { runPipeline } from '../../../src/agent/pipeline.js';
import { parseGtsLine, type GtsPoint } from '../../support/servers/gts-parse.js';
import { Warp10TestServer } from '../../support/servers/warp10.js';
import { containerForSuite, describeWithContainers } from '../../support/servers/container-suites.js';
import { WARP10_IMAGE } from '../../support/servers/images.js';
import { fetchWindow, startWarp10Container, WARP10_START_MS } from '../../support/servers/warp10-container.js';
import { makeProcess, makeSample, NASTY_NAMES } from '../../support/harness/warp10-fixtures.js';
import { asPush, capturingLogger, FakeSensor, planFor } from '../../support/harness/warp10.js';

const TOKEN = 'w-secret-token-123';
let server: Warp10TestServer;

beforeEach(async () => {
  server = await Warp10TestServer.start({ writeTokens: [TOKEN] });
});
afterEach(async () => {
  await server.stop();
});

function args(...extra: string[]): string[] {
  return ['-H', '127.0.0.1', '-p', String(server.port), '-S', '0.25', ...extra];
}

/** Runs the agent for `durationMs` (with `during` running alongside), then stops it with a flush deadline. */
async function runAgent(
  argv: readonly string[],
  durationMs: number,
  processes = [makeProcess(1, 'init')],
  during: () => Promise<void> = async () => {},
) {
  const log = capturingLogger();
  const plan = await planFor(argv, log.logger);
  const sensor = new FakeSensor(processes);
  await Promise.all([
    runPipeline({ sensor, exporters: [plan.exporter], stepMs: plan.stepMs, durationMs, logger: log.logger, stopDeadlineMs: 90_000 }),
    during(),
  ]);
  return { log, sensor, exporter: asPush(plan) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('scaph warp10 against the Warp 10 test ingress', () => {
  it('writes every metric of every step: classes, labels (host included), typed values, original timestamps', async () => {
    const processes = NASTY_NAMES.map((n, i) => makeProcess(200 + i, n, { cmdline: `${n} --x=1,y={2}` }));
    const { sensor, exporter } = await runAgent(args('-t', TOKEN, '--label', 'dc=eu west', '--label', 'rack=r%1'), 1_300, processes);
    expect(sensor.timestamps.length).toBeGreaterThanOrEqual(2);
    expect(exporter.stats.sent).toBe(sensor.timestamps.length);
    for (const [rank, ts] of sensor.timestamps.entries()) {
      // The agent's memory travels in the sample, so even scaph_self_memory_bytes is exact.
      const expected = sampleToMetrics(makeSample(ts, processes, 40_000_000 + rank), {}, '0.1.0-test');
      const stored = server.points.filter((p) => p.timestampUs === ts * 1000 && p.className.startsWith('scaph_') && !p.className.startsWith('scaph_delivery'));
      const byKey = new Map(stored.map((p) => [p.className + JSON.stringify(sortKeys(p.labels)), p]));
      for (const m of expected) {
        const labels = sortKeys({ ...m.labels, host: 'box', dc: 'eu west', rack: 'r%1' });
        const p = byKey.get(m.name + JSON.stringify(labels));
        expect(p, `${m.name} ${JSON.stringify(labels)}`).toBeDefined();
        expect(p!.type).toBe(m.kind === 'int' ? 'LONG' : 'DOUBLE');
        expect(p!.value).toBe(m.value);
      }
      expect(stored.filter((p) => p.className === 'scaph_self_memory_bytes')).toHaveLength(1);
    }
    const exes = server.series('scaph_process_power_consumption_microwatts').map((p) => p.labels['exe']);
    expect(new Set(exes)).toEqual(new Set(NASTY_NAMES));
    // Numeric types per family, whatever the value: a whole load average still a DOUBLE.
    for (const p of server.points) {
      const fam = METRIC_FAMILIES[p.className as MetricName] as { kind: string } | undefined;
      if (fam) expect(p.type).toBe(fam.kind === 'int' ? 'LONG' : 'DOUBLE');
    }
    expect(server.series('scaph_host_load_avg_one')[0]).toMatchObject({ type: 'DOUBLE', value: 1, raw: '1.0' });
    expect(server.requests.every((r) => r.status === 200 && r.token === TOKEN)).toBe(true);
  });

  it('reports a refused token once, never logs it, counts the drops and keeps running', async () => {
    const { log, sensor, exporter } = await runAgent(['-H', '127.0.0.1', '-p', String(server.port), '-S', '0.2', '-t', 'wrong-secret-xyz'], 1_500);
    expect(sensor.timestamps.length).toBeGreaterThanOrEqual(4);
    expect(server.requests.length).toBe(sensor.timestamps.length);
    expect(server.requests.every((r) => r.status === 403)).toBe(true);
    const told = log.lines.filter((l) => String(l['msg']).includes('refused the write token'));
    expect(told).toHaveLength(1);
    expect(told[0]!['msg']).toBe(
      'the Warp 10 server refused the write token (HTTP 403): check -t / --write-token-file / SCAPH_WARP10_WRITE_TOKEN',
    );
    expect(log.raw.join('')).not.toContain('wrong-secret-xyz');
    expect(exporter.stats.droppedFor('http_403')).toBe(sensor.timestamps.length);
    expect(exporter.stats.sent).toBe(0);
    expect(server.points).toHaveLength(0);
  });

  it('retries 500 and 429 (Retry-After) and loses nothing', async () => {
    server.inject(500, 2);
    server.inject(429, 1, { 'Retry-After': '1' });
    const { sensor, exporter } = await runAgent(args('-t', TOKEN), 1_000);
    expect(server.requests.slice(0, 3).map((r) => r.status)).toEqual([500, 500, 429]);
    expect(server.requests.at(-1)!.status).toBe(200);
    expect(exporter.stats.sent).toBe(sensor.timestamps.length);
    expect(exporter.stats.snapshot().droppedTotal).toBe(0);
    const host = server.series('scaph_host_power_microwatts').map((p) => p.timestampUs / 1000);
    expect(host).toEqual(sensor.timestamps);
  });

  it('gzips bodies above the threshold (Content-Type: application/gzip) and the server parses them', async () => {
    const many = Array.from({ length: 300 }, (_, i) => makeProcess(1000 + i, `worker ${i}`));
    const { sensor } = await runAgent(args('-t', TOKEN), 600, many);
    expect(server.requests.length).toBeGreaterThan(0);
    for (const r of server.requests) {
      expect([r.status, r.gzipped, r.contentType, r.contentEncoding]).toEqual([200, true, 'application/gzip', undefined]);
      expect(r.wireBytes).toBeLessThan(Buffer.byteLength(r.text) / 3);
    }
    expect(server.series('scaph_process_energy_microjoules')).toHaveLength(300 * sensor.timestamps.length);
  });

  it('sends small bodies as plain text, or always gzips with --gzip-threshold 0', async () => {
    await runAgent(args('-t', TOKEN), 600);
    expect(server.requests.every((r) => !r.gzipped && r.contentType === 'text/plain; charset=utf-8')).toBe(true);
    server.requests.length = 0;
    await runAgent(args('-t', TOKEN, '--gzip-threshold', '0'), 600);
    expect(server.requests.length).toBeGreaterThan(0);
    expect(server.requests.every((r) => r.gzipped && r.status === 200)).toBe(true);
  });
});

describe('scaph warp10 write token', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scaph-w10-'));

  it('comes from -t, then --write-token-file, then SCAPH_WARP10_WRITE_TOKEN', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'from-file\n');
    const env = { SCAPH_WARP10_WRITE_TOKEN: 'from-env' };
    expect(await resolveWriteToken('from-flag', file, env)).toBe('from-flag');
    expect(await resolveWriteToken(undefined, file, env)).toBe('from-file');
    expect(await resolveWriteToken(undefined, undefined, env)).toBe('from-env');
  });

  it('is a usage error (exit 2) naming all three sources when missing', async () => {
    const err = await resolveWriteToken(undefined, undefined, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/-t .*--write-token-file .*SCAPH_WARP10_WRITE_TOKEN/);
  });

  it('names a bad token file without printing its content', async () => {
    const file = join(dir, 'two-lines');
    writeFileSync(file, 'secret-a\nsecret-b\n');
    await expect(resolveWriteToken(undefined, join(dir, 'missing'), {})).rejects.toThrow(/missing" does not exist/);
    const err = (await resolveWriteToken(undefined, file, {}).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('more than one line');
    expect(err.message).not.toContain('secret-a');
  });

  it('uses the environment when the command gets no -t, and rejects a bad scheme', async () => {
    const { logger } = capturingLogger();
    const saved = process.env['SCAPH_WARP10_WRITE_TOKEN'];
    process.env['SCAPH_WARP10_WRITE_TOKEN'] = TOKEN;
    try {
      const plan = await planFor(['-H', '127.0.0.1', '-p', String(server.port)], logger);
      expect(plan.stepMs).toBe(30_000);
      expect(plan.durationMs).toBeNull();
      await plan.exporter.stop(0);
      delete process.env['SCAPH_WARP10_WRITE_TOKEN'];
      await expect(planFor([], logger)).rejects.toBeInstanceOf(UsageError);
      await expect(planFor(['-s', 'ftp', '-t', 'x'], logger)).rejects.toThrow(/http or https/);
    } finally {
      if (saved === undefined) delete process.env['SCAPH_WARP10_WRITE_TOKEN'];
      else process.env['SCAPH_WARP10_WRITE_TOKEN'] = saved;
    }
  });
});

/**
 * The same checks against the real Warp 10 image, where testcontainers finds a container engine (left
 * out with one line otherwise; a failure with SCAPH_REQUIRE_CONTAINERS=1).
 */
await describeWithContainers('scaph warp10 against the real Warp 10 (testcontainers)', WARP10_IMAGE, () => {
  const warp10 = containerForSuite(() => startWarp10Container(), WARP10_START_MS);

  /** The points of `className` written at `timestampsMs` (the window is ours, not the container's clock). */
  async function fetchSeries(className: string, timestampsMs: readonly number[]): Promise<GtsPoint[]> {
    const w10 = warp10();
    const q = new URLSearchParams({ token: w10.readToken, selector: `${encodeURIComponent(className)}{}`, ...fetchWindow(timestampsMs), format: 'text' });
    const res = await fetch(`${w10.baseUrl}/api/v0/fetch?${q.toString()}`);
    expect(res.status).toBe(200);
    let previous: GtsPoint | null = null;
    const points: GtsPoint[] = [];
    for (const line of (await res.text()).split('\n')) {
      if (line.trim() === '') continue;
      previous = parseGtsLine(line.trim(), previous, 0);
      points.push(previous);
    }
    return points;
  }

  it('stores every series with its labels, numeric types and timestamps', async () => {
    const w10 = warp10();
    const processes = NASTY_NAMES.map((n, i) => makeProcess(300 + i, n));
    const log = capturingLogger();
    const plan = await planFor(['-H', w10.host, '-p', String(w10.port), '-S', '0.5', '-t', w10.writeToken], log.logger);
    const sensor = new FakeSensor(processes);
    await runPipeline({ sensor, exporters: [plan.exporter], stepMs: plan.stepMs, durationMs: 1_200, logger: log.logger, stopDeadlineMs: 30_000 });
    expect(asPush(plan).stats.sent).toBe(sensor.timestamps.length);
    const power = await fetchSeries('scaph_process_power_consumption_microwatts', sensor.timestamps);
    expect(new Set(power.map((p) => p.labels['exe']))).toEqual(new Set(NASTY_NAMES));
    expect(power.every((p) => p.type === 'LONG' && p.labels['host'] === 'box')).toBe(true);
    expect(new Set(power.map((p) => p.timestampUs / 1000))).toEqual(new Set(sensor.timestamps));
    const cpu = await fetchSeries('scaph_process_cpu_usage_percentage', sensor.timestamps);
    expect(cpu.every((p) => p.type === 'DOUBLE' && p.value === 2.5)).toBe(true);
  }, 120_000);

  it('reports a refused token once and stores nothing', async () => {
    const w10 = warp10();
    const log = capturingLogger();
    const plan = await planFor(['-H', w10.host, '-p', String(w10.port), '-S', '0.3', '-t', 'not-a-token'], log.logger);
    await runPipeline({ sensor: new FakeSensor([]), exporters: [plan.exporter], stepMs: plan.stepMs, durationMs: 1_000, logger: log.logger, stopDeadlineMs: 10_000 });
    expect(log.lines.filter((l) => String(l['msg']).includes('refused the write token'))).toHaveLength(1);
    expect(asPush(plan).stats.sent).toBe(0);
  }, 60_000);
});

function sortKeys(o: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
