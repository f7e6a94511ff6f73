/**
 * The metrics view: the one place that turns a Sample into Scaphandre-named metrics.
 * Every exporter that speaks "metrics" (prometheus, remote-write, riemann, warp10, pushgateway)
 * encodes from this list, so names, help texts, types and labels exist here only.
 */
import type { MetricFilter } from './metric-filter.js';
import type { OthersRollup, ProcessSelector } from './process-selection.js';
import type { ContainerInfo, GroupKind, GroupSample, ProcessSample, Sample, SensorFallbackReason } from './sample.js';

export type MetricType = 'gauge' | 'counter';
/** How a value is written where the wire distinguishes: integers stay integers, doubles stay doubles. */
export type ValueKind = 'int' | 'float';

export interface MetricLabels {
  readonly [name: string]: string;
}

export interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly kind: ValueKind;
  readonly labels: MetricLabels;
  readonly value: number;
}

export interface MetricsViewOptions {
  /** Add a vmname label to qemu processes (--qemu). */
  readonly qemu?: boolean;
  /** Add container / pod / systemd labels to process metrics (--containers). */
  readonly containers?: boolean;
  /** Cap on the cmdline label length (characters); 0 = no cap. */
  readonly maxCmdlineLength?: number;
  /** Families and labels left out (--keep-metrics, --drop-metrics, --drop-labels): applied by metricsView after sampleToMetrics. */
  readonly metricFilter?: MetricFilter | null;
  /**
   * The exporter's process selection (--max-top-consumers, --min-process-power, --process-regex, …): only
   * the processes and groups it selects get series, the rest go into the scaph_*_others_* rollups. Stateful
   * (it remembers what it selected): one per exporter, handed every sample once. null = every process.
   */
  readonly selector?: ProcessSelector | null;
}

