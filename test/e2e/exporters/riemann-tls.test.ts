/**
 * The Riemann exporter over mutual TLS against the fake server (which, like Riemann, requires a client
 * certificate signed by its CA): accepted with the right CA and each key format; refused with a wrong
 * CA, without a client certificate, with a client certificate from another CA, or for another name;
 * every refusal logged once in words a user can act on, survived, and recovered from. Then the same
 * handshake against the real Riemann in a container, where testcontainers finds an engine.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RiemannEvent } from '../../../src/exporters/riemann/proto.js';
import { makeServerCert, makeTestCerts, type CertPair, type TestCerts } from '../../support/servers/certs.js';
import { containerForSuite, describeWithContainers } from '../../support/servers/container-suites.js';
import { findContainerEngine } from '../../support/servers/containers.js';
import { waitFor } from '../../support/servers/free-port.js';
import { RIEMANN_IMAGE } from '../../support/servers/images.js';
import { FakeRiemannServer } from '../../support/servers/riemann.js';
import { RIEMANN_START_MS, startRiemannContainer } from '../../support/servers/riemann-container.js';
import { metricOf, queryRiemann } from '../../support/harness/riemann-backend.js';
import { captureLogger, eventually, pushExporter, riemannPlan, sampleAt, sleep, type LogLine } from '../../support/harness/riemann.js';

let certs: TestCerts;
beforeAll(() => {
  certs = makeTestCerts();
});
afterAll(() => certs.cleanup());

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const HOST_POWER = 'scaph_host_power_microwatts';

async function tlsServer(server: CertPair, port = 0): Promise<FakeRiemannServer> {
  const s = await FakeRiemannServer.start({
    port,
    tls: { ca: certs.read(certs.caFile), cert: certs.read(server.certFile), key: certs.read(server.keyFile) },
  });
  cleanups.push(() => s.stop());
  return s;
}

function mtlsArgs(address: string, port: number, client: CertPair, caFile = certs.caFile): string[] {
  return ['--mtls', '-a', address, '-p', String(port), '--ca', caFile, '--cert', client.certFile, '--key', client.keyFile];
}

/** Starts the exporter from CLI flags and feeds it a sample every 100 ms, like the scheduler would. */
async function runAgent(args: string[]): Promise<{ lines: LogLine[]; exporter: ReturnType<typeof pushExporter>; sampled: () => number }> {
  const { logger, lines } = captureLogger();
  // -d 0.1 matches the feeding rate below, so the queue is sized for one TTL of these samples.
  const exporter = pushExporter(await riemannPlan([...args, '-d', '0.1'], logger));
  await exporter.start();
  let sampled = 0;
  const tick = setInterval(() => {
    sampled += 1;
    exporter.export(sampleAt(Date.now()));
  }, 100);
  cleanups.push(async () => {
    clearInterval(tick);
    await exporter.stop(1000);
  });
  return { lines, exporter, sampled: () => sampled };
}

function errorsContaining(lines: readonly LogLine[], text: string): LogLine[] {
  return lines.filter((l) => l.level === 50 && l.msg.includes(text));
}

describe('Riemann exporter over mutual TLS', { timeout: 40_000 }, () => {
  for (const [format, client] of [
    ['RSA (PKCS#1)', () => certs.clientRsa],
    ['PKCS#8', () => certs.clientPkcs8],
    ['EC (SEC1)', () => certs.clientEc],
  ] as const) {
    it(`is accepted with the right CA and a ${format} client key`, async () => {
      const server = await tlsServer(certs.server);
      const { exporter } = await runAgent(mtlsArgs('localhost', server.port, client()));
      await eventually(() => server.events.some((e) => e.service === 'process_power_consumption_microwatts_1234_firefox'), 'events over mTLS');
      expect(server.counts.tlsRejected).toBe(0);
      expect(server.counts.connections).toBe(1);
      expect(exporter.stats.snapshot().failedAttempts).toBe(0);
    });
  }

  it('checks the certificate against an IP address too (127.0.0.1 is in its SAN)', async () => {
    const server = await tlsServer(certs.server);
    await runAgent(mtlsArgs('127.0.0.1', server.port, certs.clientPkcs8));
    await eventually(() => server.events.some((e) => e.service === HOST_POWER), 'events over mTLS to 127.0.0.1');
  });

  it('refuses a server certificate from another CA, logs it once, keeps sampling, delivers once the right server is up', async () => {
    const wrong = await tlsServer(certs.serverWrongCa);
    const port = wrong.port;
    const { lines, exporter, sampled } = await runAgent(mtlsArgs('localhost', port, certs.clientPkcs8));
    await eventually(() => exporter.stats.snapshot().failedAttempts >= 3, 'three failed attempts');
    const expected = `is not signed by the CA in --ca ${certs.caFile}`;
    expect(errorsContaining(lines, expected)).toHaveLength(1);
    expect(errorsContaining(lines, expected)[0]?.msg).toContain("the Riemann server's certificate (localhost:");
    expect(wrong.events).toHaveLength(0);
    await wrong.stop();
    const switchedAt = Date.now();
    const right = await tlsServer(certs.server, port);
    await eventually(() => right.events.some((e) => e.service === HOST_POWER && (e.timeMicros ?? 0) / 1000 > switchedAt + 200), 'delivery after the right server is up', 30_000);
    // Samples taken during the refusal were kept (within the TTL) and delivered too.
    expect(right.events.some((e) => e.service === HOST_POWER && (e.timeMicros ?? 0) / 1000 < switchedAt - 500)).toBe(true);
    expect(sampled()).toBeGreaterThan(20);
    expect(errorsContaining(lines, expected)).toHaveLength(1);
  });

  it('without a client certificate (--tls): refused, logged once with the fix, survived', async () => {
    const server = await tlsServer(certs.server);
    const { lines, exporter } = await runAgent(['--tls', '-a', 'localhost', '-p', String(server.port), '--ca', certs.caFile]);
    await eventually(() => exporter.stats.snapshot().failedAttempts >= 3, 'three failed attempts');
    const errors = errorsContaining(lines, 'requires a client certificate');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toContain('use --mtls with --cert and --key');
    expect(server.events).toHaveLength(0);
    expect(server.counts.tlsRejected).toBeGreaterThanOrEqual(3);
    expect(exporter.stats.snapshot().queueDepth).toBeGreaterThan(0);
  });

  it('with a client certificate from another CA: refused, logged once naming --cert, survived', async () => {
    const server = await tlsServer(certs.server);
    const { lines, exporter } = await runAgent(mtlsArgs('localhost', server.port, certs.clientWrongCa));
    await eventually(() => exporter.stats.snapshot().failedAttempts >= 3, 'three failed attempts');
    const errors = errorsContaining(lines, `refused our client certificate --cert ${certs.clientWrongCa.certFile}`);
    expect(errors).toHaveLength(1);
    expect(server.events).toHaveLength(0);
  });

  it('for a name the server certificate does not list: hostname mismatch logged once', async () => {
    const server = await tlsServer(certs.serverOtherName);
    const { lines, exporter } = await runAgent(mtlsArgs('127.0.0.1', server.port, certs.clientPkcs8));
    await eventually(() => exporter.stats.snapshot().failedAttempts >= 2, 'two failed attempts');
    await sleep(100);
    const errors = errorsContaining(lines, `does not name "127.0.0.1"`);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toContain('set -a/--address to a name or address the certificate lists');
    expect(server.events).toHaveLength(0);
  });
});

