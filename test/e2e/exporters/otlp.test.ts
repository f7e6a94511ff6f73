/**
 * The built CLI pushing over OTLP to the test receiver (OpenTelemetry's generated code decodes every request;
 * the official exporters prove it: test/support/servers/otlp-receiver.test.ts). A json exporter in the same
 * run lists every sample taken, so what arrived is checked against what was sampled: every step's host
 * power, each process's power and energy, with their types, temporality, start times and attributes; the
 * resource and scope; retries across 503 and UNAVAILABLE bursts without a loss or a duplicate; a 400 dropped
 * and said; a partial success counted and said; the OTEL_* variables.
 */
import { cpus } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { VERSION } from '../../../src/core/version.js';
import type { DecodedPoint } from '../../support/servers/otlp-proto.js';
import { OtlpReceiver } from '../../support/servers/otlp-receiver.js';
import { eventually, expectClean, JSON_LOGS, jsonReportTimes, logLines, sleep, tempDir } from '../../support/harness/bad-input.js';
import { countByTime, jsonReports, lastSelfMetric, OTLP_HOSTNAME, OTLP_MACHINE_ID, otlpRun, pointsOf } from '../../support/harness/otlp.js';
import { startScaph } from '../../support/fixtures/run-scaph.js';

const receivers: OtlpReceiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.stop();
});
async function receiver(): Promise<OtlpReceiver> {
  const r = await OtlpReceiver.start({ http: true, grpc: true });
  receivers.push(r);
  return r;
}

const ns = (ms: number): bigint => BigInt(Math.round(ms)) * 1_000_000n;

/** The points of one series (its attributes' `key` = `value`) of a metric. */
function series(points: readonly DecodedPoint[], key: string, value: string | number): DecodedPoint[] {
  return points.filter((p) => p.attributes[key] === value);
}

