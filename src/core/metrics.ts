/**
 * Sample -> metrics: the one place that turns a Sample (and a push exporter's delivery figures) into
 * Scaphandre-named metrics of the families in metric-families.ts, with their labels, in a stable order.
 * Pure: which processes go out (the selection) and what is filtered are the metrics view's
 * (metrics-view.ts), the one entry exporters use.
 */
import { metricOf, type Metric, type MetricLabels, type MetricName } from './metric-families.js';
import type { OthersRollup, Selection } from './process-selection.js';
import type { CarbonSample, ContainerInfo, GroupKind, GroupSample, IntensitySourceKind, ProcessSample, Sample, SensorFallbackReason } from './sample.js';

/** How processes are labelled: what changes the labels of a process's series (never which processes go out). */
export interface LabelOptions {
  /** Add a vmname label to qemu processes (--qemu). */
  readonly qemu?: boolean;
  /** Add container / pod / systemd labels to process metrics, and the group series (--containers). */
  readonly containers?: boolean;
  /** Cap on the cmdline label length (characters); 0 = no cap. */
  readonly maxCmdlineLength?: number;
}

const NO_LABELS: MetricLabels = Object.freeze({});

/**
 * Builder that keeps the family facts (help, type, kind) out of every call site. Given the count it will
 * hold (or more), it fills one array of that size: grown by push, a list of 50,000 metrics (10,000
 * processes) left ~1.2 MB of outgrown copies a step for the collector (bench, scale section).
 */
class MetricList {
  private readonly items: Metric[];
  private length = 0;

  constructor(capacity = 0) {
    this.items = capacity > 0 ? new Array<Metric>(capacity) : [];
  }

  add(name: MetricName, value: number, labels: MetricLabels = NO_LABELS): void {
    // Past the capacity, an assignment at the end grows the array as push would.
    this.items[this.length++] = metricOf(name, value, labels);
  }

  /** The metrics added, in order (the array itself: add no more). */
  done(): Metric[] {
    this.items.length = this.length;
    return this.items;
  }
}

/** Gives the labels object of a process's series (processLabels, or a cache of it: see metrics-view.ts). */
export type ProcessLabelSource = (p: ProcessSample, options: LabelOptions) => MetricLabels;

/**
 * Turns one sample into its metrics, in a stable order (host, sockets, domains, processes, groups, self).
 * `selection`: the processes and groups an exporter's selector chose in this sample, whose others rollups
 * go out too; null = every process and group, no rollup. `version`: scaph's, for scaph_self_version ('' =
 * none). `labelsOf` lets a caller hand out the same labels object for a process across samples, so
 * encoders that cache per labels object (remote-write, Warp 10) hit their caches.
 */
export function sampleToMetrics(
  sample: Sample,
  options: LabelOptions = {},
  version = '',
  selection: Selection | null = null,
  labelsOf: ProcessLabelSource = processLabels,
): Metric[] {
  const list = new MetricList(countBound(sample, options, selection));
  addHostMetrics(list, sample);
  if (sample.carbon) addCarbonHostMetrics(list, sample.carbon);
  addSocketMetrics(list, sample);
  const processGrams = processGramsOf(sample, selection);
  if (selection) {
    addProcessMetrics(list, selection.processes, selection.processEnergyUj, options, labelsOf, processGrams);
    addOthers(list, PROCESS_OTHERS_FAMILIES, selection.others);
  } else addProcessMetrics(list, sample.processes, null, options, labelsOf, processGrams);
  if (options.containers) {
    const groupGrams = groupGramsOf(sample, selection);
    if (selection) addGroupMetrics(list, selection.groups, selection.groupEnergyUj, groupGrams);
    else addGroupMetrics(list, sample.groups, null, groupGrams);
    if (selection) addGroupOthers(list, selection.groupOthers);
  }
  list.add('scaph_self_topo_procs_nb', sample.processes.length);
  addBookkeepingMetrics(list, sample);
  if (sample.agentRssBytes !== undefined) list.add('scaph_self_memory_bytes', sample.agentRssBytes);
  const mem = sample.agentMemory;
  if (mem) {
    list.add('scaph_self_mem_total_program_size', mem.totalProgramPages);
    list.add('scaph_self_mem_resident_set_size', mem.residentPages);
    list.add('scaph_self_mem_shared_resident_size', mem.sharedPages);
  }
  if (version) list.add('scaph_self_version', 1, { version });
  return list.done();
}

