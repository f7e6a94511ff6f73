/**
 * A remote-write receiver on 127.0.0.1 (free port) that follows the 2.0 specification (prometheus/docs
 * docs/specs/prw/remote_write_spec_2_0.md, 2.0-rc.4) to the letter, and can be told to behave as the
 * receivers a 2.0 sender meets:
 * - `2.0` (default): takes `io.prometheus.write.v2.Request` and 1.0's `prometheus.WriteRequest`, told apart by
 *   the Content-Type, and answers a 2.0 request with 204 and the X-Prometheus-Remote-Write-*-Written headers;
 * - `415`: a 1.x receiver that checks the content type: 415 to 2.0, 1.0 stored;
 * - `1.x-blind`: a 1.x receiver that does not (Prometheus 2.42, VictoriaMetrics 1.79): every body decoded as
 *   1.0, 204 without Written headers, so a 2.0 body stores nothing;
 * - `415-all`: refuses everything with 415.
 * `answer` may replace the status or headers of any answer (lying receivers).
 *
 * Every request is checked: POST, `Content-Encoding: snappy`, a Content-Type it knows (else 415), for 2.0
 * `X-Prometheus-Remote-Write-Version: 2.0.0` and a User-Agent, a snappy *block* body (the framed format's
 * stream identifier is refused), and for 2.0 the symbol table (`symbols[0]` = "", no string twice),
 * references in range and in pairs, label names sorted and unique, no empty name or value, samples in
 * order (oracles/remote-write-v2.ts). A request that fails gets 400 with the reasons, which are also kept
 * in `violations`: a test asserts there are none.
 */
import type { IncomingHttpHeaders } from 'node:http';
import snappy from 'snappy';
import { decodeWriteRequest } from '../oracles/remote-write.js';
import { RestartableHttpServer } from './restartable-http.js';
import { CONTENT_TYPE_V2, decodeRequestV2, requestV2Problems, resolveRequestV2, type SampleV2, type SeriesV2 } from '../oracles/remote-write-v2.js';

export type ReceiverMode = '2.0' | '415' | '1.x-blind' | '415-all';

/** What a request was, as the receiver read it. */
export interface ReceivedRequest {
  readonly version: '1.0' | '2.0' | 'unknown';
  readonly headers: IncomingHttpHeaders;
  /** Samples it held (0 for a body that did not decode, or a 2.0 body read as 1.0). */
  readonly points: number;
  readonly status: number;
  readonly answerHeaders: Readonly<Record<string, string>>;
  readonly atMs: number;
}

export interface ReceiverAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** One stored series: its labels by name, metadata (2.0 only) and every sample in arrival order. */
export interface StoredSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly metadata: SeriesV2['metadata'] | null;
  readonly samples: SampleV2[];
}

const STREAM_IDENTIFIER = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
const V1_TYPES = new Set(['application/x-protobuf', 'application/x-protobuf;proto=prometheus.WriteRequest']);

export class RemoteWriteV2Receiver {
  mode: ReceiverMode;
  /** Replaces the answer the mode would give (status and/or headers), per request. */
  answer: ((request: Omit<ReceivedRequest, 'status' | 'answerHeaders' | 'atMs'>, planned: ReceiverAnswer) => Partial<ReceiverAnswer> | undefined) | null = null;
  readonly requests: ReceivedRequest[] = [];
  /** What the checks found wrong, one line each, with the request's index. */
  readonly violations: string[] = [];
  /** Series by their sorted labels. */
  readonly series = new Map<string, StoredSeries>();
  private readonly http = new RestartableHttpServer((req, res, body) => {
    const { status, headers } = this.handle(req.method ?? '', req.headers, body);
    const text = status >= 400 ? this.violationsOf(this.requests.length - 1).join('; ') || `HTTP ${status}` : '';
    res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(text);
  });

  private constructor(mode: ReceiverMode) {
    this.mode = mode;
  }

