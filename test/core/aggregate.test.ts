import { describe, expect, it } from 'vitest';
import { GroupAggregator } from '../../src/core/aggregate.js';
import type { Metric } from '../../src/core/metrics.js';
import type { ContainerInfo, ProcessSample, Sample } from '../../src/core/sample.js';
import { freezeSample } from '../../src/core/sample.js';

function proc(pid: number, powerUw: number, energyUj: number, container: ContainerInfo | null, starttime = 1): ProcessSample {
  return {
    pid,
    starttime,
    exe: `p${pid}`,
    exePath: '',
    comm: `p${pid}`,
    cmdline: '',
    cpuTicks: 1,
    cpuShare: 0,
    cpuUsagePercent: 0,
    powerUw,
    energyUj,
    memoryBytes: 0,
    virtualMemoryBytes: 0,
    vmName: null,
    container,
  };
}

function sample(timestampMs: number, processes: ProcessSample[]): Sample {
  return freezeSample({
    timestampMs,
    intervalMs: 1000,
    host: {
      hostname: 'h',
      powerUw: 0,
      energyUj: 0,
      activePowerUw: 0,
      idlePowerUw: 0,
      cpuBusyFraction: 0,
      valueSource: 'estimate',
      psysEnergyUj: null,
      loadAvg: [0, 0, 0],
      memory: null,
    },
    sockets: [],
    processes,
    endedProcesses: [],
  });
}

/** name → labels-as-JSON → value, to look series up by what a user would query. */
function byName(metrics: readonly Metric[], name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of metrics) if (m.name === name) out.set(JSON.stringify(m.labels), m.value);
  return out;
}
function value(metrics: readonly Metric[], name: string, labels: Record<string, string>): number | undefined {
  return byName(metrics, name).get(JSON.stringify(labels));
}

const C1: ContainerInfo = { containerId: 'c1', containerRuntime: 'docker', containerName: 'web' };
const C2: ContainerInfo = {
  containerId: 'c2',
  containerRuntime: 'containerd',
  kubernetesContainerName: 'app',
  kubernetesPodUid: 'u1',
  kubernetesPodQosClass: 'burstable',
  kubernetesPodName: 'shop-0',
  kubernetesPodNamespace: 'shop',
  kubernetesNodeName: 'node-a',
  kubernetesPodLabels: { kubernetes_pod_label_app: 'shop' },
};
const C3: ContainerInfo = { ...C2, containerId: 'c3', kubernetesContainerName: 'sidecar' };
const C4: ContainerInfo = { containerId: 'c4', kubernetesPodUid: 'u2', kubernetesPodName: 'db-0', kubernetesPodNamespace: 'data' };
const NGINX: ContainerInfo = { systemdUnit: 'nginx.service' };

