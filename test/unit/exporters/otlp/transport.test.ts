/**
 * The OTLP transport against the test receiver (OpenTelemetry's generated code decodes what arrives): both
 * protocols, gzip or not, headers and auth, TLS and mutual TLS, and every answer classified by OTLP's rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleToMetrics } from '../../../../src/core/metrics.js';
import type { QueuedSample } from '../../../../src/delivery/transport.js';
import { OtlpTransport, type OtlpTransportOptions } from '../../../../src/exporters/otlp/transport.js';
import { loadTls } from '../../../../src/net/tls.js';
import { makeSample } from '../../../support/fixtures/sample.js';
import { makeTestCerts, type TestCerts } from '../../../support/servers/certs.js';
import { OtlpReceiver } from '../../../support/servers/otlp-receiver.js';

const T0 = Date.UTC(2026, 0, 1);
const entry: QueuedSample = { timestampMs: T0, startMs: T0 - 2000, metrics: sampleToMetrics(makeSample({ timestampMs: T0 }), {}, '1.0.0'), vanished: [], endedProcesses: [] };

let certs: TestCerts;
let plain: OtlpReceiver;
beforeAll(async () => {
  certs = makeTestCerts();
  plain = await OtlpReceiver.start({ http: true, grpc: true });
});
afterAll(async () => {
  await plain.stop();
  certs.cleanup();
});

function transport(over: Partial<OtlpTransportOptions> & Pick<OtlpTransportOptions, 'protocol'>): OtlpTransport {
  return new OtlpTransport({
    url: plain.httpUrl,
    grpc: { target: plain.grpcTarget, secure: false },
    compression: 'none',
    headers: {},
    auth: { kind: 'none' },
    tls: undefined,
    timeoutMs: 5000,
    version: '1.0.0',
    wire: { naming: 'scaph', resource: [['service.name', 'scaph']], scopeVersion: '1.0.0' },
    ...over,
  });
}

async function sendOnce(t: OtlpTransport, timeoutMs = 5000) {
  try {
    return await t.send(t.encode([entry]), AbortSignal.timeout(timeoutMs));
  } finally {
    await t.close();
  }
}

describe.each(['http/protobuf', 'grpc'] as const)('OTLP transport over %s', (protocol) => {
  it.each(['none', 'gzip'] as const)('compression %s: every metric arrives, decoded by the generated code', async (compression) => {
    const from = plain.requests.length;
    const outcome = await sendOnce(transport({ protocol, compression, headers: { 'X-Scope-OrgID': 'tenant-1' }, auth: { kind: 'bearer', token: 's3cret' } }));
    expect(outcome).toEqual({ kind: 'ok' });
    const r = plain.requests[from];
    expect(r?.protocol).toBe(protocol === 'grpc' ? 'grpc' : 'http');
    expect(r?.request?.points).toHaveLength(entry.metrics.length);
    expect(r?.headers['x-scope-orgid']).toBe('tenant-1');
    expect(r?.headers['authorization']).toBe('Bearer s3cret');
    expect(r?.headers['user-agent']).toMatch(/^scaph\/1\.0\.0/);
    if (protocol === 'http/protobuf') {
      expect(r?.headers['content-type']).toBe('application/x-protobuf');
      expect(r?.headers['content-encoding']).toBe(compression === 'gzip' ? 'gzip' : undefined);
      expect(r?.path).toBe('/v1/metrics');
    }
  });

  it('a partial success: ok, with the points rejected and the message', async () => {
    plain.script.push({ partialSuccess: { points: 7, message: 'out of order\nsamples' } });
    expect(await sendOnce(transport({ protocol }))).toEqual({ kind: 'ok', rejected: { points: 7, message: 'out of order samples' } });
  });
});

describe('OTLP/HTTP answers, by OTLP/HTTP rules', () => {
  const http = (): OtlpTransport => transport({ protocol: 'http/protobuf' });

  it.each([429, 502, 503, 504])('%i is retried, after its Retry-After', async (status) => {
    plain.script.push({ status, headers: { 'retry-after': '7' }, message: 'busy' });
    expect(await sendOnce(http())).toEqual({ kind: 'retry', afterMs: 7000, error: `HTTP ${status}: busy` });
  });

  it.each([400, 401, 404, 413, 500, 501])('%i is dropped, named with the server message of its google.rpc.Status', async (status) => {
    plain.script.push({ status, message: `refused (${status})` });
    expect(await sendOnce(http())).toEqual({ kind: 'drop', reason: `http_${status}`, error: `HTTP ${status}: refused (${status})` });
  });

  it('a text error body is quoted instead', async () => {
    plain.script.push({ status: 400, body: 'bad metric name\n', contentType: 'text/plain' });
    expect(await sendOnce(http())).toEqual({ kind: 'drop', reason: 'http_400', error: 'HTTP 400: bad metric name' });
  });

  it('a web page on 200 is no OTLP answer: dropped, with what to check', async () => {
    plain.script.push({ status: 200, body: '<html><body>Welcome to nginx!</body></html>', contentType: 'text/html; charset=utf-8' });
    const outcome = await sendOnce(http());
    expect(outcome).toMatchObject({ kind: 'drop', reason: 'not_otlp' });
    expect(outcome.kind === 'drop' && outcome.error).toMatch(/^HTTP 200 with text\/html; charset=utf-8: a web page, not an OTLP receiver's answer; check the URL/);
  });

  it('an empty 200 or 204 is a full success', async () => {
    plain.script.push({ status: 204, body: '', contentType: 'text/plain' }, { status: 200, body: '', contentType: 'text/plain' });
    expect(await sendOnce(http())).toEqual({ kind: 'ok' });
    expect(await sendOnce(http())).toEqual({ kind: 'ok' });
  });

  it('the receiver refuses a content type with a parameter (as Prometheus 3 does): scaph sends none', async () => {
    const from = plain.requests.length;
    await sendOnce(http());
    expect(plain.requests.slice(from).map((r) => r.answered)).toEqual([200]);
  });

  it('a request the abort signal ends rejects with its reason (the core classifies it as a timeout)', async () => {
    plain.script.push({ hang: true });
    const t = http();
    const controller = new AbortController();
    const sent = t.send(t.encode([entry]), controller.signal);
    setTimeout(() => controller.abort(new Error('no answer within 100 ms')), 100);
    await expect(sent).rejects.toThrow();
    await t.close();
  });
});

describe('OTLP/gRPC answers, by OTLP/gRPC rules', () => {
  const grpc = (): OtlpTransport => transport({ protocol: 'grpc' });

  it.each([
    [14, 'UNAVAILABLE'],
    [4, 'DEADLINE_EXCEEDED'],
    [10, 'ABORTED'],
    [11, 'OUT_OF_RANGE'],
    [15, 'DATA_LOSS'],
  ])('code %i (%s) is retried', async (code, name) => {
    plain.script.push({ grpcCode: code, message: 'try later' });
    expect(await sendOnce(grpc())).toEqual({ kind: 'retry', error: `gRPC ${name}: try later` });
  });

  it('UNAVAILABLE with a RetryInfo: retried after its delay', async () => {
    plain.script.push({ grpcCode: 14, message: 'overloaded', retryDelayMs: 2500 });
    expect(await sendOnce(grpc())).toEqual({ kind: 'retry', afterMs: 2500, error: 'gRPC UNAVAILABLE: overloaded' });
  });

  it('RESOURCE_EXHAUSTED: retried with a RetryInfo (the server can recover), dropped without one', async () => {
    plain.script.push({ grpcCode: 8, message: 'quota', retryDelayMs: 1000 }, { grpcCode: 8, message: 'too big' });
    expect(await sendOnce(grpc())).toEqual({ kind: 'retry', afterMs: 1000, error: 'gRPC RESOURCE_EXHAUSTED: quota' });
    expect(await sendOnce(grpc())).toEqual({ kind: 'drop', reason: 'grpc_resource_exhausted', error: 'gRPC RESOURCE_EXHAUSTED: too big' });
  });

  it.each([
    [3, 'INVALID_ARGUMENT'],
    [7, 'PERMISSION_DENIED'],
    [16, 'UNAUTHENTICATED'],
    [12, 'UNIMPLEMENTED'],
    [13, 'INTERNAL'],
  ])('code %i (%s) is dropped', async (code, name) => {
    plain.script.push({ grpcCode: code, message: 'no' });
    expect(await sendOnce(grpc())).toEqual({ kind: 'drop', reason: `grpc_${name.toLowerCase()}`, error: `gRPC ${name}: no` });
  });

  it('nothing listening: UNAVAILABLE, retried', async () => {
    const gone = await OtlpReceiver.start({ http: false, grpc: true });
    const target = gone.grpcTarget;
    await gone.stop();
    const outcome = await sendOnce(transport({ protocol: 'grpc', grpc: { target, secure: false } }));
    expect(outcome).toMatchObject({ kind: 'retry' });
    expect(outcome.kind === 'retry' && outcome.error).toMatch(/^gRPC UNAVAILABLE: /);
  });
});

describe('TLS and mutual TLS', () => {
  let secure: OtlpReceiver;
  beforeAll(async () => {
    secure = await OtlpReceiver.start({ http: true, grpc: true, tls: { cert: certs.read(certs.server.certFile), key: certs.read(certs.server.keyFile), clientCa: certs.read(certs.caFile) } });
  });
  afterAll(async () => {
    await secure.stop();
  });

  it.each(['http/protobuf', 'grpc'] as const)('%s: the CA verifies the server, the client certificate gets in', async (protocol) => {
    const tls = await loadTls({ caFile: certs.caFile, certFile: certs.clientPkcs8.certFile, keyFile: certs.clientPkcs8.keyFile });
    const from = secure.requests.length;
    const outcome = await sendOnce(transport({ protocol, url: secure.httpUrl, grpc: { target: secure.grpcTarget, secure: true }, tls }));
    expect(outcome).toEqual({ kind: 'ok' });
    expect(secure.requests[from]?.request?.points).toHaveLength(entry.metrics.length);
  });

  it.each(['http/protobuf', 'grpc'] as const)('%s: a server certificate from another CA is refused, and retried (the error says why)', async (protocol) => {
    const tls = await loadTls({ caFile: certs.wrongCaFile, certFile: certs.clientPkcs8.certFile, keyFile: certs.clientPkcs8.keyFile });
    const t = transport({ protocol, url: secure.httpUrl, grpc: { target: secure.grpcTarget, secure: true }, tls });
    const outcome = await t.send(t.encode([entry]), AbortSignal.timeout(5000)).catch((err: unknown) => ({ kind: 'thrown', error: String(err) }));
    await t.close();
    expect(JSON.stringify(outcome)).toMatch(/certificate|self.signed|unable to verify/i);
  });
});
