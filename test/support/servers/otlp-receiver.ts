/**
 * An OTLP metrics receiver on 127.0.0.1 (free ports) for tests: OTLP/HTTP (binary protobuf, gzip or not) and
 * OTLP/gRPC (grpc-js), every request decoded with OpenTelemetry's own generated code (otlp-proto.ts). Its
 * decoding is proven by the official OpenTelemetry JS exporters in test/e2e/exporters/otlp-receiver.test.ts.
 *
 * Like a Collector or Prometheus 3, it answers 415 to a content type other than exactly
 * `application/x-protobuf` (Prometheus refuses one with parameters), 400 with a google.rpc.Status to a body it
 * cannot decode, and else 200 with an ExportMetricsServiceResponse. Each request takes the next scripted
 * answer (a status, a gRPC code with or without RetryInfo, a partial success, a hang, a reset, an HTML page),
 * then `fallback`.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { decodeExportRequest, encodeExportResponse, encodeStatus, EXPORT_METHOD, type DecodedPoint, type DecodedRequest } from './otlp-proto.js';

/** What the receiver answers to one request. */
export interface OtlpAnswer {
  /** HTTP status (default 200). */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** An HTTP body instead of the protobuf one (an HTML page, …), with its content type. */
  readonly body?: string | Buffer;
  readonly contentType?: string;
  /** gRPC status code (default OK); `message` its details. */
  readonly grpcCode?: grpc.status;
  readonly message?: string;
  /** A google.rpc.RetryInfo in the error's details (gRPC), or in the Status body (HTTP). */
  readonly retryDelayMs?: number;
  /** A 200 / OK answer with partial_success. */
  readonly partialSuccess?: { readonly points: number; readonly message: string };
  /** Never answer. */
  readonly hang?: boolean;
  /** HTTP: reset the connection instead of answering. */
  readonly reset?: boolean;
}

export interface OtlpRequestRecord {
  readonly protocol: 'http' | 'grpc';
  /** HTTP path, or the gRPC method. */
  readonly path: string;
  /** HTTP headers, or gRPC metadata (lower-case keys, first value). */
  readonly headers: Readonly<Record<string, string>>;
  /** The bytes as they came, before any decompression. */
  readonly bytes: number;
  readonly request: DecodedRequest | null;
  readonly decodeError: string | null;
  /** What it answered: an HTTP status, or the gRPC code. */
  readonly answered: number;
  readonly accepted: boolean;
  readonly atMs: number;
}

export interface OtlpReceiverOptions {
  readonly http?: boolean;
  readonly grpc?: boolean;
  /** Serve TLS (HTTPS, gRPC over TLS) with this certificate; `clientCa` asks for and checks client certificates. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly clientCa?: Buffer };
  /** Keep only the points of the metrics this accepts (a long bench run keeps its host power only). Default: all. */
  readonly keep?: (metric: string) => boolean;
}

export const OTLP_CONTENT_TYPE = 'application/x-protobuf';

export class OtlpReceiver {
  readonly script: OtlpAnswer[] = [];
  fallback: OtlpAnswer = {};
  readonly requests: OtlpRequestRecord[] = [];
  private http: HttpServer | null = null;
  private grpcServer: grpc.Server | null = null;
  private httpPortNumber = 0;
  private grpcPortNumber = 0;
  private readonly hanging: Array<() => void> = [];

  private constructor(private readonly options: OtlpReceiverOptions) {}

  static async start(options: OtlpReceiverOptions = { http: true, grpc: true }): Promise<OtlpReceiver> {
    const r = new OtlpReceiver(options);
    if (options.http !== false) await r.listenHttp(0);
    if (options.grpc) await r.listenGrpc(0);
    return r;
  }

  get httpPort(): number {
    return this.httpPortNumber;
  }

  get grpcPort(): number {
    return this.grpcPortNumber;
  }

