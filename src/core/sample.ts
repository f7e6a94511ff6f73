/**
 * A Sample is one reading of the machine: plain, frozen data handed to every exporter.
 * Nobody mutates it; exporters only read it. Units are in the field names.
 */

/**
 * Where the host figures come from. The powercap values keep Scaphandre's label values so existing
 * dashboards keep matching; `estimate` marks modelled (not measured) figures. The platform meters
 * (docs/platform-power.md): `hwmon_power_meter`, the ACPI power meter the kernel exposes as a hwmon device;
 * `hwmon`, other hwmon power or energy channels the user named; `redfish`, the BMC's reading over Redfish.
 */
export type ValueSource = 'powercap_rapl_psys' | 'powercap_rapl_pkg' | 'estimate' | 'hwmon_power_meter' | 'hwmon' | 'redfish';

/**
 * Why `--sensor auto` publishes the estimate instead of RAPL: `rapl_unreadable`, the zones exist but this
 * user may not read energy_uj (a fix away: group read access); `rapl_missing`, no usable RAPL zone.
 */
export type SensorFallbackReason = 'rapl_unreadable' | 'rapl_missing';

/**
 * How process power is computed from a process's share of the machine's busy CPU time: `host` applies
 * the share to host power (Scaphandre's documented model), `active` to active power (host × busy fraction).
 */
export type AttributionModel = 'host' | 'active';

export interface DomainSample {
  /** RAPL domain name as the kernel names it: core, uncore, dram, … */
  readonly name: string;
  /** D in intel-rapl:S:D (the domain's index under its socket). */
  readonly id: number;
  /** Energy since the agent started, wrap-corrected, µJ. */
  readonly energyUj: number;
  /** Mean power over the last interval, µW. */
  readonly powerUw: number;
  /** Energy counter readings the sensor keeps for this domain (its previous reading: 1, or 0 without one). */
  readonly energyRecordsKept?: number;
}

export interface SocketSample {
  /** S in intel-rapl:S. */
  readonly id: number;
  /** Package energy since the agent started, wrap-corrected, µJ. */
  readonly energyUj: number;
  /** Package power over the last interval, µW (dram not included: see host). */
  readonly powerUw: number;
  readonly domains: readonly DomainSample[];
  /** Energy counter readings the sensor keeps for the socket's package zone (1, or 0 without one). */
  readonly energyRecordsKept?: number;
}

export interface MemorySample {
  readonly totalBytes: number;
  readonly freeBytes: number;
  readonly availableBytes: number;
  readonly swapTotalBytes: number;
  readonly swapFreeBytes: number;
}

export interface HostSample {
  readonly hostname: string;
  /** Whole-host power over the last interval, µW: psys if present, else Σ sockets (package + dram). */
  readonly powerUw: number;
  /** Host energy since the agent started, wrap-corrected, µJ. */
  readonly energyUj: number;
  /** Wall-clock time of the energy reading behind energyUj, ms since the epoch. */
  readonly energyTimestampMs?: number;
  /** /proc/stat readings the sensor keeps for the machine (to compute the next interval). */
  readonly cpuStatsKept?: number;
  /** Energy counter readings the sensor keeps to compute host power (one per zone it sums; 0 for the estimate). */
  readonly energyRecordsKept?: number;
  /** Part of powerUw explained by CPU activity: powerUw × cpuBusyFraction, µW. */
  readonly activePowerUw: number;
  /** The rest of powerUw, µW. */
  readonly idlePowerUw: number;
  /** What process power is a share of: host power (`host`) or active power (`active`). */
  readonly attribution: AttributionModel;
  /**
   * Part of the model's total (round(powerUw) for `host`, activePowerUw for `active`) that no live process
   * explains: interrupts, processes that ended unobserved or unreaped, skew between reads. Whole µW;
   * Σ process powerUw + this = the model's total exactly.
   */
  readonly unattributedPowerUw: number;
  /** Unattributed energy since the agent started, µJ. */
  readonly unattributedEnergyUj: number;
  /** Busy share of all CPUs over the interval (0..1), from /proc/stat. */
  readonly cpuBusyFraction: number;
  readonly valueSource: ValueSource;
  /**
   * With a platform meter (hwmon, Redfish) beside readable RAPL counters: the part of powerUw RAPL does not
   * see (platform power - RAPL's host sum: power supply losses, fans, disks, NICs, GPUs), µW, never
   * negative. Absent with RAPL or the estimate as host power, and when RAPL cannot be read.
   */
  readonly outsideRaplPowerUw?: number;
  /** Set when `--sensor auto` fell back to the estimate (absent otherwise, and in samples of older versions). */
  readonly sensorFallback?: SensorFallbackReason;
  /** Raw psys counter (µJ, as read) when the machine has a psys zone. */
  readonly psysEnergyUj: number | null;
  /** 1, 5 and 15 minute load averages. */
  readonly loadAvg: readonly [number, number, number];
  readonly memory: MemorySample | null;
}

