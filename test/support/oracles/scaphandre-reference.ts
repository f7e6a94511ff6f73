/**
 * What Scaphandre's documentation promises, as data: the 14 metric names of its Prometheus exporter's
 * reference ("Metrics exposed") with the labels it gives them. Taken from Scaphandre's docs
 * (hubblo-org/scaphandre, docs_src/references/metrics.md), not from scaph: the compatibility tests hold
 * scaph to these.
 */
export const REFERENCE_METRICS: Readonly<Record<string, readonly string[]>> = {
  scaph_host_power_microwatts: [],
  scaph_process_power_consumption_microwatts: ['exe', 'pid', 'cmdline'],
  scaph_host_energy_microjoules: [],
  scaph_host_energy_timestamp_seconds: [],
  scaph_socket_power_microwatts: ['socket_id'],
  scaph_self_mem_total_program_size: [],
  scaph_self_mem_resident_set_size: [],
  scaph_self_mem_shared_resident_size: [],
  scaph_self_topo_stats_nb: [],
  scaph_self_topo_records_nb: [],
  scaph_self_topo_procs_nb: [],
  scaph_self_socket_stats_nb: ['socket_id'],
  scaph_self_socket_records_nb: ['socket_id'],
  scaph_self_domain_records_nb: ['socket_id', 'rapl_domain_name'],
};

export const REFERENCE_NAMES: readonly string[] = Object.keys(REFERENCE_METRICS);

/** The Riemann service of a metric, as Scaphandre's Riemann page names it: processes get `_<pid>_<exe>`. */
export function riemannServiceOf(name: string, pid: number, exe: string): string {
  return name === 'scaph_process_power_consumption_microwatts' ? `process_power_consumption_microwatts_${pid}_${exe}` : name;
}