  /** http(s)://127.0.0.1:<port>/v1/metrics */
  get httpUrl(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.httpPortNumber}/v1/metrics`;
  }

  /** 127.0.0.1:<port> */
  get grpcTarget(): string {
    return `127.0.0.1:${this.grpcPortNumber}`;
  }

  /** Every data point of the requests it accepted, in arrival order. */
  acceptedPoints(): DecodedPoint[] {
    return this.requests.filter((r) => r.accepted && r.request).flatMap((r) => (r.request as DecodedRequest).points);
  }

  /** The accepted points of one metric. */
  points(metric: string): DecodedPoint[] {
    return this.acceptedPoints().filter((p) => p.metric === metric);
  }

  async stop(): Promise<void> {
    for (const release of this.hanging.splice(0)) release();
    const http = this.http;
    this.http = null;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
    const server = this.grpcServer;
    this.grpcServer = null;
    server?.forceShutdown();
  }

  /** Listens again on the same ports (after stop: an outage). */
  async restart(): Promise<void> {
    if (this.options.http !== false && !this.http) await this.listenHttp(this.httpPortNumber);
    if (this.options.grpc && !this.grpcServer) await this.listenGrpc(this.grpcPortNumber);
  }

  private kept(request: DecodedRequest): DecodedRequest {
    const keep = this.options.keep;
    return keep === undefined ? request : { ...request, points: request.points.filter((p) => keep(p.metric)) };
  }

  private next(): OtlpAnswer {
    return this.script.shift() ?? this.fallback;
  }

  private async listenHttp(port: number): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.onHttp(req, res);
    const tls = this.options.tls;
    const server = tls
      ? createHttpsServer({ cert: tls.cert, key: tls.key, ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}) }, handler)
      : createHttpServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.http = server;
    this.httpPortNumber = (server.address() as AddressInfo).port;
  }

  private onHttp(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const headers = flatHeaders(req.headers);
      const answer = this.next();
      const record = (answered: number, accepted: boolean, request: DecodedRequest | null, decodeError: string | null): void => {
        this.requests.push({ protocol: 'http', path: req.url ?? '', headers, bytes: raw.length, request, decodeError, answered, accepted, atMs: Date.now() });
      };
      if (answer.hang) {
        record(0, false, null, null);
        this.hanging.push(() => res.destroy());
        return;
      }
      if (answer.reset) {
        record(0, false, null, null);
        req.socket.destroy();
        return;
      }
      if (headers['content-type'] !== OTLP_CONTENT_TYPE) {
        record(415, false, null, `content type ${headers['content-type'] ?? '(none)'}`);
        res.writeHead(415, { 'content-type': 'text/plain' }).end(`unsupported content type ${headers['content-type'] ?? ''}`);
        return;
      }
      let request: DecodedRequest;
      try {
        const body = headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        request = this.kept(decodeExportRequest(body));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        record(400, false, null, message);
        res.writeHead(400, { 'content-type': OTLP_CONTENT_TYPE }).end(encodeStatus(3, `cannot decode the request: ${message}`));
        return;
      }
      const status = answer.status ?? 200;
      // A scripted body (a web page, text) is not an OTLP receiver storing the request.
      const accepted = status >= 200 && status < 300 && answer.body === undefined;
      record(status, accepted, request, null);
      if (answer.body !== undefined) {
        res.writeHead(status, { 'content-type': answer.contentType ?? 'text/html', ...(answer.headers ?? {}) }).end(answer.body);
        return;
      }
      const body = accepted ? encodeExportResponse(answer.partialSuccess) : encodeStatus(answer.grpcCode ?? 14, answer.message ?? `HTTP ${status}`, answer.retryDelayMs);
      res.writeHead(status, { 'content-type': OTLP_CONTENT_TYPE, ...(answer.headers ?? {}) }).end(body);
    });
  }

  private async listenGrpc(port: number): Promise<void> {
    const server = new grpc.Server();
    const definition: grpc.ServiceDefinition = {
      Export: {
        path: EXPORT_METHOD,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    };
    server.addService(definition, { Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => this.onGrpc(call, callback) });
    const tls = this.options.tls;
    const credentials = tls
      ? grpc.ServerCredentials.createSsl(tls.clientCa ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], tls.clientCa !== undefined)
      : grpc.ServerCredentials.createInsecure();
    this.grpcPortNumber = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, credentials, (err, bound) => (err ? reject(err) : resolve(bound))));
    this.grpcServer = server;
  }

  private onGrpc(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) headers[k] = Buffer.isBuffer(v) ? v.toString('base64') : String(v);
    const answer = this.next();
    const raw = call.request;
    const record = (answered: number, accepted: boolean, request: DecodedRequest | null, decodeError: string | null): void => {
      this.requests.push({ protocol: 'grpc', path: EXPORT_METHOD, headers, bytes: raw.length, request, decodeError, answered, accepted, atMs: Date.now() });
    };
    if (answer.hang) {
      record(-1, false, null, null);
      this.hanging.push(() => callback({ code: grpc.status.UNAVAILABLE, details: 'receiver stopped' }));
      return;
    }
    let request: DecodedRequest;
    try {
      request = this.kept(decodeExportRequest(raw));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      record(grpc.status.INVALID_ARGUMENT, false, null, message);
      callback({ code: grpc.status.INVALID_ARGUMENT, details: `cannot decode the request: ${message}` });
      return;
    }
    const code = answer.grpcCode ?? grpc.status.OK;
    record(code, code === grpc.status.OK, request, null);
    if (code === grpc.status.OK) {
      callback(null, encodeExportResponse(answer.partialSuccess));
      return;
    }
    const metadata = new grpc.Metadata();
    if (answer.retryDelayMs !== undefined) metadata.set('grpc-status-details-bin', encodeStatus(code, answer.message ?? '', answer.retryDelayMs));
    callback({ code, details: answer.message ?? grpc.status[code], metadata });
  }
}

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
