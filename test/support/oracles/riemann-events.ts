import type { Metric } from '../../../src/core/metric-families.js';
import * as rules from '../../../src/exporters/riemann/events.js';
import type { RiemannEventOptions } from '../../../src/exporters/riemann/events.js';
import type { RiemannAttribute, RiemannEvent } from '../../../src/exporters/riemann/proto.js';

/**
 * Test oracle: turns metrics into event objects, the readable way, with the rules of
 * src/exporters/riemann/events.ts. The transport writes the same events as bytes directly
 * (src/exporters/riemann/wire.ts), tested byte for byte against this builder + protobufjs' encodeFrame.
 */
export class RiemannEventBuilder {
  private readonly tags: string[];

  constructor(private readonly options: RiemannEventOptions) {
    this.tags = rules.eventTags(options);
  }

  /** The events of one sample, in metric order. */
  build(metrics: readonly Metric[], timestampMs: number): RiemannEvent[] {
    const time = rules.eventTime(timestampMs);
    const timeMicros = rules.eventTimeMicros(timestampMs);
    const events: RiemannEvent[] = new Array<RiemannEvent>(metrics.length);
    for (let i = 0; i < metrics.length; i++) {
      const m = metrics[i] as Metric;
      const event: RiemannEvent = {
        time,
        timeMicros,
        host: this.options.hostname,
        service: this.service(m),
        state: 'ok',
        ...(rules.withDescription(this.options) ? { description: m.help } : {}),
        tags: this.tags,
        ttl: this.options.ttlS,
        attributes: toAttributes(m),
      };
      if (rules.goesAsSint64(m)) event.metricSint64 = m.value;
      else event.metricD = m.value;
      events[i] = event;
    }
    return events;
  }

  /** The metric name (plus its series labels' values), or `<name without scaph_>_<pid>_<exe>` for a process. */
  service(m: Metric): string {
    const prefix = m.labels['pid'] === undefined ? null : rules.processServicePrefix(m.name);
    if (prefix === null) return m.name + rules.seriesServiceSuffix(m.labels, this.options.perSocketServices === true);
    return prefix + (rules.processServiceSuffix(m.labels) as string);
  }
}

/** The labels as attributes, in label order; cmdline only where rules.carriesAttribute says so. */
function toAttributes(m: Metric): RiemannAttribute[] {
  const out: RiemannAttribute[] = [];
  for (const key in m.labels) if (rules.carriesAttribute(m.name, key)) out.push({ key, value: m.labels[key] ?? '' });
  return out;
}
