import type { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import type { TlsOptions } from './tls.js';

export interface HttpEndpointOptions {
  /** Connect, headers and body timeouts, ms (the caller's AbortSignal bounds the whole request too). */
  readonly timeoutMs: number;
  readonly tls?: TlsOptions | undefined;
  /** Parallel connections; delivery keeps one request in flight, so 1 is enough. */
  readonly connections?: number;
}

export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body (first BODY_LIMIT_BYTES only), for error excerpts; read only for non-2xx answers. */
  readonly body: string;
}

const BODY_LIMIT_BYTES = 4096;

/**
 * One endpoint (scheme + host + port + path), one undici Pool: connections are reused across sends,
 * every phase has a timeout, and undici never retries on its own (retry is the delivery core's job).
 */
export class HttpEndpoint {
  readonly url: URL;
  private readonly pool: Pool;
  private readonly path: string;

  constructor(url: string | URL, options: HttpEndpointOptions) {
    this.url = new URL(url);
    this.path = `${this.url.pathname}${this.url.search}`;
    const tls = options.tls;
    this.pool = new Pool(this.url.origin, {
      connections: options.connections ?? 1,
      connect: { timeout: options.timeoutMs, ...(tls ?? {}) },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  async request(
    method: 'POST' | 'PUT' | 'DELETE' | 'GET',
    body: Uint8Array | string | null,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<HttpResult> {
    const res = await this.pool.request({ path: this.path, method, headers, body, signal });
    if (res.statusCode >= 200 && res.statusCode < 300) {
      await res.body.dump();
      return { status: res.statusCode, headers: res.headers, body: '' };
    }
    return { status: res.statusCode, headers: res.headers, body: await readLimited(res.body) };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

async function readLimited(body: AsyncIterable<Uint8Array> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(Buffer.from(chunk));
    size += chunk.length;
    if (size >= BODY_LIMIT_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, BODY_LIMIT_BYTES).toString('utf8');
}
