import { describe, expect, it } from 'vitest';
import { METRIC_FAMILIES } from '../../../src/core/metric-families.js';
import { capCmdline, sampleToMetrics } from '../../../src/core/metrics.js';
import { ProcessSelector } from '../../../src/core/process-selection.js';
import type { ContainerInfo, GroupSample } from '../../../src/core/sample.js';
import { anywhere, selectionOptions } from '../../support/fixtures/selection.js';
import { makeProcess, makeSample } from '../../support/fixtures/sample.js';

describe('sampleToMetrics', () => {
  const metrics = sampleToMetrics(makeSample());
  const find = (name: string, labels: Record<string, string> = {}) =>
    metrics.filter((m) => m.name === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v));

  it('keeps Scaphandre names and labels for host, socket, domain and process series', () => {
    expect(find('scaph_host_power_microwatts')[0]).toMatchObject({ value: 100_000_000, type: 'gauge', labels: { value_source: 'powercap_rapl_pkg' } });
    expect(find('scaph_host_energy_microjoules')[0]).toMatchObject({ value: 200_000_000, type: 'counter' });
    expect(find('scaph_socket_power_microwatts').map((m) => [m.labels['socket_id'], m.value])).toEqual([
      ['0', 45_000_000],
      ['1', 40_000_000],
    ]);
    expect(find('scaph_domain_power_microwatts', { socket_id: '1', domain_name: 'dram' })[0]?.value).toBe(10_000_000);
    const burner = find('scaph_process_power_consumption_microwatts', { pid: '42' })[0];
    expect(burner?.labels).toEqual({ pid: '42', exe: 'burner', cmdline: '/usr/bin/proc42 --flag' });
    expect(burner?.value).toBe(30_000_000);
  });

  it('reports the unattributed remainder: processes + unattributed = host power', () => {
    expect(find('scaph_host_unattributed_power_microwatts')[0]).toMatchObject({ value: 60_000_000, type: 'gauge', labels: { value_source: 'powercap_rapl_pkg' } });
    expect(find('scaph_host_unattributed_energy_microjoules')[0]).toMatchObject({ value: 120_000_000, type: 'counter' });
    const processes = find('scaph_process_power_consumption_microwatts').reduce((s, m) => s + m.value, 0);
    expect(processes + 60_000_000).toBe(find('scaph_host_power_microwatts')[0]?.value);
  });

  it('publishes the power RAPL cannot see only when the sample has it (a platform meter beside RAPL), with the value source', () => {
    expect(find('scaph_host_outside_rapl_power_microwatts')).toEqual([]);
    const base = makeSample();
    const platform = makeSample({ host: { ...base.host, valueSource: 'hwmon_power_meter', outsideRaplPowerUw: 46_250_000 } });
    expect(sampleToMetrics(platform).filter((m) => m.name === 'scaph_host_outside_rapl_power_microwatts')).toMatchObject([
      { name: 'scaph_host_outside_rapl_power_microwatts', help: METRIC_FAMILIES.scaph_host_outside_rapl_power_microwatts.help, type: 'gauge', kind: 'int', labels: { value_source: 'hwmon_power_meter' }, value: 46_250_000 },
    ]);
  });

  it('writes the sensor\'s group figures with their labels, only with containers, one labels object per group', () => {
    const web: ContainerInfo = { containerId: 'c1', containerName: 'web', containerRuntime: 'docker', kubernetesPodUid: 'u1', kubernetesPodName: 'shop-0', kubernetesPodNamespace: 'shop', kubernetesPodQosClass: 'burstable', kubernetesNodeName: 'n1', kubernetesPodLabels: { kubernetes_pod_label_app: 'shop' } };
    const ns: ContainerInfo = { kubernetesPodNamespace: 'shop' };
    const unit: ContainerInfo = { systemdUnit: 'nginx.service' };
    const groups: GroupSample[] = [
      { kind: 'container', key: 'c1', container: web, powerUw: 1_000.4, energyUj: 5_000, source: 'cgroup' },
      { kind: 'pod', key: 'u1', container: web, powerUw: 2_000, energyUj: 6_000, source: 'cgroup' },
      { kind: 'namespace', key: 'shop', container: ns, powerUw: 2_000, energyUj: 6_000, source: 'cgroup' },
      { kind: 'systemd_unit', key: 'nginx.service', container: unit, powerUw: 300, energyUj: 900, source: 'processes' },
    ];
    const sample = makeSample({ groups });
    expect(sampleToMetrics(sample).some((m) => m.name.startsWith('scaph_container_'))).toBe(false);
    const m = sampleToMetrics(sample, { containers: true });
    const rows = m.filter((x) => /^scaph_(container|pod|namespace|systemd_unit)_/.test(x.name)).map((x) => [x.name, x.labels, x.value]);
    expect(rows).toEqual([
      ['scaph_container_power_microwatts', { container_id: 'c1', container_name: 'web', container_runtime: 'docker', kubernetes_pod_namespace: 'shop', kubernetes_pod_name: 'shop-0' }, 1000],
      ['scaph_container_energy_microjoules', { container_id: 'c1', container_name: 'web', container_runtime: 'docker', kubernetes_pod_namespace: 'shop', kubernetes_pod_name: 'shop-0' }, 5000],
      ['scaph_pod_power_microwatts', { kubernetes_pod_namespace: 'shop', kubernetes_pod_name: 'shop-0', kubernetes_pod_uid: 'u1', kubernetes_pod_qos_class: 'burstable', kubernetes_node_name: 'n1', kubernetes_pod_label_app: 'shop' }, 2000],
      ['scaph_pod_energy_microjoules', { kubernetes_pod_namespace: 'shop', kubernetes_pod_name: 'shop-0', kubernetes_pod_uid: 'u1', kubernetes_pod_qos_class: 'burstable', kubernetes_node_name: 'n1', kubernetes_pod_label_app: 'shop' }, 6000],
      ['scaph_namespace_power_microwatts', { kubernetes_pod_namespace: 'shop' }, 2000],
      ['scaph_namespace_energy_microjoules', { kubernetes_pod_namespace: 'shop' }, 6000],
      ['scaph_systemd_unit_power_microwatts', { systemd_unit: 'nginx.service' }, 300],
      ['scaph_systemd_unit_energy_microjoules', { systemd_unit: 'nginx.service' }, 900],
    ]);
    // The same ContainerInfo next step: the same labels object, so encoders' per-series caches hit.
    const next = sampleToMetrics(makeSample({ groups, timestampMs: sample.timestampMs + 2000 }), { containers: true });
    const unitLabels = (list: typeof m) => list.find((x) => x.name === 'scaph_systemd_unit_power_microwatts')?.labels;
    expect(unitLabels(next)).toBe(unitLabels(m));
  });

  it('with a selection: the selected processes and groups, then the others of processes and of each kind seen', () => {
    const unit = (name: string): ContainerInfo => ({ systemdUnit: name });
    const groups: GroupSample[] = [
      { kind: 'systemd_unit', key: 'a.service', container: unit('a.service'), powerUw: 3_000, energyUj: 6_000, source: 'cgroup' },
      { kind: 'systemd_unit', key: 'b.service', container: unit('b.service'), powerUw: 2_000, energyUj: 4_000, source: 'cgroup' },
      { kind: 'systemd_unit', key: 'c.service', container: unit('c.service'), powerUw: 500, energyUj: 1_000, source: 'cgroup' },
    ];
    const selector = new ProcessSelector(selectionOptions({ maxTopConsumers: 1 }));
    const first = makeSample({ groups });
    const m = sampleToMetrics(first, { containers: true }, '', selector.select(first));
    const rows = m
      .filter((x) => /_others_|^scaph_systemd_unit_|^scaph_process_(power_consumption|energy)/.test(x.name))
      .map((x) => [x.name, x.labels['pid'] ?? x.labels['systemd_unit'] ?? '', x.value]);
    // makeSample: processes of 30, 8 and 2 W, each with a 2 J counter. A selector's first step is its
    // baseline: the others energy starts at 0 (its growth: test/unit/core/process-selection.test.ts).
    expect(rows).toEqual([
      ['scaph_process_power_consumption_microwatts', '42', 30_000_000],
      ['scaph_process_energy_microjoules', '42', 2_000_000],
      ['scaph_process_others_power_microwatts', '', 10_000_000],
      ['scaph_process_others_energy_microjoules', '', 0],
      ['scaph_process_others_count', '', 2],
      ['scaph_systemd_unit_power_microwatts', 'a.service', 3_000],
      ['scaph_systemd_unit_energy_microjoules', 'a.service', 6_000],
      ['scaph_systemd_unit_others_power_microwatts', '', 2_500],
      ['scaph_systemd_unit_others_energy_microjoules', '', 0],
      ['scaph_systemd_unit_others_count', '', 2],
    ]);
    for (const name of ['scaph_process_others_power_microwatts', 'scaph_systemd_unit_others_count']) expect(m.find((x) => x.name === name)?.labels).toEqual({});
    // The next step: each counter grew by its power × 2 s; the others energy by the growth of what is not sent.
    const grown = makeSample({
      timestampMs: 2000,
      processes: [
        makeProcess({ pid: 42, exe: 'burner', powerUw: 30_000_000, energyUj: 62_000_000 }),
        makeProcess({ pid: 7, exe: 'sshd', powerUw: 8_000_000, energyUj: 18_000_000 }),
        makeProcess({ pid: 1, exe: 'systemd', powerUw: 2_000_000, energyUj: 6_000_000 }),
      ],
      groups: groups.map((g) => ({ ...g, energyUj: g.energyUj * 2 })),
    });
    const next = sampleToMetrics(grown, { containers: true }, '', selector.select(grown));
    const value = (name: string) => next.filter((x) => x.name === name).map((x) => x.value);
    expect(value('scaph_process_energy_microjoules')).toEqual([62_000_000]);
    expect(value('scaph_process_others_energy_microjoules')).toEqual([20_000_000]);
    expect(value('scaph_systemd_unit_energy_microjoules')).toEqual([12_000]);
    expect(value('scaph_systemd_unit_others_energy_microjoules')).toEqual([5_000]);
    // Without --containers the group series and their others are not sent.
    const later = makeSample({ groups, timestampMs: 5 });
    const plain = sampleToMetrics(later, {}, '', selector.select(later));
    expect(plain.some((x) => x.name.startsWith('scaph_systemd_unit_'))).toBe(false);
  });

  it('reports every socket (Scaphandre JSON and some exporters only kept one)', () => {
    expect(new Set(find('scaph_socket_energy_microjoules').map((m) => m.labels['socket_id']))).toEqual(new Set(['0', '1']));
  });

  it('adds active/idle split and per-process energy counters', () => {
    expect(find('scaph_host_active_power_microwatts')[0]?.value).toBe(40_000_000);
    expect(find('scaph_host_idle_power_microwatts')[0]?.value).toBe(60_000_000);
    expect(find('scaph_process_energy_microjoules', { pid: '7' })[0]).toMatchObject({ type: 'counter', value: 2_000_000 });
  });

  it('gives integer families whole values and float families their fraction', () => {
    const s = makeSample({ processes: [makeProcess({ pid: 3, powerUw: 1234.6, cpuUsagePercent: 12.345 })] });
    const m = sampleToMetrics(s);
    expect(m.find((x) => x.name === 'scaph_process_power_consumption_microwatts')?.value).toBe(1235);
    expect(m.find((x) => x.name === 'scaph_process_cpu_usage_percentage')).toMatchObject({ kind: 'float', value: 12.345 });
    expect(m.find((x) => x.name === 'scaph_host_load_avg_one')).toMatchObject({ kind: 'float', value: 0.5 });
  });

  it('reports the agent memory carried in the sample (replays from the spool encode identically)', () => {
    expect(sampleToMetrics(makeSample({ agentRssBytes: 12_345_678 })).find((m) => m.name === 'scaph_self_memory_bytes')?.value).toBe(12_345_678);
    expect(sampleToMetrics(makeSample()).find((m) => m.name === 'scaph_self_memory_bytes')).toBeUndefined();
  });

  it("reports what the sensor keeps in memory and scaph's statm pages with Scaphandre's names and labels", () => {
    const base = makeSample();
    const sample = makeSample({
      host: { ...base.host, energyTimestampMs: 1_767_225_600_250, cpuStatsKept: 1, energyRecordsKept: 4 },
      sockets: base.sockets.map((s) => ({ ...s, energyRecordsKept: 1, domains: s.domains.map((d) => ({ ...d, energyRecordsKept: 1 })) })),
      agentMemory: { totalProgramPages: 300_000, residentPages: 18_000, sharedPages: 9_000 },
    });
    const rows = sampleToMetrics(sample)
      .filter((m) => /^scaph_(self_(mem|topo_(stats|records)|socket|domain)|host_energy_timestamp)/.test(m.name))
      .map((m) => [m.name, m.labels, m.value]);
    expect(rows).toEqual([
      ['scaph_host_energy_timestamp_seconds', {}, 1_767_225_600.25],
      ['scaph_self_topo_stats_nb', {}, 1],
      ['scaph_self_topo_records_nb', {}, 4],
      ['scaph_self_socket_stats_nb', { socket_id: '0' }, 0],
      ['scaph_self_socket_records_nb', { socket_id: '0' }, 1],
      ['scaph_self_domain_records_nb', { socket_id: '0', rapl_domain_name: 'core' }, 1],
      ['scaph_self_domain_records_nb', { socket_id: '0', rapl_domain_name: 'uncore' }, 1],
      ['scaph_self_domain_records_nb', { socket_id: '0', rapl_domain_name: 'dram' }, 1],
      ['scaph_self_socket_stats_nb', { socket_id: '1' }, 0],
      ['scaph_self_socket_records_nb', { socket_id: '1' }, 1],
      ['scaph_self_domain_records_nb', { socket_id: '1', rapl_domain_name: 'core' }, 1],
      ['scaph_self_domain_records_nb', { socket_id: '1', rapl_domain_name: 'dram' }, 1],
      ['scaph_self_mem_total_program_size', {}, 300_000],
      ['scaph_self_mem_resident_set_size', {}, 18_000],
      ['scaph_self_mem_shared_resident_size', {}, 9_000],
    ]);
    expect(METRIC_FAMILIES.scaph_host_energy_timestamp_seconds).toMatchObject({ type: 'gauge', kind: 'float' });
    // A sample spooled by an earlier version has none of them: nothing is made up.
    expect(sampleToMetrics(base).filter((m) => /^scaph_(self_(mem|topo_(stats|records)|socket|domain)|host_energy_timestamp)/.test(m.name))).toEqual([]);
  });

  it('fixes the process power HELP text that Scaphandre copy-pasted', () => {
    expect(METRIC_FAMILIES.scaph_process_power_consumption_microwatts.help).toMatch(/attributed to the process/);
  });

  it('adds vmname only with qemu, and filters processes by regex', () => {
    const s = makeSample({ processes: [makeProcess({ pid: 9, exe: 'qemu-system-x86_64', vmName: 'web1' }), makeProcess({ pid: 10, exe: 'bash' })] });
    const plain = sampleToMetrics(s).find((m) => m.labels['pid'] === '9');
    expect(plain?.labels['vmname']).toBeUndefined();
    const withQemu = sampleToMetrics(s, { qemu: true }).find((m) => m.labels['pid'] === '9');
    expect(withQemu?.labels['vmname']).toBe('web1');
    const filtered = sampleToMetrics(s, {}, '', new ProcessSelector(selectionOptions({ include: anywhere('qemu') })).select(s));
    expect(filtered.filter((m) => m.name === 'scaph_process_power_consumption_microwatts').map((m) => m.labels['pid'])).toEqual(['9']);
    // bash is not sent: it is in the others rollup.
    expect(filtered.find((m) => m.name === 'scaph_process_others_count')?.value).toBe(1);
  });

  it('caps the cmdline label on whole characters', () => {
    expect(capCmdline('abcdef', 4)).toBe('abc…');
    expect(capCmdline('ééééé', 3)).toBe('éé…');
    expect(capCmdline('short', 0)).toBe('short');
    const s = makeSample({ processes: [makeProcess({ pid: 5, cmdline: 'x'.repeat(4096) })] });
    const m = sampleToMetrics(s, { maxCmdlineLength: 256 }).find((x) => x.labels['pid'] === '5');
    expect(Array.from(m?.labels['cmdline'] ?? '').length).toBe(256);
  });
});
