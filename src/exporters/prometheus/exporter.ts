/**
 * The Prometheus pull exporter: an HTTP server that answers /<suffix> with the latest sample.
 * `export` only stores the sample; a scrape never triggers or skips a reading. The text is rendered
 * at the first scrape after a sample and cached per (sample, format), so scrapers hitting the same
 * sample share one rendering and a sample nobody scrapes costs nothing.
 *
 * A figure is served only while it is current: from its sample until a reading fails (Exporter.missed:
 * host power could not be measured) or the sample is older than --health-max-age (sampling stalled).
 * Then /metrics answers with no figure (scaph_self_version only): Prometheus marks every power series
 * stale at its next scrape, a graph shows a gap where nothing was measured, and the figures come back
 * with the next sample. Serving the old figures with their sample's timestamp instead was not chosen:
 * Prometheus does not mark series stale that carry their own timestamps and keeps returning the last
 * one for its whole lookback window (5 minutes by default; Prometheus documentation, "Querying basics",
 * Staleness), which is the stale figure shown as current again. `/healthz` says whether samples still
 * arrive (a liveness/readiness probe), and why not.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { errorText, ScaphError } from '../../core/errors.js';
import type { Exporter, MissedStep } from '../../core/exporter.js';
import type { Logger } from '../../core/log.js';
import type { Metric } from '../../core/metric-families.js';
import type { MetricsView } from '../../core/metrics-view.js';
import type { Sample } from '../../core/sample.js';
import { contentTypeOf, negotiateFormat, renderMetrics, warnRefusedOnce, type ExpositionFormat, type RefusedListener } from './wire.js';

export interface PrometheusExporterOptions {
  /** Listen address; `::` listens on every IPv6 and (dual-stack) IPv4 address. */
  readonly address: string;
  /** TCP port; 0 picks a free one (read it back from `port` after start). */
  readonly port: number;
  /** Metrics path without slashes, e.g. "metrics". */
  readonly suffix: string;
  /** Where a scrape's metrics come from (selection, filters, scaph_self_version). */
  readonly view: MetricsView;
  readonly logger: Logger;
  /**
   * `/healthz` answers 503, and /metrics serves no figure, once the latest sample is older than this, ms.
   * Default 15 s (3 default steps); the command refuses less than 2 steps (MIN_HEALTH_MAX_AGE_STEPS).
   */
  readonly healthMaxAgeMs?: number;
  /** The exporter's step, ms: the next sample is due one step after the last (how late a stall is). Default a third of healthMaxAgeMs. */
  readonly stepMs?: number;
  /** Tells the user something they must know to use scaph (the CLI prints it on stderr), e.g. the port -p 0 got. */
  readonly announce?: (line: string) => void;
}

export const DEFAULT_HEALTH_MAX_AGE_MS = 15_000;
/**
 * --health-max-age is at least this many steps: samples arrive one step apart (a little more: the reading
 * takes time, and a step of the exporter that is not a multiple of the sensor's spaces samples up to half a
 * sensor step further), so a bound of one step would call samples that come on time a stall. At two steps a
 * 503 means a reading is more than a whole step late.
 */
export const MIN_HEALTH_MAX_AGE_STEPS = 2;
export const HEALTH_PATH = '/healthz';

/** Listening failed (port in use, address not available): tells the user which flag to change. */
export class PrometheusListenError extends ScaphError {
  constructor(address: string, port: number, cause: NodeJS.ErrnoException) {
    const hint =
      cause.code === 'EADDRINUSE'
        ? `port ${port} is already in use: stop the other program or choose another port with -p`
        : cause.code === 'EACCES'
          ? `binding port ${port} needs privileges: choose a port above 1023 with -p`
          : `choose another address with -a (e.g. -a 0.0.0.0 when IPv6 is disabled)`;
    super(`cannot listen on [${address}]:${port} (${cause.code ?? cause.message}): ${hint}`);
  }
}

const gzip = promisify(gzipCallback);

/** The renderings of one metric list: a sample's (`sample` set, its metrics made at the first scrape) or the no-figure list. */
interface RenderCache {
  readonly sample: Sample | null;
  metrics: readonly Metric[] | null;
  readonly texts: Map<ExpositionFormat, Promise<string>>;
  readonly gzipped: Map<ExpositionFormat, Promise<Buffer>>;
}

/** What one scrape is sent: the body and, when compressed, its encoding. */
interface ScrapeBody {
  readonly body: Buffer | string;
  readonly gzip: boolean;
}

export class PrometheusExporter implements Exporter {
  readonly name = 'prometheus';
  private readonly options: PrometheusExporterOptions;
  private readonly metricsPath: string;
  private server: Server | null = null;
  private cache: RenderCache | null = null;
  /** What a scrape gets while no sample is current (made at the first such scrape). */
  private noFigures: RenderCache | null = null;
  /** Monotonic time of the latest sample, ms (performance.now()). */
  private lastSampleMs: number | null = null;
  /** Readings that failed since the latest sample (Exporter.missed), and the last one's reason. */
  private failing: { steps: number; reason: string } | null = null;
  /** The episode (state and sample) last logged: said once per stall or failure, not per probe or scrape. */
  private loggedEpisode: string | null = null;
  /** Scrapes answered with metrics (for tests and logs). */
  scrapes = 0;
  /** Renderings done: at most one per (sample, format). */
  renders = 0;
  /** Series left out of renderings (one bad value never fails a scrape): said once per metric. */
  private readonly refused: RefusedListener & { readonly count: () => number };

