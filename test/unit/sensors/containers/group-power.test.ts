import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ContainerInfo, GroupSample } from '../../../../src/core/sample.js';
import { detectCgroupfsRoot, GroupPowerTracker, parseUsageUsec, type GroupMember } from '../../../../src/sensors/containers/group-power.js';
import { CgroupfsTree } from '../../../support/fixtures/cgroupfs-tree.js';
import { captureLogger } from '../../../support/fakes/log-capture.js';

const trees: CgroupfsTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.cleanup();
});

const NGINX: ContainerInfo = { systemdUnit: 'nginx.service' };
const CRON: ContainerInfo = { systemdUnit: 'cron.service' };
const WEB: ContainerInfo = { containerId: 'c1', containerRuntime: 'containerd', kubernetesPodUid: 'u1', kubernetesPodNamespace: 'shop' };
const SIDECAR: ContainerInfo = { containerId: 'c2', containerRuntime: 'containerd', kubernetesPodUid: 'u1', kubernetesPodNamespace: 'shop' };
const DB: ContainerInfo = { containerId: 'c3', containerRuntime: 'containerd', kubernetesPodUid: 'u2', kubernetesPodNamespace: 'data' };
const DIRS = {
  nginx: { unit: '/system.slice/nginx.service' },
  cron: { unit: '/system.slice/cron.service' },
  web: { container: '/kubepods.slice/pod-u1.slice/cri-containerd-c1.scope', pod: '/kubepods.slice/pod-u1.slice' },
  sidecar: { container: '/kubepods.slice/pod-u1.slice/cri-containerd-c2.scope', pod: '/kubepods.slice/pod-u1.slice' },
  db: { container: '/kubepods.slice/pod-u2.slice/cri-containerd-c3.scope', pod: '/kubepods.slice/pod-u2.slice' },
};

function setup(withCgroups = true) {
  const tree = new CgroupfsTree();
  trees.push(tree);
  const log = captureLogger();
  const tracker = new GroupPowerTracker({ cgroupfsRoot: withCgroups ? tree.root : null, logger: log.logger, idleRetentionMs: 5_000 });
  let nowMs = 0;
  // 1 s intervals on 4 CPUs, 200 busy ticks (2 s of CPU time = 2,000,000 µs), 50 W to share.
  const step = (members: GroupMember[], over: { busyTicks?: number; modelTotalUw?: number; totalTicks?: number } = {}): GroupSample[] => {
    nowMs += 1000;
    return tracker.step({ members, busyTicks: over.busyTicks ?? 200, modelTotalUw: over.modelTotalUw ?? 50_000_000, intervalMs: 1000, nowMs, cpuCount: 4, totalTicks: over.totalTicks ?? 400 });
  };
  return { tree, tracker, step, log };
}

const find = (groups: readonly GroupSample[], kind: GroupSample['kind'], key: string) => groups.find((g) => g.kind === kind && g.key === key);

