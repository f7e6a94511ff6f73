import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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
  /** With RequestOptions.keepBody: the body's bytes, whatever the status (at most maxBodyBytes). */
  readonly raw?: Buffer;
}

/** How one request treats the answer's body. */
export interface RequestOptions {
  /**
   * Read the body of every answer, 2xx included, into `raw` (OTLP's answers are protobuf messages: a
   * partial success on 200, a google.rpc.Status on errors). Default: only non-2xx bodies, as text.
   */
  readonly keepBody?: boolean;
  /** Most body bytes kept with keepBody (the rest is not read). Default BODY_LIMIT_BYTES. */
  readonly maxBodyBytes?: number;
}

const BODY_LIMIT_BYTES = 4096;

/** No byte moved on the socket for the endpoint's timeout (connecting, waiting for headers, or body). */
class HttpTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(timeoutMs: number) {
    super(`no activity on the connection for ${timeoutMs} ms`);
    this.name = 'HttpTimeoutError';
  }
}

/**
 * One endpoint (scheme + host + port + path), one keep-alive agent: connections are reused across sends,
 * every phase has a timeout, and nothing is retried here (retry is the delivery core's job).
 * node:http rather than undici: undici compiles its WebAssembly HTTP parser on the first request, a
 * ~35 MB RSS spike (and 8 MB more loaded) that alone broke the agent's 80 MB peak-RSS budget.
 */
export class HttpEndpoint {
  readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly path: string;
  private readonly timeoutMs: number;

  /**
   * The endpoint as a log line names it: scheme, host, port and path, without user:password or query (a
   * token may ride in either).
   */
  readonly displayUrl: string;

  constructor(url: string | URL, options: HttpEndpointOptions) {
    this.url = new URL(url);
    this.displayUrl = `${this.url.protocol}//${this.url.host}${this.url.pathname}`;
    this.path = `${this.url.pathname}${this.url.search}`;
    this.timeoutMs = options.timeoutMs;
    const common = { keepAlive: true, maxSockets: options.connections ?? 1 };
    if (this.url.protocol === 'https:') {
      this.agent = new HttpsAgent({ ...common, ...(options.tls ?? {}) });
      this.send = httpsRequest;
    } else {
      this.agent = new HttpAgent(common);
      this.send = httpRequest;
    }
  }

  request(
    method: 'POST' | 'PUT' | 'DELETE' | 'GET',
    body: Uint8Array | string | null,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal,
    options: RequestOptions = {},
  ): Promise<HttpResult> {
    const payload = body === null ? null : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const allHeaders = payload === null ? headers : { ...headers, 'content-length': String(payload.byteLength) };
    return new Promise<HttpResult>((resolve, reject) => {
      const req = this.send(this.url, { method, path: this.path, headers: allHeaders, agent: this.agent, signal });
      req.setTimeout(this.timeoutMs, () => req.destroy(new HttpTimeoutError(this.timeoutMs)));
      req.on('error', reject);
      req.on('response', (res: IncomingMessage) => {
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(new Error('the connection closed before the response ended'));
        });
        const status = res.statusCode ?? 0;
        if (options.keepBody === true) {
          readBytes(res, options.maxBodyBytes ?? BODY_LIMIT_BYTES).then(
            (raw) => resolve({ status, headers: res.headers, body: status >= 200 && status < 300 ? '' : raw.subarray(0, BODY_LIMIT_BYTES).toString('utf8'), raw }),
            reject,
          );
          return;
        }
        if (status >= 200 && status < 300) {
          res.on('end', () => resolve({ status, headers: res.headers, body: '' }));
          res.resume();
          return;
        }
        readLimited(res).then((text) => resolve({ status, headers: res.headers, body: text }), reject);
      });
      req.end(payload ?? undefined);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

async function readLimited(body: IncomingMessage): Promise<string> {
  return (await readBytes(body, BODY_LIMIT_BYTES)).toString('utf8');
}

/** The first `limit` bytes of a body; the rest is not read (the connection is dropped instead). */
async function readBytes(body: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    chunks.push(b);
    size += b.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit);
}
