import type { Metric } from '../core/metrics.js';

/** Identity of a series: name and labels, in the order the metrics view writes them. */
export function seriesKey(m: Metric): string {
  let key = m.name;
  const labels = m.labels;
  for (const k in labels) key += `\u0000${k}\u0001${labels[k]}`;
  return key;
}

/**
 * Remembers the series of the previous sample and tells which of them are absent from the current one
 * (a process ended, a domain disappeared): the series that need a staleness marker.
 */
export class VanishedSeriesTracker {
  private previous = new Map<string, Metric>();

  /** Records `metrics` as the current series; returns the previous sample's series missing from it. */
  next(metrics: readonly Metric[]): Metric[] {
    const current = new Map<string, Metric>();
    for (const m of metrics) current.set(seriesKey(m), m);
    const vanished: Metric[] = [];
    for (const [key, m] of this.previous) if (!current.has(key)) vanished.push(m);
    this.previous = current;
    return vanished;
  }
}
