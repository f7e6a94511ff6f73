/**
 * The machine sensor's power model end to end on synthetic procfs (and cgroupfs) trees: the denominator
 * is the machine's busy time, short-lived and reaped processes, the unattributed remainder, both models,
 * and container / unit power from cgroup v2 cpu.stat.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/log.js';
import type { ContainerInfo, Sample } from '../../../src/core/sample.js';
import type { CgroupDirs } from '../../../src/sensors/containers/cgroup.js';
import { MachineSensor, type MachineSensorOptions } from '../../../src/sensors/machine-sensor.js';
import { CgroupfsTree } from '../../support/fixtures/cgroupfs-tree.js';
import { ConstantPowerSource } from '../../support/fakes/fake-power-source.js';
import { ProcfsTree, type FakeProcess } from '../../support/fixtures/procfs-tree.js';

const cleanups: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const t of cleanups.splice(0)) t.cleanup();
});

const burner: FakeProcess = { pid: 100, comm: 'burner', utime: 1000, stime: 0, starttime: 5_000 };
const shell: FakeProcess = { pid: 200, comm: 'sh', utime: 10, stime: 0, starttime: 6_000 };

function sensorFor(tree: ProcfsTree, over: Partial<MachineSensorOptions> = {}): MachineSensor {
  return new MachineSensor({ powerSource: new ConstantPowerSource(55_000_000), procfsPath: tree.root, hostname: 'h', logger: silentLogger(), ...over });
}

function tree(processes: FakeProcess[], uptimeSeconds = 100): ProcfsTree {
  const t = ProcfsTree.create({ cpuCount: 2, processes, uptimeSeconds });
  cleanups.push(t);
  return t;
}

function byPid(sample: Sample, pid: number) {
  return sample.processes.find((p) => p.pid === pid);
}

function total(sample: Sample): number {
  return sample.processes.reduce((s, p) => s + p.powerUw, 0) + sample.host.unattributedPowerUw;
}

describe('MachineSensor attribution', () => {
  it('divides by the busy ticks of /proc/stat: jobs that lived between readings do not inflate the burner', async () => {
    const t = tree([burner, shell]);
    const sensor = sensorFor(t, { reapedChildren: false });
    await sensor.start();
    // 200 ticks elapsed on 2 CPUs, all busy: the burner 100, the shell 2, unseen jobs 98.
    t.advanceCpu({ user: 190, system: 10 });
    t.writeProcessStat({ ...burner, utime: burner.utime + 100 });
    t.writeProcessStat({ ...shell, utime: shell.utime + 2, cutime: 98 });
    const s = await sensor.read();
    expect(byPid(s, 100)?.powerUw).toBe(27_500_000);
    expect(byPid(s, 200)?.powerUw).toBe(550_000);
    expect(s.host.unattributedPowerUw).toBe(55_000_000 - 27_500_000 - 550_000);
    expect(total(s)).toBe(55_000_000);
    expect(s.host.unattributedEnergyUj).toBeCloseTo((s.host.unattributedPowerUw * s.intervalMs) / 1000, 3);
  });

  it('gives the reaped jobs\' CPU time to the shell that waited for them (on by default)', async () => {
    const t = tree([burner, shell]);
    const sensor = sensorFor(t);
    await sensor.start();
    t.advanceCpu({ user: 190, system: 10 });
    t.writeProcessStat({ ...burner, utime: burner.utime + 100 });
    t.writeProcessStat({ ...shell, utime: shell.utime + 2, cutime: 90, cstime: 8 });
    const s = await sensor.read();
    expect(byPid(s, 200)).toMatchObject({ cpuTicks: 2, childCpuTicks: 98, powerUw: 27_500_000, cpuShare: 0.5 });
    expect(s.host.unattributedPowerUw).toBe(0);
  });

  it('counts a process born after the previous reading from its first tick (from /proc/uptime)', async () => {
    const t = tree([burner], 100); // the first reading at 100 s since boot = 10,000 ticks
    const sensor = sensorFor(t);
    await sensor.start();
    t.setUptime(101);
    t.advanceCpu({ user: 200 });
    t.writeProcessStat({ ...burner, utime: burner.utime + 120 });
    t.writeProcess({ pid: 300, comm: 'make', utime: 70, stime: 10, starttime: 10_020 });
    const s = await sensor.read();
    expect(byPid(s, 300)).toMatchObject({ cpuTicks: 80, powerUw: 22_000_000 });
    expect(byPid(s, 100)?.powerUw).toBe(33_000_000);
    expect(s.host.unattributedPowerUw).toBe(0);
  });

  it('`active` shares active power (host × busy) and leaves idle power out of processes', async () => {
    const t = tree([burner]);
    const sensor = sensorFor(t, { attribution: 'active' });
    await sensor.start();
    // 400 ticks elapsed, 100 busy (the burner), 100 idle, 200 steal: steal is not busy.
    t.advanceCpu({ user: 100, idle: 100, steal: 200 });
    t.writeProcessStat({ ...burner, utime: burner.utime + 100 });
    const s = await sensor.read();
    expect(s.host).toMatchObject({ attribution: 'active', cpuBusyFraction: 0.25, activePowerUw: 13_750_000, unattributedPowerUw: 0 });
    expect(byPid(s, 100)?.powerUw).toBe(13_750_000);
    expect(s.processes.reduce((a, p) => a + p.powerUw, 0) + s.host.unattributedPowerUw).toBe(s.host.activePowerUw);
  });
});

describe('MachineSensor group power from cgroup v2', () => {
  it('gives a unit its cpu.stat power, also in an interval where all its processes ended', async () => {
    const worker: FakeProcess = { pid: 400, comm: 'php-fpm', utime: 0, stime: 0, starttime: 7_000 };
    const t = tree([burner, worker]);
    const cg = new CgroupfsTree();
    cleanups.push(cg);
    const unitDir = '/system.slice/php-fpm.service';
    cg.advance(unitDir, 0);
    const php: ContainerInfo = { systemdUnit: 'php-fpm.service' };
    const lookup = {
      resolveSync: (pid: number): ContainerInfo | null => (pid === 400 ? php : null),
      cgroupDirsSync: (pid: number): CgroupDirs | null => (pid === 400 ? { unit: unitDir } : null),
      sweep: () => 0,
    };
    const sensor = sensorFor(t, { containers: lookup, cgroupfsRoot: cg.root });
    await sensor.start();
    // Interval 1: the unit's first, so its processes' sum (the worker used 20 ticks).
    t.advanceCpu({ user: 200 });
    t.writeProcessStat({ ...burner, utime: burner.utime + 100 });
    t.writeProcessStat({ ...worker, utime: 20 });
    cg.advance(unitDir, 900_000);
    let s = await sensor.read();
    const unit = () => s.groups.find((g) => g.kind === 'systemd_unit' && g.key === 'php-fpm.service');
    expect(unit()).toMatchObject({ source: 'processes', powerUw: byPid(s, 400)?.powerUw });
    // Interval 2: 0.8 s of CPU in the unit (the worker 0.3 s, children it forked 0.5 s): 80 of 200 busy ticks.
    t.advanceCpu({ user: 200 });
    t.writeProcessStat({ ...burner, utime: burner.utime + 200 });
    t.writeProcessStat({ ...worker, utime: 50 });
    cg.advance(unitDir, 800_000);
    s = await sensor.read();
    expect(unit()).toMatchObject({ source: 'cgroup', powerUw: 22_000_000 });
    // Interval 3: the worker ended after 0.4 s more; nothing of the unit is alive, its cgroup counted it.
    t.removeProcess(400);
    t.advanceCpu({ user: 200 });
    t.writeProcessStat({ ...burner, utime: burner.utime + 300 });
    cg.advance(unitDir, 400_000);
    s = await sensor.read();
    expect(unit()).toMatchObject({ source: 'cgroup', powerUw: 11_000_000 });
    expect(s.groups.filter((g) => g.kind === 'systemd_unit').reduce((a, g) => a + g.powerUw, 0)).toBeLessThanOrEqual(55_000_000);
  });
});
