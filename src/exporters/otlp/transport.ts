/**
 * OTLP metrics transport: what is specific to the wire (encode an ExportMetricsServiceRequest, gzip it,
 * POST it over OTLP/HTTP or call MetricsService.Export over OTLP/gRPC, the answer -> Outcome by OTLP's
 * rules). Queueing, order, retry, Retry-After, the spool and the counters are the delivery core's.
 *
 * OTLP/HTTP (opentelemetry-proto v1.11.0, specification.md, "OTLP/HTTP"): `Content-Type: application/x-protobuf`
 * exactly (Prometheus 3 refuses a parameter after it), `Content-Encoding: gzip` when compressed; 429, 502,
 * 503 and 504 are retried (after their Retry-After), every other 4xx and 5xx is dropped, named with the
 * server's google.rpc.Status message; a 200 may carry a partial_success, counted and said, never resent.
 */
import { gzipSync } from 'node:zlib';
import { BODY_EXCERPT_CHARS, classifyNetworkError, httpErrorText, OK, parseRetryAfterMs, type Outcome } from '../../delivery/outcome.js';
import type { QueuedSample, Transport } from '../../delivery/transport.js';
import { HttpEndpoint, type HttpResult } from '../../net/http.js';
import type { TlsOptions } from '../../net/tls.js';
import { tidyConnectionError } from './connection-errors.js';
import { GrpcSender } from './grpc.js';
import { oneLine, readExportResponse, readStatus } from './responses.js';
import { OtlpMetricsEncoder, type OtlpWireOptions } from './wire.js';

export type OtlpProtocol = 'http/protobuf' | 'grpc';
export type OtlpCompression = 'gzip' | 'none';

export type OtlpAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'basic'; readonly user: string; readonly password: string };

/** Where a gRPC exporter connects: host:port, with or without TLS. */
export interface GrpcTarget {
  readonly target: string;
  readonly secure: boolean;
}

export interface OtlpTransportOptions {
  readonly protocol: OtlpProtocol;
  /** OTLP/HTTP: the URL the requests go to (…/v1/metrics). */
  readonly url: string;
  /** OTLP/gRPC: the target. */
  readonly grpc: GrpcTarget | null;
  readonly compression: OtlpCompression;
  /** --header and $OTEL_EXPORTER_OTLP_HEADERS, as HTTP headers or gRPC metadata. */
  readonly headers: Readonly<Record<string, string>>;
  readonly auth: OtlpAuth;
  readonly tls: TlsOptions | undefined;
  readonly timeoutMs: number;
  /** scaph's version, for the User-Agent. */
  readonly version: string;
  readonly wire: OtlpWireOptions;
}

export const OTLP_CONTENT_TYPE = 'application/x-protobuf';
/** OTLP's recommended limit on a request body before compression (opentelemetry-proto v1.11.0, specification.md): never sent beyond. */
export const MAX_REQUEST_BYTES = 64 * 1024 * 1024;
/** OTLP's recommended limit on what a client reads of an answer (4 MiB); a partial success is far smaller. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
/**
 * gzip level of OTLP/HTTP bodies: 1, as Warp 10's. On 500 processes (323 KB a step) it takes a third of
 * level 6's CPU for 10 % more bytes (41 KB against 38 KB).
 */
export const GZIP_LEVEL = 1;
/** The statuses OTLP/HTTP retries; every other 4xx and 5xx is final. */
const RETRYABLE_HTTP = new Set([429, 502, 503, 504]);

/** The request would break OTLP's size limit: refused before sending (the core drops it as encode_error). */
export class OtlpRequestTooLargeError extends Error {
  constructor(bytes: number) {
    super(`the request would be ${(bytes / 1024 / 1024).toFixed(1)} MiB, over OTLP's 64 MiB limit: lower --max-samples-per-send`);
    this.name = 'OtlpRequestTooLargeError';
  }
}

export class OtlpTransport implements Transport<Buffer> {
  readonly name = 'otlp';
  /** A series that ends gets a point flagged NO_RECORDED_VALUE: a staleness marker once in Prometheus. */
  readonly marksVanishedSeries = true;
  readonly reportsRejectedPoints = true;
  private readonly wire: OtlpMetricsEncoder;
  private readonly http: HttpEndpoint | null;
  private readonly grpc: GrpcSender | null;
  private readonly httpHeaders: Readonly<Record<string, string>>;
  readonly target: string;

  constructor(private readonly options: OtlpTransportOptions) {
    this.wire = new OtlpMetricsEncoder(options.wire);
    const userAgent = `scaph/${options.version}`;
    if (options.protocol === 'grpc' && options.grpc) {
      this.http = null;
      this.grpc = new GrpcSender({
        ...options.grpc,
        tls: options.tls,
        gzip: options.compression === 'gzip',
        metadata: { ...lowerCased(options.headers), ...authHeader(options.auth) },
        userAgent,
        timeoutMs: options.timeoutMs,
      });
      this.target = `${options.grpc.secure ? 'https' : 'http'}://${options.grpc.target}`;
    } else {
      this.grpc = null;
      this.http = new HttpEndpoint(options.url, { timeoutMs: options.timeoutMs, tls: options.tls });
      this.httpHeaders = httpHeaders(options, userAgent);
      this.target = this.http.displayUrl;
    }
    this.httpHeaders ??= {};
  }