describe('scaph run with type = "otlp" (OTLP/HTTP, gzip)', () => {
  it('every step: host power, each process power and energy, with types, temporality, start times, attributes, resource and scope', async () => {
    const r = await receiver();
    const { scaph, sampled } = otlpRun(tempDir(), [`type = "otlp"\nurl = "${r.httpUrl}"\nresource_attribute = { "deployment.environment.name" = "e2e" }`]);
    try {
      await eventually(() => jsonReportTimes(sampled).length >= 10, 30_000, '10 samples');
      const run = await scaph.stop();
      expectClean(run);
      const reports = jsonReports(sampled);
      const requests = r.requests.filter((q) => q.accepted);
      expect(requests.length).toBeGreaterThanOrEqual(2);
      for (const q of requests) {
        expect(q.path).toBe('/v1/metrics');
        expect(q.headers['content-type']).toBe('application/x-protobuf');
        expect(q.headers['content-encoding']).toBe('gzip');
        expect(q.headers['user-agent']).toBe(`scaph/${VERSION}`);
        expect(q.request?.resources).toEqual([
          {
            'service.name': 'scaph',
            'service.version': VERSION,
            'service.instance.id': OTLP_HOSTNAME,
            'host.name': OTLP_HOSTNAME,
            'host.id': OTLP_MACHINE_ID,
            'deployment.environment.name': 'e2e',
          },
        ]);
        expect(q.request?.scopes).toEqual([{ name: 'scaph', version: VERSION }]);
        // One Metric per family per request, whatever the number of samples it holds.
        expect(new Set(q.request?.metricNames).size).toBe(q.request?.metricNames.length);
      }

      // Every step's host power, once, with the value the json exporter printed.
      const host = pointsOf(r, 'http', 'scaph_host_power_microwatts');
      expect(host.map((p) => p.timeMs)).toEqual(reports.map((s) => s.timestampMs));
      expect(host.map((p) => p.value)).toEqual(reports.map((s) => s.hostPowerUw));
      for (const p of host) expect(p).toMatchObject({ type: 'gauge', valueType: 'int', unit: 'microwatts', attributes: { value_source: 'estimate' } });

      // Each process the json exporter listed: its power at that step, as an int gauge with pid, exe, cmdline.
      const power = pointsOf(r, 'http', 'scaph_process_power_consumption_microwatts');
      let checked = 0;
      for (const report of reports) {
        for (const c of report.consumers) {
          const p = power.filter((x) => x.attributes['pid'] === String(c.pid) && x.timeMs === report.timestampMs);
          expect(p, `pid ${c.pid} at ${report.timestampMs}`).toHaveLength(1);
          expect(p[0]).toMatchObject({ type: 'gauge', valueType: 'int', value: c.consumption });
          expect(Object.keys(p[0]?.attributes ?? {}).sort()).toEqual(['cmdline', 'exe', 'pid']);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(20);

      // Energy: a monotonic cumulative Sum per process, its start time the same in every request, before its
      // first point by at most one interval (when scaph first saw the process), its values never going down.
      const energy = pointsOf(r, 'http', 'scaph_process_energy_microjoules');
      const pids = new Set(energy.map((p) => p.attributes['pid'] as string));
      expect(pids.size).toBeGreaterThan(5);
      for (const pid of pids) {
        const points = series(energy, 'pid', pid);
        expect(new Set(points.map((p) => p.startTimeUnixNano)).size, `pid ${pid}`).toBe(1);
        const first = points[0] as DecodedPoint;
        expect(first).toMatchObject({ type: 'sum', temporality: 2, isMonotonic: true, valueType: 'int', unit: 'microjoules' });
        expect(first.startTimeUnixNano).toBeLessThan(first.timeUnixNano);
        expect(first.timeUnixNano - first.startTimeUnixNano).toBeLessThanOrEqual(ns(2000));
        // A process that ended or left gets one point flagged NO_RECORDED_VALUE (no value): its end.
        const values = points.filter((p) => p.flags === 0);
        for (let i = 1; i < values.length; i++) expect((values[i] as DecodedPoint).value).toBeGreaterThanOrEqual((values[i - 1] as DecodedPoint).value);
        for (const ended of points.filter((p) => p.flags !== 0)) expect(ended).toMatchObject({ flags: 1, valueType: 'none' });
      }
      // The host counter began with the reading before the first sample, and stays there.
      const hostEnergy = pointsOf(r, 'http', 'scaph_host_energy_microjoules');
      expect(new Set(hostEnergy.map((p) => p.startTimeUnixNano)).size).toBe(1);
      expect((hostEnergy[0] as DecodedPoint).startTimeUnixNano).toBeLessThan(ns(reports[0]?.timestampMs ?? 0));
      // The delivery counters count from when the exporter began: before the first sample.
      const sent = pointsOf(r, 'http', 'scaph_delivery_samples_sent_total');
      expect(sent.at(-1)).toMatchObject({ type: 'sum', isMonotonic: true, attributes: { transport: 'otlp' } });
      expect(new Set(sent.map((p) => p.startTimeUnixNano)).size).toBe(1);
    } finally {
      await scaph.stop('SIGKILL');
    }
  });
});

describe('scaph otlp --protocol grpc --naming semconv', () => {
  it('OpenTelemetry names and SI units over gRPC: hw.host.power in W, scaph.process.power with process.pid an integer', async () => {
    const r = await receiver();
    const scaph = startScaph(['--no-header', '--sensor', 'estimate', 'otlp', '--protocol', 'grpc', '-u', `http://${r.grpcTarget}`, '-S', '0.25', '--naming', 'semconv'], {
      env: { SCAPH_HOSTNAME: OTLP_HOSTNAME },
    });
    try {
      await eventually(() => r.requests.filter((q) => q.accepted).length >= 3, 30_000, '3 requests');
      expectClean(await scaph.stop());
      expect(r.requests.every((q) => q.protocol === 'grpc' && q.accepted)).toBe(true);
      const host = r.points('hw.host.power');
      expect(host.length).toBeGreaterThanOrEqual(3);
      for (const p of host) expect(p).toMatchObject({ type: 'gauge', unit: 'W', valueType: 'double', attributes: { 'hw.id': 'host', 'scaph.value_source': 'estimate' } });
      // In watts (scaph's microwatts / 1e6): the estimate on the real /proc lies between its idle and full figures.
      for (const p of host) expect(Number(p.value)).toSatisfy((w: number) => w >= 0.74 * cpus().length - 1e-9 && w <= 3.5 * cpus().length + 1e-9);
      const process = r.points('scaph.process.power');
      expect(process.length).toBeGreaterThan(3);
      expect(process.every((p) => typeof p.attributes['process.pid'] === 'number' && typeof p.attributes['process.executable.name'] === 'string')).toBe(true);
      const energy = r.points('scaph.process.energy');
      expect(energy.every((p) => p.type === 'sum' && p.unit === 'J' && p.temporality === 2)).toBe(true);
      expect(r.points('scaph_host_power_microwatts')).toEqual([]);
    } finally {
      await scaph.stop('SIGKILL');
    }
  });
});

describe('outages: retried, every step arrives once', () => {
  it('a 60 s run, three 503 bursts on OTLP/HTTP and an UNAVAILABLE burst on OTLP/gRPC: every sample once over each', async () => {
    const r = await receiver();
    const { scaph, sampled } = otlpRun(tempDir(), [`type = "otlp"\nurl = "${r.httpUrl}"`, `type = "otlp"\nprotocol = "grpc"\nurl = "http://${r.grpcTarget}"`], '500ms');
    try {
      const startedAt = Date.now();
      const at = async (s: number): Promise<void> => sleep(Math.max(0, startedAt + s * 1000 - Date.now()));
      for (const [from, to, answer] of [
        [8, 12, { status: 503, headers: { 'retry-after': '1' } }],
        [20, 24, { status: 503 }],
        [32, 36, { status: 503 }],
        [44, 49, { grpcCode: 14, message: 'collector restarting' }],
      ] as const) {
        await at(from);
        r.fallback = answer;
        await at(to);
        r.fallback = {};
      }
      await at(60);
      const run = await scaph.stop();
      expectClean(run);
      const taken = jsonReportTimes(sampled);
      expect(taken.length).toBeGreaterThan(90);
      for (const protocol of ['http', 'grpc'] as const) {
        const arrived = countByTime(pointsOf(r, protocol, 'scaph_host_power_microwatts'));
        expect(taken.filter((t) => arrived.get(t) !== 1), `${protocol}: not arrived exactly once`).toEqual([]);
        expect([...arrived.keys()].filter((t) => !taken.includes(t)), `${protocol}: arrived, never sampled`).toEqual([]);
      }
      expect(r.requests.filter((q) => q.protocol === 'http' && q.answered === 503).length).toBeGreaterThanOrEqual(3);
      expect(r.requests.filter((q) => q.protocol === 'grpc' && q.answered === 14).length).toBeGreaterThanOrEqual(1);
      const lines = logLines(run.stderr);
      const retried = lines.filter((l) => l.msg === 'delivery failed; will retry').map((l) => String(l['error']));
      expect(retried.some((e) => e.startsWith('HTTP 503'))).toBe(true);
      expect(retried).toContain('gRPC UNAVAILABLE: collector restarting');
      expect(lines.filter((l) => l.msg === 'delivery recovered').length).toBeGreaterThanOrEqual(4);
      expect(lines.some((l) => /dropp/.test(l.msg))).toBe(false);
    } finally {
      await scaph.stop('SIGKILL');
    }
  }, 120_000);
});

describe('answers OTLP says are final', () => {
  it('a 400 is dropped, not retried, counted and said once with the receiver message; the rest arrives', async () => {
    const r = await receiver();
    r.script.push({ status: 400, message: 'bad data: unknown metric type' });
    const { scaph, sampled } = otlpRun(tempDir(), [`type = "otlp"\nurl = "${r.httpUrl}"\nmax_samples_per_send = 1`]);
    try {
      await eventually(() => r.requests.filter((q) => q.accepted).length >= 5, 30_000, 'requests after the 400');
      const run = await scaph.stop();
      expectClean(run);
      expect(r.requests.filter((q) => q.answered === 400)).toHaveLength(1);
      const rejected = logLines(run.stderr).filter((l) => l.msg === 'delivery rejected by the backend; dropping the batch (not retried)');
      expect(rejected).toHaveLength(1);
      expect(rejected[0]).toMatchObject({ transport: 'otlp', reason: 'http_400', error: 'HTTP 400: bad data: unknown metric type' });
      expect(lastSelfMetric(r, 'http', 'scaph_delivery_samples_dropped_total', { reason: 'http_400', transport: 'otlp' })).toBe(1);
      // The one sample of the refused request is the one missing; every other arrived once.
      const arrived = countByTime(pointsOf(r, 'http', 'scaph_host_power_microwatts'));
      const taken = jsonReportTimes(sampled);
      expect(taken.filter((t) => arrived.get(t) !== 1)).toHaveLength(1);
    } finally {
      await scaph.stop('SIGKILL');
    }
  });

  it('a partial success: nothing resent, the points counted in scaph_delivery_rejected_points_total, each message said once', async () => {
    const r = await receiver();
    r.script.push(
      { partialSuccess: { points: 4, message: 'out of order samples' } },
      { partialSuccess: { points: 2, message: 'out of order samples' } },
      { partialSuccess: { points: 0, message: 'deprecated attribute' } },
    );
    const { scaph, sampled } = otlpRun(tempDir(), [`type = "otlp"\nurl = "${r.httpUrl}"\nmax_samples_per_send = 1`]);
    try {
      await eventually(() => r.requests.filter((q) => q.accepted).length >= 6, 30_000, 'requests after the partial successes');
      const run = await scaph.stop();
      expectClean(run);
      const said = logLines(run.stderr).filter((l) => /partial success|with a warning/.test(l.msg));
      expect(said.map((l) => [l['error'] ?? l['warning'], l['rejectedPoints']])).toEqual([
        ['out of order samples', 4],
        ['deprecated attribute', undefined],
      ]);
      expect(lastSelfMetric(r, 'http', 'scaph_delivery_rejected_points_total', { transport: 'otlp' })).toBe(6);
      const arrived = countByTime(pointsOf(r, 'http', 'scaph_host_power_microwatts'));
      expect(jsonReportTimes(sampled).filter((t) => arrived.get(t) !== 1)).toEqual([]);
    } finally {
      await scaph.stop('SIGKILL');
    }
  });
});

describe("OpenTelemetry's standard variables", () => {
  it('OTEL_EXPORTER_OTLP_ENDPOINT (v1/metrics appended), _HEADERS, _COMPRESSION, OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME', async () => {
    const r = await receiver();
    const base = r.httpUrl.replace(/\/v1\/metrics$/, '/otel');
    const scaph = startScaph(['--no-header', ...JSON_LOGS, '--sensor', 'estimate', 'otlp', '-S', '0.25'], {
      env: {
        SCAPH_HOSTNAME: OTLP_HOSTNAME,
        OTEL_EXPORTER_OTLP_ENDPOINT: base,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=a%2Cb,Authorization=Bearer%20t0ken',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
        OTEL_RESOURCE_ATTRIBUTES: 'service.name=ignored,k8s.cluster.name=par%201',
        OTEL_SERVICE_NAME: 'power',
      },
    });
    try {
      await eventually(() => r.requests.filter((q) => q.accepted).length >= 2, 30_000, '2 requests');
      expectClean(await scaph.stop());
      const q = r.requests[0];
      expect(q?.path).toBe('/otel/v1/metrics');
      expect(q?.headers['x-tenant']).toBe('a,b');
      expect(q?.headers['authorization']).toBe('Bearer t0ken');
      expect(q?.headers['content-encoding']).toBeUndefined();
      expect(q?.request?.resources[0]).toMatchObject({ 'service.name': 'power', 'k8s.cluster.name': 'par 1', 'host.name': OTLP_HOSTNAME });
    } finally {
      await scaph.stop('SIGKILL');
    }
  });
});
