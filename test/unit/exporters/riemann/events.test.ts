/** Metrics -> events -> Msg frames, and the riemann command's flag checks: no network. */
import { describe, expect, it } from 'vitest';
import { metricLike, type Metric } from '../../../../src/core/metric-families.js';
import { sampleToMetrics } from '../../../../src/core/metrics.js';
import { UsageError } from '../../../../src/core/errors.js';
import { checkRiemannFlags } from '../../../../src/exporters/riemann/command.js';
import type { QueuedSample } from '../../../../src/delivery/transport.js';
import { RiemannEventBuilder } from '../../../support/oracles/riemann-events.js';
import { decodeMsg, FrameReader } from '../../../../src/exporters/riemann/proto.js';
import { RiemannTransport } from '../../../../src/exporters/riemann/transport.js';
import { TlsFileMissingError } from '../../../../src/net/tls.js';
import { silentLogger } from '../../../../src/core/log.js';
import { syntheticSample } from '../../../support/fixtures/synthetic-sample.js';
import { captureLogger, riemannPlan } from '../../../support/harness/riemann.js';

const T0 = Date.parse('2026-03-01T12:00:00.123456Z');
const OPTIONS = { hostname: 'box1', ttlS: 60, tags: ['prod', 'dc1'] };

function metricsOf(qemu = false): Metric[] {
  const s = syntheticSample({
    timestampMs: T0,
    processes: [
      { pid: 1234, exe: 'firefox', powerUw: 1_500_000 },
      { pid: 99, exe: 'bash', powerUw: 250_000 },
    ],
  });
  return sampleToMetrics(s, { qemu });
}

function transport(maxEventsPerMsg: number): RiemannTransport {
  return new RiemannTransport({
    ...OPTIONS,
    host: '127.0.0.1',
    port: 1,
    tls: null,
    maxEventsPerMsg,
    connectTimeoutMs: 1000,
    logger: silentLogger(),
  });
}