/** Host, carbon, self and others series: at most this many beside the sockets, processes and groups. */
const FIXED_SERIES_BOUND = 64;

/** At least as many metrics as sampleToMetrics makes of the sample (the list is sized once). */
function countBound(sample: Sample, options: LabelOptions, selection: Selection | null): number {
  const processes = selection ? selection.processes.length : sample.processes.length;
  const perProcess = sample.carbon?.processGrams ? 6 : 5;
  let count = FIXED_SERIES_BOUND + processes * perProcess;
  for (const s of sample.sockets) count += 4 + 3 * s.domains.length;
  if (options.containers) count += 3 * (selection ? selection.groups.length : sample.groups.length);
  return count;
}

/**
 * What an exporter that serves a latest sample shows while it has no current one (a step without a
 * sample, or none for longer than it allows): no figure, only scaph_self_version (when `version` is set),
 * so a scrape says scaph runs while every power series is absent.
 */
export function noSampleMetrics(version = ''): Metric[] {
  const list = new MetricList();
  if (version) list.add('scaph_self_version', 1, { version });
  return list.done();
}

/** What a push exporter's delivery core says of itself (DeliveryStats.figures), for its scaph_delivery_* series. */
export interface DeliveryFigures {
  readonly sent: number;
  readonly retried: number;
  /** Samples given up on, by reason. */
  readonly dropped: Readonly<Record<string, number>>;
  /**
   * Data points the backend rejected within requests it accepted (OTLP partial success, remote-write 2.0's
   * Samples-Written below what was sent); null for a transport whose backend cannot say so (no such series then).
   */
  readonly rejectedPoints?: number | null;
  /** Series in the newest step the backend acknowledged (0 until the first). */
  readonly seriesSent: number;
  readonly queueDepth: number;
  readonly queueBytes: number;
  /** While delivery fails, ms until the next attempt (0 while one is under way); null while delivering. */
  readonly nextAttemptInMs: number | null;
  /** The disk spool's backlog and size; null without a spool. */
  readonly spoolSamples: number | null;
  readonly spoolBytes: number | null;
  readonly spoolWriteFailures: number;
  /** Wall clock of the last acknowledged delivery, ms; null before the first. */
  readonly lastSuccessMs: number | null;
}

/**
 * The labels of one transport's self-metrics, frozen and the same every step: the encoders keep what they
 * derive from a frozen labels object (label bytes, series slots) instead of working it out again.
 */
export class DeliveryLabels {
  readonly transport: MetricLabels;
  private readonly byReason = new Map<string, MetricLabels>();

  constructor(readonly name: string) {
    this.transport = Object.freeze({ transport: name });
  }

  /** The labels of the dropped counter for one reason. */
  reason(reason: string): MetricLabels {
    let labels = this.byReason.get(reason);
    if (labels === undefined) {
      labels = Object.freeze({ transport: this.name, reason });
      this.byReason.set(reason, labels);
    }
    return labels;
  }
}

