import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import snappy from 'snappy';
import { describe, expect, it } from 'vitest';
import { sampleToMetrics } from '../../../../src/core/metrics.js';
import { RemoteWriteTransport } from '../../../../src/exporters/remote-write/transport.js';
import {
  STALE_NAN,
  decodeWriteRequest,
  encodeWriteRequest,
  toTimeSeries,
} from '../../../support/oracles/remote-write.js';
import type { QueuedSample } from '../../../../src/delivery/transport.js';
import { syntheticSample } from '../../../support/fixtures/synthetic-sample.js';
import { startRecordingHttpServer } from '../../../support/servers/recording-http.js';
import { packageFile } from '../../../../src/core/package-file.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const LABELS = { job: 'scaph', instance: 'node-1', extraLabels: { dc: 'par1', team: '', socket_id: 'user-value' } };
const pkgVersion = (JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string }).version;

function entry(timestampMs: number, processes: { pid: number; exe: string; powerUw: number }[] = [], vanished: QueuedSample['vanished'] = []): QueuedSample {
  const s = syntheticSample({ timestampMs, processes });
  return { timestampMs, metrics: sampleToMetrics(s), vanished, endedProcesses: [] };
}

describe('remote-write encoding', () => {
  it('labels: __name__, job, instance and --label added; sorted; metric labels win; empty values dropped', () => {
    const series = toTimeSeries([entry(T0)], LABELS);
    const socket0 = series.find(
      (s) => s.labels.some((l) => l.value === 'scaph_socket_power_microwatts') && s.labels.some((l) => l.name === 'socket_id' && l.value === '0'),
    );
    expect(socket0?.labels).toEqual([
      { name: '__name__', value: 'scaph_socket_power_microwatts' },
      { name: 'dc', value: 'par1' },
      { name: 'instance', value: 'node-1' },
      { name: 'job', value: 'scaph' },
      { name: 'socket_id', value: '0' },
    ]);
    expect(socket0?.samples).toEqual([{ value: 21_000_000, timestamp: T0 }]);
    for (const s of series) {
      const names = s.labels.map((l) => l.name);
      expect(names).toEqual([...names].sort());
      expect(new Set(names).size).toBe(names.length);
      expect(s.labels.every((l) => l.value !== '')).toBe(true);
    }
  });

  it('groups a series across entries into one TimeSeries with samples in timestamp order', () => {
    const series = toTimeSeries([entry(T0), entry(T0 + 5000), entry(T0 + 10_000)], LABELS);
    const host = series.filter((s) => s.labels.some((l) => l.value === 'scaph_host_power_microwatts'));
    expect(host.length).toBe(1);
    expect(host[0]?.samples.map((p) => p.timestamp)).toEqual([T0, T0 + 5000, T0 + 10_000]);
    expect(host[0]?.samples.map((p) => p.value)).toEqual([40_000_000, 40_000_000, 40_000_000]);
  });

  it('writes the staleness marker with the exact bits 0x7ff0000000000002', () => {
    const first = entry(T0, [{ pid: 42, exe: 'burner', powerUw: 1_500_000 }]);
    const gone = first.metrics.filter((m) => m.name.startsWith('scaph_process_'));
    const bytes = encodeWriteRequest(toTimeSeries([entry(T0 + 1000, [], gone)], LABELS));
    // Field 1 (value) wire type 1 (64-bit) = 0x09, then the 8 bytes little-endian.
    const marker = Buffer.from([0x09, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
    let count = 0;
    for (let i = Buffer.from(bytes).indexOf(marker); i >= 0; i = Buffer.from(bytes).indexOf(marker, i + 1)) count += 1;
    expect(count).toBe(5); // the five process series
    const decoded = decodeWriteRequest(bytes);
    const stale = decoded.timeseries.filter((s) => s.labels.some((l) => l.name === 'pid' && l.value === '42'));
    expect(stale.length).toBe(5);
    for (const s of stale) {
      expect(Number.isNaN(s.samples[0]?.value)).toBe(true);
      expect(s.samples[0]?.timestamp).toBe(T0 + 1000);
    }
    const f = new Float64Array(1);
    f[0] = STALE_NAN;
    expect(new BigUint64Array(f.buffer)[0]).toBe(0x7ff0000000000002n);
  });

  it('keeps the staleness bits once the encoder is optimised by the JIT (hot loop)', () => {
    const first = entry(T0, [{ pid: 42, exe: 'burner', powerUw: 1_500_000 }]);
    const gone = first.metrics.filter((m) => m.name === 'scaph_process_power_consumption_microwatts');
    const marker = Buffer.from([0x09, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
    let misses = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = Buffer.from(encodeWriteRequest(toTimeSeries([entry(T0 + i, [], gone)], LABELS)));
      if (i % 1000 === 999 && bytes.indexOf(marker) < 0) misses += 1;
    }
    expect(misses).toBe(0);
  });
});

describe('RemoteWriteTransport', () => {
  it('sends a snappy BLOCK body with the remote-write headers, auth and user headers', async () => {
    const { port, requests: got, server: srv } = await startRecordingHttpServer();
    const base = { url: `http://127.0.0.1:${port}/api/v1/write`, version: pkgVersion, timeoutMs: 5000, ...LABELS };
    const bearer = new RemoteWriteTransport({ ...base, auth: { kind: 'bearer', token: 's3cret' }, headers: { 'X-Scope-OrgID': 'tenant-a' } });
    const basic = new RemoteWriteTransport({ ...base, auth: { kind: 'basic', user: 'u', password: 'p:w' } });
    try {
      const batch = bearer.encode([entry(T0)]);
      expect(batch.subarray(0, 1)[0]).not.toBe(0xff); // 0xff starts the framed (stream) format
      expect(await bearer.send(batch, AbortSignal.timeout(5000))).toEqual({ kind: 'ok' });
      expect(await basic.send(basic.encode([entry(T0)]), AbortSignal.timeout(5000))).toEqual({ kind: 'ok' });
    } finally {
      await bearer.close();
      await basic.close();
      srv.close();
    }
    const h = got[0]?.headers ?? {};
    expect(h['content-encoding']).toBe('snappy');
    expect(h['content-type']).toBe('application/x-protobuf');
    expect(h['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(h['user-agent']).toBe(`scaph/${pkgVersion}`);
    expect(h['authorization']).toBe('Bearer s3cret');
    expect(h['x-scope-orgid']).toBe('tenant-a');
    expect(got[1]?.headers['authorization']).toBe(`Basic ${Buffer.from('u:p:w').toString('base64')}`);
    const decoded = decodeWriteRequest(snappy.uncompressSync(got[0]?.body ?? Buffer.alloc(0)) as Buffer);
    const host = decoded.timeseries.find((s) => s.labels.some((l) => l.value === 'scaph_host_power_microwatts'));
    expect(host?.samples).toEqual([{ value: 40_000_000, timestamp: T0 }]);
  });

  it('classifies the answer: 400 dropped with the body excerpt, 503 retried, connection refused retried', async () => {
    const statuses = [400, 503];
    const srv = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(statuses.shift() ?? 500).end('out of order sample'));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    const t = new RemoteWriteTransport({ url: `http://127.0.0.1:${port}/api/v1/write`, version: '0', timeoutMs: 2000, ...LABELS });
    const batch = t.encode([entry(T0)]);
    expect(await t.send(batch, AbortSignal.timeout(2000))).toEqual({ kind: 'drop', reason: 'http_400', error: 'HTTP 400: out of order sample' });
    expect(await t.send(batch, AbortSignal.timeout(2000))).toEqual({ kind: 'retry', error: 'HTTP 503: out of order sample' });
    await t.close();
    await new Promise<void>((r) => srv.close(() => r()));
    const refused = new RemoteWriteTransport({ url: `http://127.0.0.1:${port}/api/v1/write`, version: '0', timeoutMs: 2000, ...LABELS });
    await expect(refused.send(batch, AbortSignal.timeout(2000))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await refused.close();
  });
});