  /**
   * The request's bytes, gzipped for OTLP/HTTP with --compression gzip (gRPC compresses its message
   * itself). Uncompressed over HTTP, they are the encoder's buffer, reused by the next encode: the core
   * sends one batch at a time, and encodes again for every attempt.
   */
  encode(entries: readonly QueuedSample[]): Buffer {
    const bytes = this.wire.encodeTransient(entries);
    if (bytes.length > MAX_REQUEST_BYTES) throw new OtlpRequestTooLargeError(bytes.length);
    if (this.grpc) return Buffer.from(bytes);
    return this.options.compression === 'gzip' ? gzipSync(bytes, { level: GZIP_LEVEL }) : bytes;
  }

  async send(batch: Buffer, signal: AbortSignal): Promise<Outcome> {
    if (this.grpc) return this.grpc.send(batch, signal);
    let res: HttpResult;
    try {
      res = await (this.http as HttpEndpoint).request('POST', batch, this.httpHeaders, signal, { keepBody: true, maxBodyBytes: MAX_ANSWER_BYTES });
    } catch (err) {
      // Our own timeout or the shutdown: the core says so.
      if (signal.aborted) throw err;
      const outcome = classifyNetworkError(err);
      return outcome.kind === 'retry' ? { ...outcome, error: tidyConnectionError(outcome.error) } : outcome;
    }
    return classifyOtlpHttp(res);
  }

  async close(): Promise<void> {
    this.grpc?.close();
    await this.http?.close();
  }
}

/** An OTLP/HTTP answer as an Outcome (see the module comment). */
export function classifyOtlpHttp(res: HttpResult, nowMs = Date.now()): Outcome {
  const raw = res.raw ?? Buffer.alloc(0);
  const contentType = headerText(res.headers['content-type']);
  if (res.status >= 200 && res.status < 300) return accepted(res.status, contentType, raw);
  const status = /protobuf/i.test(contentType) || contentType === '' ? readStatus(raw) : null;
  const error = status !== null && status.message !== '' ? `HTTP ${res.status}: ${status.message}` : httpErrorText(res.status, raw.subarray(0, 4096).toString('utf8'));
  if (RETRYABLE_HTTP.has(res.status)) {
    const afterMs = parseRetryAfterMs(headerText(res.headers['retry-after']) || undefined, nowMs) ?? status?.retryDelayMs ?? undefined;
    return afterMs === undefined ? { kind: 'retry', error } : { kind: 'retry', afterMs, error };
  }
  return { kind: 'drop', reason: `http_${res.status}`, error };
}

/**
 * A 2xx: a full success, or a partial one. A web page (the URL names a web server, not an OTLP receiver) is
 * dropped and said: nothing it answers means the points were stored. Anything else not understood counts
 * as delivered, with a warning.
 */
function accepted(status: number, contentType: string, raw: Buffer): Outcome {
  if (raw.length === 0) return OK;
  if (/html/i.test(contentType)) {
    return {
      kind: 'drop',
      reason: 'not_otlp',
      error: `HTTP ${status} with ${contentType}: a web page, not an OTLP receiver's answer; check the URL (an OTLP/HTTP receiver takes POST …/v1/metrics)`,
    };
  }
  const read = readExportResponse(raw);
  if (read.understood) return read.rejected === null ? OK : { kind: 'ok', rejected: read.rejected };
  const json = jsonPartialSuccess(raw);
  if (json !== undefined) return json;
  const excerpt = oneLine(raw.subarray(0, BODY_EXCERPT_CHARS).toString('utf8'));
  return { kind: 'ok', rejected: { points: 0, message: `HTTP ${status} answered ${contentType || 'without a content type'}, not an ExportMetricsServiceResponse: ${excerpt}` } };
}

/** A receiver that answers JSON (OTLP/HTTP JSON's ExportMetricsServiceResponse): its partialSuccess; undefined when not JSON. */
function jsonPartialSuccess(raw: Buffer): Outcome | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const partial = (parsed as { partialSuccess?: { rejectedDataPoints?: unknown; errorMessage?: unknown } }).partialSuccess;
  const points = Number(partial?.rejectedDataPoints ?? 0);
  const message = typeof partial?.errorMessage === 'string' ? oneLine(partial.errorMessage) : '';
  if (!(points > 0) && message === '') return OK;
  return { kind: 'ok', rejected: { points: points > 0 ? points : 0, message } };
}

function headerText(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

function authHeader(auth: OtlpAuth): Record<string, string> {
  if (auth.kind === 'bearer') return { authorization: `Bearer ${auth.token}` };
  if (auth.kind === 'basic') return { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` };
  return {};
}

function httpHeaders(options: OtlpTransportOptions, userAgent: string): Record<string, string> {
  // User headers first, so they cannot replace the protocol's own.
  return {
    ...lowerCased(options.headers),
    ...authHeader(options.auth),
    'content-type': OTLP_CONTENT_TYPE,
    ...(options.compression === 'gzip' ? { 'content-encoding': 'gzip' } : {}),
    'user-agent': userAgent,
  };
}