/**
 * The same handshake against the real Riemann (its TLS is Netty + less-awful-ssl, not node:tls), where
 * testcontainers finds a container engine: the container gets a config with a mutual-TLS listener, the
 * test CA and a server certificate naming the engine's host (test/support/servers/riemann-container.ts).
 */
await describeWithContainers('Riemann exporter over mutual TLS against the real Riemann (testcontainers)', RIEMANN_IMAGE, () => {
  const riemann = containerForSuite(async () => {
    const engine = await findContainerEngine();
    const hosts = ['localhost', '127.0.0.1', ...(engine.found ? [engine.host] : [])];
    return startRiemannContainer({ caFile: certs.caFile, server: makeServerCert(certs, 'server-container', hosts) });
  }, RIEMANN_START_MS);

  /** The mutual-TLS port the container maps. */
  function tlsPort(): number {
    return riemann().tlsPort ?? 0;
  }

  /** Events carrying `tag` in Riemann's index (read over its plain port). */
  function tagged(tag: string): Promise<RiemannEvent[]> {
    return queryRiemann(riemann().host, riemann().port, `tagged "${tag}"`);
  }

  it('accepts scaph riemann --mtls with a client certificate signed by the test CA', async () => {
    const tag = `mtls-accepted-${process.pid}`;
    const { exporter } = await runAgent([...mtlsArgs(riemann().host, tlsPort(), certs.clientPkcs8), '--tag', tag]);
    const hostPower = await waitFor(async () => (await tagged(tag)).find((e) => e.service === HOST_POWER) ?? null, 60_000, 'events over mutual TLS in Riemann');
    expect(metricOf(hostPower)).toBe(40_000_000);
    expect(exporter.stats.snapshot().failedAttempts).toBe(0);
  }, 90_000);

  it('refuses a client certificate signed by another CA: logged with the fix, nothing stored', async () => {
    const tag = `mtls-wrong-client-${process.pid}`;
    const { lines, exporter } = await runAgent([...mtlsArgs(riemann().host, tlsPort(), certs.clientWrongCa), '--tag', tag]);
    await eventually(() => exporter.stats.snapshot().failedAttempts >= 2, 'two failed attempts', 60_000);
    // An alert (bad/unknown certificate) or a close before any reply: both name the certificate.
    expect(errorsContaining(lines, `refused our client certificate --cert ${certs.clientWrongCa.certFile}`).length).toBeGreaterThanOrEqual(1);
    expect(exporter.stats.snapshot().sent).toBe(0);
    expect(await tagged(tag)).toEqual([]);
  }, 90_000);

  it('refuses the server when --ca is another CA: logged once with the fix, nothing stored', async () => {
    const tag = `mtls-wrong-ca-${process.pid}`;
    const { lines, exporter } = await runAgent([...mtlsArgs(riemann().host, tlsPort(), certs.clientPkcs8, certs.wrongCaFile), '--tag', tag]);
    await eventually(() => exporter.stats.snapshot().failedAttempts >= 2, 'two failed attempts', 60_000);
    expect(errorsContaining(lines, `is not signed by the CA in --ca ${certs.wrongCaFile}`)).toHaveLength(1);
    expect(exporter.stats.snapshot().sent).toBe(0);
    expect(await tagged(tag)).toEqual([]);
  }, 90_000);
});
