/**
 * The table of every metric family scaph writes: its name, type (gauge or counter), how its value is
 * written (int or float), its unit and its help text. Names exist here only: the metrics view
 * (metrics.ts, metrics-view.ts) builds metrics of these families, the delivery core's self-metrics
 * included, and every encoder reads name, type and help off the metrics it is given. The metrics
 * reference of the docs is checked against this table (test/unit/core/metric-families.test.ts).
 */

export type MetricType = 'gauge' | 'counter';
/** How a value is written where the wire distinguishes: integers stay integers, doubles stay doubles. */
export type ValueKind = 'int' | 'float';
/**
 * What a value counts, as the name's suffix says it where it has one (OpenMetrics' unit); `pages` (memory
 * pages, /proc/self/statm) is not in the Scaphandre names that carry it; '' for a count or a ratio-free
 * figure (processes, samples, a load average, an info metric).
 */
export type MetricUnit = 'microwatts' | 'microjoules' | 'seconds' | 'bytes' | 'pages' | 'ratio' | 'percent' | 'grams' | 'grams_per_kwh' | '';

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

export interface MetricFamily {
  readonly help: string;
  readonly type: MetricType;
  readonly kind: ValueKind;
  readonly unit: MetricUnit;
}

export const METRIC_FAMILIES = {
  scaph_host_power_microwatts: fam('Power measurement on the whole host, in microwatts', 'gauge', 'int', 'microwatts'),
  scaph_host_energy_microjoules: fam(
    'Energy measurement for the whole host, as extracted from the sensor, in microjoules.',
    'counter',
    'int',
    'microjoules',
  ),
  // A point in time, so a gauge: Scaphandre's reference calls it a counter, but an OpenMetrics counter's
  // samples must end in _total, and a Prometheus scraping that format would store it under another name.
  scaph_host_energy_timestamp_seconds: fam(
    'Time of the energy reading behind scaph_host_energy_microjoules, in seconds since the epoch',
    'gauge',
    'float',
    'seconds',
  ),
  scaph_host_active_power_microwatts: fam(
    'Part of the host power explained by CPU activity (host power x busy CPU fraction), in microwatts',
    'gauge',
    'int',
    'microwatts',
  ),
  scaph_host_idle_power_microwatts: fam(
    'Part of the host power not explained by CPU activity (host power - active power), in microwatts',
    'gauge',
    'int',
    'microwatts',
  ),
  scaph_host_unattributed_power_microwatts: fam(
    'Part of the power processes are attributed from (host power, or active power with --attribution active) that no live process explains: interrupts, processes that ended unobserved or unreaped, skew between reads, in microwatts',
    'gauge',
    'int',
    'microwatts',
  ),
  scaph_host_unattributed_energy_microjoules: fam(
    'Energy that no live process explains since scaph started, in microjoules',
    'counter',
    'int',
    'microjoules',
  ),
  scaph_host_outside_rapl_power_microwatts: fam(
    'Part of the host power a platform meter (hwmon, Redfish) reads that RAPL does not see: platform power minus the sum of RAPL packages and dram (power supply losses, fans, disks, NICs, GPUs), never negative, in microwatts. Only with --sensor hwmon or redfish and readable RAPL counters',
    'gauge',
    'int',
    'microwatts',
  ),
  scaph_host_cpu_busy_ratio: fam('Busy share of all CPUs over the last interval, from 0 to 1', 'gauge', 'float', 'ratio'),
  scaph_host_rapl_psys_microjoules: fam(
    'Raw RAPL psys (platform) energy counter, in microjoules, as read from powercap',
    'counter',
    'int',
    'microjoules',
  ),
  scaph_host_load_avg_one: fam('Load average on 1 minute.', 'gauge', 'float', ''),
  scaph_host_load_avg_five: fam('Load average on 5 minutes.', 'gauge', 'float', ''),
  scaph_host_load_avg_fifteen: fam('Load average on 15 minutes.', 'gauge', 'float', ''),
  scaph_host_memory_total_bytes: fam('Random Access Memory installed on the host, in bytes.', 'gauge', 'int', 'bytes'),
  scaph_host_memory_available_bytes: fam(
    'Random Access Memory available to be re-used on the host, in bytes.',
    'gauge',
    'int',
    'bytes',
  ),
  scaph_host_memory_free_bytes: fam(
    'Random Access Memory free to be used (not reused) on the host, in bytes.',
    'gauge',
    'int',
    'bytes',
  ),
  scaph_host_swap_total_bytes: fam('Total swap space on the host, in bytes.', 'gauge', 'int', 'bytes'),
  scaph_host_swap_free_bytes: fam('Swap space free to be used on the host, in bytes.', 'gauge', 'int', 'bytes'),
  scaph_socket_power_microwatts: fam('Power measurement relative to a CPU socket, in microwatts', 'gauge', 'int', 'microwatts'),
  scaph_socket_energy_microjoules: fam('Socket related energy measurement in microjoules.', 'counter', 'int', 'microjoules'),
  scaph_domain_power_microwatts: fam('Power measurement relative to a RAPL Domain, in microwatts', 'gauge', 'int', 'microwatts'),
  scaph_domain_energy_microjoules: fam('Domain related energy measurement in microjoules.', 'counter', 'int', 'microjoules'),
  scaph_process_power_consumption_microwatts: fam(
    'Power consumption attributed to the process: host power (or active power with --attribution active) x its CPU time over the busy CPU time of the machine, in microwatts',
    'gauge',
    'int',
    'microwatts',
  ),
  scaph_process_energy_microjoules: fam(
    'Energy attributed to the process since scaph first saw it, in microjoules',
    'counter',
    'int',
    'microjoules',
  ),
  scaph_process_cpu_usage_percentage: fam(
    'CPU time consumed by the process, as a percentage of the capacity of all the CPU Cores',
    'gauge',
    'float',
    'percent',
  ),
  scaph_process_memory_bytes: fam('Physical RAM usage by the process, in bytes', 'gauge', 'int', 'bytes'),
  scaph_process_memory_virtual_bytes: fam('Virtual RAM usage by the process, in bytes', 'gauge', 'int', 'bytes'),
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
    'microwatts',
  ),
  scaph_container_energy_microjoules: fam(
    'Energy attributed to a container since scaph first saw it (kept when its processes end), in microjoules',
    'counter',
    'int',
    'microjoules',
  ),
  scaph_pod_power_microwatts: fam(
    'Power attributed to a Kubernetes pod: its cgroup CPU time over the busy CPU time of the machine (or the sum of its processes\' power without cgroup v2), in microwatts',
    'gauge',
    'int',
    'microwatts',
  ),
  scaph_pod_energy_microjoules: fam(
    'Energy attributed to a Kubernetes pod since scaph first saw it (kept when its processes end), in microjoules',
    'counter',
    'int',
    'microjoules',
  ),
  scaph_namespace_power_microwatts: fam(
    'Power attributed to a Kubernetes namespace: the sum of its pods\' power, in microwatts',
    'gauge',
    'int',
    'microwatts',
  ),
  scaph_namespace_energy_microjoules: fam(
    'Energy attributed to a Kubernetes namespace since scaph first saw it (kept when its processes end), in microjoules',
    'counter',
    'int',
    'microjoules',
  ),
  scaph_systemd_unit_power_microwatts: fam(
    'Power attributed to a systemd unit (service or scope): its cgroup CPU time over the busy CPU time of the machine (or the sum of its processes\' power without cgroup v2), in microwatts',
    'gauge',
    'int',
    'microwatts',
  ),
  scaph_systemd_unit_energy_microjoules: fam(
    'Energy attributed to a systemd unit since scaph first saw it (kept when its processes end), in microjoules',
    'counter',
    'int',
    'microjoules',
  ),
  // The same rollups for groups (--containers with a selection), one set per kind.
  ...othersFamilies('container', 'containers'),
  ...othersFamilies('pod', 'pods'),
  ...othersFamilies('namespace', 'namespaces'),
  ...othersFamilies('systemd_unit', 'systemd units'),
  // Carbon (docs/carbon.md): with --carbon-intensity, --carbon-zone or --carbon-provider only. Emissions are
  // each step's energy (the energy counters' growth) x the intensity in force, in whole micrograms.
  scaph_carbon_intensity_grams_per_kwh: fam(
    'Carbon intensity of the grid electricity the last step was counted at, in grams of CO2-equivalent per kWh; source: fixed (--carbon-intensity), static (scaph\'s per-country table, also while a provider fails) or provider (a live grid signal). Absent while no intensity is known',
    'gauge',
    'float',
    'grams_per_kwh',
  ),
  scaph_host_carbon_emissions_grams: fam(
    'Emissions of the host\'s energy since scaph started: each step\'s energy x the carbon intensity in force, in grams of CO2-equivalent (location-based; no embodied emissions, no PUE)',
    'counter',
    'float',
    'grams',
  ),
  scaph_host_unattributed_carbon_emissions_grams: fam(
    'Emissions of the energy no live process explains (scaph_host_unattributed_energy_microjoules) since scaph started, in grams of CO2-equivalent',
    'counter',
    'float',
    'grams',
  ),
  scaph_process_carbon_emissions_grams: fam(
    'Emissions attributed to the process since scaph first saw it (its energy x the carbon intensity in force), in grams of CO2-equivalent. Only with --carbon-per-process',
    'counter',
    'float',
    'grams',
  ),
  scaph_container_carbon_emissions_grams: fam('Emissions attributed to a container since scaph first saw it, in grams of CO2-equivalent', 'counter', 'float', 'grams'),
  scaph_pod_carbon_emissions_grams: fam('Emissions attributed to a Kubernetes pod since scaph first saw it, in grams of CO2-equivalent', 'counter', 'float', 'grams'),
  scaph_namespace_carbon_emissions_grams: fam('Emissions attributed to a Kubernetes namespace since scaph first saw it, in grams of CO2-equivalent', 'counter', 'float', 'grams'),
  scaph_systemd_unit_carbon_emissions_grams: fam('Emissions attributed to a systemd unit since scaph first saw it, in grams of CO2-equivalent', 'counter', 'float', 'grams'),
  scaph_self_topo_procs_nb: fam('Number of processes monitored for the host.', 'gauge', 'int', ''),
  scaph_self_topo_stats_nb: fam(
    'CPU statistics readings (/proc/stat) scaph keeps in memory for the host: the previous one, where the next interval starts',
    'gauge',
    'int',
    '',
  ),
  scaph_self_topo_records_nb: fam(
    'Energy counter readings scaph keeps in memory to compute host power: the previous reading of each zone it sums (0 with the estimate)',
    'gauge',
    'int',
    '',
  ),
  scaph_self_socket_stats_nb: fam(
    'CPU statistics readings scaph keeps in memory per socket: none, /proc/stat is read for the whole machine',
    'gauge',
    'int',
    '',
  ),
  scaph_self_socket_records_nb: fam(
    'Energy counter readings scaph keeps in memory for the socket: the previous reading of its package zone',
    'gauge',
    'int',
    '',
  ),
  scaph_self_domain_records_nb: fam(
    'Energy counter readings scaph keeps in memory for the RAPL domain: its previous reading',
    'gauge',
    'int',
    '',
  ),
  scaph_self_mem_total_program_size: fam('Total program size of scaph (size in /proc/self/statm), in pages', 'gauge', 'int', 'pages'),
  scaph_self_mem_resident_set_size: fam('Resident set size of scaph (resident in /proc/self/statm), in pages', 'gauge', 'int', 'pages'),
  scaph_self_mem_shared_resident_size: fam(
    'Resident pages of scaph shared with other processes, backed by a file (shared in /proc/self/statm)',
    'gauge',
    'int',
    'pages',
  ),
  scaph_self_memory_bytes: fam('Scaphandre memory usage, in bytes', 'gauge', 'int', 'bytes'),
  scaph_self_version: fam('Version of scaph that produced these metrics (the value is always 1)', 'gauge', 'int', ''),
  scaph_sensor_fallback: fam(
    '1 when --sensor auto could not use RAPL and the host figures are the CPU-load estimate (value_source="estimate"); ' +
      'reason: rapl_unreadable (the counters exist but scaph may not read them: give group scaph read access) or ' +
      'rapl_missing (no usable RAPL zone). Absent when scaph measures, or was asked for the estimate',
    'gauge',
    'int',
    '',
  ),
  // The delivery core's self-metrics (src/delivery/stats.ts keeps the figures): one set per push exporter,
  // labelled with its transport, sent after every batch and never filtered.
  scaph_delivery_samples_sent_total: fam('Samples delivered and acknowledged by the backend', 'counter', 'int', ''),
  scaph_delivery_samples_retried_total: fam('Samples whose delivery attempt failed and was retried', 'counter', 'int', ''),
  scaph_delivery_samples_dropped_total: fam('Samples given up on, by reason', 'counter', 'int', ''),
  // Only from a transport whose backend can accept a request yet reject part of it (OTLP's partial_success,
  // remote-write 2.0's Samples-Written header below what was sent).
  scaph_delivery_rejected_points_total: fam(
    'Data points the backend rejected or did not write within requests it accepted (OTLP partial success, remote-write 2.0 Samples-Written), as the backend counted them',
    'counter',
    'int',
    '',
  ),
  scaph_delivery_series_sent: fam(
    'Series in the last step the backend acknowledged (after --keep-metrics, --drop-metrics; scaph_delivery_* not counted)',
    'gauge',
    'int',
    '',
  ),
  scaph_delivery_queue_depth: fam('Samples waiting in the delivery queue', 'gauge', 'int', ''),
  scaph_delivery_queue_bytes: fam('Approximate memory held by the delivery queue, in bytes', 'gauge', 'int', 'bytes'),
  scaph_delivery_next_attempt_seconds: fam(
    'While delivery fails, seconds until the next attempt (0 while delivering or while an attempt is under way)',
    'gauge',
    'float',
    'seconds',
  ),
  scaph_delivery_spool_samples: fam('Samples in the disk spool not yet acknowledged by the backend', 'gauge', 'int', ''),
  scaph_delivery_spool_bytes: fam('Size of the disk spool segment files, in bytes', 'gauge', 'int', 'bytes'),
  scaph_delivery_spool_write_failures_total: fam('Samples the disk spool could not store (kept in memory only)', 'counter', 'int', ''),
  scaph_delivery_last_success_timestamp_seconds: fam(
    'Time of the last delivery the backend acknowledged, in seconds since the epoch',
    'gauge',
    'float',
    'seconds',
  ),
} as const satisfies Record<string, MetricFamily>;