describe('GroupAggregator', () => {
  it('sums processes per container, pod, namespace and unit, exactly as the process series are written', () => {
    const agg = new GroupAggregator();
    const m = agg.aggregateMetrics(
      sample(1000, [
        proc(1, 1000.4, 1000.4, C1),
        proc(2, 2000.6, 2000.6, C1),
        proc(3, 333.5, 333.5, C2),
        proc(4, 10.2, 10.2, C3),
        proc(5, 7, 7, C4),
        proc(6, 100.5, 100.5, NGINX),
        proc(7, 200.5, 200.5, NGINX),
        proc(8, 5000, 5000, null),
      ]),
    );
    const c1 = { container_id: 'c1', container_name: 'web', container_runtime: 'docker' };
    expect(value(m, 'scaph_container_power_microwatts', c1)).toBe(1000 + 2001);
    expect(value(m, 'scaph_container_energy_microjoules', c1)).toBe(3001);
    const c2 = {
      container_id: 'c2',
      container_name: 'app',
      container_runtime: 'containerd',
      kubernetes_pod_namespace: 'shop',
      kubernetes_pod_name: 'shop-0',
    };
    expect(value(m, 'scaph_container_power_microwatts', c2)).toBe(334);
    const pod = {
      kubernetes_pod_namespace: 'shop',
      kubernetes_pod_name: 'shop-0',
      kubernetes_pod_uid: 'u1',
      kubernetes_pod_qos_class: 'burstable',
      kubernetes_node_name: 'node-a',
      kubernetes_pod_label_app: 'shop',
    };
    expect(value(m, 'scaph_pod_power_microwatts', pod)).toBe(334 + 10);
    expect(value(m, 'scaph_pod_energy_microjoules', pod)).toBe(344);
    expect(value(m, 'scaph_namespace_power_microwatts', { kubernetes_pod_namespace: 'shop' })).toBe(344);
    expect(value(m, 'scaph_namespace_power_microwatts', { kubernetes_pod_namespace: 'data' })).toBe(7);
    // 100.5 and 200.5 round half up to 101 and 201, as the process series do.
    expect(value(m, 'scaph_systemd_unit_power_microwatts', { systemd_unit: 'nginx.service' })).toBe(302);
    // Counted families and nothing for the process outside any group.
    expect(new Set(m.map((x) => x.name)).size).toBe(8);
    expect(m).toHaveLength(2 * (4 + 2 + 2 + 1));
    const energy = m.find((x) => x.name === 'scaph_container_energy_microjoules');
    expect(energy).toMatchObject({ type: 'counter', kind: 'int' });
  });

  it('energy stays monotonic when a process ends, and a group continues its counter after a short gap', () => {
    const agg = new GroupAggregator({ idleRetentionMs: 5_000 });
    const c1 = { container_id: 'c1', container_name: 'web', container_runtime: 'docker' };
    const e = (m: Metric[]): number | undefined => value(m, 'scaph_container_energy_microjoules', c1);
    expect(e(agg.aggregateMetrics(sample(1000, [proc(1, 100, 100, C1), proc(2, 50, 50, C1)])))).toBe(150);
    // pid 2 ended: its 50 µJ stay; pid 1 grew by 120.
    let m = agg.aggregateMetrics(sample(2000, [proc(1, 120, 220, C1)]));
    expect(e(m)).toBe(270);
    expect(value(m, 'scaph_container_power_microwatts', c1)).toBe(120);
    // No live process: the series is not exported...
    m = agg.aggregateMetrics(sample(3000, []));
    expect(e(m)).toBeUndefined();
    // ...but a new process in the same container (pid 1 reused: new starttime) continues the counter.
    m = agg.aggregateMetrics(sample(4000, [proc(1, 30, 30, C1, 99)]));
    expect(e(m)).toBe(300);
    // After the retention, an idle group starts again from zero.
    agg.aggregateMetrics(sample(5000, []));
    agg.aggregateMetrics(sample(11_000, []));
    m = agg.aggregateMetrics(sample(12_000, [proc(3, 10, 10, C1)]));
    expect(e(m)).toBe(10);
  });

  it('counts a sample once however many exporters ask, and ignores an older one', () => {
    const agg = new GroupAggregator();
    const s1 = sample(1000, [proc(1, 100, 100, NGINX)]);
    const first = agg.aggregateMetrics(s1);
    expect(agg.aggregateMetrics(s1)).toBe(first);
    const s2 = sample(2000, [proc(1, 100, 200, NGINX)]);
    const second = agg.aggregateMetrics(s2);
    expect(value(second, 'scaph_systemd_unit_energy_microjoules', { systemd_unit: 'nginx.service' })).toBe(200);
    expect(agg.aggregateMetrics(sample(1500, [proc(1, 100, 900, NGINX)]))).toBe(second);
  });

  it('group energy equals the sum of its processes\' last energies over a random run', () => {
    let seed = 42;
    const rand = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const groups: ContainerInfo[] = [C1, C2, C3, C4, NGINX];
    const agg = new GroupAggregator();
    const live = new Map<number, { starttime: number; energyUj: number; group: ContainerInfo }>();
    /** (pid:starttime) → { last rounded energy, group }: the oracle. */
    const ever = new Map<string, { energyUj: number; group: ContainerInfo }>();
    let nextPid = 1;
    let metrics: Metric[] = [];
    let processes: ProcessSample[] = [];
    for (let step = 1; step <= 50; step++) {
      for (const pid of [...live.keys()]) if (rand() < 0.1) live.delete(pid);
      while (live.size < 30) live.set(nextPid++, { starttime: step, energyUj: 0, group: groups[Math.floor(rand() * 5)]! });
      processes = [];
      for (const [pid, p] of live) {
        const powerUw = rand() * 5_000_000;
        p.energyUj += powerUw; // 1 s interval
        processes.push(proc(pid, powerUw, p.energyUj, p.group, p.starttime));
        ever.set(`${pid}:${p.starttime}`, { energyUj: Math.round(p.energyUj), group: p.group });
      }
      metrics = agg.aggregateMetrics(sample(step * 1000, processes));
      const powerSum = processes.filter((p) => p.container?.containerId).reduce((s, p) => s + Math.round(p.powerUw), 0);
      const containerPower = [...byName(metrics, 'scaph_container_power_microwatts').values()].reduce((a, b) => a + b, 0);
      expect(containerPower).toBe(powerSum);
    }
    const containerEnergy = byName(metrics, 'scaph_container_energy_microjoules');
    for (const c of [C1, C2, C3, C4]) {
      const expected = [...ever.values()].filter((v) => v.group === c).reduce((s, v) => s + v.energyUj, 0);
      const found = [...containerEnergy.entries()].find(([k]) => JSON.parse(k).container_id === c.containerId);
      expect(found?.[1]).toBe(expected);
    }
    const unitExpected = [...ever.values()].filter((v) => v.group === NGINX).reduce((s, v) => s + v.energyUj, 0);
    expect(value(metrics, 'scaph_systemd_unit_energy_microjoules', { systemd_unit: 'nginx.service' })).toBe(unitExpected);
    expect(unitExpected).toBeGreaterThan(0);
  });
});
