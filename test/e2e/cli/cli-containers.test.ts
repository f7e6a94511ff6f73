import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcfsTree, type FakeProcess } from '../../support/fixtures/procfs-tree.js';
import { DOCKER_ID, DOCKER_ID_2, DOCKER_V2_SYSTEMD } from '../../support/fixtures/cgroups.js';
import { runScaph } from '../../support/fixtures/run-scaph.js';

const trees: ProcfsTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.cleanup();
});

describe('scaph --containers end to end', () => {
  it('labels process series with their container or unit and adds group series that sum to them', async () => {
    const web: FakeProcess = { pid: 101, comm: 'nginx', utime: 0, stime: 0, starttime: 10 };
    const worker: FakeProcess = { pid: 102, comm: 'php-fpm', utime: 0, stime: 0, starttime: 11 };
    const unit: FakeProcess = { pid: 201, comm: 'postgres', utime: 0, stime: 0, starttime: 12 };
    const tree = ProcfsTree.create({ cpuCount: 2, processes: [web, worker, unit] });
    trees.push(tree);
    writeFileSync(join(tree.root, '101', 'cgroup'), DOCKER_V2_SYSTEMD);
    writeFileSync(join(tree.root, '102', 'cgroup'), DOCKER_V2_SYSTEMD);
    writeFileSync(join(tree.root, '201', 'cgroup'), '0::/system.slice/postgresql.service\n');
    // CPU time advances while the agent runs: 30 + 10 ticks in the container, 20 in the unit, per 100 ms.
    const stopCpu = tree.runCpu({ user: 60, idle: 140 }, [[web, 30], [worker, 10], [unit, 20]], 100);
    try {
      const { code, stdout: out, stderr } = await runScaph(['--no-header', '--no-docker', '--sensor', 'estimate', '--procfs-path', tree.root, 'stdout', '--containers', '--raw-metrics', '-t', '2.2', '-s', '1']);
      expect(code, stderr).toBe(0);
      const last = out.trim().split('-'.repeat(60)).filter((b) => b.trim()).at(-2) ?? '';
      const value = (re: RegExp): number => Number(last.match(re)?.[1]);
      expect(last).toMatch(new RegExp(`scaph_process_power_consumption_microwatts\\{pid="101"[^}]*container_id="${DOCKER_ID}",container_runtime="docker"`));
      expect(last).toMatch(/scaph_process_power_consumption_microwatts\{pid="201"[^}]*systemd_unit="postgresql.service"/);
      const p101 = value(/scaph_process_power_consumption_microwatts\{pid="101"[^}]*\} (\d+)/);
      const p102 = value(/scaph_process_power_consumption_microwatts\{pid="102"[^}]*\} (\d+)/);
      const p201 = value(/scaph_process_power_consumption_microwatts\{pid="201"[^}]*\} (\d+)/);
      const container = value(/scaph_container_power_microwatts\{[^}]*\} (\d+)/);
      const unitPower = value(/scaph_systemd_unit_power_microwatts\{systemd_unit="postgresql.service"\} (\d+)/);
      expect(p101).toBeGreaterThan(0);
      expect(container).toBe(p101 + p102);
      expect(unitPower).toBe(p201);
      // 40 of the 60 process ticks per period ran in the container.
      expect(container / (container + unitPower)).toBeCloseTo(2 / 3, 1);
    } finally {
      stopCpu();
    }
  });

  it('scaph run: the container lookup reads the procfs the sensor reads ([sensor] procfs_path), not --procfs-path', async () => {
    const web: FakeProcess = { pid: 101, comm: 'nginx', utime: 0, stime: 0, starttime: 10 };
    // The file's tree: pid 101 in the first container. The command line's: a pid 101 in another one.
    const fileTree = ProcfsTree.create({ cpuCount: 2, processes: [web] });
    const cliTree = ProcfsTree.create({ cpuCount: 2, processes: [{ ...web }] });
    trees.push(fileTree, cliTree);
    writeFileSync(join(fileTree.root, '101', 'cgroup'), DOCKER_V2_SYSTEMD);
    writeFileSync(join(cliTree.root, '101', 'cgroup'), DOCKER_V2_SYSTEMD.replace(DOCKER_ID, DOCKER_ID_2));
    const config = join(fileTree.root, '..', `scaph-procfs-${process.pid}.toml`);
    writeFileSync(config, `[sensor]\nkind = "estimate"\nprocfs_path = "${fileTree.root}"\nstep = 1\n\n[[exporter]]\ntype = "stdout"\nraw_metrics = true\ncontainers = true\nstep = 1\n`);
    const stopCpu = fileTree.runCpu({ user: 60, idle: 140 }, [[web, 30]], 100);
    try {
      const { code, stdout: out, stderr } = await runScaph(['--no-header', '--no-docker', '--procfs-path', cliTree.root, 'run', '-c', config, '-t', '2.2']);
      expect(code, stderr).toBe(0);
      const series = out.split('\n').filter((l) => l.startsWith('scaph_process_power_consumption_microwatts{pid="101"'));
      expect(series.length).toBeGreaterThan(0);
      for (const line of series) {
        expect(line).toContain(`container_id="${DOCKER_ID}"`);
        expect(line).not.toContain(DOCKER_ID_2);
      }
    } finally {
      stopCpu();
      rmSync(config, { force: true });
    }
  });
});