/** A push exporter's scaph_delivery_* metrics: its health, shipped in the same pipeline as the power metrics. */
export function deliveryToMetrics(f: DeliveryFigures, labels: DeliveryLabels): Metric[] {
  const list = new MetricList();
  const t = labels.transport;
  list.add('scaph_delivery_samples_sent_total', f.sent, t);
  list.add('scaph_delivery_samples_retried_total', f.retried, t);
  for (const reason of Object.keys(f.dropped).sort()) list.add('scaph_delivery_samples_dropped_total', f.dropped[reason] ?? 0, labels.reason(reason));
  if (f.rejectedPoints !== undefined && f.rejectedPoints !== null) list.add('scaph_delivery_rejected_points_total', f.rejectedPoints, t);
  list.add('scaph_delivery_series_sent', f.seriesSent, t);
  list.add('scaph_delivery_queue_depth', f.queueDepth, t);
  list.add('scaph_delivery_queue_bytes', f.queueBytes, t);
  list.add('scaph_delivery_next_attempt_seconds', (f.nextAttemptInMs ?? 0) / 1000, t);
  if (f.spoolSamples !== null) list.add('scaph_delivery_spool_samples', f.spoolSamples, t);
  if (f.spoolBytes !== null) {
    list.add('scaph_delivery_spool_bytes', f.spoolBytes, t);
    list.add('scaph_delivery_spool_write_failures_total', f.spoolWriteFailures, t);
  }
  if (f.lastSuccessMs !== null) list.add('scaph_delivery_last_success_timestamp_seconds', f.lastSuccessMs / 1000, t);
  return list.done();
}

/** scaph reads /proc/stat for the whole machine: it keeps no CPU statistics per socket. */
const SOCKET_CPU_STATS_KEPT = 0;

/** What the sensor keeps in memory, per host, socket and domain (absent from samples of older versions). */
function addBookkeepingMetrics(list: MetricList, sample: Sample): void {
  const h = sample.host;
  if (h.cpuStatsKept !== undefined) list.add('scaph_self_topo_stats_nb', h.cpuStatsKept);
  if (h.energyRecordsKept !== undefined) list.add('scaph_self_topo_records_nb', h.energyRecordsKept);
  for (const s of sample.sockets) {
    if (s.energyRecordsKept === undefined) continue;
    const socketLabels = { socket_id: String(s.id) };
    list.add('scaph_self_socket_stats_nb', SOCKET_CPU_STATS_KEPT, socketLabels);
    list.add('scaph_self_socket_records_nb', s.energyRecordsKept, socketLabels);
    for (const d of s.domains) {
      if (d.energyRecordsKept !== undefined) {
        list.add('scaph_self_domain_records_nb', d.energyRecordsKept, { socket_id: String(s.id), rapl_domain_name: d.name });
      }
    }
  }
}

function addHostMetrics(list: MetricList, sample: Sample): void {
  const h = sample.host;
  const source = { value_source: h.valueSource };
  list.add('scaph_host_power_microwatts', h.powerUw, source);
  list.add('scaph_host_energy_microjoules', h.energyUj, source);
  if (h.energyTimestampMs !== undefined) list.add('scaph_host_energy_timestamp_seconds', h.energyTimestampMs / 1000);
  list.add('scaph_host_active_power_microwatts', h.activePowerUw, source);
  list.add('scaph_host_idle_power_microwatts', h.idlePowerUw, source);
  list.add('scaph_host_unattributed_power_microwatts', h.unattributedPowerUw, source);
  list.add('scaph_host_unattributed_energy_microjoules', h.unattributedEnergyUj, source);
  if (h.outsideRaplPowerUw !== undefined) list.add('scaph_host_outside_rapl_power_microwatts', h.outsideRaplPowerUw, source);
  list.add('scaph_host_cpu_busy_ratio', h.cpuBusyFraction);
  if (h.psysEnergyUj !== null) list.add('scaph_host_rapl_psys_microjoules', h.psysEnergyUj);
  if (h.sensorFallback !== undefined) list.add('scaph_sensor_fallback', 1, FALLBACK_LABELS[h.sensorFallback]);
  list.add('scaph_host_load_avg_one', h.loadAvg[0]);
  list.add('scaph_host_load_avg_five', h.loadAvg[1]);
  list.add('scaph_host_load_avg_fifteen', h.loadAvg[2]);
  const m = h.memory;
  if (m) {
    list.add('scaph_host_memory_total_bytes', m.totalBytes);
    list.add('scaph_host_memory_available_bytes', m.availableBytes);
    list.add('scaph_host_memory_free_bytes', m.freeBytes);
    list.add('scaph_host_swap_total_bytes', m.swapTotalBytes);
    list.add('scaph_host_swap_free_bytes', m.swapFreeBytes);
  }
}

