import type { Metric, MetricLabels } from '../core/metric-families.js';

/**
 * The series keys of one labels object, per metric name. The metrics view hands out the same labels
 * object for a process every step, so its keys are built once and their hashes stay cached.
 */
interface LabelKeys {
  readonly suffix: string;
  readonly byName: Map<string, string>;
}

const labelKeys = new WeakMap<MetricLabels, LabelKeys>();

function keysOf(labels: MetricLabels): LabelKeys {
  let keys = labelKeys.get(labels);
  if (!keys) {
    let suffix = '';
    for (const k in labels) suffix += `\u0000${k}\u0001${labels[k]}`;
    keys = { suffix, byName: new Map() };
    // Only frozen labels can be cached by identity: a mutable object could change under the key.
    if (Object.isFrozen(labels)) labelKeys.set(labels, keys);
  }
  return keys;
}

/** Identity of a series: name and labels, in the order the metrics view writes them. */
export function seriesKey(m: Metric): string {
  const keys = keysOf(m.labels);
  let key = keys.byName.get(m.name);
  if (key === undefined) {
    key = m.name + keys.suffix;
    keys.byName.set(m.name, key);
  }
  return key;
}

interface SeenSeries {
  readonly key: string;
  /** The series' first metric: it names the series (name, labels); its value is not the latest one. */
  readonly metric: Metric;
  generation: number;
  /** Left the tracker (it vanished): a labels object's record of it is stale. */
  gone: boolean;
}

/**
 * Remembers the series of the previous sample and tells which of them are absent from the current one
 * (a process ended, a domain disappeared): the series that need a staleness marker. One map kept across
 * samples (a series seen again is updated in place), so a steady set of series allocates nothing.
 * It keeps each series' first metric rather than its latest: holding every step's metrics until the next
 * step made V8 promote them (2,500 objects a step on 500 processes) and fill the old space with garbage.
 *
 * A frozen labels object (the metrics view hands out the same one for a process every step) keeps its
 * series' records by metric name, so a steady series is found without building or hashing its key.
 */
export class VanishedSeriesTracker {
  private readonly series = new Map<string, SeenSeries>();
  private readonly byLabels = new WeakMap<MetricLabels, Map<string, SeenSeries>>();
  private generation = 0;

  /** Records `metrics` as the current series; returns the previous sample's series missing from it. */
  next(metrics: readonly Metric[]): Metric[] {
    const generation = ++this.generation;
    let labels: MetricLabels | null = null;
    let records: Map<string, SeenSeries> | null = null;
    for (const m of metrics) {
      // A process's metrics come in a row with one labels object: its records are looked up once.
      if (m.labels !== labels) {
        labels = m.labels;
        records = this.recordsOf(labels);
      }
      let seen = records?.get(m.name);
      if (seen === undefined || seen.gone) {
        seen = this.track(m);
        records?.set(m.name, seen);
      }
      seen.generation = generation;
    }
    const vanished: Metric[] = [];
    // values(), not entries(): an entries() loop allocates a [key, value] pair per series, every sample.
    for (const seen of this.series.values()) {
      if (seen.generation === generation) continue;
      vanished.push(seen.metric);
      seen.gone = true;
      this.series.delete(seen.key);
    }
    return vanished;
  }

  /** The records of a frozen labels object (null for a mutable one: it could change under them). */
  private recordsOf(labels: MetricLabels): Map<string, SeenSeries> | null {
    if (!Object.isFrozen(labels)) return null;
    let records = this.byLabels.get(labels);
    if (records === undefined) {
      records = new Map();
      this.byLabels.set(labels, records);
    }
    return records;
  }

  /** The series of `m` by its key (equal labels in another object are the same series), added if new. */
  private track(m: Metric): SeenSeries {
    const key = seriesKey(m);
    let seen = this.series.get(key);
    if (seen === undefined) {
      seen = { key, metric: m, generation: 0, gone: false };
      this.series.set(key, seen);
    }
    return seen;
  }
}
