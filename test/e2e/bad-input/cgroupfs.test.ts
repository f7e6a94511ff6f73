/**
 * cgroupfs fed bad input (--cgroupfs-path): cpu.stat files that are FIFOs, huge, garbage, counters that go
 * back or leap; /proc/PID/cgroup paths and symlinks that lead out of the mount. Each case runs `scaph
 * prometheus --containers` on a synthetic node (harness/container-node.ts), scraped throughout: /metrics
 * never fails or waits, the one-line warning is said once, nothing outside the mount is opened, and the
 * power figures keep coming and stay the node's.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as F from '../../support/fixtures/cgroups.js';
import { saying, sleep } from '../../support/harness/bad-input.js';
import {
  DB_ID,
  DIRS,
  EXPECTED_UW,
  expectGroupFigures,
  expectHealthyRun,
  SyntheticNode,
  ScrapedRun,
  seriesOf,
  expectProcessFigures,
  tripwire,
  warnings,
  WEB_ID,
} from '../../support/harness/container-node.js';

describe('cgroupfs: a tree that blocks, lies or leads out of the mount', () => {
  it('a cpu.stat that is a FIFO: /metrics and /healthz keep answering, one warning naming it, the group gets its processes\' power', async () => {
    const node = new SyntheticNode();
    node.counting.delete(DIRS.nginx);
    node.cgroupfs.fifoCpuStat(DIRS.nginx);
    const r = await ScrapedRun.start(node.flags('--no-docker'));
    const end = await r.stopAfter(3_000);
    expectHealthyRun(r, end);
    expect(warnings(end.run)).toEqual(["cannot read a cgroup's cpu.stat: such groups get the sum of their live processes' power (said once)"]);
    expect(saying(end.run.stderr, /cpu\.stat/)[0]).toMatchObject({ reason: `${join(node.cgroupfs.root, DIRS.nginx, 'cpu.stat')} is a FIFO (named pipe), not a regular file` });
    // Its only process's power is the unit's: the same figure, from /proc.
    expectGroupFigures(r, 'systemd_unit', { systemd_unit: 'nginx.service' }, EXPECTED_UW.nginx);
    expectGroupFigures(r, 'container', { container_id: WEB_ID }, EXPECTED_UW.web);
  });

  it('a cpu.stat of 20 MB: refused like any file that is not a cpu.stat, said once; the others are read', async () => {
    const node = new SyntheticNode();
    node.counting.delete(DIRS.db);
    node.cgroupfs.writeCpuStat(DIRS.db, `usage_usec 5\n${'x'.repeat(20e6)}\n`);
    const r = await ScrapedRun.start(node.flags('--no-docker'));
    const end = await r.stopAfter(3_000);
    expectHealthyRun(r, end);
    expect(warnings(end.run)).toEqual(["cannot read a cgroup's cpu.stat: such groups get the sum of their live processes' power (said once)"]);
    expect(saying(end.run.stderr, /cpu\.stat/)[0]?.['reason']).toBe(`${join(node.cgroupfs.root, DIRS.db, 'cpu.stat')} holds more than 65536 bytes (a device or a wrong path?)`);
    expectGroupFigures(r, 'container', { container_id: DB_ID }, EXPECTED_UW.db);
    expectGroupFigures(r, 'container', { container_id: WEB_ID }, EXPECTED_UW.web);
  });

  it('/proc/PID/cgroup climbing out of the mount (kubepods.slice/../../outside): ignored, said once for every process and step; nothing outside is read', async () => {
    const evil = '0::/kubepods.slice/../../outside/evil.service\n';
    const node = new SyntheticNode({ web: evil, db: evil });
    // What the path would reach, beside the mount: a cpu.stat that tells whether anyone opened it.
    const outside = join(node.cgroupfs.root, '..', 'outside', 'evil.service');
    mkdirSync(outside, { recursive: true });
    const wire = tripwire(join(outside, 'cpu.stat'));
    const r = await ScrapedRun.start(node.flags('--no-docker'));
    const end = await r.stopAfter(3_000);
    expect(wire.opened(), 'outside/evil.service/cpu.stat opened').toBe(false);
    expectHealthyRun(r, end);
    expect(warnings(end.run)).toHaveLength(1);
    expect(saying(end.run.stderr, /climbs out of the cgroup hierarchy/)).toHaveLength(1);
    for (const s of r.samples) {
      expect(s.filter((x) => x.labels['systemd_unit'] === 'evil.service')).toEqual([]);
      // The two processes are still measured, without container labels.
      expect(seriesOf(s, 'scaph_process_power_consumption_microwatts', { pid: '101' })[0]?.labels).not.toHaveProperty('container_id');
    }
    expectProcessFigures(r, '101', EXPECTED_UW.web);
    expectProcessFigures(r, '102', EXPECTED_UW.db);
    expectGroupFigures(r, 'systemd_unit', { systemd_unit: 'nginx.service' }, EXPECTED_UW.nginx);
  });

  it('a unit directory that is a symlink out of the mount: never read, said once; the group gets its processes\' power', async () => {
    const node = new SyntheticNode();
    node.counting.delete(DIRS.nginx);
    node.cgroupfs.remove(DIRS.nginx);
    const outside = join(node.cgroupfs.root, '..', 'elsewhere-nginx.service');
    mkdirSync(outside, { recursive: true });
    const wire = tripwire(join(outside, 'cpu.stat'));
    symlinkSync(outside, join(node.cgroupfs.root, DIRS.nginx));
    const r = await ScrapedRun.start(node.flags('--no-docker'));
    const end = await r.stopAfter(3_000);
    expect(wire.opened(), 'the cpu.stat the symlink leads to opened').toBe(false);
    expectHealthyRun(r, end);
    expect(warnings(end.run)).toEqual(["a cgroup's cpu.stat resolves outside --cgroupfs-path (a symlink): not read: such groups get the sum of their live processes' power (said once)"]);
    expectGroupFigures(r, 'systemd_unit', { systemd_unit: 'nginx.service' }, EXPECTED_UW.nginx);
  });

  it('a usage_usec that goes back, turns negative, then to garbage: every scrape 200, no negative or swinging power, energy never decreases', async () => {
    const node = new SyntheticNode();
    const r = await ScrapedRun.start(node.flags('--no-docker'));
    await r.firstSample();
    await sleep(1_500);
    node.cgroupfs.setUsage(DIRS.web, 1_000); // back by far more than it ever grew, same cgroup; it counts on from there
    await sleep(1_500);
    node.counting.delete(DIRS.web);
    node.cgroupfs.writeCpuStat(DIRS.web, 'usage_usec -5000000\n');
    await sleep(1_000);
    node.cgroupfs.writeCpuStat(DIRS.web, 'usage_usec 12abc\n');
    await sleep(1_000);
    node.cgroupfs.setUsage(DIRS.web, 2_000_000);
    node.counting.set(DIRS.web, 50_000);
    const end = await r.stopAfter(6_500);
    expectHealthyRun(r, end);
    // Going back is a reset (debug); the garbage is said once.
    expect(warnings(end.run)).toEqual(["cannot read a cgroup's cpu.stat: such groups get the sum of their live processes' power (said once)"]);
    // The container's figure is the node's throughout: from its cgroup, or for the intervals without one, its process.
    expectGroupFigures(r, 'container', { container_id: WEB_ID }, EXPECTED_UW.web);
    expectGroupFigures(r, 'pod', { kubernetes_pod_uid: F.POD_UID }, EXPECTED_UW.web);
  });

  it('a usage_usec that leaps by more CPU time than the machine has: not used for that interval, said once', async () => {
    const node = new SyntheticNode();
    const r = await ScrapedRun.start(node.flags('--no-docker'));
    await r.firstSample();
    await sleep(1_500);
    for (let i = 0; i < 3; i++) {
      node.cgroupfs.advance(DIRS.db, 3_600_000_000);
      await sleep(700);
    }
    const end = await r.stopAfter(5_000);
    expectHealthyRun(r, end);
    expect(warnings(end.run)).toEqual([
      "a cgroup's usage_usec grew by more CPU time than the machine has: treated as a reset, this interval not measured: such groups get the sum of their live processes' power (said once)",
    ]);
    expectGroupFigures(r, 'container', { container_id: DB_ID }, EXPECTED_UW.db);
    // The leap never reached another group's share.
    expectGroupFigures(r, 'container', { container_id: WEB_ID }, EXPECTED_UW.web);
  });

  it('a /proc/PID/cgroup of garbage or 1 MB: that process has no container, the others are measured', async () => {
    const node = new SyntheticNode({ web: '\u0000\u00ff0::/\u0001garbage\n:::\n', db: `0::/${'x'.repeat(1024 * 1024)}\n` });
    const r = await ScrapedRun.start(node.flags('--no-docker'));
    const end = await r.stopAfter(3_000);
    expectHealthyRun(r, end);
    expect(warnings(end.run)).toEqual([]);
    for (const s of r.samples) expect(seriesOf(s, 'scaph_container_power_microwatts')).toEqual([]);
    expectProcessFigures(r, '101', EXPECTED_UW.web);
    expectProcessFigures(r, '102', EXPECTED_UW.db);
    expectGroupFigures(r, 'systemd_unit', { systemd_unit: 'nginx.service' }, EXPECTED_UW.nginx);
  });
});