describe('Riemann events', () => {
  it('one event per metric: host, service, time and time_micros, ttl, state, tags, description', () => {
    const metrics = metricsOf();
    const events = new RiemannEventBuilder(OPTIONS).build(metrics, T0);
    expect(events).toHaveLength(metrics.length);
    const host = events.find((e) => e.service === 'scaph_host_power_microwatts');
    expect(host).toEqual({
      host: 'box1',
      service: 'scaph_host_power_microwatts',
      time: Math.floor(T0 / 1000),
      timeMicros: T0 * 1000,
      ttl: 60,
      state: 'ok',
      tags: ['scaphandre', 'prod', 'dc1'],
      description: 'Power measurement on the whole host, in microwatts',
      attributes: [{ key: 'value_source', value: 'powercap_rapl_pkg' }],
      metricSint64: 40_000_000,
    });
  });

  it('process services are <name without scaph_>_<pid>_<exe>, with pid and exe attributes, cmdline on the power event only', () => {
    const events = new RiemannEventBuilder(OPTIONS).build(metricsOf(), T0);
    const firefox = events.filter((e) => e.attributes?.some((a) => a.key === 'pid' && a.value === '1234'));
    expect(firefox.map((e) => e.service)).toEqual([
      'process_power_consumption_microwatts_1234_firefox',
      'process_energy_microjoules_1234_firefox',
      'process_cpu_usage_percentage_1234_firefox',
      'process_memory_bytes_1234_firefox',
      'process_memory_virtual_bytes_1234_firefox',
    ]);
    expect(firefox[0]?.attributes).toEqual([
      { key: 'pid', value: '1234' },
      { key: 'exe', value: 'firefox' },
      { key: 'cmdline', value: 'firefox --run' },
    ]);
    for (const other of firefox.slice(1)) {
      expect(other.attributes).toEqual([
        { key: 'pid', value: '1234' },
        { key: 'exe', value: 'firefox' },
      ]);
    }
    expect(firefox[0]?.metricSint64).toBe(1_500_000);
    // Riemann's =~ is an anchored LIKE: % matches any run of characters.
    const like = /^process_power_consumption_microwatts_.*_firefox$/;
    expect(events.filter((e) => like.test(e.service ?? '')).map((e) => e.service)).toEqual(['process_power_consumption_microwatts_1234_firefox']);
  });

  it('description: false (--no-description) leaves the HELP text out of every event, nothing else', () => {
    const metrics = metricsOf();
    const withHelp = new RiemannEventBuilder(OPTIONS).build(metrics, T0);
    const without = new RiemannEventBuilder({ ...OPTIONS, description: false }).build(metrics, T0);
    expect(without.every((e) => e.description === undefined)).toBe(true);
    expect(without).toEqual(withHelp.map(({ description: _d, ...e }) => e));
  });

  it('a process whose exe label was dropped (--drop-labels exe) is named <name without scaph_>_<pid>', () => {
    const power = metricsOf().find((m) => m.name === 'scaph_process_power_consumption_microwatts' && m.labels['pid'] === '1234') as Metric;
    const [event] = new RiemannEventBuilder(OPTIONS).build([metricLike(power, { pid: '1234' }, power.value)], T0);
    expect(event?.service).toBe('process_power_consumption_microwatts_1234');
  });

  it('integer metrics go as metric_sint64, fractional ones as metric_d, never both', () => {
    const events = new RiemannEventBuilder(OPTIONS).build(metricsOf(), T0);
    const cpu = events.find((e) => e.service === 'process_cpu_usage_percentage_1234_firefox');
    expect(cpu?.metricD).toBe(12.5);
    expect(cpu?.metricSint64).toBeUndefined();
    const load = events.find((e) => e.service === 'scaph_host_load_avg_five');
    expect(load?.metricD).toBe(0.5);
    for (const e of events) expect((e.metricD === undefined) !== (e.metricSint64 === undefined)).toBe(true);
    const big: Metric = { name: 'scaph_host_energy_microjoules', help: 'h', type: 'counter', kind: 'int', labels: {}, value: 2 ** 53 - 1 };
    const [b] = new RiemannEventBuilder(OPTIONS).build([big], T0);
    expect(b?.metricSint64).toBe(2 ** 53 - 1);
  });

  it('adds vmname with --qemu', () => {
    const s = syntheticSample({ timestampMs: T0, processes: [{ pid: 7, exe: 'qemu-system-x86_64', powerUw: 1000 }] });
    const vm = { ...s, processes: s.processes.map((p) => ({ ...p, vmName: 'guest1' })) };
    const events = new RiemannEventBuilder(OPTIONS).build(sampleToMetrics(vm, { qemu: true }), T0);
    const proc = events.find((e) => e.service === 'process_power_consumption_microwatts_7_qemu-system-x86_64');
    expect(proc?.attributes).toContainEqual({ key: 'vmname', value: 'guest1' });
  });

  it('splits a sample into Msgs of at most --max-events-per-msg events that decode back', () => {
    const metrics = metricsOf();
    const entry: QueuedSample = { timestampMs: T0, metrics, vanished: [], endedProcesses: [] };
    const batch = transport(7).encode([entry, { ...entry, timestampMs: T0 + 5000 }]);
    const perSample = Math.ceil(metrics.length / 7);
    expect(batch.frames).toHaveLength(2 * perSample);
    const reader = new FrameReader();
    const bodies = reader.push(Buffer.concat(batch.frames.map((f) => f.bytes)));
    expect(reader.bufferedBytes).toBe(0);
    const msgs = bodies.map((b) => decodeMsg(b));
    expect(msgs.map((m) => m.events?.length ?? 0)).toEqual(batch.frames.map((f) => f.events));
    expect(Math.max(...msgs.map((m) => m.events?.length ?? 0))).toBe(7);
    const services = msgs.slice(0, perSample).flatMap((m) => m.events ?? []).map((e) => e.service);
    expect(services).toHaveLength(metrics.length);
    expect(msgs[perSample]?.events?.[0]?.timeMicros).toBe((T0 + 5000) * 1000);
    const firefoxPower = msgs.flatMap((m) => m.events ?? []).find((e) => e.service === 'process_power_consumption_microwatts_1234_firefox');
    expect(firefoxPower?.metricSint64).toBe(1_500_000);
  });
});

