import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/log.js';
import type { ContainerInfo } from '../../../src/core/sample.js';
import { EstimateSource } from '../../../src/sensors/estimate.js';
import { MachineSensor, busyFraction } from '../../../src/sensors/machine-sensor.js';
import { ConstantPowerSource } from '../../support/fakes/fake-power-source.js';
import { ProcfsTree, type FakeProcess } from '../../support/fixtures/procfs-tree.js';

const trees: ProcfsTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.cleanup();
});

const qemu: FakeProcess = {
  pid: 10,
  comm: 'qemu-system-x86',
  utime: 1000,
  stime: 0,
  starttime: 500,
  argv: ['/usr/bin/qemu-system-x86_64', '-name', 'guest=vm1,debug-threads=on', '-m', '2048'],
  exe: '/usr/bin/qemu-system-x86_64',
  rssPages: 500_000,
  vsize: 4_000_000_000,
};
const busy: FakeProcess = { pid: 11, comm: 'busy', utime: 50, stime: 50, starttime: 600 };
const idle: FakeProcess = { pid: 12, comm: 'idle', utime: 7, stime: 0, starttime: 700 };
const leaving: FakeProcess = { pid: 13, comm: 'leaving', utime: 1, stime: 0, starttime: 800, argv: ['leaving', '--now'] };

function setup(options: { qemu?: boolean; hostPowerUw?: number } = {}) {
  const tree = ProcfsTree.create({ cpuCount: 4, processes: [qemu, busy, idle, leaving] });
  trees.push(tree);
  const source = new ConstantPowerSource(options.hostPowerUw ?? 40_000_000);
  const resolved: Array<[number, number]> = [];
  const sweeps: number[] = [];
  const containers = {
    resolveSync: (pid: number, starttime: number): ContainerInfo | null => {
      resolved.push([pid, starttime]);
      return pid === 11 ? { containerId: 'abc123', containerRuntime: 'docker' } : null;
    },
    sweep: () => sweeps.push(resolved.length),
  };
  const sensor = new MachineSensor({
    powerSource: source,
    procfsPath: tree.root,
    hostname: 'box1',
    logger: silentLogger(),
    qemu: options.qemu ?? true,
    containers,
  });
  return { tree, source, sensor, resolved, sweeps };
}

