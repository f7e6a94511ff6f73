/**
 * Pushgateway transport: PUT the latest sample, as text format 0.0.4 (final newline, no timestamps),
 * to the group /<suffix>/job/<job>/instance/<hostname>. PUT replaces the whole group, so the series of
 * processes that ended disappear with the next push. Latest wins: the delivery core runs it with a
 * queue of one sample (an older sample is worthless once a newer one exists) and retries it with the
 * shared HTTP policy. The group can be deleted on a clean stop (--delete-on-exit).
 */
import type { Registry, RegistryContentType } from 'prom-client';
import type { Logger } from '../../core/log.js';
import type { Metric } from '../../core/metric-families.js';
import type { MetricsView } from '../../core/metrics-view.js';
import type { Sample } from '../../core/sample.js';
import { classifyHttp, classifyNetworkError, type Outcome } from '../../delivery/outcome.js';
import { createPushExporter, type PushExporter, type PushExporterOptions, type SettleListener } from '../../delivery/push-exporter.js';
import type { QueuedSample, Transport } from '../../delivery/transport.js';
import { HttpEndpoint } from '../../net/http.js';
import type { TlsOptions } from '../../net/tls.js';
import { registryFromMetrics, TEXT_CONTENT_TYPE, warnRefusedOnce, type RefusedListener } from '../prometheus/wire.js';

export interface PushgatewayOptions {
  /** Base URL, e.g. http://localhost:9091 */
  readonly baseUrl: string;
  /** Path prefix without slashes (`--suffix`, default "metrics"). */
  readonly suffix: string;
  readonly job: string;
  /** The instance label: the host name. */
  readonly instance: string;
  readonly version: string;
  readonly timeoutMs: number;
  readonly tls?: TlsOptions | undefined;
}

/**
 * One grouping-key element of a Pushgateway URL. A value with `/` cannot be a path segment and an
 * empty one would vanish: both go as `<label>@base64/<url-safe base64>` (`=` for empty), as the
 * Pushgateway API requires.
 */
export function groupingKeySegment(label: string, value: string): string {
  if (value === '') return `${label}@base64/=`;
  if (value.includes('/')) return `${label}@base64/${Buffer.from(value, 'utf8').toString('base64url')}`;
  return `${label}/${encodeURIComponent(value)}`;
}

export function groupUrl(o: Pick<PushgatewayOptions, 'baseUrl' | 'suffix' | 'job' | 'instance'>): URL {
  const base = o.baseUrl.replace(/\/+$/, '');
  return new URL(`${base}/${o.suffix}/${groupingKeySegment('job', o.job)}/${groupingKeySegment('instance', o.instance)}`);
}

/**
 * The metrics one push carries: for each family, those of the newest entry that has it. The queue
 * holds one sample, plus the delivery core's self-metrics entry; should it hold more, a newer
 * sample's family replaces an older one's entirely, so no stale process series sneaks back in.
 */
export function latestMetrics(entries: readonly QueuedSample[]): Metric[] {
  const byFamily = new Map<string, readonly Metric[]>();
  for (const entry of entries) {
    const families = new Map<string, Metric[]>();
    for (const m of entry.metrics) {
      let list = families.get(m.name);
      if (!list) families.set(m.name, (list = []));
      list.push(m);
    }
    for (const [name, list] of families) byFamily.set(name, list);
  }
  return [...byFamily.values()].flat();
}

export class PushgatewayTransport implements Transport<Registry<RegistryContentType>> {
  readonly name = 'pushgateway';
  readonly endpoint: HttpEndpoint;
  private readonly headers: Readonly<Record<string, string>>;

  /** `refused` hears of each series the PUT body leaves out (a value no exposition can carry). */
  constructor(
    private readonly options: PushgatewayOptions,
    private readonly refused?: RefusedListener,
  ) {
    this.endpoint = new HttpEndpoint(groupUrl(options), { timeoutMs: options.timeoutMs, tls: options.tls });
    this.headers = { 'content-type': TEXT_CONTENT_TYPE, 'user-agent': `scaph/${options.version}` };
  }

  get target(): string {
    return this.endpoint.displayUrl;
  }

  /** Builds the registry; a series prom-client refuses is left out (and reported), never the whole push. */
  encode(entries: readonly QueuedSample[]): Registry<RegistryContentType> {
    return registryFromMetrics(latestMetrics(entries), 'text', this.refused);
  }

  async send(batch: Registry<RegistryContentType>, signal: AbortSignal): Promise<Outcome> {
    const body = await batch.metrics();
    const res = await this.endpoint.request('PUT', body, this.headers, signal);
    return classifyHttp(res.status, res.headers, res.body);
  }

  /** Deletes the group (202 from the Pushgateway). */
  async deleteGroup(signal: AbortSignal): Promise<Outcome> {
    try {
      const res = await this.endpoint.request('DELETE', null, { 'user-agent': this.headers['user-agent'] ?? 'scaph' }, signal);
      return classifyHttp(res.status, res.headers, res.body);
    } catch (err) {
      return classifyNetworkError(err);
    }
  }
}

export interface PushgatewayExporterOptions {
  readonly pushgateway: PushgatewayOptions;
  readonly deleteOnExit: boolean;
  readonly logger: Logger;
  readonly view?: MetricsView;
  /** Delivery tuning (the backoff from --min-backoff/--max-backoff; tests); the queue is always one sample. */
  readonly delivery?: Omit<PushExporterOptions, 'logger' | 'view' | 'maxQueueSamples'>;
}

/**
 * The Pushgateway exporter: the transport on the delivery core, plus the group deletion on stop. It is a
 * PushExporter itself (counters, spool hook), so a disk spool can back it like any push transport.
 */
export class PushgatewayExporter implements PushExporter {
  readonly name = 'pushgateway';
  readonly transport: PushgatewayTransport;
  readonly push: PushExporter;
  private readonly options: PushgatewayExporterOptions;

  constructor(options: PushgatewayExporterOptions) {
    this.options = options;
    this.transport = new PushgatewayTransport(options.pushgateway, warnRefusedOnce(options.logger, 'the push'));
    this.push = createPushExporter(this.transport, {
      ...options.delivery,
      logger: options.logger,
      ...(options.view ? { view: options.view } : {}),
      maxQueueSamples: 1,
      maxSamplesPerSend: 1,
    });
  }

  get stats(): PushExporter['stats'] {
    return this.push.stats;
  }

  idle(): Promise<void> {
    return this.push.idle();
  }

  attachSpool(listener: SettleListener): void {
    this.push.attachSpool(listener);
  }

  start(): Promise<void> {
    return this.push.start();
  }

  export(sample: Sample): void {
    this.push.export(sample);
  }

  /** Flushes the last push; with --delete-on-exit, then deletes the group. Half the deadline each. */
  async stop(deadlineMs: number): Promise<void> {
    const started = Date.now();
    await this.push.stop(this.options.deleteOnExit ? deadlineMs / 2 : deadlineMs);
    if (this.options.deleteOnExit) await this.deleteGroup(Math.max(1000, deadlineMs - (Date.now() - started)));
    await this.transport.endpoint.close();
  }

  private async deleteGroup(timeoutMs: number): Promise<void> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const outcome = await this.transport.deleteGroup(controller.signal);
    clearTimeout(timer);
    const url = this.transport.endpoint.url.href;
    if (outcome.kind === 'ok') this.options.logger.info({ url }, 'pushgateway group deleted');
    else this.options.logger.warn({ url, err: outcome.error }, 'could not delete the pushgateway group; delete it by hand (curl -X DELETE <url>)');
  }
}
