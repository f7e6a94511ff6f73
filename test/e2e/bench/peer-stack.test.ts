import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPeerFiles } from '../../../bench/sampling/peer-tree.js';
import { PeerStack } from '../../../bench/steady/peer-stack.js';
import { createPowercapTree, type PowercapTree } from '../../support/fixtures/powercap-tree.js';
import { ProcfsTree, generateProcesses } from '../../support/fixtures/procfs-tree.js';
import { waitFor } from '../../support/servers/free-port.js';
import type { ManagedServer } from '../../support/servers/managed-server.js';
import { startVictoriaMetrics, vmExport, type VmSeries } from '../../support/servers/victoria-metrics.js';

// The bench's peer row (bench/steady/peer-stack.ts) must measure the stack doing the whole job on the
// synthetic trees: every RAPL zone and every process read, without a read error.
describe('the bench peer stack on the synthetic trees', () => {
  let procfs: ProcfsTree;
  let powercap: PowercapTree;
  let vm: ManagedServer;
  let workDir: string;
  let stack: PeerStack;
  const processes = generateProcesses(7);

  beforeAll(async () => {
    procfs = ProcfsTree.create({ processes, cpuCount: 2 });
    addPeerFiles(procfs.root);
    powercap = createPowercapTree('server2s', { clock: 'real', refreshMs: 100 });
    workDir = mkdtempSync(join(tmpdir(), 'scaph-peer-stack-'));
    vm = await startVictoriaMetrics();
    stack = await PeerStack.start({ procfsRoot: procfs.root, sysfsRoot: powercap.root, remoteWriteUrl: `${vm.baseUrl}/api/v1/write`, stepMs: 500, workDir });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
    await vm?.dispose();
    powercap?.close();
    procfs?.cleanup();
    rmSync(workDir, { recursive: true, force: true });
  });

  /** The series of `selector` once VictoriaMetrics holds `min` of them, each with 2 points or more. */
  const series = (selector: string, min: number): Promise<VmSeries[]> =>
    waitFor(async () => {
      const rows = await vmExport(vm, selector);
      return rows.length >= min && rows.every((r) => r.points.length >= 2) ? rows : null;
    }, 60_000, `${min} series ${selector} in victoria-metrics`, 500);

  it('node_exporter reads every RAPL zone of the tree, its counters growing at the zone power', async () => {
    const rapl = await series('{job="node", __name__=~"node_rapl_.*_joules_total"}', powercap.zones.length);
    expect(rapl.map((s) => s.labels['path']?.split('/').pop()).sort()).toEqual([...powercap.zones].sort());
    for (const s of rapl) {
      const zone = s.labels['path']?.split('/').pop() as string;
      const first = s.points[0] as VmSeries['points'][number];
      const last = s.points[s.points.length - 1] as VmSeries['points'][number];
      if (last.value < first.value) continue; // wrapped between the two points
      const watts = (last.value - first.value) / ((last.timestampMs - first.timestampMs) / 1000);
      // The counter moves every 100 ms, the scrape every 500 ms: within a fifth of the zone power.
      expect(Math.abs(watts - powercap.powerW(zone)) / powercap.powerW(zone)).toBeLessThan(0.2);
    }
    const cpus = await series('{job="node", __name__="node_cpu_seconds_total", mode="idle"}', 2);
    expect(cpus.map((s) => s.labels['cpu']).sort()).toEqual(['0', '1']);
  }, 90_000);

  it('process-exporter reports one group per process, with no read error', async () => {
    const groups = await series('{job="process", __name__="namedprocess_namegroup_num_procs"}', processes.length);
    expect(groups.map((s) => s.labels['groupname']).sort()).toEqual(processes.map((p) => `${p.comm}-${p.pid}`).sort());
    for (const name of ['namedprocess_scrape_partial_errors', 'namedprocess_scrape_procread_errors', 'namedprocess_scrape_errors']) {
      const [errors] = await series(`{job="process", __name__="${name}"}`, 1);
      expect(errors?.points.every((p) => p.value === 0), name).toBe(true);
    }
    // Read from each <pid>/stat: rss (1,000 pages in the fixture) in bytes.
    const resident = await series('{job="process", __name__="namedprocess_namegroup_memory_bytes", memtype="resident"}', processes.length);
    for (const s of resident) expect(s.points.every((p) => p.value === 1000 * 4096), s.labels['groupname']).toBe(true);
  }, 90_000);

  it('runs its three programs until stopped', () => {
    expect(stack.programs.map((p) => p.what)).toEqual(['prometheus (agent)', 'node_exporter', 'process-exporter']);
    expect(() => stack.check()).not.toThrow();
  });
});
