/**
 * The Warp 10 transport: one `POST /api/v0/update` per step (a backlog goes out several steps per
 * request, oldest first) in GTS input format, gzipped (`Content-Type: application/gzip`, the only
 * compression Warp 10 decodes) above a size threshold. Everything generic — queue, order, retry with
 * backoff on network errors / 5xx / 429, counters — is the delivery core's; this file encodes, sends and
 * classifies. Timestamps are the samples' own, so a replayed backlog lands where it belongs (Warp 10
 * accepts backfill, and rewriting a point at the same timestamp overwrites it: retries are safe).
 */
import { gzipSync } from 'node:zlib';
import type { Logger } from '../../core/log.js';
import { classifyHttp, OK, type Outcome } from '../../delivery/outcome.js';
import type { QueuedSample, Transport } from '../../delivery/transport.js';
import { HttpEndpoint } from '../../net/http.js';
import { AsciiBuilder } from './ascii-builder.js';
import { Warp10Formatter } from './wire.js';

/**
 * zlib level 1: on a 500-process step (~400 KB of GTS lines) it costs 0.5 ms against 3 ms at the default
 * level 6, for a body 3 % larger (the lines repeat a lot, so even level 1 shrinks them ~27x). Done in
 * encode, synchronously, straight from the reused line buffer: the batch then holds ~15 KB instead of a
 * 400 KB copy of the lines made every step (the same CPU, on the main thread instead of libuv's pool).
 */
const GZIP_OPTIONS = { level: 1 } as const;

export interface Warp10TransportOptions {
  /** Base URL of the Warp 10 endpoint, e.g. http://localhost:8080 (the /api/v0/update path is added). */
  readonly baseUrl: string;
  /** Never logged. */
  readonly writeToken: string;
  /** Value of the `host` label on every series. */
  readonly host: string;
  /** --label k=v: added to every series. */
  readonly extraLabels?: Readonly<Record<string, string>>;
  /** Bodies larger than this (bytes, before compression) are gzipped. Default 16 KiB; 0 = always. */
  readonly gzipThresholdBytes?: number;
  readonly timeoutMs?: number;
  readonly userAgent?: string;
  readonly logger: Logger;
}

export interface Warp10Batch {
  /** GTS input format lines, `\n`-terminated, ASCII (everything is percent-encoded); gzipped if `gzipped`. */
  readonly body: Buffer;
  readonly gzipped: boolean;
  readonly lines: number;
}

export const WARP10_DEFAULTS = { gzipThresholdBytes: 16 * 1024, timeoutMs: 10_000 } as const;

export const TOKEN_REFUSED_MESSAGE = (status: number): string =>
  `the Warp 10 server refused the write token (HTTP ${status}): check -t / --write-token-file / SCAPH_WARP10_WRITE_TOKEN`;

/** Builds the update URL from a scheme, host and port (IPv6 literals bracketed). */
export function warp10BaseUrl(scheme: string, host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${scheme}://${h}:${port}`;
}

export class Warp10Transport implements Transport<Warp10Batch> {
  readonly name = 'warp10';
  private readonly formatter: Warp10Formatter;
  /** Reused across encodes; each batch gets its own copy of the bytes. */
  private readonly builder = new AsciiBuilder();
  private readonly endpoint: HttpEndpoint;
  private readonly gzipThresholdBytes: number;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly gzipHeaders: Readonly<Record<string, string>>;
  /** A refused token is logged once per refusal period (until a write succeeds again). */
  private tokenRefusalLogged = false;

  constructor(private readonly options: Warp10TransportOptions) {
    this.formatter = new Warp10Formatter({ host: options.host, extraLabels: options.extraLabels ?? {} });
    const timeoutMs = options.timeoutMs ?? WARP10_DEFAULTS.timeoutMs;
    this.endpoint = new HttpEndpoint(new URL('/api/v0/update', options.baseUrl), { timeoutMs });
    this.gzipThresholdBytes = options.gzipThresholdBytes ?? WARP10_DEFAULTS.gzipThresholdBytes;
    const common = { 'X-Warp10-Token': options.writeToken, 'User-Agent': options.userAgent ?? 'scaph' };
    this.headers = { ...common, 'Content-Type': 'text/plain; charset=utf-8' };
    this.gzipHeaders = { ...common, 'Content-Type': 'application/gzip' };
  }

  /** Values Warp 10 cannot store (NaN, ±Infinity, LONG overflow), left out of the bodies so far. */
  get skippedValues(): number {
    return this.formatter.skippedValues;
  }

  get target(): string {
    return this.endpoint.displayUrl;
  }

  encode(entries: readonly QueuedSample[]): Warp10Batch {
    const out = this.builder;
    out.reset();
    let lines = 0;
    for (const e of entries) lines += this.formatter.formatInto(out, e.metrics, e.timestampMs);
    const gzipped = out.size > this.gzipThresholdBytes;
    return { body: gzipped ? gzipSync(out.view(), GZIP_OPTIONS) : out.take(), gzipped, lines };
  }

  async send(batch: Warp10Batch, signal: AbortSignal): Promise<Outcome> {
    if (batch.lines === 0) return OK;
    const res = await this.endpoint.request('POST', batch.body, batch.gzipped ? this.gzipHeaders : this.headers, signal);
    if (res.status === 200) {
      this.tokenRefusalLogged = false;
      return OK;
    }
    if (res.status === 401 || res.status === 403) return this.tokenRefused(res.status);
    return classifyHttp(res.status, res.headers, res.body);
  }

  async close(): Promise<void> {
    await this.endpoint.close();
  }

  /** Not retried (the token will not get better by itself); said plainly, once, without the token. */
  private tokenRefused(status: number): Outcome {
    const message = TOKEN_REFUSED_MESSAGE(status);
    if (!this.tokenRefusalLogged) {
      this.tokenRefusalLogged = true;
      this.options.logger.error({ transport: this.name, status, url: this.endpoint.url.href }, message);
    }
    return { kind: 'drop', reason: `http_${status}`, error: `HTTP ${status}: write token refused` };
  }
}
