import { labelsKey } from '../core/labels-key.js';
import { metricLike, type Metric, type MetricLabels } from '../core/metric-families.js';

/** Identity of a series: name and labels, in the order the metrics view writes them. */
export function seriesKey(m: Metric): string {
  return `${m.name}\u0000${labelsKey(m.labels)}`;
}

/** The series of one label content: their names, and the sample each was last seen in. */
interface TrackedLabels {
  readonly key: string;
  /** The labels object first seen with this content: vanished series are named with it. */
  readonly labels: MetricLabels;
  /** The names of its series: a list shared by every record with the same names (NameLists). */
  names: readonly string[];
  /** Per name (same index), the generation of the last sample that had the series. */
  readonly seen: number[];
  /** Left the tracker (no series left): a labels object's record of it is stale. */
  gone: boolean;
}

/**
 * Remembers the series of the previous sample and tells which of them are absent from the current one
 * (a process ended, a domain disappeared): the series that need a staleness marker. Series are kept per
 * label content, each with the names of its series, so a steady set of series allocates nothing and a
 * process costs one small record, not five series records holding five metrics and five key strings (at
 * 10,000 processes the tracker held 12 MB that way; bench, scale section). A frozen labels object (the
 * metrics view hands out the same one for a process every step) finds its record without a key.
 *
 * A vanished series comes back as a metric of its name and labels (with its family's help, type and kind,
 * from the first metric of that name; its value is NaN, not meaningful): what the encoders read.
 */
export class VanishedSeriesTracker {
  private readonly byKey = new Map<string, TrackedLabels>();
  private readonly byLabels = new WeakMap<MetricLabels, TrackedLabels>();
  /** The first metric of each name: the help, type and kind of its vanished series. */
  private readonly families = new Map<string, Metric>();
  private readonly nameLists = new NameLists();
  private generation = 0;

  /** Records `metrics` as the current series; returns the previous sample's series missing from it. */
  next(metrics: readonly Metric[]): Metric[] {
    const generation = ++this.generation;
    let labels: MetricLabels | null = null;
    let tracked: TrackedLabels | null = null;
    // Where the previous metric's name was in its record: a process's metrics come in the same order
    // every step, so the next name is usually the next one, and found without a search.
    let at = -1;
    for (const m of metrics) {
      // A process's metrics come in a row with one labels object: its record is looked up once.
      if (m.labels !== labels || tracked === null) {
        labels = m.labels;
        tracked = this.trackedOf(labels);
        at = -1;
      }
      const names = tracked.names;
      const name = m.name;
      let i = at + 1;
      if (names[i] !== name) i = names.indexOf(name);
      if (i < 0) {
        i = names.length;
        tracked.names = this.nameLists.of([...names, name]);
        tracked.seen.push(0);
        if (!this.families.has(name)) this.families.set(name, m);
      }
      tracked.seen[i] = generation;
      at = i;
    }
    return this.sweep(generation);
  }

  /** Takes out the series not seen in `generation`, and the label contents left without any. */
  private sweep(generation: number): Metric[] {
    const vanished: Metric[] = [];
    for (const t of this.byKey.values()) {
      const { names, seen } = t;
      let kept = 0;
      for (let i = 0; i < names.length; i++) {
        if (seen[i] === generation) kept += 1;
        else vanished.push(this.vanishedMetric(names[i] as string, t.labels));
      }
      if (kept === names.length) continue;
      // Every series kept was seen in this generation: the names that were, and as many generations.
      t.names = this.nameLists.of(names.filter((_, i) => seen[i] === generation));
      seen.fill(generation, 0, kept);
      seen.length = kept;
      if (kept === 0) {
        t.gone = true;
        this.byKey.delete(t.key);
      }
    }
    return vanished;
  }

  /** The record of a label content, added if new (by identity for a frozen labels object: it cannot change). */
  private trackedOf(labels: MetricLabels): TrackedLabels {
    let tracked = this.byLabels.get(labels);
    if (tracked !== undefined && !tracked.gone) return tracked;
    const key = labelsKey(labels);
    tracked = this.byKey.get(key);
    if (tracked === undefined) {
      tracked = { key, labels, names: this.nameLists.of([]), seen: [], gone: false };
      this.byKey.set(key, tracked);
    }
    if (Object.isFrozen(labels)) this.byLabels.set(labels, tracked);
    return tracked;
  }

  private vanishedMetric(name: string, labels: MetricLabels): Metric {
    return metricLike(this.families.get(name) as Metric, labels, Number.NaN);
  }
}

/**
 * One frozen array per list of names: at 10,000 processes the records share the list of a process's five
 * names instead of holding 10,000 arrays of it (objects every full collection marks; bench, scale section).
 */
class NameLists {
  private readonly lists = new Map<string, readonly string[]>();

  of(names: readonly string[]): readonly string[] {
    const key = names.join('\u0000');
    let list = this.lists.get(key);
    if (list === undefined) {
      list = Object.freeze([...names]);
      this.lists.set(key, list);
    }
    return list;
  }
}