/** The host's emissions and the intensity they were counted at (absent while none is known). */
function addCarbonHostMetrics(list: MetricList, c: CarbonSample): void {
  list.add('scaph_host_carbon_emissions_grams', c.hostGrams);
  list.add('scaph_host_unattributed_carbon_emissions_grams', c.unattributedGrams);
  if (c.intensityGPerKwh !== null && c.source !== null) list.add('scaph_carbon_intensity_grams_per_kwh', c.intensityGPerKwh, intensityLabels(c.zone, c.source));
}

/** One frozen labels object per (zone, source): the intensity series keeps its labels object step after step. */
const intensityLabelCache = new Map<string, MetricLabels>();

function intensityLabels(zone: string, source: IntensitySourceKind): MetricLabels {
  const key = `${zone}|${source}`;
  let labels = intensityLabelCache.get(key);
  if (labels === undefined) {
    const made: Record<string, string> = zone === '' ? { source } : { zone, source };
    labels = Object.freeze(made);
    intensityLabelCache.set(key, labels);
  }
  return labels;
}

/**
 * Each listed process's emissions (same index as the list written), or null when the sample has none per
 * process: the sample's own list is aligned already, a selection's is looked up.
 */
function processGramsOf(sample: Sample, selection: Selection | null): readonly number[] | null {
  const grams = sample.carbon?.processGrams ?? null;
  if (grams === null || selection === null || selection.processes === sample.processes) return grams;
  return alignedGrams(sample.processes, grams, selection.processes);
}

/** Each listed group's emissions (same index as the list written), or null without carbon. */
function groupGramsOf(sample: Sample, selection: Selection | null): readonly number[] | null {
  const grams = sample.carbon?.groupGrams ?? null;
  if (grams === null || selection === null || selection.groups === sample.groups) return grams;
  return alignedGrams(sample.groups, grams, selection.groups);
}

function alignedGrams<T>(all: readonly T[], grams: readonly number[], listed: readonly T[]): number[] {
  const byItem = new Map<T, number>();
  for (let i = 0; i < all.length; i++) byItem.set(all[i] as T, grams[i] as number);
  return listed.map((item) => byItem.get(item) ?? 0);
}

/** One frozen labels object per reason: encoders cache what they derive from a labels object. */
const FALLBACK_LABELS: Readonly<Record<SensorFallbackReason, MetricLabels>> = {
  rapl_unreadable: Object.freeze({ reason: 'rapl_unreadable' }),
  rapl_missing: Object.freeze({ reason: 'rapl_missing' }),
};

function addSocketMetrics(list: MetricList, sample: Sample): void {
  for (const s of sample.sockets) {
    const socketLabels = { socket_id: String(s.id) };
    list.add('scaph_socket_power_microwatts', s.powerUw, socketLabels);
    list.add('scaph_socket_energy_microjoules', s.energyUj, socketLabels);
    for (const d of s.domains) {
      const labels = { domain_name: d.name, domain_id: String(d.id), socket_id: String(s.id) };
      list.add('scaph_domain_power_microwatts', d.powerUw, labels);
      list.add('scaph_domain_energy_microjoules', d.energyUj, labels);
    }
  }
}

/**
 * `energyUj`: the energy series of each process (same index), as a selection sends them (Selection.processEnergyUj);
 * null = each process's own counter.
 */
function addProcessMetrics(
  list: MetricList,
  processes: readonly ProcessSample[],
  energyUj: readonly number[] | null,
  options: LabelOptions,
  labelsOf: ProcessLabelSource,
  grams: readonly number[] | null,
): void {
  for (let i = 0; i < processes.length; i++) {
    const p = processes[i] as ProcessSample;
    const labels = labelsOf(p, options);
    list.add('scaph_process_power_consumption_microwatts', p.powerUw, labels);
    list.add('scaph_process_energy_microjoules', energyUj ? (energyUj[i] as number) : p.energyUj, labels);
    if (grams) list.add('scaph_process_carbon_emissions_grams', grams[i] as number, labels);
    list.add('scaph_process_cpu_usage_percentage', p.cpuUsagePercent, labels);
    list.add('scaph_process_memory_bytes', p.memoryBytes, labels);
    list.add('scaph_process_memory_virtual_bytes', p.virtualMemoryBytes, labels);
  }
}