/** Families: name → help/type/kind. Exporters that must declare families up front read this. */
export const METRIC_FAMILIES = {
  scaph_host_power_microwatts: fam('Power measurement on the whole host, in microwatts', 'gauge', 'int'),
  scaph_host_energy_microjoules: fam(
    'Energy measurement for the whole host, as extracted from the sensor, in microjoules.',
    'counter',
    'int',
  ),
  // A point in time, so a gauge: Scaphandre's reference calls it a counter, but an OpenMetrics counter's
  // samples must end in _total, and a Prometheus scraping that format would store it under another name.
  scaph_host_energy_timestamp_seconds: fam(
    'Time of the energy reading behind scaph_host_energy_microjoules, in seconds since the epoch',
    'gauge',
    'float',
  ),
  scaph_host_active_power_microwatts: fam(
    'Part of the host power explained by CPU activity (host power x busy CPU fraction), in microwatts',
    'gauge',
    'int',
  ),
  scaph_host_idle_power_microwatts: fam(
    'Part of the host power not explained by CPU activity (host power - active power), in microwatts',
    'gauge',
    'int',
  ),
  scaph_host_unattributed_power_microwatts: fam(
    'Part of the power processes are attributed from (host power, or active power with --attribution active) that no live process explains: interrupts, processes that ended unobserved or unreaped, skew between reads, in microwatts',
    'gauge',
    'int',
  ),
  scaph_host_unattributed_energy_microjoules: fam(
    'Energy that no live process explains since scaph started, in microjoules',
    'counter',
    'int',
  ),
  scaph_host_outside_rapl_power_microwatts: fam(
    'Part of the host power a platform meter (hwmon, Redfish) reads that RAPL does not see: platform power minus the sum of RAPL packages and dram (power supply losses, fans, disks, NICs, GPUs), never negative, in microwatts. Only with --sensor hwmon or redfish and readable RAPL counters',
    'gauge',
    'int',
  ),
  scaph_host_cpu_busy_ratio: fam('Busy share of all CPUs over the last interval, from 0 to 1', 'gauge', 'float'),
  scaph_host_rapl_psys_microjoules: fam(
    'Raw RAPL psys (platform) energy counter, in microjoules, as read from powercap',
    'counter',
    'int',
  ),
  scaph_host_load_avg_one: fam('Load average on 1 minute.', 'gauge', 'float'),
  scaph_host_load_avg_five: fam('Load average on 5 minutes.', 'gauge', 'float'),
  scaph_host_load_avg_fifteen: fam('Load average on 15 minutes.', 'gauge', 'float'),
  scaph_host_memory_total_bytes: fam('Random Access Memory installed on the host, in bytes.', 'gauge', 'int'),
  scaph_host_memory_available_bytes: fam(
    'Random Access Memory available to be re-used on the host, in bytes.',
    'gauge',
    'int',
  ),
  scaph_host_memory_free_bytes: fam(
    'Random Access Memory free to be used (not reused) on the host, in bytes.',
    'gauge',
    'int',
  ),
  scaph_host_swap_total_bytes: fam('Total swap space on the host, in bytes.', 'gauge', 'int'),
  scaph_host_swap_free_bytes: fam('Swap space free to be used on the host, in bytes.', 'gauge', 'int'),
  scaph_socket_power_microwatts: fam('Power measurement relative to a CPU socket, in microwatts', 'gauge', 'int'),
  scaph_socket_energy_microjoules: fam('Socket related energy measurement in microjoules.', 'counter', 'int'),
  scaph_domain_power_microwatts: fam('Power measurement relative to a RAPL Domain, in microwatts', 'gauge', 'int'),
  scaph_domain_energy_microjoules: fam('Domain related energy measurement in microjoules.', 'counter', 'int'),
  scaph_process_power_consumption_microwatts: fam(
    'Power consumption attributed to the process: host power (or active power with --attribution active) x its CPU time over the busy CPU time of the machine, in microwatts',
    'gauge',
    'int',
  ),
  scaph_process_energy_microjoules: fam(
    'Energy attributed to the process since scaph first saw it, in microjoules',
    'counter',
    'int',
  ),
  scaph_process_cpu_usage_percentage: fam(
    'CPU time consumed by the process, as a percentage of the capacity of all the CPU Cores',
    'gauge',
    'float',
  ),
  scaph_process_memory_bytes: fam('Physical RAM usage by the process, in bytes', 'gauge', 'int'),
  scaph_process_memory_virtual_bytes: fam('Virtual RAM usage by the process, in bytes', 'gauge', 'int'),
  // Under a selection the process and group energy series count only the steps this exporter sent them
  // (what they used meanwhile is in the others energy): said in docs/metrics.md's table, not in these
  // HELP texts, which Riemann repeats in every event of every process.
  // Sent by an exporter that selects processes (--max-top-consumers, --min-process-power, --process-regex,
  // --exclude-process-regex): what it sends no series for, so the series still add up to the total.
  ...othersFamilies('process', 'processes'),
  scaph_container_power_microwatts: fam(
    'Power attributed to a container: its cgroup CPU time over the busy CPU time of the machine (or the sum of its processes\' power without cgroup v2), in microwatts',
    'gauge',
    'int',
  ),
  scaph_container_energy_microjoules: fam(
    'Energy attributed to a container since scaph first saw it (kept when its processes end), in microjoules',
    'counter',
    'int',
  ),
  scaph_pod_power_microwatts: fam(
    'Power attributed to a Kubernetes pod: its cgroup CPU time over the busy CPU time of the machine (or the sum of its processes\' power without cgroup v2), in microwatts',
    'gauge',
    'int',
  ),
  scaph_pod_energy_microjoules: fam(
    'Energy attributed to a Kubernetes pod since scaph first saw it (kept when its processes end), in microjoules',
    'counter',
    'int',
  ),
  scaph_namespace_power_microwatts: fam(
    'Power attributed to a Kubernetes namespace: the sum of its pods\' power, in microwatts',
    'gauge',
    'int',
  ),
  scaph_namespace_energy_microjoules: fam(
    'Energy attributed to a Kubernetes namespace since scaph first saw it (kept when its processes end), in microjoules',
    'counter',
    'int',
  ),
  scaph_systemd_unit_power_microwatts: fam(
    'Power attributed to a systemd unit (service or scope): its cgroup CPU time over the busy CPU time of the machine (or the sum of its processes\' power without cgroup v2), in microwatts',
    'gauge',
    'int',
  ),
  scaph_systemd_unit_energy_microjoules: fam(
    'Energy attributed to a systemd unit since scaph first saw it (kept when its processes end), in microjoules',
    'counter',
    'int',
  ),
  // The same rollups for groups (--containers with a selection), one set per kind.
  ...othersFamilies('container', 'containers'),
  ...othersFamilies('pod', 'pods'),
  ...othersFamilies('namespace', 'namespaces'),
  ...othersFamilies('systemd_unit', 'systemd units'),
  scaph_self_topo_procs_nb: fam('Number of processes monitored for the host.', 'gauge', 'int'),
  scaph_self_topo_stats_nb: fam(
    'CPU statistics readings (/proc/stat) scaph keeps in memory for the host: the previous one, where the next interval starts',
    'gauge',
    'int',
  ),
  scaph_self_topo_records_nb: fam(
    'Energy counter readings scaph keeps in memory to compute host power: the previous reading of each zone it sums (0 with the estimate)',
    'gauge',
    'int',
  ),
  scaph_self_socket_stats_nb: fam(
    'CPU statistics readings scaph keeps in memory per socket: none, /proc/stat is read for the whole machine',
    'gauge',
    'int',
  ),
  scaph_self_socket_records_nb: fam(
    'Energy counter readings scaph keeps in memory for the socket: the previous reading of its package zone',
    'gauge',
    'int',
  ),
  scaph_self_domain_records_nb: fam(
    'Energy counter readings scaph keeps in memory for the RAPL domain: its previous reading',
    'gauge',
    'int',
  ),
  scaph_self_mem_total_program_size: fam('Total program size of scaph (size in /proc/self/statm), in pages', 'gauge', 'int'),
  scaph_self_mem_resident_set_size: fam('Resident set size of scaph (resident in /proc/self/statm), in pages', 'gauge', 'int'),
  scaph_self_mem_shared_resident_size: fam(
    'Resident pages of scaph shared with other processes, backed by a file (shared in /proc/self/statm)',
    'gauge',
    'int',
  ),
  scaph_self_memory_bytes: fam('Scaphandre memory usage, in bytes', 'gauge', 'int'),
  scaph_self_version: fam('Version of scaph that produced these metrics (the value is always 1)', 'gauge', 'int'),
  scaph_sensor_fallback: fam(
    '1 when --sensor auto could not use RAPL and the host figures are the CPU-load estimate (value_source="estimate"); ' +
      'reason: rapl_unreadable (the counters exist but scaph may not read them: give group scaph read access) or ' +
      'rapl_missing (no usable RAPL zone). Absent when scaph measures, or was asked for the estimate',
    'gauge',
    'int',
  ),
} as const satisfies Record<string, MetricFamily>;