describe('GroupPowerTracker with cgroup v2', () => {
  it('gives a group its cpu.stat growth over the busy time, including processes scaph never saw', () => {
    const { tree, step } = setup();
    tree.advance(DIRS.nginx.unit, 0);
    const nginx = (powerUw: number): GroupMember => ({ container: NGINX, dirs: DIRS.nginx, powerUw });
    // First interval of the group: no baseline yet, so its processes' sum.
    let g = step([nginx(1_000_000), nginx(500_000)]);
    expect(find(g, 'systemd_unit', 'nginx.service')).toMatchObject({ powerUw: 1_500_000, source: 'processes' });
    // 0.6 s of CPU in the unit (its workers forked and exited in between): 60 of 200 busy ticks.
    tree.advance(DIRS.nginx.unit, 600_000);
    g = step([nginx(2_000_000)]);
    expect(find(g, 'systemd_unit', 'nginx.service')).toMatchObject({ powerUw: 15_000_000, source: 'cgroup' });
    expect(find(g, 'systemd_unit', 'nginx.service')?.energyUj).toBe(1_500_000 + 15_000_000);
  });

  it('still gives a group whose processes all ended inside the interval its cpu.stat power', () => {
    const { tree, step } = setup();
    tree.advance(DIRS.cron.unit, 1_000);
    const job: GroupMember = { container: CRON, dirs: DIRS.cron, powerUw: 100 };
    step([job]);
    tree.advance(DIRS.cron.unit, 400_000);
    step([job]);
    // The job ran 0.3 s more and exited before this reading: no live process, the cgroup counted it.
    tree.advance(DIRS.cron.unit, 300_000);
    let g = step([]);
    expect(find(g, 'systemd_unit', 'cron.service')).toMatchObject({ powerUw: 7_500_000, source: 'cgroup' });
    // One interval later the group is neither live nor just ended: not reported.
    g = step([]);
    expect(find(g, 'systemd_unit', 'cron.service')).toBeUndefined();
  });

  it('keeps one kind within the model total when cpu.stat runs ahead of /proc/stat', () => {
    const { tree, step } = setup();
    for (const d of [DIRS.web, DIRS.sidecar, DIRS.db]) {
      tree.advance(d.container, 0);
      tree.advance(d.pod, 0);
    }
    const members = [
      { container: WEB, dirs: DIRS.web, powerUw: 1 },
      { container: SIDECAR, dirs: DIRS.sidecar, powerUw: 1 },
      { container: DB, dirs: DIRS.db, powerUw: 1 },
    ];
    step(members);
    // 1.5 + 0.5 + 1 s = 3 s of CPU in 2 s of busy time: scaled to 50 W in all.
    tree.advance(DIRS.web.container, 1_500_000);
    tree.advance(DIRS.sidecar.container, 500_000);
    tree.advance(DIRS.web.pod, 2_000_000);
    tree.advance(DIRS.db.container, 1_000_000);
    tree.advance(DIRS.db.pod, 1_000_000);
    const g = step(members);
    const containers = g.filter((x) => x.kind === 'container');
    expect(containers.map((x) => x.powerUw)).toEqual([25_000_000, 8_333_333, 16_666_666]);
    expect(containers.reduce((s, x) => s + x.powerUw, 0)).toBeLessThanOrEqual(50_000_000);
    expect(find(g, 'pod', 'u1')?.powerUw).toBe(33_333_333);
    expect(find(g, 'pod', 'u2')?.powerUw).toBe(16_666_666);
    // Namespaces are the sum of their pods.
    expect(find(g, 'namespace', 'shop')).toMatchObject({ powerUw: 33_333_333, source: 'cgroup' });
    expect(find(g, 'namespace', 'data')?.powerUw).toBe(16_666_666);
  });

  it('keeps reading a group whose processes are gone while its cgroup counts CPU time (jobs between readings)', () => {
    const { tree, step } = setup();
    tree.advance(DIRS.cron.unit, 0);
    const job: GroupMember = { container: CRON, dirs: DIRS.cron, powerUw: 100 };
    step([job]);
    step([]);
    for (const usec of [200_000, 600_000]) {
      tree.advance(DIRS.cron.unit, usec); // jobs that started and ended between two readings
      const g = step([]);
      expect(find(g, 'systemd_unit', 'cron.service')).toMatchObject({ powerUw: (usec / 2_000_000) * 50_000_000, source: 'cgroup' });
    }
    // Its cgroup removed (the unit stopped): no longer read or reported.
    tree.remove(DIRS.cron.unit);
    expect(find(step([]), 'systemd_unit', 'cron.service')).toBeUndefined();
  });

  it('counts a cgroup created again (a restart: its counter went down) from 0', () => {
    const { tree, step } = setup();
    tree.advance(DIRS.nginx.unit, 5_500_000);
    const nginx: GroupMember = { container: NGINX, dirs: DIRS.nginx, powerUw: 1 };
    step([nginx]);
    step([nginx]);
    tree.remove(DIRS.nginx.unit);
    tree.advance(DIRS.nginx.unit, 900_000); // restarted inside the interval: 0.9 s of CPU since
    expect(find(step([nginx]), 'systemd_unit', 'nginx.service')).toMatchObject({ powerUw: 22_500_000, source: 'cgroup' });
  });

  it('sums the cgroups of one unit name living in several places (the system\'s and a user\'s dbus), each from its own baseline', () => {
    const { tree, step } = setup();
    const DBUS: ContainerInfo = { systemdUnit: 'dbus.service' };
    const system = { unit: '/system.slice/dbus.service' };
    const user = { unit: '/user.slice/user-1000.slice/user@1000.service/dbus.service' };
    tree.advance(system.unit, 1_000_000);
    tree.advance(user.unit, 40_000_000);
    const members = (first: typeof system, second: typeof system): GroupMember[] => [
      { container: DBUS, dirs: first, powerUw: 1 },
      { container: DBUS, dirs: second, powerUw: 1 },
    ];
    step(members(system, user));
    tree.advance(system.unit, 100_000);
    tree.advance(user.unit, 200_000);
    expect(find(step(members(system, user)), 'systemd_unit', 'dbus.service')?.powerUw).toBe(7_500_000);
    // The order of the processes changes: same figure, no jump of 39 s between two baselines.
    tree.advance(system.unit, 100_000);
    tree.advance(user.unit, 200_000);
    expect(find(step(members(user, system)), 'systemd_unit', 'dbus.service')?.powerUw).toBe(7_500_000);
  });

  it('takes a container nested in another (a kind node container around pod containers) out of the outer one', () => {
    const { tree, step } = setup();
    const NODE: ContainerInfo = { containerId: 'node', containerRuntime: 'docker' };
    const node = { container: '/system.slice/docker-node.scope' };
    const inner = { container: '/system.slice/docker-node.scope/kubelet.slice/kubepods.slice/cri-containerd-c1.scope' };
    tree.advance(node.container, 0);
    tree.advance(inner.container, 0);
    const members: GroupMember[] = [
      { container: NODE, dirs: node, powerUw: 1 },
      { container: WEB, dirs: inner, powerUw: 1 },
    ];
    step(members);
    tree.advance(node.container, 1_800_000); // includes the inner container's 1.5 s
    tree.advance(inner.container, 1_500_000);
    const g = step(members);
    expect(find(g, 'container', 'node')?.powerUw).toBe(7_500_000);
    expect(find(g, 'container', 'c1')?.powerUw).toBe(37_500_000);
  });

  it('says once when a directory named by /proc/PID/cgroup is not under the mount it reads', () => {
    const { step, log } = setup();
    const lost: GroupMember = { container: NGINX, dirs: { unit: '/elsewhere/nginx.service' }, powerUw: 3_000 };
    step([lost]);
    expect(find(step([lost]), 'systemd_unit', 'nginx.service')).toMatchObject({ powerUw: 3_000, source: 'processes' });
    expect(log.warnings()).toHaveLength(1);
    expect(log.warnings()[0]?.msg).toMatch(/--cgroupfs-path/);
  });
});

