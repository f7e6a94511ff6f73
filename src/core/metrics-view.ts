/**
 * The metrics view: the one entry every exporter gets its metrics from. One MetricsView per exporter
 * (the agent builds it from the exporter's settings: src/exporters/command.ts, metricsViewOptions),
 * applying, in this order:
 *
 * 1. the exporter's process selection (process-selection.ts): which processes and groups get series, the
 *    rest rolled up into the others series. Stateful, so the view owns its selector and is handed every
 *    sample once, in order (`select`; asking again for the latest sample repeats its answer);
 * 2. the Sample -> metrics conversion (metrics.ts), names and kinds from the one table (metric-families.ts);
 * 3. the exporter's metric and label filters (metric-filter.ts: --keep-metrics, --drop-metrics, --drop-labels).
 *
 * A push exporter's delivery self-metrics (`deliveryMetrics`) come from here too, and are never filtered:
 * they say what was sent and what was lost, whatever the filters.
 *
 * Two caches keep this cheap step after step:
 * - Process labels are kept per (pid, starttime): a process's series get the same frozen labels object
 *   every step, so the encoders' per-labels-object caches (remote-write, Warp 10, staleness keys) hit
 *   instead of re-encoding 500 label sets per step.
 * - Exporters that view the same sample the same way (`scaph run` with several push exporters) share
 *   one metric list instead of each building its own ~2,500 Metric objects (lists are read-only). A
 *   filter is a stage on that list: exporters with the same filter share the filtered list too.
 */
import type { Metric, MetricLabels } from './metric-families.js';
import type { MetricFilter } from './metric-filter.js';
import { DeliveryLabels, deliveryToMetrics, noSampleMetrics, processLabels, sampleToMetrics, type DeliveryFigures, type LabelOptions } from './metrics.js';
import { ProcessSelector, type Selection, type SelectionOptions } from './process-selection.js';
import type { ContainerInfo, ProcessSample, Sample } from './sample.js';

export interface MetricsViewOptions extends LabelOptions {
  /**
   * The exporter's process selection (--max-top-consumers, --min-process-power, --process-regex, …): only
   * the processes and groups it selects get series, the rest go into the scaph_*_others_* rollups.
   * null or absent = every process.
   */
  readonly selection?: SelectionOptions | null;
  /** Families and labels left out (--keep-metrics, --drop-metrics, --drop-labels); null or absent = none. */
  readonly filter?: MetricFilter | null;
  /** scaph's version, the label of scaph_self_version; '' or absent = no such metric. */
  readonly version?: string;
}

export class MetricsView {
  private readonly selector: ProcessSelector | null;
  private readonly labelling: LabelOptions;
  private readonly filter: MetricFilter | null;
  private readonly version: string;
  /** Which shared list this view reads: views with the same key build the same list. */
  private readonly listKey: string;
  private readonly labelKey: string;
  private readonly deliveryLabels = new Map<string, DeliveryLabels>();

  constructor(options: MetricsViewOptions = {}) {
    this.selector = options.selection ? new ProcessSelector(options.selection) : null;
    this.labelling = { qemu: options.qemu === true, containers: options.containers === true, maxCmdlineLength: options.maxCmdlineLength ?? 0 };
    this.filter = options.filter ?? null;
    this.version = options.version ?? '';
    this.labelKey = `${this.labelling.qemu}|${this.labelling.containers}|${this.labelling.maxCmdlineLength}`;
    // A selector is stateful and this view's own: a view that selects gets a list of its own.
    this.listKey = `${this.labelKey}|${this.selector ? nextSelectingView++ : 0}|${this.version}`;
  }

  /**
   * What this view selects in `sample` (null: it selects nothing, every process goes out). Advances the
   * selection: hand it every sample once, in order, even those nothing is made of (an exporter whose
   * output waits for a scrape), so its hold counts steps and its others energy counts every step.
   */
  select(sample: Sample): Selection | null {
    return this.selector?.select(sample) ?? null;
  }

  /** The sample's metrics as this exporter sends them: its selection, then its filter. Read-only, maybe shared. */
  metrics(sample: Sample): readonly Metric[] {
    const list = this.unfiltered(sample);
    return this.filter === null ? list : filteredView(list, this.filter);
  }

  /**
   * What an exporter that serves a latest sample shows while it has no current one (a step without a
   * sample, or a stall): no figure, only scaph_self_version, through its filter.
   */
  noSampleMetrics(): readonly Metric[] {
    const list = noSampleMetrics(this.version);
    return this.filter === null ? list : this.filter.apply(list);
  }

  /** A push exporter's scaph_delivery_* metrics, for its transport: never filtered. */
  deliveryMetrics(transport: string, figures: DeliveryFigures): Metric[] {
    let labels = this.deliveryLabels.get(transport);
    if (!labels) {
      labels = new DeliveryLabels(transport);
      this.deliveryLabels.set(transport, labels);
    }
    return deliveryToMetrics(figures, labels);
  }

  private unfiltered(sample: Sample): Metric[] {
    if (shared?.sample !== sample) {
      const current = { sample, lists: new Map<string, Metric[]>() };
      shared = current;
      queueMicrotask(() => {
        if (shared === current) shared = null;
      });
    }
    const selection = this.select(sample);
    let list = shared.lists.get(this.listKey);
    if (!list) {
      let cache = labelCaches.get(this.labelKey);
      if (!cache) {
        cache = new ProcessLabelCache();
        labelCaches.set(this.labelKey, cache);
      }
      cache.beginSample(sample);
      list = sampleToMetrics(sample, this.labelling, this.version, selection, cache.labelsOf);
      shared.lists.set(this.listKey, list);
    }
    return list;
  }
}

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
  readonly labelsOf = (p: ProcessSample, options: LabelOptions): MetricLabels => {
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

/** One label cache per way of labelling, shared by the views that label alike. */
const labelCaches = new Map<string, ProcessLabelCache>();
let nextSelectingView = 1;
/**
 * The metric lists built for the sample being dispatched, per list key. Cleared once the dispatch (one
 * synchronous loop over the exporters) is over: kept until the next sample, a step's ~2,500 metrics
 * lived long enough for V8 to promote them, and the old space filled with garbage (a full collection
 * every ~6 steps).
 */
let shared: { sample: Sample; lists: Map<string, Metric[]> } | null = null;

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