export type MetricName = keyof typeof METRIC_FAMILIES;

export interface MetricFamily {
  readonly help: string;
  readonly type: MetricType;
  readonly kind: ValueKind;
}

function fam(help: string, type: MetricType, kind: ValueKind): MetricFamily {
  return { help, type, kind };
}

type OthersFamilyNames<K extends string> = `scaph_${K}_others_power_microwatts` | `scaph_${K}_others_energy_microjoules` | `scaph_${K}_others_count`;

/** The three `others` rollup families of processes or of one group kind, one wording for all. */
function othersFamilies<K extends string>(kind: K, what: string): Record<OthersFamilyNames<K>, MetricFamily> {
  const by = kind === 'process' ? '--max-top-consumers, --min-process-power, --process-regex or --exclude-process-regex' : '--max-top-consumers or --min-process-power';
  return {
    [`scaph_${kind}_others_power_microwatts`]: fam(
      `Power of the ${what} this exporter sends no series for (not selected by ${by}), in microwatts: with the selected ${what}' power it adds up to the power of all ${what}`,
      'gauge',
      'int',
    ),
    [`scaph_${kind}_others_energy_microjoules`]: fam(
      `Energy of the ${what} this exporter sends no series for: the growth of their energy counters over the steps they were not sent, in microjoules; with the selected ${what}' energy it adds up to the energy of all ${what}`,
      'counter',
      'int',
    ),
    [`scaph_${kind}_others_count`]: fam(`Number of ${what} rolled up into the others power at the last step (those this exporter sends no series for)`, 'gauge', 'int'),
  } as Record<OthersFamilyNames<K>, MetricFamily>;
}

const NO_LABELS: MetricLabels = Object.freeze({});

/** Builder that keeps the family facts (help, type, kind) out of every call site. */
class MetricList {
  readonly items: Metric[] = [];
  add(name: MetricName, value: number, labels: MetricLabels = NO_LABELS): void {
    const f: MetricFamily = METRIC_FAMILIES[name];
    const v = f.kind === 'int' ? Math.round(value) : value;
    this.items.push({ name, help: f.help, type: f.type, kind: f.kind, labels, value: v });
  }
}

/** Gives the labels object of a process's series (processLabels, or a cache of it: see metrics-view.ts). */
export type ProcessLabelSource = (p: ProcessSample, options: MetricsViewOptions) => MetricLabels;

