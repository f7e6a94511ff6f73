/**
 * How each metric family goes out over OTLP, under the two namings of `scaph otlp --naming`. The families
 * (names, help, type, unit) are those of metric-families.ts; this table only says how OTLP spells them, so
 * names still live in src/core alone.
 *
 * - `scaph` (the default): the names /metrics serves, labels as they are, values as scaph counts them (µW,
 *   µJ), each with the OTLP unit that Prometheus' OTLP translation (github.com/prometheus/otlptranslator,
 *   the code of Prometheus 3 and Mimir) turns into a suffix the name already ends with, so it adds none:
 *   `microwatts` and `microjoules` (not UCUM `uW`, which would become `_uW`), `s` (seconds), `By` (bytes),
 *   `1` (ratio), `percentage`, `{page}` (an annotation: no suffix). Counters still get `_total` under
 *   Prometheus' default translation strategy; `UnderscoreEscapingWithoutSuffixes` (Prometheus >= 3.6, Mimir)
 *   or `NoTranslation` keeps every name as /metrics has it (src/exporters/otlp/README.md).
 * - `semconv`: OpenTelemetry's hardware semantic conventions where they exist (semantic-conventions
 *   v1.44.0, docs/hardware/host.md and common.md: `hw.host.power` gauge in W and `hw.host.energy` counter in
 *   J, `hw.power` / `hw.energy` with `hw.id` and `hw.type` for the CPU packages), dotted `scaph.*` names for
 *   the rest, SI units (W, J, s, By, 1), and the registry's attribute names (`process.pid` as an integer,
 *   `process.executable.name`, `process.command_line`, `container.id`, `k8s.pod.name`,
 *   `k8s.namespace.name`, …).
 */
import { METRIC_FAMILIES, type MetricFamily, type MetricLabels, type MetricName, type MetricUnit } from './metric-families.js';
import { POD_LABEL_PREFIX } from './metrics.js';

export type OtlpNaming = 'scaph' | 'semconv';
export const OTLP_NAMINGS: readonly OtlpNaming[] = ['scaph', 'semconv'];

/** One attribute of a data point: strings everywhere, an integer for `process.pid` under semconv. */
export type OtlpAttribute = readonly [key: string, value: string | number];

/** How one family goes out under one naming. */
export interface OtlpFamily {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  /** `gauge`: an OTLP Gauge; `counter`: a monotonic cumulative Sum. */
  readonly type: MetricFamily['type'];
  /**
   * Divides scaph's value (1e6 from µW to W; a division, not a product by 1e-6, so 12345678 µW is exactly
   * 12.345678 W); 1 keeps it.
   */
  readonly divisor: number;
  /** The value is written as `as_int` (a whole number that stays whole) rather than `as_double`. */
  readonly asInt: boolean;
  /** The attributes of a series with these labels, in order. */
  attributes(labels: MetricLabels): OtlpAttribute[];
  /**
   * Which attribute mapping this is: families with the same one give the same attributes for the same
   * labels, so an encoder may encode them once per labels object for all of them.
   */
  readonly attributeMapping: string;
}

/** --naming scaph: the unit of each MetricUnit, chosen for Prometheus' OTLP translation (see above). */
export const SCAPH_NAMING_UNITS: Readonly<Record<MetricUnit, string>> = {
  microwatts: 'microwatts',
  microjoules: 'microjoules',
  seconds: 's',
  bytes: 'By',
  pages: '{page}',
  ratio: '1',
  percent: 'percentage',
  grams: 'grams',
  grams_per_kwh: '{gCO2e/kWh}',
  '': '',
};

/** --naming semconv: each MetricUnit in SI (UCUM) and what scaph's value is divided by to get it. */
const SI: Readonly<Record<MetricUnit, readonly [unit: string, divisor: number]>> = {
  microwatts: ['W', 1e6],
  microjoules: ['J', 1e6],
  seconds: ['s', 1],
  bytes: ['By', 1],
  pages: ['{page}', 1],
  ratio: ['1', 1],
  percent: ['1', 100],
  grams: ['g', 1],
  grams_per_kwh: ['g/kW.h', 1],
  '': ['', 1],
};

/**
 * The semconv names of the families. Units of counts are UCUM annotations (`{process}`), which Prometheus'
 * translation leaves out of the name.
 */
