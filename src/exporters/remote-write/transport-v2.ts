/**
 * Prometheus remote-write with --protocol-version 2.0: requests go as `io.prometheus.write.v2.Request`
 * (wire-v2.ts) to a receiver that takes it, and as 1.0 (the RemoteWriteTransport of transport.ts) to one
 * that does not, without losing a sample on the way.
 *
 * Headers of a 2.0 request, as the specification (2.0-rc.4, "Protocol") asks: `Content-Type:
 * application/x-protobuf;proto=io.prometheus.write.v2.Request` (no space before `proto`),
 * `Content-Encoding: snappy` (the block format), `X-Prometheus-Remote-Write-Version: 2.0.0`, `User-Agent`;
 * auth and the user's headers as for 1.0.
 *
 * How each answer to a 2.0 request is read (written-headers.ts for the headers):
 * - 2xx with `X-Prometheus-Remote-Write-Samples-Written: n`: written. Fewer than sent: the difference is
 *   counted as rejected (scaph_delivery_rejected_points_total, said once in the log) and not sent again,
 *   since a 2xx means the receiver will not take them on a retry either. More than sent: taken as all of
 *   them, said once. A value that is not an integer: the 2xx is believed, said once.
 * - 415 (the receiver does not take this message type: the specification lets a sender retry with another
 *   content type), a 2xx without the Samples-Written header (a 1.x receiver that ignores the content type
 *   decodes a 2.0 body as an empty 1.0 request, answers 204 and stores nothing: measured with Prometheus
 *   2.42 and VictoriaMetrics 1.79), or a 400 without any Written header (the specification tells senders
 *   to expect 400 from 1.x receivers for a content type they do not know): the receiver is 1.x. The same
 *   samples go again at once as 1.0, within the same attempt, and negotiation.ts remembers it.
 * - anything else as for 1.0 (delivery/outcome.ts: 429 and 5xx retried, other 4xx dropped).
 *
 * A batch keeps its queued samples, not only its bytes, so it can be encoded again as 1.0; the disk spool
 * holds samples too (delivery/spooled-exporter.ts), so a change of version never strands what is queued.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { compress } from 'snappyjs';
import type { Logger } from '../../core/log.js';
import { quoted } from '../../core/quoted.js';
import { classifyHttp, type Outcome } from '../../delivery/outcome.js';
import type { QueuedSample, Transport } from '../../delivery/transport.js';
import { HttpEndpoint } from '../../net/http.js';
import { ProtocolNegotiation } from './negotiation.js';
import { RemoteWriteTransport, requestHeaders, type RemoteWriteOptions } from './transport.js';
import { RequestV2Encoder } from './wire-v2.js';
import { hasWrittenHeader, samplesWritten, SAMPLES_WRITTEN } from './written-headers.js';

export const CONTENT_TYPE_V2 = 'application/x-protobuf;proto=io.prometheus.write.v2.Request';
export const VERSION_HEADER_V2 = '2.0.0';

export interface RemoteWriteV2Options extends RemoteWriteOptions {
  readonly logger: Logger;
  /** After falling back to 1.0, ms until 2.0 is tried again; null: only after a restart. */
  readonly recheckMs: number | null;
  /** When this scaph process started counting (the start timestamp of counter samples); null: none. */
  readonly countersStartMs: number | null;
  readonly now?: () => number;
}

export type RemoteWriteBatch =
  | { readonly version: '1.0'; readonly body: Buffer }
  | {
      readonly version: '2.0';
      readonly body: Buffer;
      /** Samples in the request (staleness markers included): what Samples-Written is compared with. */
      readonly points: number;
      /** To encode them again as 1.0 when the receiver turns out to be 1.x. */
      readonly entries: readonly QueuedSample[];
    };

export class RemoteWriteV2Transport implements Transport<RemoteWriteBatch> {
  readonly name = 'remote-write';
  readonly marksVanishedSeries = true;
  readonly reportsRejectedPoints = true;
  private readonly v1: RemoteWriteTransport;
  private readonly endpoint: HttpEndpoint;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly wire: RequestV2Encoder;
  private readonly negotiation: ProtocolNegotiation;
  /** What was already said once: a receiver that keeps doing it is counted, not logged every request. */
  private readonly said = new Set<'rejected' | 'more' | 'unreadable'>();