/** Where a process runs when it is in a container or a systemd unit (filled by the containers module). */
export interface ContainerInfo {
  readonly containerId?: string;
  readonly containerRuntime?: string;
  readonly containerName?: string;
  readonly containerImage?: string;
  readonly kubernetesPodUid?: string;
  readonly kubernetesPodQosClass?: string;
  readonly kubernetesPodName?: string;
  readonly kubernetesPodNamespace?: string;
  readonly kubernetesNodeName?: string;
  readonly kubernetesContainerName?: string;
  readonly systemdUnit?: string;
  /**
   * Pod labels the user asked for (--kubernetes-pod-label style option), keyed by their metric label
   * name already (`kubernetes_pod_label_<key sanitized>`), so the metrics view can copy them as is.
   */
  readonly kubernetesPodLabels?: Readonly<Record<string, string>>;
}

export interface ProcessSample {
  readonly pid: number;
  /** Jiffies since boot at process start: (pid, starttime) names one process across pid reuse. */
  readonly starttime: number;
  /** Executable name (basename of /proc/PID/exe, or comm when the link is unreadable). */
  readonly exe: string;
  /** Full path of the executable when readable, else empty. */
  readonly exePath: string;
  /** 15-char kernel name from /proc/PID/stat. */
  readonly comm: string;
  /** argv joined by spaces (may be empty for kernel threads). */
  readonly cmdline: string;
  /** CPU time (utime + stime) used over the interval, in jiffies. */
  readonly cpuTicks: number;
  /** CPU time of children it reaped over the interval that scaph had not attributed to them, jiffies. */
  readonly childCpuTicks: number;
  /**
   * (cpuTicks + childCpuTicks) / the machine's busy ticks over the interval (0..1; scaled down when the
   * processes' ticks exceeded the busy ticks). Σ ≤ 1: the rest is the host's unattributed part.
   */
  readonly cpuShare: number;
  /** CPU time used as a percentage of the whole machine's capacity (all cores). */
  readonly cpuUsagePercent: number;
  /** Attributed power, whole µW: the model's total (host or active power) × cpuShare. */
  readonly powerUw: number;
  /** Attributed energy since scaph first saw this process, µJ (monotonic while it lives). */
  readonly energyUj: number;
  readonly memoryBytes: number;
  readonly virtualMemoryBytes: number;
  /** VM name when the process is a qemu-system guest (set by the qemu detection). */
  readonly vmName: string | null;
  readonly container: ContainerInfo | null;
}

export type GroupKind = 'container' | 'pod' | 'namespace' | 'systemd_unit';

/**
 * How long the sensor keeps the energy counter of a group that is absent from the samples (no live
 * process, no CPU time growth), ms: a group back within it continues its counter (a restarting service, a
 * container between two jobs), one back later starts again from 0. Whoever follows group counters across
 * samples (the process selector) keeps them at least this long.
 */
export const GROUP_ENERGY_RETENTION_MS = 600_000;

/** Power of a container, pod, namespace or systemd unit (with `--containers`), in the processes' model. */
export interface GroupSample {
  readonly kind: GroupKind;
  /** Container id, pod UID, namespace name or unit name. */
  readonly key: string;
  /** Where the group runs: its labels come from here. */
  readonly container: ContainerInfo;
  /** Whole µW. Within one kind, groups never sum to more than the model's total. */
  readonly powerUw: number;
  /** Energy since scaph first saw the group (kept while its processes come and go), µJ. */
  readonly energyUj: number;
  /**
   * `cgroup`: the growth of the group's cgroup v2 cpu.stat usage_usec over the machine's busy time (it
   * includes processes that came and went inside the group); `processes`: the sum of its live processes'
   * power (cgroup v1, unreadable cpu.stat, or the group's first interval).
   */
  readonly source: 'cgroup' | 'processes';
}