export type MetricName = keyof typeof METRIC_FAMILIES;

function fam(help: string, type: MetricType, kind: ValueKind, unit: MetricUnit): MetricFamily {
  return { help, type, kind, unit };
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
      'microwatts',
    ),
    [`scaph_${kind}_others_energy_microjoules`]: fam(
      `Energy of the ${what} this exporter sends no series for: the growth of their energy counters over the steps they were not sent, in microjoules; with the selected ${what}' energy it adds up to the energy of all ${what}`,
      'counter',
      'int',
      'microjoules',
    ),
    [`scaph_${kind}_others_count`]: fam(`Number of ${what} rolled up into the others power at the last step (those this exporter sends no series for)`, 'gauge', 'int', ''),
  } as Record<OthersFamilyNames<K>, MetricFamily>;
}

/** The delivery core's self-metrics (scaph_delivery_*): what was sent and lost, so never filtered. */
export function isDeliveryFamily(name: string): boolean {
  return name.startsWith('scaph_delivery_');
}

/** What a metric of a family reads off its family: one object per family, shared by all its metrics. */
interface FamilyFacts {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly kind: ValueKind;
}

const FAMILY_FACTS = new Map<string, FamilyFacts>(
  Object.entries(METRIC_FAMILIES).map(([name, f]: [string, MetricFamily]) => [name, Object.freeze({ name, help: f.help, type: f.type, kind: f.kind })]),
);

