/**
 * The peer row of the steady section: scaph against what a user would run instead to push per-process
 * figures by remote-write (peer-stack.ts), one after the other, over the same procfs tree and a
 * synthetic powercap tree (server2s: two sockets with core/uncore/dram, plus the mmio twin), at the same
 * step, measured over the same warm-up and window, remote-writing to one VictoriaMetrics of their own.
 * scaph runs with remote-write alone (the stack has no other transport) and reads RAPL from the tree,
 * as node_exporter's rapl collector does. Each side's series are told apart by their job labels.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPowercapTree } from '../../test/support/fixtures/powercap-tree.js';
import { waitFor } from '../../test/support/servers/free-port.js';
import { startVictoriaMetrics, vmHasSeries, vmSeriesCount } from '../../test/support/servers/victoria-metrics.js';
import type { ManagedServer } from '../../test/support/servers/managed-server.js';
import type { PeerComparison, PeerProgram, PeerSide, Skipped } from '../results.js';
import { round } from '../stats.js';
import { agentArgv } from './agent-command.js';
import { AGENT_SCRIPT, measureNode } from './measure-node.js';
import { PeerStack, STACK_JOBS, peerStackMissing } from './peer-stack.js';
import { measureWindow, percentOfOneCore, type ProcessUsage } from './usage-window.js';

/** The goal: scaph's CPU per series delivered below the stack's (ratio under 1). */
export const GOAL_PEER_CPU_PER_SERIES = 1;
const SCAPH_JOB = 'scaph';

export interface PeerRowPlan {
  readonly procfsRoot: string;
  readonly processes: number;
  readonly stepMs: number;
  readonly warmupMs: number;
  readonly windowMs: number;
  readonly workDir: string;
  readonly log: (line: string) => void;
}

export const PEER_NOTES: readonly string[] = [
  'scaph: `scaph run` with one remote-write exporter, the powercap_rapl sensor on the synthetic powercap tree',
  'node_exporter: --collector.disable-defaults --collector.rapl --collector.cpu, --path.sysfs on the powercap tree, --path.procfs on the procfs tree',
  'process-exporter: defaults (threads, smaps) and one group per process ({{.Comm}}-{{.PID}}); the tree carries the status, io, limits, wchan, cgroup, smaps_rollup, fd/ and task/ it reads (0 partial errors)',
  'prometheus: --enable-feature=agent, scrape_interval = scrape_timeout = the step, one remote_write with its default queue',
  'every series a side delivered counts, its self-metrics included (go_*, process_*, up, scrape_*); the stack\'s CPU and RSS are the sums over its three programs',
];