/**
 * Turns one sample into its metrics, in a stable order (host, sockets, domains, processes).
 * `labelsOf` lets a caller hand out the same labels object for a process across samples, so encoders
 * that cache per labels object (remote-write, Warp 10) hit their caches.
 */
export function sampleToMetrics(
  sample: Sample,
  options: MetricsViewOptions = {},
  version = '',
  labelsOf: ProcessLabelSource = processLabels,
): Metric[] {
  const list = new MetricList();
  addHostMetrics(list, sample);
  addSocketMetrics(list, sample);
  const selection = options.selector?.select(sample) ?? null;
  if (selection) {
    addProcessMetrics(list, selection.processes, selection.processEnergyUj, options, labelsOf);
    addOthers(list, PROCESS_OTHERS_FAMILIES, selection.others);
  } else addProcessMetrics(list, sample.processes, null, options, labelsOf);
  if (options.containers) {
    if (selection) addGroupMetrics(list, selection.groups, selection.groupEnergyUj);
    else addGroupMetrics(list, sample.groups, null);
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
  return list.items;
}

/**
 * What an exporter that serves a latest sample shows while it has no current one (a step without a
 * sample, or none for longer than it allows): no figure, only scaph_self_version (when `version` is set),
 * so a scrape says scaph runs while every power series is absent.
 */
export function noSampleMetrics(version = ''): Metric[] {
  const list = new MetricList();
  if (version) list.add('scaph_self_version', 1, { version });
  return list.items;
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
  options: MetricsViewOptions,
  labelsOf: ProcessLabelSource,
): void {
  for (let i = 0; i < processes.length; i++) {
    const p = processes[i] as ProcessSample;
    const labels = labelsOf(p, options);
    list.add('scaph_process_power_consumption_microwatts', p.powerUw, labels);
    list.add('scaph_process_energy_microjoules', energyUj ? (energyUj[i] as number) : p.energyUj, labels);
    list.add('scaph_process_cpu_usage_percentage', p.cpuUsagePercent, labels);
    list.add('scaph_process_memory_bytes', p.memoryBytes, labels);
    list.add('scaph_process_memory_virtual_bytes', p.virtualMemoryBytes, labels);
  }
}

const GROUP_FAMILIES: Readonly<Record<GroupKind, readonly [MetricName, MetricName]>> = {
  container: ['scaph_container_power_microwatts', 'scaph_container_energy_microjoules'],
  pod: ['scaph_pod_power_microwatts', 'scaph_pod_energy_microjoules'],
  namespace: ['scaph_namespace_power_microwatts', 'scaph_namespace_energy_microjoules'],
  systemd_unit: ['scaph_systemd_unit_power_microwatts', 'scaph_systemd_unit_energy_microjoules'],
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

/** `energyUj` as for addProcessMetrics (Selection.groupEnergyUj, or null). */
function addGroupMetrics(list: MetricList, groups: readonly GroupSample[], energyUj: readonly number[] | null): void {
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as GroupSample;
    const [powerName, energyName] = GROUP_FAMILIES[g.kind];
    let byKind = groupLabelCache.get(g.container);
    if (!byKind) {
      byKind = {};
      groupLabelCache.set(g.container, byKind);
    }
    const labels = (byKind[g.kind] ??= Object.freeze(groupLabels(g.kind, g.container)));
    list.add(powerName, g.powerUw, labels);
    list.add(energyName, energyUj ? (energyUj[i] as number) : g.energyUj, labels);
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
  options: MetricsViewOptions,
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
 * Every label name the metrics view writes (host, sockets, domains, processes, groups, self-metrics), and
 * the prefix of the pod labels a user copies (`--kubernetes-pod-label`). A label a transport adds to every
 * series (`--label`) must not take one of these names: it would be dropped from the series that have
 * their own, and stuck onto those that have not (pid="7" on the host power).
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
  ...CONTAINER_LABEL_NAMES.map(([, label]) => label),
]);
export const POD_LABEL_PREFIX = 'kubernetes_pod_label_';

/** Caps a command line to maxLength characters (whole code points), marking the cut with an ellipsis. */
export function capCmdline(cmdline: string, maxLength: number): string {
  if (maxLength <= 0 || cmdline.length <= maxLength) return cmdline;
  const cut = Array.from(cmdline).slice(0, Math.max(0, maxLength - 1)).join('');
  return `${cut}…`;
}