/**
 * A metric that holds its family, labels and value, and reads name, help, type and kind off its family.
 * A step at 10,000 processes makes 50,000 metrics that live until the step is encoded: three fields
 * instead of six is 24 bytes less each, 1.2 MB fewer bytes a step for the young generation to copy and
 * promote (bench, scale section).
 */
class FamilyMetric implements Metric {
  constructor(
    private readonly family: FamilyFacts,
    readonly labels: MetricLabels,
    readonly value: number,
  ) {}

  get name(): string {
    return this.family.name;
  }

  get help(): string {
    return this.family.help;
  }

  get type(): MetricType {
    return this.family.type;
  }

  get kind(): ValueKind {
    return this.family.kind;
  }

  /** A metric of the same family with these labels and value. */
  with(labels: MetricLabels, value: number): FamilyMetric {
    return new FamilyMetric(this.family, labels, value);
  }
}

/** One metric of a family: help, type and kind from the table, an int family's value rounded. */
export function metricOf(name: MetricName, value: number, labels: MetricLabels): Metric {
  const f = FAMILY_FACTS.get(name) as FamilyFacts;
  return new FamilyMetric(f, labels, f.kind === 'int' ? Math.round(value) : value);
}

/**
 * A metric of the family of `like` (a metric of the table or any Metric) with other labels and value, as
 * lean as metricOf's when `like` is one of them.
 */
export function metricLike(like: Metric, labels: MetricLabels, value: number): Metric {
  if (like instanceof FamilyMetric) return like.with(labels, value);
  return { name: like.name, help: like.help, type: like.type, kind: like.kind, labels, value };
}
