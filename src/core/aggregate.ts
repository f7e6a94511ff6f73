/**
 * Aggregated series so a user needs no TSDB to answer "which container / pod / namespace / service":
 * power and energy per group, summing exactly to the process figures as exported.
 *
 * Exactness: process metrics are written as integers (Math.round), so a group's power is the sum of its
 * processes' rounded powers, and its energy grows by the sum of their rounded energy increments.
 *
 * Monotonic energy: the sum of the live processes' energy drops when one ends, which would read as a
 * counter reset. So each group keeps an accumulator that only grows: every sample adds, per member
 * process, the increase of its energy counter since the previous sample (its whole counter when first
 * seen). An ended process's energy therefore stays in its group. The sensor's process energy is power ×
 * interval, so this equals Σ power × interval, but it also matches the process counters to the µJ.
 * A group that has no live process is not exported; its accumulator is kept for `idleRetentionMs` so a
 * service restarting (or a container between two short-lived processes) continues its counter.
 */
import { METRIC_FAMILIES, type Metric, type MetricLabels, type MetricName } from './metrics.js';
import type { ContainerInfo, ProcessSample, Sample } from './sample.js';

export interface GroupAggregatorOptions {
  /** How long a group without live processes keeps its energy accumulator, ms. Default 10 minutes. */
  readonly idleRetentionMs?: number;
}

interface Group {
  labels: MetricLabels;
  powerUw: number;
  energyUj: number;
  /** Whether a process of this group was in the current sample. */
  live: boolean;
  lastLiveMs: number;
}

interface ProcessEnergy {
  starttime: number;
  energyUj: number;
  seenAt: number;
}

type GroupKind = 'container' | 'pod' | 'namespace' | 'systemd_unit';

const FAMILIES: Readonly<Record<GroupKind, readonly [MetricName, MetricName]>> = {
  container: ['scaph_container_power_microwatts', 'scaph_container_energy_microjoules'],
  pod: ['scaph_pod_power_microwatts', 'scaph_pod_energy_microjoules'],
  namespace: ['scaph_namespace_power_microwatts', 'scaph_namespace_energy_microjoules'],
  systemd_unit: ['scaph_systemd_unit_power_microwatts', 'scaph_systemd_unit_energy_microjoules'],
};
const KINDS: readonly GroupKind[] = ['container', 'pod', 'namespace', 'systemd_unit'];

export class GroupAggregator {
  private readonly groups: Record<GroupKind, Map<string, Group>> = {
    container: new Map(),
    pod: new Map(),
    namespace: new Map(),
    systemd_unit: new Map(),
  };
  private readonly processes = new Map<number, ProcessEnergy>();
  private readonly idleRetentionMs: number;
  private lastSample: Sample | null = null;
  private lastMetrics: Metric[] = [];

  constructor(options: GroupAggregatorOptions = {}) {
    this.idleRetentionMs = options.idleRetentionMs ?? 600_000;
  }

  /**
   * Group series for one sample: power and energy per container, pod, namespace and systemd unit.
   * Several exporters may ask for the same sample: it is counted once and the same list returned.
   * A sample not newer than the last one counted adds nothing and gets the last list.
   */
  aggregateMetrics(sample: Sample): Metric[] {
    if (this.lastSample && (sample === this.lastSample || sample.timestampMs <= this.lastSample.timestampMs)) {
      return this.lastMetrics;
    }
    this.lastSample = sample;
    for (const kind of KINDS) for (const g of this.groups[kind].values()) g.live = false;
    for (const p of sample.processes) if (p.container) this.addProcess(p, p.container, sample.timestampMs);
    this.forgetEndedProcesses(sample.timestampMs);
    this.lastMetrics = this.emit(sample.timestampMs);
    return this.lastMetrics;
  }

  private addProcess(p: ProcessSample, c: ContainerInfo, nowMs: number): void {
    const powerUw = Math.round(p.powerUw);
    const energyUj = Math.round(p.energyUj);
    let state = this.processes.get(p.pid);
    if (!state || state.starttime !== p.starttime) {
      state = { starttime: p.starttime, energyUj: 0, seenAt: nowMs };
      this.processes.set(p.pid, state);
    }
    // A process counter never falls; if it ever did, adding nothing keeps the group monotonic.
    const deltaUj = Math.max(0, energyUj - state.energyUj);
    state.energyUj = Math.max(state.energyUj, energyUj);
    state.seenAt = nowMs;
    if (c.containerId) this.add('container', c.containerId, c, powerUw, deltaUj, nowMs);
    if (c.kubernetesPodUid) this.add('pod', c.kubernetesPodUid, c, powerUw, deltaUj, nowMs);
    if (c.kubernetesPodNamespace) this.add('namespace', c.kubernetesPodNamespace, c, powerUw, deltaUj, nowMs);
    if (c.systemdUnit) this.add('systemd_unit', c.systemdUnit, c, powerUw, deltaUj, nowMs);
  }

  private add(kind: GroupKind, key: string, c: ContainerInfo, powerUw: number, deltaUj: number, nowMs: number): void {
    const map = this.groups[kind];
    let g = map.get(key);
    if (!g) {
      g = { labels: groupLabels(kind, c), powerUw: 0, energyUj: 0, live: false, lastLiveMs: nowMs };
      map.set(key, g);
    }
    if (!g.live) {
      // First member this sample: restart the power sum, refresh labels (names arrive after the id).
      g.live = true;
      g.powerUw = 0;
      g.lastLiveMs = nowMs;
      g.labels = groupLabels(kind, c);
    }
    g.powerUw += powerUw;
    g.energyUj += deltaUj;
  }

  private forgetEndedProcesses(nowMs: number): void {
    for (const pid of this.processes.keys()) if (this.processes.get(pid)?.seenAt !== nowMs) this.processes.delete(pid);
  }

  private emit(nowMs: number): Metric[] {
    const out: Metric[] = [];
    for (const kind of KINDS) {
      const [powerName, energyName] = FAMILIES[kind];
      const map = this.groups[kind];
      for (const [key, g] of map) {
        if (g.live) {
          out.push(metric(powerName, g.powerUw, g.labels), metric(energyName, g.energyUj, g.labels));
        } else if (nowMs - g.lastLiveMs > this.idleRetentionMs) {
          map.delete(key);
        }
      }
    }
    return out;
  }
}

function metric(name: MetricName, value: number, labels: MetricLabels): Metric {
  const f = METRIC_FAMILIES[name];
  return { name, help: f.help, type: f.type, kind: f.kind, labels, value };
}

/** The labels of one group's series; only known values are set. */
function groupLabels(kind: GroupKind, c: ContainerInfo): MetricLabels {
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
  return Object.freeze(labels);
}
