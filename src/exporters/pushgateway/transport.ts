/**
 * Pushgateway transport: PUT the latest sample, as text format 0.0.4 (final newline, no timestamps),
 * to the group /<suffix>/job/<job>/instance/<hostname>. PUT replaces the whole group, so the series of
 * processes that ended disappear with the next push. Latest wins: the delivery core runs it with a
 * queue of one sample (PUSHGATEWAY_DELIVERY: an older sample is worthless once a newer one exists) and
 * retries it with the shared HTTP policy. The group can be deleted on a clean stop (--delete-on-exit:
 * close, within its share of the stop deadline).
 *
 * The Pushgateway serves the group it was last given, without timestamps, until replaced: Prometheus reads
 * it as current however old it is. So a step without a sample (host power could not be measured) pushes a
 * group without figures (the delivery counters only): their series leave the Pushgateway, Prometheus marks
 * them stale at its next scrape, and the next sample brings them back (PUSHGATEWAY_DELIVERY's
 * withdrawOnMissedStep).
 */
import type { Registry, RegistryContentType } from 'prom-client';
import type { Logger } from '../../core/log.js';
import type { Metric } from '../../core/metric-families.js';
import { classifyHttp, classifyNetworkError, type Outcome } from '../../delivery/outcome.js';
import type { DeliveryTuning } from '../../delivery/push-exporter.js';
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
  /** Delete the group when the exporter stops (--delete-on-exit). */
  readonly deleteOnExit?: boolean;
}

/**
 * Latest wins: a queue of one sample, one sample per push (a newer sample evicts the queued one, and a
 * retry always sends the newest); a step without a sample queues a push without figures.
 */
export const PUSHGATEWAY_DELIVERY: DeliveryTuning = { maxQueueSamples: 1, maxSamplesPerSend: 1, withdrawOnMissedStep: true };

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

  /** `refused` hears of each series the PUT body leaves out (a value no exposition can carry): by default said once each on `logger`. */
  constructor(
    private readonly options: PushgatewayOptions,
    private readonly logger: Logger,
    private readonly refused: RefusedListener = warnRefusedOnce(logger, 'the push'),
  ) {
    this.endpoint = new HttpEndpoint(groupUrl(options), { timeoutMs: options.timeoutMs, tls: options.tls });
    this.headers = { 'content-type': TEXT_CONTENT_TYPE, 'user-agent': `scaph/${options.version}` };
  }

  /** With --delete-on-exit the flush gets half the stop deadline and the group deletion the rest. */
  get closeShare(): number {
    return this.options.deleteOnExit === true ? 0.5 : 0;
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

  /** After the last push: with --delete-on-exit, deletes the group (given at least a second), then closes the connections. */
  async close(deadlineMs: number): Promise<void> {
    if (this.options.deleteOnExit === true) await this.deleteGroupWithin(Math.max(1000, deadlineMs));
    await this.endpoint.close();
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

  private async deleteGroupWithin(timeoutMs: number): Promise<void> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const outcome = await this.deleteGroup(controller.signal);
    clearTimeout(timer);
    const url = this.endpoint.url.href;
    if (outcome.kind === 'ok') this.logger.info({ url }, 'pushgateway group deleted');
    else this.logger.warn({ url, err: outcome.error }, 'could not delete the pushgateway group; delete it by hand (curl -X DELETE <url>)');
  }
}