describe('GroupPowerTracker fed a cgroup tree that lies or blocks', () => {
  const nginx = (powerUw = 2_000): GroupMember => ({ container: NGINX, dirs: DIRS.nginx, powerUw });
  /** Two good intervals: the unit reads 15 W from its cgroup (0.6 s of 2 s busy, of 50 W). */
  function measured() {
    const env = setup();
    env.tree.advance(DIRS.nginx.unit, 5_000_000);
    env.step([nginx()]);
    env.tree.advance(DIRS.nginx.unit, 600_000);
    expect(find(env.step([nginx()]), 'systemd_unit', 'nginx.service')).toMatchObject({ powerUw: 15_000_000, source: 'cgroup' });
    return env;
  }

  it('a cpu.stat that is a FIFO: never opened for good (no hang), one warning naming it, its processes\' power', () => {
    const { tree, step, log } = setup();
    tree.fifoCpuStat(DIRS.nginx.unit);
    const started = performance.now();
    for (let i = 0; i < 5; i++) expect(find(step([nginx(4_000)]), 'systemd_unit', 'nginx.service')).toMatchObject({ powerUw: 4_000, source: 'processes' });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(log.warnings()).toHaveLength(1);
    expect(log.warnings()[0]).toMatchObject({ code: 'EFTYPE', reason: `${join(tree.root, DIRS.nginx.unit, 'cpu.stat')} is a FIFO (named pipe), not a regular file` });
  });

  it('a usage_usec that goes back: a reset for that interval (its processes\' power), then the cgroup figure again; energy never decreases', () => {
    const { tree, step, log } = measured();
    const before = find(step([nginx()]), 'systemd_unit', 'nginx.service');
    tree.setUsage(DIRS.nginx.unit, 1_000); // far below the baseline, same cgroup (same inode)
    const reset = find(step([nginx(3_000)]), 'systemd_unit', 'nginx.service');
    expect(reset).toMatchObject({ powerUw: 3_000, source: 'processes' });
    expect(reset?.energyUj).toBe((before?.energyUj ?? 0) + 3_000);
    tree.advance(DIRS.nginx.unit, 400_000);
    const after = find(step([nginx()]), 'systemd_unit', 'nginx.service');
    expect(after).toMatchObject({ powerUw: 10_000_000, source: 'cgroup' });
    expect(after?.energyUj).toBe((reset?.energyUj ?? 0) + 10_000_000);
    // A counter going back is no fault to warn about (debug only).
    expect(log.warnings()).toEqual([]);
  });

  it('a usage_usec that jumps by more CPU time than the machine has: a reset for that interval, said once', () => {
    const { tree, step, log } = measured();
    for (let i = 0; i < 3; i++) {
      tree.advance(DIRS.nginx.unit, 3_600_000_000); // an hour of CPU in a second on 4 CPUs
      expect(find(step([nginx(3_000)]), 'systemd_unit', 'nginx.service')).toMatchObject({ powerUw: 3_000, source: 'processes' });
    }
    tree.advance(DIRS.nginx.unit, 200_000);
    expect(find(step([nginx()]), 'systemd_unit', 'nginx.service')).toMatchObject({ powerUw: 5_000_000, source: 'cgroup' });
    expect(log.warnings()).toHaveLength(1);
    expect(log.warnings()[0]?.msg).toMatch(/more CPU time than the machine has/);
  });

  it('the CPU time the machine had is what /proc/stat counted when its clock runs ahead of the wall clock (a recorded tree)', () => {
    const { tree, step, log } = measured();
    // 1 s of wall clock, 50 s of /proc/stat time on 4 CPUs (20,000 ticks, 10,000 busy): 60 s of the unit's CPU is possible.
    tree.advance(DIRS.nginx.unit, 60_000_000);
    expect(find(step([nginx()], { busyTicks: 10_000, totalTicks: 20_000 }), 'systemd_unit', 'nginx.service')).toMatchObject({ powerUw: 30_000_000, source: 'cgroup' });
    // An hour is still more than that machine had.
    tree.advance(DIRS.nginx.unit, 3_600_000_000);
    expect(find(step([nginx(3_000)], { busyTicks: 10_000, totalTicks: 20_000 }), 'systemd_unit', 'nginx.service')).toMatchObject({ powerUw: 3_000, source: 'processes' });
    expect(log.warnings().map((l) => l.msg)).toEqual([expect.stringMatching(/more CPU time than the machine has/)]);
  });

  it('garbage in cpu.stat (negative, not a number, beyond 2^53, missing): its processes\' power, one warning', () => {
    const { tree, step, log } = measured();
    for (const text of ['usage_usec -5000\n', 'usage_usec 12abc\n', 'usage_usec 99999999999999999999\n', 'user_usec 5\n', '']) {
      tree.writeCpuStat(DIRS.nginx.unit, text);
      const g = find(step([nginx(7_000)]), 'systemd_unit', 'nginx.service');
      expect(g, text).toMatchObject({ powerUw: 7_000, source: 'processes' });
    }
    expect(log.warnings()).toHaveLength(1);
    expect(log.warnings()[0]).toMatchObject({ reason: 'no usage_usec line holding a whole number of microseconds' });
  });

  it('a cgroup directory that is a symlink out of the mount: never read, said once', () => {
    const { tree, step, log } = setup();
    const outside = new CgroupfsTree();
    trees.push(outside);
    outside.advance('/evil.service', 1_000_000);
    mkdirSync(join(tree.root, 'system.slice'), { recursive: true });
    symlinkSync(join(outside.root, 'evil.service'), join(tree.root, DIRS.nginx.unit));
    for (let i = 0; i < 4; i++) {
      outside.advance('/evil.service', 900_000);
      expect(find(step([nginx(6_000)]), 'systemd_unit', 'nginx.service')).toMatchObject({ powerUw: 6_000, source: 'processes' });
    }
    expect(log.warnings()).toHaveLength(1);
    expect(log.warnings()[0]).toMatchObject({ path: join(tree.root, DIRS.nginx.unit, 'cpu.stat'), resolvesTo: join(outside.root, 'evil.service', 'cpu.stat') });
  });

  it('a mount reached through a symlink is still the mount', () => {
    const tree = new CgroupfsTree();
    trees.push(tree);
    const link = `${tree.root}-link`;
    symlinkSync(tree.root, link);
    try {
      const log = captureLogger();
      const tracker = new GroupPowerTracker({ cgroupfsRoot: link, logger: log.logger });
      tree.advance(DIRS.nginx.unit, 0);
      const input = (nowMs: number) => ({ members: [nginx()], busyTicks: 200, modelTotalUw: 50_000_000, intervalMs: 1000, nowMs, cpuCount: 4, totalTicks: 400 });
      tracker.step(input(1000));
      tree.advance(DIRS.nginx.unit, 600_000);
      expect(find(tracker.step(input(2000)), 'systemd_unit', 'nginx.service')).toMatchObject({ powerUw: 15_000_000, source: 'cgroup' });
      expect(log.warnings()).toEqual([]);
    } finally {
      rmSync(link);
    }
  });
});

