/**
 * OTLP/gRPC: the request bytes as the one message of MetricsService.Export, over @grpc/grpc-js (pure
 * JavaScript, loaded at the first gRPC exporter only), and its status code as an Outcome. The retry rules
 * are the OTLP specification's (opentelemetry-proto v1.11.0, specification.md, "Failures" of OTLP/gRPC):
 * CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are retried,
 * RESOURCE_EXHAUSTED only when the server sends a RetryInfo (it can recover), after the RetryInfo's delay
 * when there is one; every other code is dropped.
 */
import type { Client, Metadata, ServiceError } from '@grpc/grpc-js';
import { grpcJs } from '../../core/lazy-modules.cjs';
import { OK, type Outcome } from '../../delivery/outcome.js';
import { tidyConnectionError } from './connection-errors.js';
import type { TlsOptions } from '../../net/tls.js';
import { readExportResponse, readStatus } from './responses.js';

/** metrics_service.proto: package opentelemetry.proto.collector.metrics.v1, service MetricsService, rpc Export. */
export const EXPORT_METHOD = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

/** grpc-js' numbers for the codes (grpc.status). */
const CANCELLED = 1;
const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const ABORTED = 10;
const OUT_OF_RANGE = 11;
const UNAVAILABLE = 14;
const DATA_LOSS = 15;
const RETRYABLE = new Set([CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS]);
/** How soon the channel tries to connect again after a failure, ms (see the client's options). */
const RECONNECT_BACKOFF_MS = 1000;
/** grpc-js' compression algorithm number for gzip (CompressionAlgorithms.gzip). */
const GZIP = 2;

export interface GrpcSenderOptions {
  /** host:port */
  readonly target: string;
  /** TLS (https:// or a bare host:port), or plaintext (http://). */
  readonly secure: boolean;
  readonly tls: TlsOptions | undefined;
  readonly gzip: boolean;
  /** Metadata on every call (--header, auth), lower-case names. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly userAgent: string;
  readonly timeoutMs: number;
}

type GrpcJs = ReturnType<typeof grpcJs>;

export class GrpcSender {
  private readonly grpc: GrpcJs;
  private readonly client: Client;
  private readonly metadata: Metadata;

  constructor(private readonly options: GrpcSenderOptions) {
    const grpc = grpcJs();
    this.grpc = grpc;
    const tls = options.tls;
    const credentials = options.secure
      ? grpc.credentials.createSsl(
          tls?.ca === undefined ? null : Buffer.from(tls.ca),
          tls?.key === undefined ? null : Buffer.from(tls.key),
          tls?.cert === undefined ? null : Buffer.from(tls.cert),
          { rejectUnauthorized: tls?.rejectUnauthorized ?? true },
        )
      : grpc.credentials.createInsecure();
    this.client = new grpc.Client(options.target, credentials, {
      'grpc.primary_user_agent': options.userAgent,
      ...(options.gzip ? { 'grpc.default_compression_algorithm': GZIP } : {}),
      // Retries are the delivery core's, with its backoff and its counters.
      'grpc.enable_retries': 0,
      // The channel's own reconnect backoff grows to 120 s by default, and a call meanwhile fails at once:
      // a receiver back after a long outage would wait for it, past the core's bound (--max-backoff). Kept at
      // 1 s, the channel is connected again by the core's next attempt.
      'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_MS,
      'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MS,
    });
    this.metadata = new grpc.Metadata();
    for (const [name, value] of Object.entries(options.metadata)) this.metadata.set(name, value);
  }

  send(batch: Buffer, signal: AbortSignal): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const identity = (b: Buffer): Buffer => b;
      const call = this.client.makeUnaryRequest<Buffer, Buffer>(
        EXPORT_METHOD,
        identity,
        identity,
        batch,
        this.metadata,
        { deadline: Date.now() + this.options.timeoutMs },
        (err, response) => {
          signal.removeEventListener('abort', onAbort);
          // Cancelled by our own timeout or shutdown: the core says so as it does for HTTP.
          if (signal.aborted) reject(signal.reason);
          else resolve(err ? classifyGrpcError(this.grpc, err) : answer(response));
        },
      );
      const onAbort = (): void => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    this.client.close();
  }
}

function answer(response: Buffer | undefined): Outcome {
  if (response === undefined || response.length === 0) return OK;
  const read = readExportResponse(response);
  if (!read.understood) return { kind: 'ok', rejected: { points: 0, message: 'the answer is not an ExportMetricsServiceResponse (is this an OTLP receiver?)' } };
  return read.rejected === null ? OK : { kind: 'ok', rejected: read.rejected };
}

/** A failed call as an Outcome, by the OTLP specification's table (see the module comment). */
export function classifyGrpcError(grpc: Pick<GrpcJs, 'status'>, err: ServiceError): Outcome {
  const name = grpc.status[err.code] ?? `code ${err.code}`;
  const detailsBin = err.metadata?.get('grpc-status-details-bin')[0];
  const status = Buffer.isBuffer(detailsBin) ? readStatus(detailsBin) : null;
  const retryDelayMs = status?.retryDelayMs ?? null;
  const error = `gRPC ${name}: ${tidyConnectionError(err.details || status?.message || 'no details')}`;
  if (RETRYABLE.has(err.code) || (err.code === RESOURCE_EXHAUSTED && retryDelayMs !== null)) {
    return retryDelayMs === null ? { kind: 'retry', error } : { kind: 'retry', afterMs: retryDelayMs, error };
  }
  return { kind: 'drop', reason: `grpc_${name.toLowerCase()}`, error };
}