  constructor(options: PrometheusExporterOptions) {
    this.options = options;
    this.metricsPath = `/${options.suffix}`;
    this.refused = warnRefusedOnce(options.logger, `/${options.suffix}`);
  }

  /** How many series renderings have left out so far. */
  get refusedSeries(): number {
    return this.refused.count();
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    const address = this.server?.address();
    return address && typeof address === 'object' ? (address as AddressInfo).port : this.options.port;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => reject(new PrometheusListenError(this.options.address, this.options.port, err));
      server.once('error', onError);
      server.listen(this.options.port, this.options.address, () => {
        server.removeListener('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => this.options.logger.error({ err: err.message }, 'prometheus server error'));
    this.server = server;
    this.options.logger.info({ address: this.options.address, port: this.port, path: this.metricsPath }, 'prometheus exporter listening');
    // -p 0: the system chose the port; nobody could scrape it without being told.
    if (this.options.port === 0) this.options.announce?.(`prometheus exporter listening on port ${this.port} of ${this.options.address} (chosen by the system for -p 0)`);
  }

  export(sample: Sample): void {
    // The selection advances every step, scraped or not: its hold counts steps, and a process's energy
    // goes to others for exactly the steps it was not selected. A scrape then renders with this step's selection.
    this.options.view.select(sample);
    this.cache = { sample, metrics: null, texts: new Map(), gzipped: new Map() };
    this.lastSampleMs = performance.now();
    this.failing = null;
  }

  /** A reading failed: the latest sample is no longer current, /metrics serves no figure until the next one. */
  missed(step: MissedStep): boolean {
    this.failing = { steps: (this.failing?.steps ?? 0) + 1, reason: step.reason };
    return true;
  }

  /** Sample age beyond which `/healthz` answers 503 (and /metrics serves no figure), ms. */
  get healthMaxAgeMs(): number {
    return this.options.healthMaxAgeMs ?? DEFAULT_HEALTH_MAX_AGE_MS;
  }

  private get stepMs(): number {
    return this.options.stepMs ?? this.healthMaxAgeMs / 3;
  }

  /** Whether the latest sample is current, and if not, why. */
  freshness(): Freshness {
    if (this.lastSampleMs === null) return { kind: 'none' };
    const ageMs = performance.now() - this.lastSampleMs;
    if (this.failing) return { kind: 'failing', ageMs, steps: this.failing.steps, reason: this.failing.reason };
    if (ageMs > this.healthMaxAgeMs) return { kind: 'stalled', ageMs, lateMs: ageMs - this.stepMs };
    return { kind: 'current', ageMs };
  }

  /**
   * What `/healthz` answers: 200 while samples arrive, 503 before the first one and once the latest is older
   * than --health-max-age, saying why: readings that fail (power not measurable), or a reading that has not
   * come (sampling stalled: how late it is).
   */
  health(): { readonly status: 200 | 503; readonly text: string } {
    const state = this.freshness();
    if (state.kind === 'none') return { status: 503, text: 'not ready: no sample yet' };
    const age = `last sample ${seconds(state.ageMs)} s ago`;
    const maxAgeMs = this.healthMaxAgeMs;
    const over = `more than the ${exact(maxAgeMs)} s allowed (--health-max-age); see the agent's log`;
    if (state.kind === 'current') return { status: 200, text: `ok: ${age}` };
    if (state.kind === 'failing') {
      const failed = `the last ${state.steps === 1 ? 'reading' : `${state.steps} readings`} failed (${state.reason}), /metrics serves no figure until one works`;
      if (state.ageMs <= maxAgeMs) return { status: 200, text: `ok: ${age}; ${failed}` };
      this.sayOnce(state);
      return { status: 503, text: `readings failing: ${failed}; ${age}, ${over}` };
    }
    this.sayOnce(state);
    return { status: 503, text: `stalled: the reading due ${seconds(state.lateMs)} s ago has not come (a step is ${exact(this.stepMs)} s); ${age}, ${over}` };
  }

  /** One log line per episode (a stall, or failing readings past --health-max-age) saying what is true, not one per probe or scrape. */
  private sayOnce(state: Extract<Freshness, { kind: 'failing' | 'stalled' }>): void {
    const episode = `${state.kind}@${this.lastSampleMs ?? 0}`;
    if (this.loggedEpisode === episode) return;
    this.loggedEpisode = episode;
    const maxAgeMs = this.healthMaxAgeMs;
    if (state.kind === 'stalled') {
      this.options.logger.warn(
        { lateMs: Math.round(state.lateMs), ageMs: Math.round(state.ageMs), stepMs: this.stepMs, maxAgeMs },
        `sampling has stalled: the reading due ${seconds(state.lateMs)} s ago has not come (a step is ${exact(this.stepMs)} s); /metrics serves no figure and /healthz answers 503 until one comes`,
      );
      return;
    }
    this.options.logger.warn(
      { failedReadings: state.steps, ageMs: Math.round(state.ageMs), maxAgeMs, err: state.reason },
      `readings have failed for longer than --health-max-age (${exact(maxAgeMs)} s): /healthz answers 503 until one works`,
    );
  }

  /**
   * The exposition text a scrape gets now in one format: the latest sample's while it is current, else
   * the no-figure list; null before the first sample.
   */
  async render(format: ExpositionFormat): Promise<string | null> {
    const cache = this.servedCache();
    if (!cache) return null;
    let text = cache.texts.get(format);
    if (!text) {
      cache.metrics ??= cache.sample ? this.options.view.metrics(cache.sample) : this.options.view.noSampleMetrics();
      this.renders += 1;
      text = renderMetrics(cache.metrics, format, this.refused);
      cache.texts.set(format, text);
    }
    return text;
  }

  /** The renderings a scrape gets now: the latest sample's while current, else the no-figure ones (null before any sample). */
  private servedCache(): RenderCache | null {
    const state = this.freshness();
    if (state.kind === 'none') return null;
    if (state.kind === 'current') return this.cache;
    if (state.kind === 'stalled') this.sayOnce(state);
    this.noFigures ??= { sample: null, metrics: null, texts: new Map(), gzipped: new Map() };
    return this.noFigures;
  }

  /**
   * The scrape body, gzipped when the scraper accepts it (Prometheus does): about 1 KB of text per
   * process shrinks ~10×. Compressed off the event loop (zlib's thread pool), once per (sample, format).
   */
  private async scrapeBody(format: ExpositionFormat, wantsGzip: boolean): Promise<ScrapeBody | null> {
    const cache = this.servedCache();
    const text = await this.render(format);
    if (text === null || cache === null) return null;
    if (!wantsGzip) return { body: text, gzip: false };
    let compressed = cache.gzipped.get(format);
    if (!compressed) {
      compressed = gzip(text);
      cache.gzipped.set(format, compressed);
    }
    return { body: await compressed, gzip: true };
  }

  async stop(deadlineMs: number): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), Math.max(0, deadlineMs));
    timer.unref();
    await closed;
    clearTimeout(timer);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== this.metricsPath && path !== `${this.metricsPath}/`) {
      if (path === HEALTH_PATH) this.sendHealth(res);
      else this.sendIndex(path, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('use GET\n');
      return;
    }
    const format = negotiateFormat(req.headers.accept);
    this.scrapeBody(format, acceptsGzip(req.headers['accept-encoding'])).then(
      (scrape) => {
        if (scrape === null) {
          res
            .writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '1' })
            .end('scaph has not taken its first sample yet; retry in a few seconds\n');
          return;
        }
        this.scrapes += 1;
        const headers: Record<string, string | number> = {
          'Content-Type': contentTypeOf(format),
          'Content-Length': Buffer.byteLength(scrape.body),
          Vary: 'Accept, Accept-Encoding',
        };
        if (scrape.gzip) headers['Content-Encoding'] = 'gzip';
        res.writeHead(200, headers);
        res.end(req.method === 'HEAD' ? undefined : scrape.body);
      },
      (err: unknown) => {
        this.options.logger.error({ err: errorText(err) }, 'rendering metrics failed');
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('rendering metrics failed; see scaph logs\n');
      },
    );
  }

  private sendHealth(res: ServerResponse): void {
    const { status, text } = this.health();
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(`${text}\n`);
  }

  private sendIndex(path: string, res: ServerResponse): void {
    const status = path === '/' ? 200 : 404;
    const body =
      '<!DOCTYPE html>\n<html><head><title>scaph</title></head><body>\n' +
      `<p>scaph Prometheus exporter. Metrics are at <a href="${this.metricsPath}">${this.metricsPath}</a>.</p>\n` +
      '</body></html>\n';
    res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' }).end(body);
  }
}

/** Whether the latest sample is current (`current`), or why not. Ages in ms. */
export type Freshness =
  | { readonly kind: 'none' }
  | { readonly kind: 'current'; readonly ageMs: number }
  /** Readings failed since the latest sample (`steps` of them; `reason`: the last one's). */
  | { readonly kind: 'failing'; readonly ageMs: number; readonly steps: number; readonly reason: string }
  /** No reading for longer than --health-max-age: the one due after the latest sample is `lateMs` late. */
  | { readonly kind: 'stalled'; readonly ageMs: number; readonly lateMs: number };

/** A duration as a rounded reading: 1234 ms -> "1.2". */
function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** A setting in seconds as it was given: 900 ms -> "0.9", never 0.8999999999999999. */
function exact(ms: number): string {
  return String(Number((ms / 1000).toPrecision(12)));
}

/** True when an Accept-Encoding header lists gzip (or *) with a non-zero quality. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const item of header.split(',')) {
    const [coding = '', ...params] = item.split(';');
    const name = coding.trim().toLowerCase();
    if (name !== 'gzip' && name !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}