describe('parseUsageUsec', () => {
  it('reads the kernel\'s line, wherever it is; refuses anything but a whole number of µs', () => {
    expect(parseUsageUsec('usage_usec 123\nuser_usec 100\n')).toBe(123);
    expect(parseUsageUsec('nr_periods 0\nusage_usec 42')).toBe(42);
    expect(parseUsageUsec('xusage_usec 5\n')).toBeNull();
    expect(parseUsageUsec('usage_usec 1.5\n')).toBeNull();
    expect(parseUsageUsec('usage_usec \n')).toBeNull();
    expect(parseUsageUsec(`usage_usec ${2 ** 53 + 2}\n`)).toBeNull();
  });
});

describe('GroupPowerTracker without cgroup v2', () => {
  it('sums the live processes\' power, says so once, and keeps energy across a short gap', () => {
    const { step, log, tracker } = setup(false);
    expect(log.lines.filter((l) => /no cgroup v2 hierarchy/.test(l.msg))).toHaveLength(1);
    const web = (powerUw: number): GroupMember => ({ container: WEB, dirs: null, powerUw });
    let g = step([web(1_000), web(2_000)]);
    expect(find(g, 'container', 'c1')).toMatchObject({ powerUw: 3_000, energyUj: 3_000, source: 'processes' });
    step([]);
    step([]);
    g = step([web(500)]);
    expect(find(g, 'container', 'c1')?.energyUj).toBe(3_500);
    // Past the retention an idle group starts again from 0.
    for (let i = 0; i < 7; i++) step([]);
    expect(tracker.size).toBe(0);
    g = step([web(10)]);
    expect(find(g, 'container', 'c1')?.energyUj).toBe(10);
  });

  it('falls back for a group whose cpu.stat cannot be read, with one warning', () => {
    const { tree, step, log } = setup();
    mkdirSync(join(tree.root, DIRS.nginx.unit, 'cpu.stat'), { recursive: true }); // EISDIR
    const nginx: GroupMember = { container: NGINX, dirs: DIRS.nginx, powerUw: 4_000 };
    step([nginx]);
    const g = step([nginx]);
    expect(find(g, 'systemd_unit', 'nginx.service')).toMatchObject({ powerUw: 4_000, source: 'processes' });
    expect(log.warnings()).toHaveLength(1);
    // Read like sysfs and procfs: a directory (or a FIFO) where the file should be is refused without opening it for good.
    expect(log.warnings()[0]).toMatchObject({ code: 'EFTYPE', reason: `${join(tree.root, DIRS.nginx.unit, 'cpu.stat')} is a directory, not a regular file` });
  });
});

describe('detectCgroupfsRoot', () => {
  it('finds the v2 mount itself, systemd\'s hybrid unified mount, or nothing', () => {
    const has = (paths: string[]) => (p: string) => paths.includes(p);
    expect(detectCgroupfsRoot('/sys/fs/cgroup', has(['/sys/fs/cgroup/cgroup.controllers']))).toBe('/sys/fs/cgroup');
    expect(detectCgroupfsRoot('/sys/fs/cgroup', has(['/sys/fs/cgroup/unified/cgroup.controllers']))).toBe('/sys/fs/cgroup/unified');
    expect(detectCgroupfsRoot('/sys/fs/cgroup', has([]))).toBeNull();
  });
});