describe('MachineSensor on a synthetic procfs', () => {
  it('builds a sample: active/idle split, shares, order, vm names, containers, ended processes', async () => {
    const { tree, source, sensor } = setup();
    await sensor.start();
    expect(source.started).toBe(true);
    tree.advanceCpu({ user: 250, system: 50, idle: 80, iowait: 20 }); // busy 300 of 400 ticks = 0.75
    tree.writeProcessStat({ ...qemu, utime: qemu.utime + 200 });
    tree.writeProcessStat({ ...busy, stime: busy.stime + 100 });
    tree.removeProcess(leaving.pid);
    const sample = await sensor.read();

    expect(source.contexts[0]).toMatchObject({ cpuBusyFraction: 0.75, cpuCount: 4 });
    expect(sample.host).toMatchObject({
      hostname: 'box1',
      powerUw: 40_000_000,
      activePowerUw: 30_000_000,
      idlePowerUw: 10_000_000,
      cpuBusyFraction: 0.75,
      valueSource: 'powercap_rapl_pkg',
      loadAvg: [0.52, 0.58, 0.59],
    });
    expect(sample.host.memory?.totalBytes).toBe(16_000_000 * 1024);
    expect(sample.host.energyUj).toBeCloseTo((40_000_000 * sample.intervalMs) / 1000, 3);
    // Shares of the 300 busy ticks of /proc/stat, applied to host power (the default `host` model).
    expect(sample.processes.map((p) => [p.pid, p.cpuTicks, p.powerUw])).toEqual([
      [10, 200, 26_666_667],
      [11, 100, 13_333_333],
      [12, 0, 0],
    ]);
    expect(sample.host).toMatchObject({ attribution: 'host', unattributedPowerUw: 0, unattributedEnergyUj: 0 });
    const [vm, worker] = sample.processes;
    expect(vm).toMatchObject({
      exe: 'qemu-system-x86_64',
      exePath: '/usr/bin/qemu-system-x86_64',
      comm: 'qemu-system-x86',
      vmName: 'vm1',
      container: null,
      memoryBytes: 500_000 * 4096,
      virtualMemoryBytes: 4_000_000_000,
      starttime: 500,
    });
    expect(vm?.cpuShare).toBeCloseTo(2 / 3, 12);
    expect(vm?.energyUj).toBeCloseTo((26_666_667 * sample.intervalMs) / 1000, 3);
    expect(vm?.cpuUsagePercent).toBeCloseTo((200 / ((sample.intervalMs / 1000) * 100 * 4)) * 100, 9);
    expect(worker).toMatchObject({ vmName: null, container: { containerId: 'abc123', containerRuntime: 'docker' } });
    expect(sample.endedProcesses).toEqual([{ pid: 13, starttime: 800, exe: 'leaving', cmdline: 'leaving --now' }]);
    expect(Object.isFrozen(sample) && Object.isFrozen(sample.processes[0])).toBe(true);
  });

  it('treats a reused pid as a new process whose energy restarts at 0', async () => {
    const { tree, sensor } = setup({ hostPowerUw: 10_000_000 });
    await sensor.start();
    tree.advanceCpu({ user: 100 }); // fully busy, all of it this process's
    tree.writeProcessStat({ ...busy, utime: busy.utime + 100 });
    const first = await sensor.read();
    const before = first.processes.find((p) => p.pid === 11);
    expect(before?.powerUw).toBe(10_000_000);
    expect(before?.energyUj).toBeGreaterThan(0);

    tree.writeProcess({ pid: 11, comm: 'newcomer', utime: 3, stime: 0, starttime: 9000 });
    tree.advanceCpu({ user: 400 });
    const second = await sensor.read();
    expect(second.processes.find((p) => p.pid === 11)).toBeUndefined();
    expect(second.endedProcesses).toEqual([{ pid: 11, starttime: 600, exe: 'busy', cmdline: '/usr/bin/busy' }]);

    tree.writeProcessStat({ pid: 11, comm: 'newcomer', utime: 23, stime: 0, starttime: 9000 });
    tree.advanceCpu({ user: 20 });
    const third = await sensor.read();
    const reborn = third.processes.find((p) => p.pid === 11);
    expect(reborn).toMatchObject({ starttime: 9000, exe: 'newcomer', cpuTicks: 20, powerUw: 10_000_000 });
    // Only this interval's energy: nothing carried over from the old process.
    expect(reborn?.energyUj).toBeCloseTo((10_000_000 * third.intervalMs) / 1000, 3);
    expect(third.endedProcesses).toEqual([]);
  });

  it('asks the container lookup for every process of every sample, sweeps once per reading, and leaves vmName unset without --qemu', async () => {
    const { tree, sensor, resolved, sweeps } = setup({ qemu: false });
    await sensor.start();
    for (let i = 0; i < 3; i++) {
      tree.advanceCpu({ user: 10, idle: 10 });
      const sample = await sensor.read();
      expect(sample.processes.find((p) => p.pid === 10)?.vmName).toBeNull();
    }
    // The lookup caches per (pid, starttime) on its side; asking every sample lets late metadata show.
    expect(resolved).toHaveLength(12);
    expect(new Set(resolved.map(([pid, st]) => `${pid}/${st}`))).toEqual(new Set(['10/500', '11/600', '12/700', '13/800']));
    expect(sweeps).toEqual([4, 8, 12]);
  });

  it('works with the estimate source, reporting no sockets', async () => {
    const tree = ProcfsTree.create({ cpuCount: 2, processes: [busy] });
    trees.push(tree);
    const sensor = new MachineSensor({
      powerSource: new EstimateSource(),
      procfsPath: tree.root,
      hostname: 'vm',
      logger: silentLogger(),
    });
    await sensor.start();
    tree.advanceCpu({ user: 50, idle: 150 }); // busy 0.25
    tree.writeProcessStat({ ...busy, utime: busy.utime + 50 });
    const sample = await sensor.read();
    const hostUw = 2 * (0.74 + (3.5 - 0.74) * 0.25) * 1e6; // 2.86 W
    expect(sample.host.valueSource).toBe('estimate');
    expect(sample.host.powerUw).toBeCloseTo(hostUw, 3);
    expect(sample.host.activePowerUw).toBe(Math.round(hostUw * 0.25));
    // The only busy process: all 50 busy ticks are its, so it gets the whole (modelled) host power.
    expect(sample.processes[0]?.powerUw).toBe(Math.round(hostUw));
    expect(sample.sockets).toEqual([]);
    expect(sensor.kind).toBe('estimate');
    // The model keeps no energy reading; the machine keeps its previous /proc/stat reading.
    expect([sample.host.cpuStatsKept, sample.host.energyRecordsKept]).toEqual([1, 0]);
  });

  it("carries scaph's own statm pages, the energy reading's time and what is kept in memory", async () => {
    const { tree, sensor } = setup();
    await sensor.start();
    tree.advanceCpu({ user: 100, idle: 100 });
    const before = Date.now();
    const sample = await sensor.read();
    expect(sample.host.energyTimestampMs).toBeGreaterThanOrEqual(before);
    expect(sample.host.energyTimestampMs).toBeLessThanOrEqual(Date.now());
    expect([sample.host.cpuStatsKept, sample.host.energyRecordsKept]).toEqual([1, 1]);
    // The real /proc/self/statm of this process (not the synthetic tree's), read at the sample.
    const [size = 0, resident = 0] = readFileSync('/proc/self/statm', 'latin1').trim().split(' ').map(Number);
    const mem = sample.agentMemory;
    expect(mem?.totalProgramPages).toBeGreaterThan(size * 0.8);
    expect(mem?.totalProgramPages).toBeLessThan(size * 1.25);
    expect(mem?.residentPages).toBeGreaterThan(resident * 0.8);
    expect(mem?.residentPages).toBeLessThan(resident * 1.25);
    expect(mem?.sharedPages).toBeGreaterThan(0);
    expect(mem?.sharedPages).toBeLessThanOrEqual(mem?.residentPages ?? 0);
    // ~4 KiB pages: the RSS the sample also carries in bytes agrees with resident × page size.
    expect(Math.abs((mem?.residentPages ?? 0) * 4096 - (sample.agentRssBytes ?? 0))).toBeLessThan((sample.agentRssBytes ?? 0) * 0.2);
  });
});

describe('busyFraction', () => {
  it('is the busy share of elapsed ticks, 0 when none elapsed', () => {
    expect(busyFraction({ busyTicks: 10, totalTicks: 100 }, { busyTicks: 40, totalTicks: 200 })).toBe(0.3);
    expect(busyFraction({ busyTicks: 10, totalTicks: 100 }, { busyTicks: 10, totalTicks: 100 })).toBe(0);
  });
});
