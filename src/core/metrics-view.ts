/**
 * The metrics view as the exporters use it, step after step: sampleToMetrics with two caches.
 * - Process labels are kept per (pid, starttime): a process's series get the same frozen labels object
 *   every step, so the encoders' per-labels-object caches (remote-write, Warp 10, staleness keys) hit
 *   instead of re-encoding 500 label sets per step.
 * - Exporters that view the same sample the same way (`scaph run` with several push exporters) share
 *   one metric list instead of each building its own ~2,500 Metric objects. The list is read-only.
 * - A metric filter (metric-filter.ts) is a stage on that list: exporters with the same filter share the
 *   filtered list too, and exporters with different filters still share the list it comes from.
 */
import type { MetricFilter } from './metric-filter.js';
import { processLabels, sampleToMetrics, type Metric, type MetricLabels, type MetricsViewOptions } from './metrics.js';
import type { ContainerInfo, ProcessSample, Sample } from './sample.js';

interface CachedLabels {
  readonly starttime: number;
  readonly exe: string;
  readonly cmdline: string;
  readonly vmName: string | null;
  readonly container: ContainerInfo | null;
  readonly labels: MetricLabels;
  seen: number;
}

/** Labels of each live process for one way of labelling (qemu, containers, cmdline cap). */
export class ProcessLabelCache {
  private readonly byPid = new Map<number, CachedLabels>();
  /** Weak: holding a sample until the next one would make V8 promote its ~500 process objects. */
  private lastSample: WeakRef<Sample> | null = null;
  private generation = 0;

  /** Call once per sample before labelsOf: forgets the processes the previous sample did not have. */
  beginSample(sample: Sample): void {
    if (this.lastSample?.deref() === sample) return;
    this.lastSample = new WeakRef(sample);
    const previous = this.generation;
    // keys() + get(), not entries(): an entries() loop allocates a pair per process, every sample.
    for (const pid of this.byPid.keys()) if (this.byPid.get(pid)?.seen !== previous) this.byPid.delete(pid);
    this.generation += 1;
  }

  /** A ProcessLabelSource for sampleToMetrics (an arrow: one closure per cache, not per process). */
  readonly labelsOf = (p: ProcessSample, options: MetricsViewOptions): MetricLabels => {
    const entry = this.byPid.get(p.pid);
    if (entry && sameIdentity(entry, p)) {
      entry.seen = this.generation;
      return entry.labels;
    }
    const labels = Object.freeze(processLabels(p, options));
    const { starttime, exe, cmdline, vmName, container } = p;
    this.byPid.set(p.pid, { starttime, exe, cmdline, vmName, container, labels, seen: this.generation });
    return labels;
  };

  get size(): number {
    return this.byPid.size;
  }
}

function sameIdentity(e: CachedLabels, p: ProcessSample): boolean {
  return e.starttime === p.starttime && e.exe === p.exe && e.cmdline === p.cmdline && e.vmName === p.vmName && e.container === p.container;
}

/** Which label cache a view uses: only what changes the labels of a process. */
function labelKey(o: MetricsViewOptions): string {
  return `${o.qemu === true}|${o.containers === true}|${o.maxCmdlineLength ?? 0}`;
}

const labelCaches = new Map<string, ProcessLabelCache>();
/**
 * Ids of the objects a view key must compare by identity: the process selector. A selector is stateful
 * and each exporter owns its own, so an exporter that selects gets a list of its own; exporters that send
 * every process still share one.
 */
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
/**
 * The metric lists built for the sample being dispatched, per view key. Cleared once the dispatch (one
 * synchronous loop over the exporters) is over: kept until the next sample, a step's ~2,500 metrics
 * lived long enough for V8 to promote them, and the old space filled with garbage (a full collection
 * every ~6 steps).
 */
let shared: { sample: Sample; lists: Map<string, Metric[]> } | null = null;

function idOf(o: object | null | undefined): number {
  if (!o) return 0;
  let id = objectIds.get(o);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(o, id);
  }
  return id;
}

/**
 * sampleToMetrics for exporters: same metrics, same order, but the list may be shared with other
 * exporters (don't mutate it) and process labels objects are reused across samples.
 */
export function metricsView(sample: Sample, options: MetricsViewOptions = {}, version = ''): Metric[] {
  const list = unfilteredView(sample, options, version);
  const filter = options.metricFilter ?? null;
  return filter === null ? list : filteredView(list, filter);
}

/** Filtered lists per (shared list, filter): they live as long as the list they come from. */
const filteredLists = new WeakMap<Metric[], Map<MetricFilter, Metric[]>>();

function filteredView(list: Metric[], filter: MetricFilter): Metric[] {
  let byFilter = filteredLists.get(list);
  if (!byFilter) {
    byFilter = new Map();
    filteredLists.set(list, byFilter);
  }
  let filtered = byFilter.get(filter);
  if (!filtered) {
    filtered = filter.apply(list);
    byFilter.set(filter, filtered);
  }
  return filtered;
}

function unfilteredView(sample: Sample, options: MetricsViewOptions, version: string): Metric[] {
  const labels = labelKey(options);
  const key = `${labels}|${idOf(options.selector)}|${version}`;
  if (shared?.sample !== sample) {
    const current = { sample, lists: new Map<string, Metric[]>() };
    shared = current;
    queueMicrotask(() => {
      if (shared === current) shared = null;
    });
  }
  let list = shared.lists.get(key);
  if (!list) {
    let cache = labelCaches.get(labels);
    if (!cache) {
      cache = new ProcessLabelCache();
      labelCaches.set(labels, cache);
    }
    cache.beginSample(sample);
    list = sampleToMetrics(sample, options, version, cache.labelsOf);
    shared.lists.set(key, list);
  }
  return list;
}
