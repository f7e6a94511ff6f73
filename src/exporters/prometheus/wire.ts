/**
 * Renders a metric list (from the metrics view) as Prometheus text 0.0.4 or OpenMetrics 1.0.0 with
 * prom-client. Each call builds a fresh Registry from that list only, so the output holds exactly
 * this sample's series: the series of a process that has ended are simply not there any more.
 * Shared by the pull exporter (/metrics) and the Pushgateway exporter (PUT body).
 *
 * One series never fails a rendering: a series prom-client would refuse (a counter value below 0 or not
 * finite, which its Counter.inc throws on: "It is not possible to decrease a counter") is left out and
 * reported, and the others are rendered. The sensor publishes no such value; this keeps a bug or a bad
 * input from turning every scrape into an HTTP 500 (or every push into a dropped one).
 */
import type { OpenMetricsContentType, PrometheusContentType, Registry, RegistryContentType } from 'prom-client';
import { promClient } from '../../core/lazy-modules.cjs';
import type { Logger } from '../../core/log.js';
import type { Metric, MetricLabels } from '../../core/metric-families.js';
import { errorText } from '../../core/errors.js';

export type ExpositionFormat = 'text' | 'openmetrics';

/** prom-client's Registry.PROMETHEUS_CONTENT_TYPE and OPENMETRICS_CONTENT_TYPE (a test checks they agree). */
export const TEXT_CONTENT_TYPE: PrometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE: OpenMetricsContentType = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export function contentTypeOf(format: ExpositionFormat): string {
  return format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE;
}

/** One family's samples, in the order the metrics view listed them. */
interface FamilyGroup {
  readonly first: Metric;
  readonly items: Metric[];
  readonly labelNames: Set<string>;
}

function groupByFamily(metrics: readonly Metric[]): Map<string, FamilyGroup> {
  const groups = new Map<string, FamilyGroup>();
  for (const m of metrics) {
    let g = groups.get(m.name);
    if (!g) {
      g = { first: m, items: [], labelNames: new Set() };
      groups.set(m.name, g);
    }
    g.items.push(m);
    for (const label in m.labels) g.labelNames.add(label);
  }
  return groups;
}

/** A series left out of a rendering, and why. */
export interface RefusedSeries {
  readonly name: string;
  readonly labels: MetricLabels;
  readonly value: number;
  readonly reason: string;
}

export type RefusedListener = (series: RefusedSeries) => void;

/** Why a counter value cannot be rendered, or null when it can (a fresh counter is set by inc from 0). */
function counterProblem(value: number): string | null {
  if (!Number.isFinite(value)) return 'a counter value must be a finite number';
  if (value < 0) return 'a counter value cannot be negative';
  return null;
}

/**
 * A registry holding exactly these metrics. Families absent from the list are absent from the
 * registry (prom-client would otherwise print a label-less family as a 0 sample). A series prom-client
 * would refuse is left out and handed to `refused`.
 */
export function registryFromMetrics(metrics: readonly Metric[], format: ExpositionFormat, refused: RefusedListener = () => undefined): Registry<RegistryContentType> {
  // prom-client's typings declare no constructor argument: set the content type afterwards.
  const { Counter, Gauge, Registry: PromRegistry } = promClient();
  const registry = new PromRegistry<RegistryContentType>();
  registry.setContentType(format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE);
  for (const [name, g] of groupByFamily(metrics)) {
    const config = { name, help: g.first.help, labelNames: [...g.labelNames], registers: [registry] };
    const refuse = (m: Metric, reason: string): void => refused({ name, labels: m.labels, value: m.value, reason });
    if (g.first.type === 'counter') {
      const counter = new Counter(config);
      for (const m of g.items) {
        const problem = counterProblem(m.value);
        // A fresh counter per render: inc from 0 sets the cumulative value the sensor computed.
        if (problem === null) addSeries(() => counter.inc(m.labels, m.value), m, refuse);
        else refuse(m, problem);
      }
    } else {
      const gauge = new Gauge(config);
      for (const m of g.items) addSeries(() => gauge.set(m.labels, m.value), m, refuse);
    }
  }
  return registry;
}

/** Adds one series; whatever prom-client throws leaves that series out, not the rendering. */
function addSeries(add: () => void, m: Metric, refuse: (m: Metric, reason: string) => void): void {
  try {
    add();
  } catch (err) {
    refuse(m, errorText(err));
  }
}

/**
 * The exposition text of these metrics. Text 0.0.4 ends with a newline and carries no timestamps
 * (what the Pushgateway requires); OpenMetrics ends with `# EOF` and suffixes counters with `_total`.
 */
export function renderMetrics(metrics: readonly Metric[], format: ExpositionFormat, refused?: RefusedListener): Promise<string> {
  return registryFromMetrics(metrics, format, refused).metrics();
}

/**
 * A RefusedListener that warns once per metric family (a bad value tends to repeat every step) and counts
 * every series left out in `count`.
 */
export function warnRefusedOnce(logger: Logger, where: string): RefusedListener & { readonly count: () => number } {
  const said = new Set<string>();
  let count = 0;
  const listener = (s: RefusedSeries): void => {
    count += 1;
    if (said.has(s.name)) return;
    said.add(s.name);
    logger.warn(
      { metric: s.name, labels: s.labels, value: String(s.value), reason: s.reason },
      `a series could not be encoded and is left out of ${where}; every other series is sent (said once per metric)`,
    );
  };
  return Object.assign(listener, { count: () => count });
}

/**
 * Picks the format from an HTTP Accept header: text 0.0.4 whenever the scraper accepts it (Prometheus 2
 * and 3 do, after OpenMetrics), OpenMetrics only for a scraper that accepts nothing else. OpenMetrics
 * requires a counter's samples to end in `_total`: a Prometheus scraping it stores
 * `scaph_host_energy_microjoules` as `scaph_host_energy_microjoules_total`, a name no Scaphandre
 * dashboard or alert queries. Text 0.0.4 keeps Scaphandre's names.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return 'text';
  let openMetricsQ = -1;
  let textQ = -1;
  for (const range of accept.split(',')) {
    const params = range.split(';');
    const type = (params[0] ?? '').trim().toLowerCase();
    const q = qualityOf(params);
    if (type === 'application/openmetrics-text') openMetricsQ = Math.max(openMetricsQ, q);
    else if (type === 'text/plain' || type === '*/*' || type === 'text/*') textQ = Math.max(textQ, q);
  }
  return openMetricsQ > 0 && textQ <= 0 ? 'openmetrics' : 'text';
}

function qualityOf(params: readonly string[]): number {
  for (let i = 1; i < params.length; i++) {
    const p = (params[i] as string).trim();
    if (p.startsWith('q=')) {
      const q = Number(p.slice(2));
      return Number.isFinite(q) ? q : 1;
    }
  }
  return 1;
}
