import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { METRIC_FAMILIES } from '../../../../src/core/metric-families.js';
import { packageFile } from '../../../../src/core/package-file.js';
import { sampleToMetrics } from '../../../../src/core/metrics.js';
import { createPushExporter } from '../../../../src/delivery/push-exporter.js';
import type { QueuedSample } from '../../../../src/delivery/transport.js';
import { RemoteWriteV2Transport, type RemoteWriteV2Options } from '../../../../src/exporters/remote-write/transport-v2.js';
import { captureLogger, type LogLine } from '../../../support/fakes/log-capture.js';
import { syntheticSample } from '../../../support/fixtures/synthetic-sample.js';
import { CONTENT_TYPE_V2, METRIC_TYPES } from '../../../support/oracles/remote-write-v2.js';
import { RemoteWriteV2Receiver, type ReceiverAnswer, type ReceiverMode } from '../../../support/servers/remote-write-v2-receiver.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const START = T0 - 60_000;
const HOST = 'scaph_host_power_microwatts';
const pkgVersion = (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;

function entry(i: number, processes = [{ pid: 42, exe: 'burner', powerUw: 1_500_000 + i, energyUj: 7_000_000 + i }]): QueuedSample {
  const s = syntheticSample({ timestampMs: T0 + i * 1000, socketPowersUw: [20_000_000 + i, 19_000_000], processes });
  return { timestampMs: s.timestampMs, metrics: sampleToMetrics(s), vanished: [], endedProcesses: [] };
}

let receiver: RemoteWriteV2Receiver | null = null;
let transport: RemoteWriteV2Transport | null = null;
afterEach(async () => {
  await transport?.close();
  await receiver?.stop();
  transport = null;
  receiver = null;
});

interface Setup {
  readonly receiver: RemoteWriteV2Receiver;
  readonly transport: RemoteWriteV2Transport;
  readonly lines: LogLine[];
  readonly clock: { nowMs: number };
}

async function setup(mode: ReceiverMode, options: Partial<RemoteWriteV2Options> = {}): Promise<Setup> {
  receiver = await RemoteWriteV2Receiver.start(mode);
  const { logger, lines } = captureLogger();
  const clock = { nowMs: T0 };
  transport = new RemoteWriteV2Transport({
    url: receiver.url,
    version: pkgVersion,
    timeoutMs: 5000,
    job: 'scaph',
    instance: 'node-1',
    extraLabels: {},
    headers: { 'X-Scope-OrgID': 'tenant-a' },
    auth: { kind: 'bearer', token: 's3cret' },
    logger,
    recheckMs: 3_600_000,
    countersStartMs: START,
    now: () => clock.nowMs,
    ...options,
  });
  return { receiver, transport, lines, clock };
}

async function send(t: RemoteWriteV2Transport, ...entries: QueuedSample[]) {
  return t.send(t.encode(entries), AbortSignal.timeout(5000));
}

const warnings = (lines: readonly LogLine[]): LogLine[] => lines.filter((l) => l.level === 40);

describe('RemoteWriteV2Transport against a 2.0 receiver', () => {
  it('sends io.prometheus.write.v2.Request with the 2.0 headers; the receiver stores values, types, help, units and start timestamps', async () => {
    const { receiver, transport } = await setup('2.0');
    expect(await send(transport, entry(0), entry(1))).toEqual({ kind: 'ok' });
    expect(receiver.violations).toEqual([]);
    const h = receiver.requests[0]?.headers ?? {};
    expect(h['content-type']).toBe(CONTENT_TYPE_V2);
    expect(h['content-encoding']).toBe('snappy');
    expect(h['x-prometheus-remote-write-version']).toBe('2.0.0');
    expect(h['user-agent']).toBe(`scaph/${pkgVersion}`);
    expect(h['authorization']).toBe('Bearer s3cret');
    expect(h['x-scope-orgid']).toBe('tenant-a');
    const host = receiver.find(HOST);
    expect(host).toHaveLength(1);
    expect(host[0]?.metadata).toEqual({ type: METRIC_TYPES.gauge, help: METRIC_FAMILIES[HOST].help, unit: 'microwatts' });
    expect(host[0]?.samples).toEqual([
      { value: 39_000_000, timestamp: T0, startTimestamp: 0 },
      { value: 39_000_001, timestamp: T0 + 1000, startTimestamp: 0 },
    ]);
    const energy = receiver.find('scaph_process_energy_microjoules', { pid: '42', job: 'scaph', instance: 'node-1' });
    expect(energy[0]?.metadata).toEqual({ type: METRIC_TYPES.counter, help: METRIC_FAMILIES.scaph_process_energy_microjoules.help, unit: 'microjoules' });
    expect(energy[0]?.samples).toEqual([
      { value: 7_000_000, timestamp: T0, startTimestamp: START },
      { value: 7_000_001, timestamp: T0 + 1000, startTimestamp: START },
    ]);
    expect(receiver.requests.map((r) => [r.version, r.points, r.status])).toEqual([['2.0', entry(0).metrics.length * 2, 204]]);
    expect(transport.version).toBe('2.0');
  });

  it('counts what the receiver says it did not write as rejected, logged once; a receiver claiming more, or garbage, is believed and said once', async () => {
    const { receiver, transport, lines } = await setup('2.0');
    const claims = ['5', '5', '999999', '1, 2', '-3', 'NaN', '9223372036854775808'];
    receiver.answer = (_req, planned) => ({ headers: { ...planned.headers, 'x-prometheus-remote-write-samples-written': claims.shift() ?? '0' } });
    const points = entry(0).metrics.length;
    expect(await send(transport, entry(0))).toEqual({ kind: 'ok', rejected: { points: points - 5, message: 'Samples-Written below the samples sent', said: true } });
    expect(await send(transport, entry(1))).toEqual({ kind: 'ok', rejected: { points: points - 5, message: 'Samples-Written below the samples sent', said: true } });
    expect(await send(transport, entry(2))).toEqual({ kind: 'ok' });
    for (let i = 3; i < 7; i++) expect(await send(transport, entry(i))).toEqual({ kind: 'ok' });
    const said = warnings(lines).map((l) => [l.msg.split(':')[0], l['sent'], l['written'], l['value']]);
    expect(said).toEqual([
      ['the receiver acknowledged a request but wrote only part of it', points, 5, undefined],
      ['the receiver says it wrote more samples than scaph sent', points, 999999, undefined],
      ['the receiver answered 2xx with a Samples-Written header that is not a count', undefined, undefined, '"1, 2"'],
    ]);
    // Every request went as 2.0: a receiver that sends the header is a 2.0 one, whatever it says.
    expect(receiver.requests.every((r) => r.version === '2.0')).toBe(true);
  });

  it('a 5xx is retried as 2.0, a 400 with Written headers dropped, neither a fallback', async () => {
    const { receiver, transport, lines } = await setup('2.0');
    const answers: ReceiverAnswer[] = [{ status: 503, headers: {} }, { status: 400, headers: { 'x-prometheus-remote-write-samples-written': '0' } }];
    receiver.answer = () => answers.shift();
    expect(await send(transport, entry(0))).toMatchObject({ kind: 'retry', error: expect.stringMatching(/^HTTP 503/) });
    expect(await send(transport, entry(0))).toMatchObject({ kind: 'drop', reason: 'http_400' });
    expect(await send(transport, entry(1))).toEqual({ kind: 'ok' });
    expect(receiver.requests.map((r) => r.version)).toEqual(['2.0', '2.0', '2.0']);
    expect(warnings(lines)).toEqual([]);
  });
});

describe('RemoteWriteV2Transport against 1.x receivers: the same samples again as 1.0, at once, remembered', () => {
  it.each([
    ['answers 415 to 2.0', '415' as const, /HTTP 415 Unsupported Media Type/],
    ['answers 204 without Written headers and stores nothing (Prometheus 2.42, VictoriaMetrics 1.79)', '1.x-blind' as const, /HTTP 204 without X-Prometheus-Remote-Write-Samples-Written/],
  ])('a receiver that %s: every sample stored once, one warning saying what to change', async (_what, mode, answer) => {
    const { receiver, transport, lines } = await setup(mode);
    expect(await send(transport, entry(0), entry(1))).toEqual({ kind: 'ok' });
    expect(transport.version).toBe('1.0');
    expect(await send(transport, entry(2))).toEqual({ kind: 'ok' });
    expect(receiver.requests.map((r) => r.version)).toEqual(['2.0', '1.0', '1.0']);
    expect(receiver.timestamps(HOST)).toEqual([T0, T0 + 1000, T0 + 2000]);
    expect(receiver.timestamps('scaph_process_energy_microjoules', { pid: '42' })).toEqual([T0, T0 + 1000, T0 + 2000]);
    const said = warnings(lines);
    expect(said).toHaveLength(1);
    expect(said[0]?.msg).toMatch(answer);
    expect(said[0]?.msg).toMatch(/--protocol-version 1\.0 \(protocol_version = "1\.0"\)/);
    expect(said[0]?.['url']).toBe(receiver.url);
    expect(receiver.violations).toEqual([]);
  });

  it('tries 2.0 again after the recheck interval: still 1.x costs one request and no new warning; upgraded, it sends 2.0 again and says so', async () => {
    const { receiver, transport, lines, clock } = await setup('415', { recheckMs: 60_000 });
    await send(transport, entry(0));
    clock.nowMs += 59_999;
    await send(transport, entry(1));
    clock.nowMs += 1;
    await send(transport, entry(2)); // the recheck: 415 again, then 1.0
    expect(receiver.requests.map((r) => r.version)).toEqual(['2.0', '1.0', '1.0', '2.0', '1.0']);
    expect(warnings(lines)).toHaveLength(1);
    expect(lines.filter((l) => l.level === 20 && /still takes remote-write 1\.0 only/.test(l.msg))).toHaveLength(1);
    receiver.mode = '2.0';
    await send(transport, entry(3)); // within the new interval: 1.0
    clock.nowMs += 60_000;
    expect(await send(transport, entry(4))).toEqual({ kind: 'ok' });
    expect(transport.version).toBe('2.0');
    expect(receiver.requests.map((r) => r.version).slice(5)).toEqual(['1.0', '2.0']);
    expect(lines.filter((l) => l.level === 30 && /takes remote-write 2\.0 now/.test(l.msg))).toHaveLength(1);
    expect(receiver.timestamps(HOST)).toEqual([0, 1, 2, 3, 4].map((i) => T0 + i * 1000));
  });

  it('without a recheck interval, 1.0 until the next start', async () => {
    const { receiver, transport, clock } = await setup('1.x-blind', { recheckMs: null });
    await send(transport, entry(0));
    clock.nowMs += 365 * 86_400_000;
    await send(transport, entry(1));
    expect(receiver.requests.map((r) => r.version)).toEqual(['2.0', '1.0', '1.0']);
  });

  it('a 400 without any Written header (a 1.x receiver refusing the content type) falls back too', async () => {
    const { receiver, transport } = await setup('2.0');
    receiver.answer = (req) => (req.version === '2.0' ? { status: 400, headers: {} } : undefined);
    expect(await send(transport, entry(0))).toEqual({ kind: 'ok' });
    expect(receiver.requests.map((r) => [r.version, r.status])).toEqual([['2.0', 400], ['1.0', 204]]);
    expect(receiver.timestamps(HOST)).toEqual([T0]);
  });

  it('a receiver refusing 2.0 and 1.0 alike (415 to all): dropped with a reason that names the URL, no loop', async () => {
    const { receiver, transport } = await setup('415-all');
    const outcome = await send(transport, entry(0));
    const dropped = {
      kind: 'drop',
      reason: 'http_415',
      error: `HTTP 415: HTTP 415 (the receiver takes neither remote-write 2.0 nor 1.0: is ${receiver.url} its remote-write endpoint?)`,
    };
    expect(outcome).toEqual(dropped);
    // The same words for every batch after it: the failure log says it once.
    expect(await send(transport, entry(1))).toEqual(dropped);
    expect(receiver.requests.map((r) => r.version)).toEqual(['2.0', '1.0', '1.0']);
  });

  it('behind the delivery core: every sample once, sent counted, nothing rejected', async () => {
    const { receiver, transport: t, lines } = await setup('1.x-blind');
    const ex = createPushExporter(t, { logger: captureLogger().logger, backoff: { minDelayMs: 10, maxDelayMs: 50 }, maxSamplesPerSend: 3, selfMetrics: false });
    for (let i = 0; i < 7; i++) ex.export(syntheticSample({ timestampMs: T0 + i * 1000, socketPowersUw: [i, 1] }));
    await ex.start();
    await ex.idle();
    await ex.stop(1000);
    transport = null; // closed by stop()
    expect(receiver.timestamps(HOST)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => T0 + i * 1000));
    expect(receiver.find(HOST)[0]?.samples.map((s) => s.value)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(ex.stats.sent).toBe(7);
    expect(ex.stats.rejectedPoints).toBe(0);
    expect(ex.stats.snapshot().droppedTotal).toBe(0);
    expect(warnings(lines)).toHaveLength(1);
  });
});