  constructor(private readonly options: RemoteWriteV2Options) {
    this.v1 = new RemoteWriteTransport(options);
    this.endpoint = new HttpEndpoint(options.url, { timeoutMs: options.timeoutMs, tls: options.tls });
    this.headers = { ...requestHeaders(options), 'content-type': CONTENT_TYPE_V2, 'x-prometheus-remote-write-version': VERSION_HEADER_V2 };
    this.wire = new RequestV2Encoder(options);
    this.negotiation = new ProtocolNegotiation({
      configured: '2.0',
      recheckMs: options.recheckMs,
      logger: options.logger,
      target: this.endpoint.displayUrl,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  get target(): string {
    return this.endpoint.displayUrl;
  }

  /** The version the next batch is encoded as. */
  get version(): '1.0' | '2.0' {
    return this.negotiation.version();
  }

  encode(entries: readonly QueuedSample[]): RemoteWriteBatch {
    if (this.negotiation.version() === '1.0') return { version: '1.0', body: this.v1.encode(entries) };
    // Copied out of snappyjs's worst-case buffer, as for 1.0 (transport.ts): a queued batch holds its own size.
    const body = Buffer.from(compress(this.wire.encodeTransient(entries)));
    return { version: '2.0', body, points: this.wire.points, entries };
  }

  async send(batch: RemoteWriteBatch, signal: AbortSignal): Promise<Outcome> {
    if (batch.version === '1.0') return this.neither(await this.v1.send(batch.body, signal));
    const res = await this.endpoint.request('POST', batch.body, this.headers, signal);
    const oneX = receiverIsOneX(res.status, res.headers);
    if (oneX === null) {
      if (hasWrittenHeader(res.headers)) this.negotiation.confirmed();
      if (res.status >= 200 && res.status < 300) return this.written(res.headers, batch.points);
      return classifyHttp(res.status, res.headers, res.body);
    }
    this.negotiation.fellBack(oneX);
    return this.neither(await this.v1.send(this.v1.encode(batch.entries), signal));
  }

  /**
   * A 1.0 request goes only to a receiver that did not take 2.0: a 415 to it too means it takes neither
   * (a URL that is not a remote-write endpoint), said in the drop's error, the same for every batch.
   */
  private neither(outcome: Outcome): Outcome {
    if (outcome.kind !== 'drop' || outcome.reason !== 'http_415') return outcome;
    return { ...outcome, error: `${outcome.error} (the receiver takes neither remote-write 2.0 nor 1.0: is ${this.target} its remote-write endpoint?)` };
  }

  async close(): Promise<void> {
    await Promise.all([this.endpoint.close(), this.v1.close()]);
  }

  /** A 2xx from a 2.0 receiver: what its Samples-Written header says was written of `points`. */
  private written(headers: IncomingHttpHeaders, points: number): Outcome {
    const written = samplesWritten(headers);
    if (written.kind === 'unreadable') {
      this.once('unreadable', { header: SAMPLES_WRITTEN, value: quoted(written.raw) }, 'the receiver answered 2xx with a Samples-Written header that is not a count: scaph takes the 2xx as everything written');
      return { kind: 'ok' };
    }
    const n = written.kind === 'count' ? written.value : 0;
    if (n > points) {
      this.once('more', { sent: points, written: n }, 'the receiver says it wrote more samples than scaph sent: taken as all of them');
      return { kind: 'ok' };
    }
    const rejected = points - n;
    if (rejected === 0) return { kind: 'ok' };
    this.once(
      'rejected',
      { sent: points, written: n, rejected },
      'the receiver acknowledged a request but wrote only part of it: the rest is counted in scaph_delivery_rejected_points_total (not sent again); its own logs say why',
    );
    return { kind: 'ok', rejected: { points: rejected, message: 'Samples-Written below the samples sent', said: true } };
  }

  private once(what: 'rejected' | 'more' | 'unreadable', fields: Record<string, unknown>, message: string): void {
    if (this.said.has(what)) return;
    this.said.add(what);
    this.options.logger.warn({ transport: this.name, url: this.target, ...fields }, message);
  }
}

/**
 * How the answer to a 2.0 request shows a 1.x receiver (the words for the log line), or null when it does
 * not. A 2xx is read as 1.x only without the Samples-Written header (a 2.0 receiver always sends it).
 */
function receiverIsOneX(status: number, headers: IncomingHttpHeaders): string | null {
  if (status === 415) return 'HTTP 415 Unsupported Media Type';
  if (status >= 200 && status < 300 && samplesWritten(headers).kind === 'absent') return `HTTP ${status} without X-Prometheus-Remote-Write-Samples-Written`;
  if (status === 400 && !hasWrittenHeader(headers)) return 'HTTP 400 without any X-Prometheus-Remote-Write-*-Written header';
  return null;
}
