/**
 * The label set of a remote-write series, the same for both wires (1.0's Label messages, 2.0's symbol
 * references): the transport's base labels (`job`, `instance`, then the user's --label pairs over them),
 * the metric's own labels over those, `__name__` left to the metric's name, empty names and values left
 * out (receivers refuse them), sorted by name. Both specifications ask for names sorted and unique.
 */
import type { MetricLabels } from '../../core/metric-families.js';

export interface SeriesLabelOptions {
  /** `job` label (what a scrape config's job_name would add). */
  readonly job: string;
  /** `instance` label (the host name). */
  readonly instance: string;
  /**
   * User --label pairs. They override job/instance; a metric's own labels win over them, as a
   * series' labels win over Prometheus' external labels.
   */
  readonly extraLabels: Readonly<Record<string, string>>;
}

/** The labels of one labels object over the base ones, `__name__` excepted, sorted by name. */
export interface SortedLabels {
  /** The series key of a metric with these labels, less its leading name (as seriesKey builds it). */
  readonly keySuffix: string;
  readonly names: readonly string[];
  /** values[i] is the value of names[i]. */
  readonly values: readonly string[];
  /** Where `__name__` sorts among `names`: the index of the first name after it. */
  readonly nameAt: number;
}

export function baseLabels(options: SeriesLabelOptions): ReadonlyMap<string, string> {
  const base = new Map<string, string>([
    ['job', options.job],
    ['instance', options.instance],
  ]);
  for (const [k, v] of Object.entries(options.extraLabels)) base.set(k, v);
  return base;
}

export function sortedLabels(base: ReadonlyMap<string, string>, labels: MetricLabels): SortedLabels {
  let keySuffix = '';
  const all = new Map(base);
  for (const k in labels) {
    const v = labels[k] as string;
    keySuffix += `\u0000${k}\u0001${v}`;
    all.set(k, v);
  }
  all.delete('__name__'); // the metric name wins
  const names = [...all.keys()].filter((k) => k !== '' && all.get(k) !== '').sort(byteOrder);
  const after = names.findIndex((k) => byteOrder(k, '__name__') > 0);
  return { keySuffix, names, values: names.map((k) => all.get(k) as string), nameAt: after < 0 ? names.length : after };
}

/** Prometheus compares label names as byte strings; names are ASCII, so code-unit order is the same. */
function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
