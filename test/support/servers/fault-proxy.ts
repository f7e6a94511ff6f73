/**
 * An HTTP proxy in front of a real backend that injects faults on demand: each request takes the next
 * fault from the script (then `fallback`), and every request is recorded with its arrival time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { readonly kind: 'pass' }
  | { readonly kind: 'status'; readonly status: number; readonly body?: string; readonly headers?: Record<string, string> }
  | { readonly kind: 'hang' };

export interface ProxiedRequest {
  readonly atMs: number;
  readonly fault: Fault['kind'];
  readonly status: number | null;
  readonly headers: IncomingMessage['headers'];
  readonly bodyBytes: number;
  /** The request body as the client sent it (what went on the wire). */
  readonly body: Buffer;
}

export class FaultProxy {
  readonly script: Fault[] = [];
  fallback: Fault = { kind: 'pass' };
  readonly requests: ProxiedRequest[] = [];
  private server: Server | null = null;
  private readonly hanging = new Set<ServerResponse>();

  constructor(private readonly upstream: string) {}

  get url(): string {
    const addr = this.server?.address() as AddressInfo | null;
    if (!addr) throw new Error('fault proxy not started');
    return `http://127.0.0.1:${addr.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    const server = this.server;
    this.server = null;
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const atMs = performance.now();
    const body = await readAll(req);
    const fault = this.script.shift() ?? this.fallback;
    const record = (status: number | null) =>
      this.requests.push({ atMs, fault: fault.kind, status, headers: req.headers, bodyBytes: body.length, body });
    if (fault.kind === 'hang') {
      record(null);
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (fault.kind === 'status') {
      record(fault.status);
      res.writeHead(fault.status, { 'content-type': 'text/plain', ...(fault.headers ?? {}) });
      res.end(fault.body ?? '');
      return;
    }
    try {
      const up = await fetch(new URL(req.url ?? '/', this.upstream), {
        method: req.method ?? 'POST',
        headers: forwardHeaders(req.headers),
        body: body.length > 0 ? body : null,
      });
      const upBody = Buffer.from(await up.arrayBuffer());
      record(up.status);
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'text/plain' });
      res.end(upBody);
    } catch (err) {
      record(502);
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`upstream unreachable: ${(err as Error).message}`);
    }
  }
}

function forwardHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || k === 'host' || k === 'connection' || k === 'content-length' || k === 'transfer-encoding') continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
