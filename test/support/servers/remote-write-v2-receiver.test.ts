/**
 * Proves the spec-faithful 2.0 receiver: requests written the readable way (protobufjs over
 * proto/write-v2.proto, the native snappy) are stored and answered with the Written headers, and each thing
 * the specification forbids is caught, answered 400 (or 415) and kept in `violations`. No real 2.0 sender
 * runs here (Debian's promtool 2.42 predates `push metrics --protobuf_message`), so the bodies are built
 * by hand, field by field.
 */
import snappy from 'snappy';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeWriteRequest } from '../oracles/remote-write.js';
import { CONTENT_TYPE_V2, encodeRequestV2, type RawRequestV2 } from '../oracles/remote-write-v2.js';
import { RemoteWriteV2Receiver, type ReceiverMode } from './remote-write-v2-receiver.js';

const T = 1_800_000_000_000;
const V2_HEADERS = { 'content-type': CONTENT_TYPE_V2, 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '2.0.0', 'user-agent': 'test/1' };
const V1_HEADERS = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0', 'user-agent': 'test/1' };

/** A valid request: one series `up{job="a"}` with two samples, the second a counter sample with a start. */
function request(change: Partial<RawRequestV2> = {}): RawRequestV2 {
  return {
    symbols: ['', '__name__', 'up', 'job', 'a', 'help text', 'seconds'],
    timeseries: [
      {
        labelsRefs: [1, 2, 3, 4],
        samples: [
          { value: 1, timestamp: T, startTimestamp: 0 },
          { value: 2, timestamp: T + 1000, startTimestamp: T - 5000 },
        ],
        metadata: { type: 1, helpRef: 5, unitRef: 6 },
      },
    ],
    ...change,
  };
}

let receiver: RemoteWriteV2Receiver | null = null;
afterEach(async () => {
  await receiver?.stop();
  receiver = null;
});

async function start(mode: ReceiverMode = '2.0'): Promise<RemoteWriteV2Receiver> {
  receiver = await RemoteWriteV2Receiver.start(mode);
  return receiver;
}

async function post(r: RemoteWriteV2Receiver, body: Uint8Array, headers: Record<string, string> = V2_HEADERS, compress = true): Promise<Response> {
  return fetch(r.url, { method: 'POST', headers, body: compress ? (snappy.compressSync(Buffer.from(body)) as Buffer) : Buffer.from(body) });
}

