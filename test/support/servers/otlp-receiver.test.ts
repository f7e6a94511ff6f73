/**
 * Proves the OTLP test receiver against OpenTelemetry's official JS exporters (the last versions that run on
 * Node 20: @opentelemetry/exporter-metrics-otlp-proto and -grpc 0.223.0, sdk-metrics 2.12.0): values the SDK
 * records arrive decoded exactly, with their types, temporality, start times, attributes, resource and
 * scope, over OTLP/HTTP (plain and gzip) and OTLP/gRPC (plain and gzip). What scaph sends is then checked
 * by the same receiver (test/e2e/exporters/otlp.test.ts).
 */
import { ValueType } from '@opentelemetry/api';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecodedPoint } from './otlp-proto.js';
import { OTLP_CONTENT_TYPE, OtlpReceiver } from './otlp-receiver.js';

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await OtlpReceiver.start({ http: true, grpc: true });
});
afterAll(async () => {
  await receiver.stop();
});

/** Records known values through a MeterProvider that exports with `exporter`, flushes, shuts down. */
async function recordKnownValues(exporter: PushMetricExporter): Promise<{ readonly beforeMs: number; readonly afterMs: number }> {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000, exportTimeoutMillis: 10_000 });
  const beforeMs = Date.now();
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'proof', 'host.name': 'box-1', 'host.id': 'abc123' }),
    readers: [reader],
  });
  const meter = provider.getMeter('proof-scope', '1.2.3');
  const power = meter.createGauge('proof.power', { unit: 'W', description: 'power of the proof' });
  power.record(12.5, { 'hw.id': 'host' });
  power.record(0.000125, { 'hw.id': 'cpu0', 'hw.type': 'cpu' });
  const energy = meter.createCounter('proof.energy', { unit: 'uJ', description: 'energy of the proof', valueType: ValueType.INT });
  energy.add(9_007_199_254_740_000, { 'process.pid': 4242, 'process.executable.name': 'firefox' });
  energy.add(991, { 'process.pid': 4242, 'process.executable.name': 'firefox' });
  // Shutting down collects and exports once (a forceFlush before it would export a second time).
  await provider.shutdown();
  return { beforeMs, afterMs: Date.now() };
}

function byAttribute(points: readonly DecodedPoint[], key: string, value: string | number): DecodedPoint {
  const found = points.find((p) => p.attributes[key] === value);
  if (!found) throw new Error(`no point with ${key}=${String(value)} among ${JSON.stringify(points.map((p) => p.attributes))}`);
  return found;
}

/** The one request of `protocol` that came since `from`, checked against what recordKnownValues recorded. */
function expectKnownValues(from: number, protocol: 'http' | 'grpc', window: { readonly beforeMs: number; readonly afterMs: number }): void {
  const requests = receiver.requests.slice(from);
  expect(requests).toHaveLength(1);
  const r = requests[0];
  expect(r?.protocol).toBe(protocol);
  expect(r?.accepted).toBe(true);
  expect(r?.decodeError).toBeNull();
  const request = r?.request;
  expect(request?.resources).toHaveLength(1);
  expect(request?.resources[0]).toMatchObject({ 'service.name': 'proof', 'host.name': 'box-1', 'host.id': 'abc123' });
  expect(request?.scopes).toEqual([{ name: 'proof-scope', version: '1.2.3' }]);
  const points = request?.points ?? [];
  expect(points).toHaveLength(3);

  const power = points.filter((p) => p.metric === 'proof.power');
  expect(power).toHaveLength(2);
  for (const p of power) {
    expect(p).toMatchObject({ type: 'gauge', unit: 'W', description: 'power of the proof', valueType: 'double', temporality: null, flags: 0 });
    expect(p.timeMs).toBeGreaterThanOrEqual(window.beforeMs);
    expect(p.timeMs).toBeLessThanOrEqual(window.afterMs);
  }
  expect(byAttribute(power, 'hw.id', 'host').value).toBe(12.5);
  expect(byAttribute(power, 'hw.id', 'cpu0')).toMatchObject({ value: 0.000125, attributes: { 'hw.id': 'cpu0', 'hw.type': 'cpu' } });

  const energy = points.filter((p) => p.metric === 'proof.energy');
  expect(energy).toHaveLength(1);
  const e = energy[0] as DecodedPoint;
  // A cumulative monotonic Sum of int64, the integer exact beyond 2^53's neighbourhood the SDK keeps.
  expect(e).toMatchObject({ type: 'sum', temporality: 2, isMonotonic: true, valueType: 'int', unit: 'uJ', description: 'energy of the proof' });
  expect(e.value).toBe(9_007_199_254_740_991);
  expect(e.attributes).toEqual({ 'process.pid': 4242, 'process.executable.name': 'firefox' });
  // The SDK starts a cumulative series when its instrument is created: within the window, before its point.
  expect(e.startTimeUnixNano).toBeGreaterThanOrEqual(BigInt(window.beforeMs) * 1_000_000n);
  expect(e.startTimeUnixNano).toBeLessThanOrEqual(e.timeUnixNano);
  expect(e.timeMs).toBeLessThanOrEqual(window.afterMs);
}

describe('the OTLP test receiver, proven by the official OpenTelemetry JS exporters', () => {
  it('OTLP/HTTP protobuf: every recorded value arrives exactly, content type application/x-protobuf', async () => {
    const from = receiver.requests.length;
    const window = await recordKnownValues(new ProtoMetricExporter({ url: receiver.httpUrl }));
    expectKnownValues(from, 'http', window);
    const r = receiver.requests[from];
    expect(r?.path).toBe('/v1/metrics');
    expect(r?.headers['content-type']).toBe(OTLP_CONTENT_TYPE);
    expect(r?.headers['content-encoding']).toBeUndefined();
  });

  it('OTLP/HTTP protobuf, gzip: decompressed and decoded the same', async () => {
    const from = receiver.requests.length;
    const window = await recordKnownValues(new ProtoMetricExporter({ url: receiver.httpUrl, compression: CompressionAlgorithm.GZIP }));
    expectKnownValues(from, 'http', window);
    expect(receiver.requests[from]?.headers['content-encoding']).toBe('gzip');
  });

  it('OTLP/gRPC: every recorded value arrives exactly', async () => {
    const from = receiver.requests.length;
    const window = await recordKnownValues(new GrpcMetricExporter({ url: `http://${receiver.grpcTarget}` }));
    expectKnownValues(from, 'grpc', window);
    expect(receiver.requests[from]?.headers['user-agent']).toMatch(/^OTel-OTLP-Exporter-JavaScript\/0\.223\.0 grpc-node-js\//);
  });

  it('OTLP/gRPC, gzip: decoded the same', async () => {
    const from = receiver.requests.length;
    const window = await recordKnownValues(new GrpcMetricExporter({ url: `http://${receiver.grpcTarget}`, compression: CompressionAlgorithm.GZIP }));
    // grpc-js inflates the message before the handler sees it (grpc-encoding is not metadata).
    expectKnownValues(from, 'grpc', window);
  });

  it('a scripted 503 is what the official exporter sees: not accepted, then accepted on its retry', async () => {
    const from = receiver.requests.length;
    receiver.script.push({ status: 503, headers: { 'retry-after': '0' } });
    await recordKnownValues(new ProtoMetricExporter({ url: receiver.httpUrl }));
    const answered = receiver.requests.slice(from).map((r) => r.answered);
    expect(answered).toEqual([503, 200]);
    expect(receiver.requests.slice(from).map((r) => r.request?.points.length)).toEqual([3, 3]);
  });
});