export async function runPeerRow(plan: PeerRowPlan): Promise<PeerComparison | Skipped> {
  const missing = peerStackMissing();
  if (missing !== null) return { skipped: missing };
  // Real clock: the counters grow as time passes; rewritten 4 times a second (enough for a 1 s step or more).
  const powercap = createPowercapTree('server2s', { clock: 'real', refreshMs: 250 });
  const vm = await startVictoriaMetrics();
  try {
    const configPath = join(plan.workDir, 'scaph-remote-write.toml');
    writeFileSync(configPath, scaphConfig(plan, powercap.powercapPath, vm));
    // As for the stack below: with --quick's short window the agent may be stopped before its first push
    // (start-up, then its splayed grid): let its first samples arrive first (after the measurement).
    const agent = await measureNode('scaph run (remote-write)', agentArgv(AGENT_SCRIPT, ['run', '-c', configPath]), plan.warmupMs, plan.windowMs, {
      beforeStop: () => waitForEveryJob(vm, [SCAPH_JOB]),
    });
    const scaph = side(plan, 'scaph run (remote-write)', [['scaph', agent]], { [SCAPH_JOB]: await vmSeriesCount(vm, `{job="${SCAPH_JOB}"}`) });
    plan.log(`steady: peer row: scaph ${scaph.percentOfOneCore} % of one core, ${scaph.series} series`);

    const stack = await PeerStack.start({ procfsRoot: plan.procfsRoot, sysfsRoot: powercap.root, remoteWriteUrl: `${vm.baseUrl}/api/v1/write`, stepMs: plan.stepMs, workDir: plan.workDir });
    let usages: ProcessUsage[];
    try {
      usages = await measureWindow(stack.programs.map((p) => p.pid), plan.warmupMs, plan.windowMs, () => stack.check());
      // The agent sends what it has read from its WAL when stopped, not what it has not: with --quick's
      // short window, let every job's first samples arrive before stopping it (after the measurement).
      await waitForEveryJob(vm, STACK_JOBS);
    } finally {
      await stack.stop();
    }
    const seriesByJob: Record<string, number> = {};
    for (const job of STACK_JOBS) seriesByJob[job] = await vmSeriesCount(vm, `{job="${job}"}`);
    const stackSide = side(plan, 'Prometheus agent + node_exporter + process-exporter', stack.programs.map((p, i) => [p.what, usages[i] as ProcessUsage]), seriesByJob);
    plan.log(`steady: peer row: stack ${stackSide.percentOfOneCore} % of one core, ${stackSide.series} series`);

    return {
      processes: plan.processes,
      stepMs: plan.stepMs,
      windowMs: plan.windowMs,
      scaph,
      stack: stackSide,
      cpuVsStack: ratio(scaph.cpuSeconds, stackSide.cpuSeconds),
      peakRssVsStack: ratio(scaph.peakRssMb, stackSide.peakRssMb),
      seriesVsStack: ratio(scaph.series, stackSide.series),
      cpuPerSeriesVsStack: scaph.series > 0 && stackSide.series > 0 ? ratio(scaph.cpuSeconds / scaph.series, stackSide.cpuSeconds / stackSide.series) : null,
      notes: PEER_NOTES,
    };
  } finally {
    await vm.dispose();
    powercap.close();
  }
}

function scaphConfig(plan: PeerRowPlan, powercapPath: string, vm: ManagedServer): string {
  const step = plan.stepMs / 1000;
  return [
    '[sensor]', 'kind = "powercap_rapl"', `powercap_path = "${powercapPath}"`, `procfs_path = "${plan.procfsRoot}"`, `step = ${step}`, '',
    '[[exporter]]', 'type = "remote-write"', `url = "${vm.baseUrl}/api/v1/write"`, `job = "${SCAPH_JOB}"`, `step = ${step}`, '',
  ].join('\n');
}

function side(plan: PeerRowPlan, label: string, measured: ReadonlyArray<readonly [string, ProcessUsage]>, seriesByJob: Record<string, number>): PeerSide {
  const programs: PeerProgram[] = measured.map(([name, u]) => ({
    name,
    cpuSeconds: round(u.cpuSeconds),
    percentOfOneCore: round(percentOfOneCore(u.cpuSeconds, plan.windowMs)),
    peakRssMb: round(u.peakRssMb),
    windowRssMaxMb: round(u.windowRssMaxMb),
  }));
  const cpuSeconds = measured.reduce((sum, [, u]) => sum + u.cpuSeconds, 0);
  const series = Object.values(seriesByJob).reduce((sum, n) => sum + n, 0);
  const steps = plan.windowMs / plan.stepMs;
  return {
    label,
    programs,
    cpuSeconds: round(cpuSeconds),
    percentOfOneCore: round(percentOfOneCore(cpuSeconds, plan.windowMs)),
    peakRssMb: round(measured.reduce((sum, [, u]) => sum + u.peakRssMb, 0)),
    seriesByJob,
    series,
    cpuUsPerSeriesStep: series > 0 ? round((cpuSeconds * 1e6) / (series * steps)) : null,
  };
}

async function waitForEveryJob(vm: ManagedServer, jobs: readonly string[]): Promise<void> {
  await waitFor(async () => ((await Promise.all(jobs.map((job) => vmHasSeries(vm, `{job="${job}"}`)))).every(Boolean) ? true : null), 30_000, `series of jobs ${jobs.join(', ')} in victoria-metrics`, 500);
}

function ratio(a: number, b: number): number | null {
  return b > 0 ? round(a / b) : null;
}