describe('the remote-write 2.0 test receiver', () => {
  it('stores a valid 2.0 request with its metadata and start timestamps, and answers 204 with the Written headers', async () => {
    const r = await start();
    const res = await post(r, encodeRequestV2(request()));
    expect(res.status).toBe(204);
    expect(res.headers.get('x-prometheus-remote-write-samples-written')).toBe('2');
    expect(res.headers.get('x-prometheus-remote-write-histograms-written')).toBe('0');
    expect(res.headers.get('x-prometheus-remote-write-exemplars-written')).toBe('0');
    expect(r.violations).toEqual([]);
    expect(r.find('up', { job: 'a' })).toEqual([
      {
        labels: { __name__: 'up', job: 'a' },
        metadata: { type: 1, help: 'help text', unit: 'seconds' },
        samples: [
          { value: 1, timestamp: T, startTimestamp: 0 },
          { value: 2, timestamp: T + 1000, startTimestamp: T - 5000 },
        ],
      },
    ]);
    expect(r.requests.map((q) => [q.version, q.points, q.status])).toEqual([['2.0', 2, 204]]);
  });

  it('takes a 1.0 request by its content type, without Written headers', async () => {
    const r = await start();
    const body = encodeWriteRequest([{ labels: [{ name: '__name__', value: 'up' }], samples: [{ value: 3, timestamp: T }] }]);
    const res = await post(r, body, V1_HEADERS);
    expect(res.status).toBe(204);
    expect(res.headers.get('x-prometheus-remote-write-samples-written')).toBeNull();
    expect(r.timestamps('up')).toEqual([T]);
  });

  it.each([
    ['symbols[0] is not ""', request({ symbols: ['x', '__name__', 'up', 'job', 'a', 'help text', 'seconds'] }), /symbols\[0\]/],
    ['a string twice in the table', request({ symbols: ['', '__name__', 'up', 'job', 'a', 'help text', 'up'] }), /twice/],
    ['a reference out of range', request({ timeseries: [{ ...request().timeseries[0]!, labelsRefs: [1, 2, 3, 9] }] }), /out of range/],
    ['references not in pairs', request({ timeseries: [{ ...request().timeseries[0]!, labelsRefs: [1, 2, 3] }] }), /odd length/],
    ['label names out of order', request({ timeseries: [{ ...request().timeseries[0]!, labelsRefs: [3, 4, 1, 2] }] }), /not sorted/],
    ['an empty label value', request({ timeseries: [{ ...request().timeseries[0]!, labelsRefs: [1, 2, 3, 0] }] }), /empty value/],
    ['samples out of order', request({ timeseries: [{ ...request().timeseries[0]!, samples: [{ value: 1, timestamp: T + 1, startTimestamp: 0 }, { value: 1, timestamp: T, startTimestamp: 0 }] }] }), /out of timestamp order/],
    ['a help reference out of range', request({ timeseries: [{ ...request().timeseries[0]!, metadata: { type: 2, helpRef: 70, unitRef: 0 } }] }), /help_ref/],
  ])('refuses %s with 400 and says why', async (_what, req, reason) => {
    const r = await start();
    const res = await post(r, encodeRequestV2(req));
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(reason);
    expect(r.violations.join('\n')).toMatch(reason);
    expect(r.series.size).toBe(0);
  });

  it('refuses the framed snappy format, a body that is no snappy block, and bad headers', async () => {
    const r = await start();
    const framed = Buffer.concat([Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]), Buffer.from([1, 2, 3])]);
    expect((await post(r, framed, V2_HEADERS, false)).status).toBe(400);
    expect((await post(r, Buffer.from('not snappy at all'), V2_HEADERS, false)).status).toBe(400);
    expect((await post(r, encodeRequestV2(request()), { ...V2_HEADERS, 'content-type': 'application/x-protobuf; proto=io.prometheus.write.v2.Request' })).status).toBe(415);
    expect((await post(r, encodeRequestV2(request()), { ...V2_HEADERS, 'content-encoding': 'gzip' })).status).toBe(415);
    expect((await post(r, encodeRequestV2(request()), { ...V2_HEADERS, 'x-prometheus-remote-write-version': '0.1.0' })).status).toBe(400);
    expect(r.violations.join('\n')).toMatch(/framed \(stream\) format/);
    expect(r.violations.join('\n')).toMatch(/not a snappy block/);
    expect(r.violations.join('\n')).toMatch(/Content-Type "application\/x-protobuf; proto=/);
    expect(r.violations.join('\n')).toMatch(/Content-Encoding "gzip"/);
    expect(r.violations.join('\n')).toMatch(/X-Prometheus-Remote-Write-Version "0.1.0"/);
    expect(r.series.size).toBe(0);
  });

  it('plays the receivers a 2.0 sender meets: 415 to 2.0, blind 204 storing nothing, 415 to everything, and lies', async () => {
    const v2 = encodeRequestV2(request());
    const v1 = encodeWriteRequest([{ labels: [{ name: '__name__', value: 'up' }], samples: [{ value: 3, timestamp: T }] }]);
    const only1 = await start('415');
    expect((await post(only1, v2)).status).toBe(415);
    expect((await post(only1, v1, V1_HEADERS)).status).toBe(204);
    await only1.stop();
    const blind = await start('1.x-blind');
    const res = await post(blind, v2);
    expect(res.status).toBe(204);
    expect(res.headers.get('x-prometheus-remote-write-samples-written')).toBeNull();
    expect(blind.series.size).toBe(0);
    expect((await post(blind, v1, V1_HEADERS)).status).toBe(204);
    expect(blind.timestamps('up')).toEqual([T]);
    await blind.stop();
    const none = await start('415-all');
    expect((await post(none, v1, V1_HEADERS)).status).toBe(415);
    none.mode = '2.0';
    none.answer = () => ({ headers: { 'x-prometheus-remote-write-samples-written': '99' } });
    const lie = await post(none, v2);
    expect(lie.headers.get('x-prometheus-remote-write-samples-written')).toBe('99');
  });
});