const GROUP_FAMILIES: Readonly<Record<GroupKind, readonly [power: MetricName, energy: MetricName, carbon: MetricName]>> = {
  container: ['scaph_container_power_microwatts', 'scaph_container_energy_microjoules', 'scaph_container_carbon_emissions_grams'],
  pod: ['scaph_pod_power_microwatts', 'scaph_pod_energy_microjoules', 'scaph_pod_carbon_emissions_grams'],
  namespace: ['scaph_namespace_power_microwatts', 'scaph_namespace_energy_microjoules', 'scaph_namespace_carbon_emissions_grams'],
  systemd_unit: ['scaph_systemd_unit_power_microwatts', 'scaph_systemd_unit_energy_microjoules', 'scaph_systemd_unit_carbon_emissions_grams'],
};

type OthersFamilies = readonly [power: MetricName, energy: MetricName, count: MetricName];

const PROCESS_OTHERS_FAMILIES: OthersFamilies = ['scaph_process_others_power_microwatts', 'scaph_process_others_energy_microjoules', 'scaph_process_others_count'];

/** Per kind, in the order they are written. */
const GROUP_OTHERS_FAMILIES: ReadonlyArray<readonly [GroupKind, OthersFamilies]> = [
  ['container', ['scaph_container_others_power_microwatts', 'scaph_container_others_energy_microjoules', 'scaph_container_others_count']],
  ['pod', ['scaph_pod_others_power_microwatts', 'scaph_pod_others_energy_microjoules', 'scaph_pod_others_count']],
  ['namespace', ['scaph_namespace_others_power_microwatts', 'scaph_namespace_others_energy_microjoules', 'scaph_namespace_others_count']],
  ['systemd_unit', ['scaph_systemd_unit_others_power_microwatts', 'scaph_systemd_unit_others_energy_microjoules', 'scaph_systemd_unit_others_count']],
];

function addOthers(list: MetricList, [power, energy, count]: OthersFamilies, others: OthersRollup): void {
  list.add(power, others.powerUw);
  list.add(energy, others.energyUj);
  list.add(count, others.count);
}

function addGroupOthers(list: MetricList, byKind: ReadonlyMap<GroupKind, OthersRollup>): void {
  for (const [kind, families] of GROUP_OTHERS_FAMILIES) {
    const others = byKind.get(kind);
    if (others) addOthers(list, families, others);
  }
}

/**
 * Group labels per (container info object, kind): the sensor hands out the same frozen ContainerInfo
 * while nothing about the group changes, so its series keep one labels object and the encoders' caches hit.
 */
const groupLabelCache = new WeakMap<ContainerInfo, Partial<Record<GroupKind, MetricLabels>>>();

/** `energyUj` as for addProcessMetrics (Selection.groupEnergyUj, or null); `grams`, each group's emissions or null. */
function addGroupMetrics(list: MetricList, groups: readonly GroupSample[], energyUj: readonly number[] | null, grams: readonly number[] | null): void {
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as GroupSample;
    const [powerName, energyName, carbonName] = GROUP_FAMILIES[g.kind];
    let byKind = groupLabelCache.get(g.container);
    if (!byKind) {
      byKind = {};
      groupLabelCache.set(g.container, byKind);
    }
    const labels = (byKind[g.kind] ??= Object.freeze(groupLabels(g.kind, g.container)));
    list.add(powerName, g.powerUw, labels);
    list.add(energyName, energyUj ? (energyUj[i] as number) : g.energyUj, labels);
    if (grams) list.add(carbonName, grams[i] as number, labels);
  }
}