const SEMCONV: Readonly<Record<MetricName, { readonly name: string; readonly unit?: string; readonly attributes?: AttributeMapping }>> = {
  scaph_host_power_microwatts: { name: 'hw.host.power', attributes: 'host' },
  scaph_host_energy_microjoules: { name: 'hw.host.energy', attributes: 'host' },
  scaph_host_energy_timestamp_seconds: { name: 'scaph.host.energy.timestamp' },
  scaph_host_active_power_microwatts: { name: 'scaph.host.active.power' },
  scaph_host_idle_power_microwatts: { name: 'scaph.host.idle.power' },
  scaph_host_unattributed_power_microwatts: { name: 'scaph.host.unattributed.power' },
  scaph_host_unattributed_energy_microjoules: { name: 'scaph.host.unattributed.energy' },
  scaph_host_outside_rapl_power_microwatts: { name: 'scaph.host.outside_rapl.power' },
  scaph_host_cpu_busy_ratio: { name: 'scaph.host.cpu.busy' },
  scaph_host_rapl_psys_microjoules: { name: 'scaph.host.rapl.psys.energy' },
  scaph_host_load_avg_one: { name: 'scaph.host.load_average.1m', unit: '{thread}' },
  scaph_host_load_avg_five: { name: 'scaph.host.load_average.5m', unit: '{thread}' },
  scaph_host_load_avg_fifteen: { name: 'scaph.host.load_average.15m', unit: '{thread}' },
  scaph_host_memory_total_bytes: { name: 'scaph.host.memory.total' },
  scaph_host_memory_available_bytes: { name: 'scaph.host.memory.available' },
  scaph_host_memory_free_bytes: { name: 'scaph.host.memory.free' },
  scaph_host_swap_total_bytes: { name: 'scaph.host.swap.total' },
  scaph_host_swap_free_bytes: { name: 'scaph.host.swap.free' },
  scaph_socket_power_microwatts: { name: 'hw.power', attributes: 'socket' },
  scaph_socket_energy_microjoules: { name: 'hw.energy', attributes: 'socket' },
  scaph_domain_power_microwatts: { name: 'scaph.rapl.domain.power', attributes: 'domain' },
  scaph_domain_energy_microjoules: { name: 'scaph.rapl.domain.energy', attributes: 'domain' },
  scaph_process_power_consumption_microwatts: { name: 'scaph.process.power' },
  scaph_process_energy_microjoules: { name: 'scaph.process.energy' },
  scaph_process_cpu_usage_percentage: { name: 'scaph.process.cpu.utilization' },
  scaph_process_memory_bytes: { name: 'scaph.process.memory.usage' },
  scaph_process_memory_virtual_bytes: { name: 'scaph.process.memory.virtual' },
  scaph_process_others_power_microwatts: { name: 'scaph.process.others.power' },
  scaph_process_others_energy_microjoules: { name: 'scaph.process.others.energy' },
  scaph_process_others_count: { name: 'scaph.process.others.count', unit: '{process}' },
  scaph_container_power_microwatts: { name: 'scaph.container.power' },
  scaph_container_energy_microjoules: { name: 'scaph.container.energy' },
  scaph_pod_power_microwatts: { name: 'scaph.pod.power' },
  scaph_pod_energy_microjoules: { name: 'scaph.pod.energy' },
  scaph_namespace_power_microwatts: { name: 'scaph.namespace.power' },
  scaph_namespace_energy_microjoules: { name: 'scaph.namespace.energy' },
  scaph_systemd_unit_power_microwatts: { name: 'scaph.systemd_unit.power' },
  scaph_systemd_unit_energy_microjoules: { name: 'scaph.systemd_unit.energy' },
  scaph_carbon_intensity_grams_per_kwh: { name: 'scaph.carbon.intensity' },
  scaph_host_carbon_emissions_grams: { name: 'scaph.host.carbon.emissions' },
  scaph_host_unattributed_carbon_emissions_grams: { name: 'scaph.host.unattributed.carbon.emissions' },
  scaph_process_carbon_emissions_grams: { name: 'scaph.process.carbon.emissions' },
  scaph_container_carbon_emissions_grams: { name: 'scaph.container.carbon.emissions' },
  scaph_pod_carbon_emissions_grams: { name: 'scaph.pod.carbon.emissions' },
  scaph_namespace_carbon_emissions_grams: { name: 'scaph.namespace.carbon.emissions' },
  scaph_systemd_unit_carbon_emissions_grams: { name: 'scaph.systemd_unit.carbon.emissions' },
  scaph_container_others_power_microwatts: { name: 'scaph.container.others.power' },
  scaph_container_others_energy_microjoules: { name: 'scaph.container.others.energy' },
  scaph_container_others_count: { name: 'scaph.container.others.count', unit: '{container}' },
  scaph_pod_others_power_microwatts: { name: 'scaph.pod.others.power' },
  scaph_pod_others_energy_microjoules: { name: 'scaph.pod.others.energy' },
  scaph_pod_others_count: { name: 'scaph.pod.others.count', unit: '{pod}' },
  scaph_namespace_others_power_microwatts: { name: 'scaph.namespace.others.power' },
  scaph_namespace_others_energy_microjoules: { name: 'scaph.namespace.others.energy' },
  scaph_namespace_others_count: { name: 'scaph.namespace.others.count', unit: '{namespace}' },
  scaph_systemd_unit_others_power_microwatts: { name: 'scaph.systemd_unit.others.power' },
  scaph_systemd_unit_others_energy_microjoules: { name: 'scaph.systemd_unit.others.energy' },
  scaph_systemd_unit_others_count: { name: 'scaph.systemd_unit.others.count', unit: '{unit}' },
  scaph_self_topo_procs_nb: { name: 'scaph.self.topology.processes', unit: '{process}' },
  scaph_self_topo_stats_nb: { name: 'scaph.self.topology.cpu_stats', unit: '{record}' },
  scaph_self_topo_records_nb: { name: 'scaph.self.topology.energy_records', unit: '{record}' },
  scaph_self_socket_stats_nb: { name: 'scaph.self.socket.cpu_stats', unit: '{record}' },
  scaph_self_socket_records_nb: { name: 'scaph.self.socket.energy_records', unit: '{record}' },
  scaph_self_domain_records_nb: { name: 'scaph.self.domain.energy_records', unit: '{record}' },
  scaph_self_mem_total_program_size: { name: 'scaph.self.memory.program_size' },
  scaph_self_mem_resident_set_size: { name: 'scaph.self.memory.resident' },
  scaph_self_mem_shared_resident_size: { name: 'scaph.self.memory.shared' },
  scaph_self_memory_bytes: { name: 'scaph.self.memory.usage' },
  scaph_self_version: { name: 'scaph.self.version', unit: '1' },
  scaph_sensor_fallback: { name: 'scaph.sensor.fallback', unit: '1' },
  scaph_delivery_samples_sent_total: { name: 'scaph.delivery.samples.sent', unit: '{sample}' },
  scaph_delivery_samples_retried_total: { name: 'scaph.delivery.samples.retried', unit: '{sample}' },
  scaph_delivery_samples_dropped_total: { name: 'scaph.delivery.samples.dropped', unit: '{sample}' },
  scaph_delivery_rejected_points_total: { name: 'scaph.delivery.rejected_points', unit: '{data_point}' },
  scaph_delivery_series_sent: { name: 'scaph.delivery.series.sent', unit: '{series}' },
  scaph_delivery_queue_depth: { name: 'scaph.delivery.queue.depth', unit: '{sample}' },
  scaph_delivery_queue_bytes: { name: 'scaph.delivery.queue.size' },
  scaph_delivery_next_attempt_seconds: { name: 'scaph.delivery.next_attempt' },
  scaph_delivery_spool_samples: { name: 'scaph.delivery.spool.samples', unit: '{sample}' },
  scaph_delivery_spool_bytes: { name: 'scaph.delivery.spool.size' },
  scaph_delivery_spool_write_failures_total: { name: 'scaph.delivery.spool.write_failures', unit: '{sample}' },
  scaph_delivery_last_success_timestamp_seconds: { name: 'scaph.delivery.last_success.timestamp' },
};