export interface Sample {
  /** Wall-clock time of the reading, ms since the epoch: the timestamp every exporter writes. */
  readonly timestampMs: number;
  /** Length of the interval the powers are averaged over, ms (monotonic clock). */
  readonly intervalMs: number;
  readonly host: HostSample;
  readonly sockets: readonly SocketSample[];
  /** Every process seen in both readings of the interval, highest power first. */
  readonly processes: readonly ProcessSample[];
  /** Processes that were alive in the previous sample and are gone now (for staleness markers). */
  readonly endedProcesses: readonly EndedProcess[];
  /** Container / pod / namespace / unit power, when the sensor resolves containers; else empty. */
  readonly groups: readonly GroupSample[];
  /**
   * scaph's own resident memory at the reading, bytes. Carried in the sample (not read when encoding) so
   * a sample replayed from the spool encodes to the same values as when it was first sent.
   */
  readonly agentRssBytes?: number;
  /** scaph's own memory from /proc/self/statm at the reading (carried in the sample for the same reason). */
  readonly agentMemory?: AgentMemorySample;
  /** Emissions of the energy in this sample, when a carbon intensity is configured (absent otherwise). */
  readonly carbon?: CarbonSample;
}

/**
 * Where a step's carbon intensity came from: `fixed` (--carbon-intensity), `static` (scaph's per-country
 * table: --carbon-zone, or a provider's fallback while it fails), `provider` (a live grid signal).
 */
export type IntensitySourceKind = 'fixed' | 'static' | 'provider';

/**
 * Emissions counters (src/carbon/accountant.ts): each step's energy (the sensor's counters' growth) ×
 * the intensity in force, in whole micrograms, so that Σ process + unattributed = the model's total (host
 * emissions with `--attribution host`) and each group kind never sums to more, exactly. Grams here.
 */
export interface CarbonSample {
  /** Intensity the step was counted at, gCO2e/kWh; null when none was available (nothing counted). */
  readonly intensityGPerKwh: number | null;
  readonly source: IntensitySourceKind | null;
  /** The zone the intensity is for ('' for a fixed value given without a zone). */
  readonly zone: string;
  /** Host emissions since scaph started, grams. */
  readonly hostGrams: number;
  /** Emissions of the energy no live process explains, since scaph started, grams. */
  readonly unattributedGrams: number;
  /** Emissions of each group (same index as Sample.groups) since scaph first saw it, grams. */
  readonly groupGrams: readonly number[];
  /** With --carbon-per-process: each process's (same index as Sample.processes), grams; else null. */
  readonly processGrams: readonly number[] | null;
}

/**
 * scaph's own memory as /proc/self/statm gives it, in pages. Optional fields of the sample (here and the
 * `*Kept` counts above) are absent from samples spooled by an earlier version: exporters skip them.
 */
export interface AgentMemorySample {
  /** statm `size`: total program size (VmSize), pages. */
  readonly totalProgramPages: number;
  /** statm `resident`: resident set size, pages. */
  readonly residentPages: number;
  /** statm `shared`: resident pages backed by a file, pages. */
  readonly sharedPages: number;
}

export interface EndedProcess {
  readonly pid: number;
  readonly starttime: number;
  readonly exe: string;
  readonly cmdline: string;
}

/** Freezes a sample and everything in it, so an exporter that tries to mutate it fails loudly in tests. */
export function freezeSample(sample: Sample): Sample {
  for (const socket of sample.sockets) {
    for (const domain of socket.domains) Object.freeze(domain);
    Object.freeze(socket.domains);
    Object.freeze(socket);
  }
  for (const p of sample.processes) {
    if (p.container) Object.freeze(p.container);
    Object.freeze(p);
  }
  for (const e of sample.endedProcesses) Object.freeze(e);
  for (const g of sample.groups) Object.freeze(g);
  Object.freeze(sample.groups);
  Object.freeze(sample.processes);
  Object.freeze(sample.endedProcesses);
  Object.freeze(sample.sockets);
  if (sample.host.memory) Object.freeze(sample.host.memory);
  if (sample.agentMemory) Object.freeze(sample.agentMemory);
  if (sample.carbon) freezeCarbon(sample.carbon);
  Object.freeze(sample.host.loadAvg);
  Object.freeze(sample.host);
  return Object.freeze(sample);
}

function freezeCarbon(carbon: CarbonSample): void {
  Object.freeze(carbon.groupGrams);
  if (carbon.processGrams) Object.freeze(carbon.processGrams);
  Object.freeze(carbon);
}