  static async start(mode: ReceiverMode = '2.0'): Promise<RemoteWriteV2Receiver> {
    const r = new RemoteWriteV2Receiver(mode);
    await r.http.listen();
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${this.http.port}/api/v1/write`;
  }

  /** Stored series of metric `name` whose labels include `match`. */
  find(name: string, match: Readonly<Record<string, string>> = {}): StoredSeries[] {
    return [...this.series.values()].filter((s) => s.labels['__name__'] === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  }

  /** Timestamps of every stored sample of metric `name` (one sample stored twice is there twice). */
  timestamps(name: string, match: Readonly<Record<string, string>> = {}): number[] {
    return this.find(name, match).flatMap((s) => s.samples.map((p) => p.timestamp));
  }

  async stop(): Promise<void> {
    await this.http.stop();
  }

  /** Listens again on the same port (after stop: an outage). */
  async restart(): Promise<void> {
    await this.http.restart();
  }

  private violationsOf(index: number): string[] {
    const prefix = `request ${index}: `;
    return this.violations.filter((v) => v.startsWith(prefix)).map((v) => v.slice(prefix.length));
  }

  private handle(method: string, headers: IncomingHttpHeaders, body: Buffer): ReceiverAnswer {
    const index = this.requests.length;
    const problems: string[] = [];
    const type = headers['content-type'] ?? '';
    const version = type === CONTENT_TYPE_V2 ? '2.0' : V1_TYPES.has(type) ? '1.0' : 'unknown';
    if (method !== 'POST') problems.push(`method ${method}, not POST`);
    if (headers['content-encoding'] !== 'snappy') problems.push(`Content-Encoding ${JSON.stringify(headers['content-encoding'])}, not snappy`);
    if (version === 'unknown') problems.push(`Content-Type ${JSON.stringify(type)} is neither 1.0's nor ${CONTENT_TYPE_V2}`);
    if (version === '2.0' && headers['x-prometheus-remote-write-version'] !== '2.0.0') problems.push(`X-Prometheus-Remote-Write-Version ${JSON.stringify(headers['x-prometheus-remote-write-version'])}, not 2.0.0`);
    if (!headers['user-agent']) problems.push('no User-Agent');
    if (body.subarray(0, STREAM_IDENTIFIER.length).equals(STREAM_IDENTIFIER)) problems.push('snappy framed (stream) format: the specification asks for the block format');

    let planned: ReceiverAnswer;
    let points = 0;
    let decoded: ReturnType<RemoteWriteV2Receiver['decode']> = null;
    const refused = (status: number): ReceiverAnswer => ({ status, headers: {} });
    if (this.mode === '415-all' || (this.mode === '415' && version === '2.0')) {
      planned = refused(415);
    } else if (problems.some((p) => p.startsWith('Content-Type') || p.startsWith('Content-Encoding'))) {
      planned = refused(this.mode === '1.x-blind' ? 400 : 415);
    } else {
      decoded = this.decode(this.mode === '1.x-blind' ? '1.0' : version, body, problems);
      points = decoded === null ? 0 : decoded.reduce((n, s) => n + s.samples.length, 0);
      if (problems.length > 0 || decoded === null) planned = refused(400);
      else {
        const written = { 'x-prometheus-remote-write-samples-written': String(points), 'x-prometheus-remote-write-histograms-written': '0', 'x-prometheus-remote-write-exemplars-written': '0' };
        planned = { status: 204, headers: this.mode === '2.0' && version === '2.0' ? written : {} };
      }
    }
    for (const p of problems) this.violations.push(`request ${index}: ${p}`);
    const override = this.answer?.({ version, headers, points }, planned);
    const answer = { status: override?.status ?? planned.status, headers: override?.headers ?? planned.headers };
    // What it answers 2xx to is what it keeps: a request told to fail stores nothing.
    if (decoded !== null && answer.status >= 200 && answer.status < 300) for (const s of decoded) this.store(s);
    this.requests.push({ version, headers, points, status: answer.status, answerHeaders: answer.headers, atMs: Date.now() });
    return answer;
  }

  /** The series of a body read as `as`, or null (with the reasons in `problems`) when it does not decode. */
  private decode(as: '1.0' | '2.0' | 'unknown', body: Buffer, problems: string[]): Array<Omit<StoredSeries, 'labels'> & { labels: SeriesV2['labels'] }> | null {
    let raw: Buffer;
    try {
      raw = snappy.uncompressSync(body) as Buffer;
    } catch (err) {
      problems.push(`not a snappy block: ${(err as Error).message}`);
      return null;
    }
    try {
      if (as === '2.0') {
        const request = decodeRequestV2(raw);
        const found = requestV2Problems(request);
        problems.push(...found);
        return found.length > 0 ? null : resolveRequestV2(request);
      }
      return decodeWriteRequest(raw).timeseries.map((ts) => ({
        labels: ts.labels,
        metadata: null,
        samples: ts.samples.map((p) => ({ value: p.value, timestamp: Number(p.timestamp), startTimestamp: 0 })),
      }));
    } catch (err) {
      problems.push(`not a ${as === '2.0' ? 'io.prometheus.write.v2.Request' : 'prometheus.WriteRequest'}: ${(err as Error).message}`);
      return null;
    }
  }

  private store(s: { readonly labels: SeriesV2['labels']; readonly metadata: SeriesV2['metadata'] | null; readonly samples: readonly SampleV2[] }): void {
    const key = s.labels.map((l) => `${l.name}=${l.value}`).join(',');
    let stored = this.series.get(key);
    if (!stored) {
      stored = { labels: Object.fromEntries(s.labels.map((l) => [l.name, l.value])), metadata: s.metadata, samples: [] };
      this.series.set(key, stored);
    }
    stored.samples.push(...s.samples);
  }
}
