import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyNetworkError } from '../../../src/delivery/outcome.js';
import { HttpEndpoint } from '../../../src/net/http.js';
import { loadTls } from '../../../src/net/tls.js';

let dir: string;
let server: Server;
let url: string;
let requests = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scaph-tls-'));
  // One self-signed certificate for 127.0.0.1: the server's certificate, the CA that trusts it, and the
  // client certificate the server asks for (mutual TLS).
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  const cert = await readFile(join(dir, 'cert.pem'), 'utf8');
  const key = await readFile(join(dir, 'key.pem'), 'utf8');
  server = createServer({ cert, key, ca: cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    requests += 1;
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
});

afterAll(() => {
  server?.close();
});

async function post(files: Parameters<typeof loadTls>[0]): Promise<number | string> {
  const ep = new HttpEndpoint(url, { timeoutMs: 3000, tls: await loadTls(files) });
  try {
    return (await ep.request('POST', 'x', {}, AbortSignal.timeout(3000))).status;
  } catch (err) {
    const o = classifyNetworkError(err);
    return o.kind === 'retry' ? `retry: ${o.error}` : o.kind;
  } finally {
    await ep.close();
  }
}

describe('HttpEndpoint over TLS with files from loadTls', () => {
  it('verifies the server with --ca and presents the client certificate (mutual TLS)', async () => {
    const before = requests;
    expect(await post({ caFile: join(dir, 'cert.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') })).toBe(204);
    expect(requests).toBe(before + 1);
  });

  it('without the CA the self-signed server is refused (a retryable network outcome naming the reason)', async () => {
    const r = await post({ certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') });
    expect(r).toMatch(/^retry: .*(self[- ]signed|SELF_SIGNED)/i);
  });

  it('--insecure skips server verification; the client certificate is still required by the server', async () => {
    expect(await post({ insecure: true, certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') })).toBe(204);
    const noClientCert = await post({ insecure: true });
    expect(noClientCert).toMatch(/^retry: /);
  });
});