/** The labels of one group's series; only known values are set. */
export function groupLabels(kind: GroupKind, c: ContainerInfo): MetricLabels {
  const labels: Record<string, string> = {};
  const set = (name: string, value: string | undefined): void => {
    if (value) labels[name] = value;
  };
  switch (kind) {
    case 'container':
      set('container_id', c.containerId);
      set('container_name', c.containerName ?? c.kubernetesContainerName);
      set('container_runtime', c.containerRuntime);
      set('kubernetes_pod_namespace', c.kubernetesPodNamespace);
      set('kubernetes_pod_name', c.kubernetesPodName);
      break;
    case 'pod':
      set('kubernetes_pod_namespace', c.kubernetesPodNamespace);
      set('kubernetes_pod_name', c.kubernetesPodName);
      set('kubernetes_pod_uid', c.kubernetesPodUid);
      set('kubernetes_pod_qos_class', c.kubernetesPodQosClass);
      set('kubernetes_node_name', c.kubernetesNodeName);
      if (c.kubernetesPodLabels) Object.assign(labels, c.kubernetesPodLabels);
      break;
    case 'namespace':
      set('kubernetes_pod_namespace', c.kubernetesPodNamespace);
      break;
    case 'systemd_unit':
      set('systemd_unit', c.systemdUnit);
      break;
  }
  return labels;
}

/** The labels of one process's series: pid, exe, cmdline (capped), and vmname/container labels on demand. */
export function processLabels(
  p: Pick<ProcessSample, 'pid' | 'exe' | 'cmdline' | 'vmName' | 'container'>,
  options: LabelOptions,
): MetricLabels {
  const labels: Record<string, string> = {
    pid: String(p.pid),
    exe: p.exe,
    cmdline: capCmdline(p.cmdline, options.maxCmdlineLength ?? 0),
  };
  if (options.qemu && p.vmName) labels['vmname'] = p.vmName;
  if (options.containers && p.container) addContainerLabels(labels, p.container);
  return labels;
}

const CONTAINER_LABEL_NAMES: ReadonlyArray<readonly [Exclude<keyof ContainerInfo, 'kubernetesPodLabels'>, string]> = [
  ['containerId', 'container_id'],
  ['containerRuntime', 'container_runtime'],
  ['containerName', 'container_name'],
  ['containerImage', 'container_image'],
  ['kubernetesPodUid', 'kubernetes_pod_uid'],
  ['kubernetesPodQosClass', 'kubernetes_pod_qos_class'],
  ['kubernetesPodName', 'kubernetes_pod_name'],
  ['kubernetesPodNamespace', 'kubernetes_pod_namespace'],
  ['kubernetesNodeName', 'kubernetes_node_name'],
  ['kubernetesContainerName', 'kubernetes_container_name'],
  ['systemdUnit', 'systemd_unit'],
];

function addContainerLabels(labels: Record<string, string>, c: ContainerInfo): void {
  for (const [field, label] of CONTAINER_LABEL_NAMES) {
    const v = c[field];
    if (v) labels[label] = v;
  }
  // Already metric label names (kubernetes_pod_label_<key>), chosen by the user.
  if (c.kubernetesPodLabels) Object.assign(labels, c.kubernetesPodLabels);
}

/**
 * Every label name the metrics view writes (host, sockets, domains, processes, groups, self-metrics, the
 * delivery core's transport), and the prefix of the pod labels a user copies (`--kubernetes-pod-label`). A
 * label a transport adds to every series (`--label`) must not take one of these names: it would be dropped
 * from the series that have their own, and stuck onto those that have not (pid="7" on the host power).
 */
export const METRIC_LABEL_NAMES: ReadonlySet<string> = new Set([
  'value_source',
  'reason',
  'version',
  'socket_id',
  'rapl_domain_name',
  'domain_name',
  'domain_id',
  'pid',
  'exe',
  'cmdline',
  'vmname',
  'transport',
  'zone',
  'source',
  ...CONTAINER_LABEL_NAMES.map(([, label]) => label),
]);
export const POD_LABEL_PREFIX = 'kubernetes_pod_label_';

/** Caps a command line to maxLength characters (whole code points), marking the cut with an ellipsis. */
export function capCmdline(cmdline: string, maxLength: number): string {
  if (maxLength <= 0 || cmdline.length <= maxLength) return cmdline;
  const cut = Array.from(cmdline).slice(0, Math.max(0, maxLength - 1)).join('');
  return `${cut}…`;
}