/**
 * --naming semconv: the attribute of each label scaph writes (metrics.ts). Labels not listed (a pod label
 * the user copies, `kubernetes_pod_label_<key>`) are handled by semconvAttributeName.
 */
export const SEMCONV_ATTRIBUTES: Readonly<Record<string, string>> = {
  pid: 'process.pid',
  exe: 'process.executable.name',
  cmdline: 'process.command_line',
  vmname: 'scaph.vm.name',
  container_id: 'container.id',
  container_name: 'container.name',
  container_runtime: 'container.runtime.name',
  container_image: 'container.image.name',
  kubernetes_pod_uid: 'k8s.pod.uid',
  kubernetes_pod_qos_class: 'scaph.k8s.pod.qos_class',
  kubernetes_pod_name: 'k8s.pod.name',
  kubernetes_pod_namespace: 'k8s.namespace.name',
  kubernetes_node_name: 'k8s.node.name',
  kubernetes_container_name: 'k8s.container.name',
  systemd_unit: 'scaph.systemd.unit',
  value_source: 'scaph.value_source',
  reason: 'scaph.reason',
  version: 'scaph.version',
  socket_id: 'scaph.socket.id',
  rapl_domain_name: 'scaph.rapl.domain',
  domain_name: 'scaph.rapl.domain',
  domain_id: 'scaph.rapl.domain.id',
  transport: 'scaph.transport',
};