describe('riemann command flags', () => {
  it('--mtls names every missing flag (usage error, exit 2)', () => {
    let err: unknown;
    try {
      checkRiemannFlags({ mtls: true, ca: 'ca.pem' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as UsageError).message).toContain('--mtls needs --cert, --key');
  });

  it("--mtls with Scaphandre's documented flags only: the address defaults to localhost (the name checked against the certificate)", () => {
    expect(checkRiemannFlags({ mtls: true, ca: 'a', cert: 'b', key: 'c' })).toMatchObject({ address: 'localhost', tls: true, mtls: true });
  });

  it('--tls needs --ca; --ca alone needs --tls or --mtls; address defaults to localhost', () => {
    expect(() => checkRiemannFlags({ tls: true })).toThrow(/--tls needs --ca/);
    expect(() => checkRiemannFlags({ ca: 'x' })).toThrow(/only used with --tls or --mtls/);
    expect(checkRiemannFlags({})).toMatchObject({ address: 'localhost', tls: false });
    expect(checkRiemannFlags({ mtls: true, address: 'r', ca: 'a', cert: 'b', key: 'c' })).toMatchObject({ address: 'r', tls: true, mtls: true });
  });

  it('commander parsing through riemannCommand.create: defaults, and a missing CA file named', async () => {
    const { logger } = captureLogger();
    const plan = await riemannPlan([], logger);
    expect(plan.stepMs).toBe(5000);
    expect(plan.durationMs).toBeNull();
    expect(plan.exporter.name).toBe('riemann');
    await expect(riemannPlan(['--mtls', '-a', 'localhost', '--ca', '/nonexistent/ca.pem', '--cert', 'c', '--key', 'k'], logger)).rejects.toBeInstanceOf(
      TlsFileMissingError,
    );
    await expect(riemannPlan(['--mtls', '--ca', 'a'], logger)).rejects.toThrow(/--mtls needs --cert, --key/);
  });

  it('--dispatch (the documentation\'s spelling) sets the same step as -d/--dispatch-interval', async () => {
    const { logger } = captureLogger();
    expect((await riemannPlan(['--dispatch', '7'], logger)).stepMs).toBe(7000);
    expect((await riemannPlan(['-d', '3'], logger)).stepMs).toBe(3000);
    await expect(riemannPlan(['--dispatch', '0'], logger)).rejects.toThrow(/-d\/--dispatch-interval must be a positive number/);
  });
});

describe('services of series that share a name', () => {
  it("keep Scaphandre's service names for sockets and domains by default, the ids as attributes", async () => {
    const { makeSample } = await import('../../../support/fixtures/sample.js');
    const events = new RiemannEventBuilder(OPTIONS).build(sampleToMetrics(makeSample()), T0);
    const sockets = events.filter((e) => e.service === 'scaph_socket_power_microwatts');
    expect(sockets.map((e) => e.attributes?.find((a) => a.key === 'socket_id')?.value)).toEqual(['0', '1']);
    const drams = events.filter((e) => e.service === 'scaph_domain_power_microwatts' && e.attributes?.some((a) => a.key === 'domain_name' && a.value === 'dram'));
    expect(drams.map((e) => e.attributes?.find((a) => a.key === 'socket_id')?.value)).toEqual(['0', '1']);
    expect(events.some((e) => /^scaph_(socket|domain)_\w+_\d/.test(e.service ?? ''))).toBe(false);
    expect(events.map((e) => e.service)).toContain('process_power_consumption_microwatts_42_burner');
  });

  it('are unique per socket and per domain with perSocketServices, so Riemann keeps every socket in its index', async () => {
    const { makeSample } = await import('../../../support/fixtures/sample.js');
    const events = new RiemannEventBuilder({ ...OPTIONS, perSocketServices: true }).build(sampleToMetrics(makeSample()), T0);
    const services = events.map((e) => e.service);
    expect(services).toContain('scaph_socket_power_microwatts_0');
    expect(services).toContain('scaph_socket_power_microwatts_1');
    expect(services).toContain('scaph_domain_power_microwatts_1_dram');
    expect(services).toContain('scaph_host_power_microwatts');
    expect(services).toContain('process_power_consumption_microwatts_42_burner');
    expect(new Set(services).size).toBe(services.length);
  });
});
