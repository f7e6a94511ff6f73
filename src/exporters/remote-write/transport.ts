/**
 * Prometheus remote-write 1.0 transport: what is specific to the wire (encode a WriteRequest, snappy
 * block compression, headers, auth, HTTP status -> outcome). Queueing, order, retry and counters are
 * the delivery core's (src/delivery).
 */
import { classifyHttp, type Outcome } from '../../delivery/outcome.js';
import type { QueuedSample, Transport } from '../../delivery/transport.js';
import { HttpEndpoint } from '../../net/http.js';
import type { TlsOptions } from '../../net/tls.js';
import { WriteRequestEncoder, type SeriesLabelOptions } from './wire.js';

export type RemoteWriteAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'basic'; readonly user: string; readonly password: string };

export interface RemoteWriteOptions extends SeriesLabelOptions {
  /** e.g. http://prometheus:9090/api/v1/write */
  readonly url: string;
  /** scaph's version, for the User-Agent. */
  readonly version: string;
  readonly timeoutMs: number;
  readonly auth?: RemoteWriteAuth;
  /** Extra request headers (--header k=v), e.g. X-Scope-OrgID for Mimir/Cortex tenants. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly tls?: TlsOptions | undefined;
}

export class RemoteWriteTransport implements Transport<Buffer> {
  readonly name = 'remote-write';
  /** A series that ends gets a staleness marker, as Prometheus' own scrapes give it. */
  readonly marksVanishedSeries = true;
  private readonly endpoint: HttpEndpoint;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly wire: WriteRequestEncoder;

  constructor(private readonly options: RemoteWriteOptions) {
    this.wire = new WriteRequestEncoder(options);
    this.endpoint = new HttpEndpoint(options.url, { timeoutMs: options.timeoutMs, tls: options.tls });
    this.headers = requestHeaders(options);
  }

  get target(): string {
    return this.endpoint.displayUrl;
  }

  encode(entries: readonly QueuedSample[]): Buffer {
    // Compressed in pure JavaScript (the single executable cannot load a native addon) as
    // it is written, 64 KiB at a time (snappy-block.ts); the batch is a Buffer of its own compressed size.
    return this.wire.encodeSnappy(entries);
  }

  async send(batch: Buffer, signal: AbortSignal): Promise<Outcome> {
    const res = await this.endpoint.request('POST', batch, this.headers, signal);
    return classifyHttp(res.status, res.headers, res.body);
  }

  async close(): Promise<void> {
    await this.endpoint.close();
  }
}

export function requestHeaders(options: RemoteWriteOptions): Record<string, string> {
  // User headers first (names lower-cased) so they cannot replace or duplicate the protocol's own.
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  const auth = options.auth ?? { kind: 'none' };
  if (auth.kind === 'bearer') headers['authorization'] = `Bearer ${auth.token}`;
  if (auth.kind === 'basic') headers['authorization'] = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
  headers['content-encoding'] = 'snappy';
  headers['content-type'] = 'application/x-protobuf';
  headers['x-prometheus-remote-write-version'] = '0.1.0';
  headers['user-agent'] = `scaph/${options.version}`;
  return headers;
}