/** A label's semconv attribute: the table's, `k8s.pod.label.<key>` for a copied pod label, else `scaph.<label>`. */
export function semconvAttributeName(label: string): string {
  const known = SEMCONV_ATTRIBUTES[label];
  if (known !== undefined) return known;
  if (label.startsWith(POD_LABEL_PREFIX)) return `k8s.pod.label.${label.slice(POD_LABEL_PREFIX.length)}`;
  return `scaph.${label}`;
}

/**
 * How labels become attributes under semconv: renamed one by one (`renamed`), or the hardware conventions'
 * `hw.id` (required), `hw.type` and `hw.parent` for the host, the CPU packages and their RAPL domains, with
 * the powercap zone names as ids (`intel-rapl:0`, `intel-rapl:0:1`, as the kernel names them).
 */
type AttributeMapping = 'renamed' | 'host' | 'socket' | 'domain';

const HOST_HW_ID = 'host';

function hwAttributes(mapping: Exclude<AttributeMapping, 'renamed'>, labels: MetricLabels): OtlpAttribute[] {
  const socket = labels['socket_id'] ?? '';
  switch (mapping) {
    case 'host':
      return [['hw.id', HOST_HW_ID], ...renamed(labels)];
    case 'socket':
      return [['hw.id', `intel-rapl:${socket}`], ['hw.type', 'cpu'], ...renamed(labels, ['socket_id'])];
    case 'domain':
      return [
        ['hw.id', `intel-rapl:${socket}:${labels['domain_id'] ?? ''}`],
        ['hw.parent', `intel-rapl:${socket}`],
        ...renamed(labels, ['socket_id', 'domain_id']),
      ];
  }
}

function renamed(labels: MetricLabels, skip: readonly string[] = []): OtlpAttribute[] {
  const out: OtlpAttribute[] = [];
  for (const k in labels) {
    if (skip.includes(k)) continue;
    const v = labels[k] as string;
    // An integer where the registry says int; a pid label that is not one stays a string rather than lie.
    out.push(k === 'pid' && /^\d{1,15}$/.test(v) ? [semconvAttributeName(k), Number(v)] : [semconvAttributeName(k), v]);
  }
  return out;
}

function asIs(labels: MetricLabels): OtlpAttribute[] {
  const out: OtlpAttribute[] = [];
  for (const k in labels) out.push([k, labels[k] as string]);
  return out;
}

/** The description under semconv: the family's help, in the units the semconv naming writes. */
function semconvDescription(name: MetricName, family: MetricFamily): string {
  if (family.unit === 'percent') return family.help.replace(/as a percentage of/, 'as a fraction (0 to 1) of');
  // Words only: a family name quoted in a help text (scaph_host_energy_microjoules) stays as it is.
  return family.help.replace(/(?<!_)\bmicrowatts\b/g, 'watts').replace(/(?<!_)\bmicrojoules\b/g, 'joules');
}

const cache = new Map<string, OtlpFamily | null>();

/** How the family `name` goes out under `naming`; null for a name the table does not know. */
export function otlpFamily(name: string, naming: OtlpNaming): OtlpFamily | null {
  const key = `${naming}\u0000${name}`;
  let found = cache.get(key);
  if (found === undefined) {
    found = build(name, naming);
    cache.set(key, found);
  }
  return found;
}

function build(name: string, naming: OtlpNaming): OtlpFamily | null {
  if (!Object.hasOwn(METRIC_FAMILIES, name)) return null;
  const family: MetricFamily = METRIC_FAMILIES[name as MetricName];
  if (naming === 'scaph') {
    return {
      name,
      description: family.help,
      unit: SCAPH_NAMING_UNITS[family.unit],
      type: family.type,
      divisor: 1,
      asInt: family.kind === 'int',
      attributes: asIs,
      attributeMapping: 'as-is',
    };
  }
  const entry = SEMCONV[name as MetricName];
  const [unit, divisor] = SI[family.unit];
  const mapping = entry.attributes ?? 'renamed';
  return {
    name: entry.name,
    description: semconvDescription(name as MetricName, family),
    unit: entry.unit ?? unit,
    type: family.type,
    divisor,
    asInt: family.kind === 'int' && divisor === 1,
    attributes: mapping === 'renamed' ? (labels) => renamed(labels) : (labels) => hwAttributes(mapping, labels),
    attributeMapping: mapping,
  };
}
