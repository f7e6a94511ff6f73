/**
 * Proves the fake Riemann server against the real client (Debian riemann-c-client): what the client
 * sends over TCP and over TLS with a client certificate is stored with the right fields, the client
 * gets its ack (exit 0), and queries come back.
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../../src/exporters/riemann/proto.js';
import { makeTestCerts, type TestCerts } from './certs.js';
import { FakeRiemannServer } from './riemann.js';

interface ClientResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function riemannClient(args: readonly string[]): Promise<ClientResult> {
  return new Promise((resolve) => {
    execFile('riemann-client', args, { timeout: 15_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function sendArgs(port: number, service: string): string[] {
  return [
    'send', '-h', 'box1', '-S', service, '-s', 'ok', '-D', 'a description', '-t', 't1', '-t', 't2',
    '-a', 'pid=1234', '-a', 'exe=firefox', '-L', '60',
  ].concat(['127.0.0.1', String(port)]);
}

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs.cleanup());

describe('fake Riemann server, proven with riemann-client', () => {
  it('stores a TCP event with every field and acks it (client exits 0)', async () => {
    const server = await FakeRiemannServer.start();
    try {
      const r = await riemannClient([...sendArgs(server.port, 'svc_d').slice(0, -2), '-d', '1.5', '127.0.0.1', String(server.port)]);
      expect(r.code, r.stderr).toBe(0);
      expect(server.events).toHaveLength(1);
      const e = server.events[0];
      expect(e).toMatchObject({
        host: 'box1',
        service: 'svc_d',
        state: 'ok',
        description: 'a description',
        tags: ['t1', 't2'],
        ttl: 60,
        metricField: 'metric_d',
        metric: 1.5,
      });
      // riemann-c-client adds its own x-client attribute; ours come in the order given.
      expect(e?.attributes?.filter((a) => a.key !== 'x-client')).toEqual([
        { key: 'pid', value: '1234' },
        { key: 'exe', value: 'firefox' },
      ]);
      expect(server.counts.acksOk).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it('keeps an integer metric as metric_sint64, beyond float precision', async () => {
    const server = await FakeRiemannServer.start();
    try {
      const big = 9_007_199_254_740_000; // > 2^24 and near 2^53: a float32 or a rounding would change it
      const r = await riemannClient(['send', '-S', 'svc_i', '-i', String(big), '127.0.0.1', String(server.port)]);
      expect(r.code, r.stderr).toBe(0);
      expect(server.events[0]).toMatchObject({ service: 'svc_i', metricField: 'metric_sint64', metric: big });
    } finally {
      await server.stop();
    }
  });

  it('answers ok=false when told to, and the client reports the failure', async () => {
    const server = await FakeRiemannServer.start();
    server.reject = () => 'stream threw: boom';
    try {
      const r = await riemannClient(['send', '-S', 'svc', '-d', '1', '127.0.0.1', String(server.port)]);
      expect(r.code).not.toBe(0);
      expect(server.counts.acksFailed).toBe(1);
      expect(server.events).toHaveLength(0);
    } finally {
      await server.stop();
    }
  });

  it('answers a query with the latest event per host and service', async () => {
    const server = await FakeRiemannServer.start();
    try {
      for (const [svc, v] of [['process_power_consumption_microwatts_1234_firefox', '5'], ['process_power_consumption_microwatts_99_bash', '7']] as const) {
        const r = await riemannClient(['send', '-h', 'box1', '-S', svc, '-i', v, '127.0.0.1', String(server.port)]);
        expect(r.code, r.stderr).toBe(0);
      }
      const q = await riemannClient(['query', 'service =~ "process_power_consumption_microwatts_%_firefox"', '-j', '127.0.0.1', String(server.port)]);
      expect(q.code, q.stderr).toBe(0);
      const found = JSON.parse(q.stdout) as Array<{ service: string; metric_sint64: number }>;
      expect(found.map((e) => [e.service, e.metric_sint64])).toEqual([['process_power_consumption_microwatts_1234_firefox', 5]]);
    } finally {
      await server.stop();
    }
  });

  it('stores a TLS event sent with a client certificate (mutual TLS)', async () => {
    const server = await FakeRiemannServer.start({
      tls: { ca: certs.read(certs.caFile), cert: certs.read(certs.server.certFile), key: certs.read(certs.server.keyFile) },
    });
    try {
      const r = await riemannClient([
        'send', '-G', '-o', `cafile=${certs.caFile}`, '-o', `certfile=${certs.clientPkcs8.certFile}`, '-o', `keyfile=${certs.clientPkcs8.keyFile}`,
        '-h', 'box1', '-S', 'tls_svc', '-d', '2.25', 'localhost', String(server.port),
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(server.events[0]).toMatchObject({ host: 'box1', service: 'tls_svc', metricField: 'metric_d', metric: 2.25 });
    } finally {
      await server.stop();
    }
  });

  it('refuses a TLS client whose certificate is signed by another CA, and one without a certificate', async () => {
    const server = await FakeRiemannServer.start({
      tls: { ca: certs.read(certs.caFile), cert: certs.read(certs.server.certFile), key: certs.read(certs.server.keyFile) },
    });
    try {
      const r = await riemannClient([
        'send', '-G', '-o', `cafile=${certs.caFile}`, '-o', `certfile=${certs.clientWrongCa.certFile}`, '-o', `keyfile=${certs.clientWrongCa.keyFile}`,
        '-S', 'tls_svc', '-d', '1', 'localhost', String(server.port),
      ]);
      expect(r.code).not.toBe(0);
      // riemann-client will not even try TLS without a certificate, so the no-certificate case uses node:tls.
      const noCert = await new Promise<string>((resolve) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: server.port, ca: certs.read(certs.caFile), servername: 'localhost' }, () =>
          socket.write(encodeFrame({ events: [{ service: 'no_cert', metricD: 1 }] })),
        );
        socket.on('data', () => resolve('acked'));
        socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        socket.on('close', () => resolve('closed'));
      });
      expect(noCert).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
      expect(server.events).toHaveLength(0);
      expect(server.counts.tlsRejected).toBe(2);
    } finally {
      await server.stop();
    }
  });

  it('closes the connection without a reply on malformed bytes, and serves again after a restart', async () => {
    const server = await FakeRiemannServer.start();
    const port = server.port;
    const reply = await new Promise<{ bytes: number; closed: boolean }>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let bytes = 0;
      socket.on('data', (c: Buffer) => (bytes += c.length));
      socket.on('close', () => resolve({ bytes, closed: true }));
      socket.on('error', () => undefined);
      // A frame whose body is not a protobuf Msg (field 6 with wire type 7 does not exist).
      socket.write(Buffer.from([0, 0, 0, 3, 0x37, 0xff, 0xff]));
    });
    expect(reply).toEqual({ bytes: 0, closed: true });
    expect(server.counts.malformed).toBe(1);
    await server.stop();
    await server.restart();
    expect(server.port).toBe(port);
    const ack = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(encodeFrame({ events: [{ service: 'after_restart', metricD: 1 }] })));
      socket.once('data', (c: Buffer) => {
        socket.destroy();
        resolve(c);
      });
      socket.on('error', reject);
    });
    expect(ack.readUInt32BE(0)).toBe(ack.length - 4);
    expect(server.events.map((e) => e.service)).toEqual(['after_restart']);
    await server.stop();
  });
});
