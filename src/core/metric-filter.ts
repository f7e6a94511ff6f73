/**
 * Metric and label filters (`--keep-metrics`, `--drop-metrics`, `--drop-labels`): a stage after the
 * metrics view, before any encoder. Pure: metrics in, metrics out.
 *
 * - Families are kept or dropped by regex on their name, anchored at both ends like Prometheus'
 *   relabelling (`scaph_process_.*`, not `process`): keep first (when given), then drop. The regexes are
 *   user patterns (user-pattern.ts): RE2 syntax, as Prometheus has, matched in linear time.
 * - Labels are dropped by name. A label that tells series apart (IDENTITY_LABELS) cannot be dropped:
 *   two series would become one, and what a backend stored would depend on which came last.
 * - The filtered labels object is kept per source labels object (a WeakMap), so a process's series get
 *   the same object every step and the encoders' per-labels-object caches keep hitting; the verdict per
 *   name is kept in a Map. No regex runs per metric once a name has been seen.
 * - Equal specs give the same MetricFilter (metricFilter() keeps one per spec): exporters filtering the
 *   same way share one filtered list and one labels cache.
 * - The delivery core's scaph_delivery_* self-metrics never come through here: they say what was sent
 *   and what was lost, whatever the filters.
 */
import { metricLike, type Metric, type MetricLabels } from './metric-families.js';
import { UserPatterns } from './user-pattern.js';

export interface MetricFilterSpec {
  /** Regexes (sources, unanchored as the user wrote them): a family is kept when one matches its whole name. Empty = keep all. */
  readonly keepMetrics: readonly string[];
  /** Regexes: a family is dropped when one matches its whole name. */
  readonly dropMetrics: readonly string[];
  /** Label names removed from every series. */
  readonly dropLabels: readonly string[];
}

/**
 * Labels that tell series of one family apart: dropping one would merge series (two processes, two
 * sockets, two containers into one). `job`, `instance` and `host` are the transports' (the host's
 * identity in a fleet), never the metrics view's.
 */
export const IDENTITY_LABELS: ReadonlySet<string> = new Set([
  'pid',
  'socket_id',
  'domain_id',
  'domain_name',
  'rapl_domain_name',
  'container_id',
  'kubernetes_pod_uid',
  'kubernetes_pod_namespace',
  'kubernetes_pod_name',
  'systemd_unit',
]);
export const TRANSPORT_LABELS: ReadonlySet<string> = new Set(['job', 'instance', 'host']);

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The whole-name patterns of a list of alternatives given to `flag`; null for none. Throws UserPatternError on a pattern scaph will not run. */
function familyPatterns(flag: string, sources: readonly string[]): UserPatterns | null {
  return sources.length === 0 ? null : UserPatterns.compile({ flag }, sources, 'whole');
}

/** Why `name` cannot be dropped with --drop-labels, or null when it can. */
export function dropLabelProblem(name: string): string | null {
  if (!LABEL_NAME.test(name) || name.startsWith('__')) {
    return `"${name}" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`;
  }
  if (IDENTITY_LABELS.has(name)) {
    return `cannot drop "${name}": it tells series apart, and dropping it would merge them into one (labels that cannot be dropped: ${[...IDENTITY_LABELS].join(', ')})`;
  }
  if (TRANSPORT_LABELS.has(name)) {
    return `cannot drop "${name}": the exporter adds it to identify this host (--drop-labels acts on the labels of scaph's metrics)`;
  }
  return null;
}

export class MetricFilter {
  /** Canonical text of the spec: equal specs, equal keys. */
  readonly key: string;
  private readonly keep: UserPatterns | null;
  private readonly drop: UserPatterns | null;
  private readonly dropLabels: readonly string[];
  private readonly verdicts = new Map<string, boolean>();
  private readonly labelsCache = new WeakMap<MetricLabels, MetricLabels>();
  private lastSource: MetricLabels | null = null;
  private lastFiltered: MetricLabels | null = null;

  constructor(spec: MetricFilterSpec) {
    this.keep = familyPatterns('--keep-metrics', spec.keepMetrics);
    this.drop = familyPatterns('--drop-metrics', spec.dropMetrics);
    for (const name of spec.dropLabels) {
      const problem = dropLabelProblem(name);
      if (problem !== null) throw new Error(problem);
    }
    this.dropLabels = [...new Set(spec.dropLabels)].sort();
    this.key = specKey(spec);
  }

  /** Whether a family goes out. */
  keeps(name: string): boolean {
    let verdict = this.verdicts.get(name);
    if (verdict === undefined) {
      verdict = (this.keep === null || this.keep.test(name)) && !(this.drop?.test(name) ?? false);
      this.verdicts.set(name, verdict);
    }
    return verdict;
  }

  /** `labels` without the dropped names: the same object when none is there, else one frozen object per source object. */
  labelsOf(labels: MetricLabels): MetricLabels {
    if (labels === this.lastSource) return this.lastFiltered as MetricLabels;
    let filtered = this.labelsCache.get(labels);
    if (filtered === undefined) {
      filtered = this.withoutDropped(labels);
      this.labelsCache.set(labels, filtered);
    }
    this.lastSource = labels;
    this.lastFiltered = filtered;
    return filtered;
  }

  /** The metrics that go out, with their labels filtered; a metric whose labels are unchanged is the same object. */
  apply(metrics: readonly Metric[]): Metric[] {
    const out: Metric[] = [];
    for (const m of metrics) {
      if (!this.keeps(m.name)) continue;
      const labels = this.labelsOf(m.labels);
      out.push(labels === m.labels ? m : metricLike(m, labels, m.value));
    }
    return out;
  }

  private withoutDropped(labels: MetricLabels): MetricLabels {
    let found = false;
    for (const name of this.dropLabels) if (name in labels) found = true;
    if (!found) return labels;
    const out: Record<string, string> = {};
    for (const k in labels) if (!this.dropLabels.includes(k)) out[k] = labels[k] as string;
    return Object.freeze(out);
  }
}

function specKey(spec: MetricFilterSpec): string {
  return JSON.stringify([spec.keepMetrics, spec.dropMetrics, [...new Set(spec.dropLabels)].sort()]);
}

/** One MetricFilter per spec for the life of the process (specs come from flags and config files: few). */
const filters = new Map<string, MetricFilter>();

/** The shared filter for a spec, or null when the spec filters nothing. Throws on a bad regex or label. */
export function metricFilter(spec: MetricFilterSpec): MetricFilter | null {
  if (spec.keepMetrics.length === 0 && spec.dropMetrics.length === 0 && spec.dropLabels.length === 0) return null;
  const key = specKey(spec);
  let filter = filters.get(key);
  if (!filter) {
    filter = new MetricFilter(spec);
    filters.set(key, filter);
  }
  return filter;
}

/** `metrics` through `filter` (unchanged without one). */
export function applyMetricFilter(metrics: Metric[], filter: MetricFilter | null | undefined): Metric[] {
  return filter ? filter.apply(metrics) : metrics;
}
