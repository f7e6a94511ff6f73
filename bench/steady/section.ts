/**
 * Section 3: steady-state overhead of `scaph run -c` — N processes (synthetic procfs tree), the
 * estimate sensor, four push transports (remote-write to a real VictoriaMetrics, Riemann, Warp 10 and
 * OTLP/HTTP with gzip to the test servers) — measured from the agent's /proc/<pid>/stat (utime + stime) over a fixed
 * window after a warm-up, its VmHWM (peak RSS, start-up included) and the highest VmRSS sampled during the
 * window. The agent is started as installed: with the node flags of bin.js's shebang (see agent-command.ts).
 *
 * The baseline of the same run is the I/O floor (io-floor.ts): a Node.js program started with the same
 * flags that, each step, only reads the same stat files and sends the agent's bytes (encoded once) to the
 * same backends. scaph's CPU is reported as a ratio to it. Then scaph again with `max_top_consumers = 20`
 * on every exporter (CPU and bytes per step against the all-series run), then the peer row (peer-row.ts): scaph with
 * remote-write alone against the Prometheus agent + node_exporter + process-exporter stack, per series.
 *
 * Section 4, the executable row (executable-row.ts, runExecutableSection): the single executable against
 * node + dist on the same tree, backends and config, set up anew (`--only executable` runs it alone).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcfsTree, generateProcesses } from '../../test/support/fixtures/procfs-tree.js';
import { FakeRiemannServer } from '../../test/support/servers/riemann.js';
import { startVictoriaMetrics, vmExport } from '../../test/support/servers/victoria-metrics.js';
import { Warp10TestServer } from '../../test/support/servers/warp10.js';
import { OtlpReceiver } from '../../test/support/servers/otlp-receiver.js';
import type { ManagedServer } from '../../test/support/servers/managed-server.js';
import { REPO_ROOT } from '../paths.js';
import type { ExecutableComparison, Goal, Skipped, SteadyStateSection } from '../results.js';
import { isSkipped } from '../results.js';
import { addPeerFiles } from '../sampling/peer-tree.js';
import { round } from '../stats.js';
import { agentArgv, shebangNodeFlags } from './agent-command.js';
import { agentConfig } from './agent-config.js';
import { writeFloorPayloads } from './floor-payloads.js';
import { AGENT_SCRIPT, measureNode } from './measure-node.js';
import { runExecutableRow } from './executable-row.js';
import { GOAL_PEER_CPU_PER_SERIES, runPeerRow } from './peer-row.js';

export interface SteadyPlan {
  readonly quick: boolean;
  readonly outDir: string;
  readonly log: (line: string) => void;
}

/** scaph's CPU at most this many times the I/O floor's, measured in the same run. */
export const GOAL_CPU_VS_FLOOR = 1.5;
export const GOAL_RSS_MB = 80;
/** The single executable's CPU and peak RSS at most this many times node + dist's (medians, same run). */
export const GOAL_EXECUTABLE_VS_NODE = 1.05;
/** The selection of the second scaph run: each exporter sends its top N processes and the others rollup (5 of --quick's 20). */
export const TOP_CONSUMERS = 20;
const QUICK_TOP_CONSUMERS = 5;
const WARP10_TOKEN = 'bench-write-token';
const HOST_SERIES = 'scaph_host_power_microwatts';
/** The I/O floor's program (io-floor.ts), run by the steady and the scale sections. */
export const FLOOR_SCRIPT = join(REPO_ROOT, 'dist', 'bench', 'steady', 'io-floor.js');

interface Backends {
  readonly vm: ManagedServer;
  readonly riemann: FakeRiemannServer;
  readonly warp10: Warp10TestServer;
  readonly otlp: OtlpReceiver;
}

/** The steady runs' tree, backends and config (the four push transports), shared by this section and the executable's. */
interface SteadyFixture {
  readonly processes: number;
  readonly stepMs: number;
  readonly warmupMs: number;
  readonly tree: ProcfsTree;
  readonly backends: Backends;
  readonly workDir: string;
  readonly configPath: string;
}

async function withSteadyFixture<T>(quick: boolean, run: (f: SteadyFixture) => Promise<T>): Promise<T> {
  const processes = quick ? 20 : 500;
  const stepMs = quick ? 1000 : 2000;
  // Past the start-up transient: V8's memory reducer compacts ~10 s after start (RSS drops ~8 MB then).
  const warmupMs = quick ? 2500 : 15_000;
  const tree = ProcfsTree.create({ processes: generateProcesses(processes), cpuCount: 2 });
  // The files prometheus-process-exporter reads besides stat, for the peer row (scaph and the floor never open them).
  addPeerFiles(tree.root);
  const workDir = mkdtempSync(join(tmpdir(), 'scaph-bench-steady-'));
  const backends = await startBackends();
  try {
    const configPath = join(workDir, 'scaph.toml');
    writeFileSync(configPath, config(tree.root, stepMs, backends, null));
    return await run({ processes, stepMs, warmupMs, tree, backends, workDir, configPath });
  } finally {
    await Promise.all([backends.vm.dispose(), backends.riemann.stop(), backends.warp10.stop(), backends.otlp.stop()]);
    tree.cleanup();
    rmSync(workDir, { recursive: true, force: true });
  }
}

export function runSteadyState(plan: SteadyPlan): Promise<{ section: SteadyStateSection | Skipped; goals: Goal[] }> {
  return withSteadyFixture(plan.quick, async ({ processes, stepMs, warmupMs, tree, backends, workDir, configPath }) => {
    const windowMs = plan.quick ? 3000 : 60_000;
    const floorWarmupMs = plan.quick ? 1500 : 5000;
    const agent = await measureNode('scaph run', agentArgv(AGENT_SCRIPT, ['run', '-c', configPath]), warmupMs, windowMs);
    const delivered = await deliveredSteps(backends);
    const stepsInWindow = windowMs / stepMs;
    plan.log(`steady: scaph run ${agent.percentOfOneCore.toFixed(2)} % of one core, peak RSS ${agent.peakRssMb.toFixed(1)} MB (window max ${agent.windowRssMaxMb.toFixed(1)} MB), ${Math.round(agent.bytesWritten / stepsInWindow)} bytes/step, delivered ${JSON.stringify(delivered)}`);

    // The same agent with a selection on every exporter, against the same backends (what it delivers is counted as the growth).
    const topConfigPath = join(workDir, 'scaph-top.toml');
    const topN = plan.quick ? QUICK_TOP_CONSUMERS : TOP_CONSUMERS;
    writeFileSync(topConfigPath, config(tree.root, stepMs, backends, topN));
    const top = await measureNode(`scaph run (top ${topN})`, agentArgv(AGENT_SCRIPT, ['run', '-c', topConfigPath]), warmupMs, windowMs);
    const deliveredAfterTop = await deliveredSteps(backends);
    const topDelivered = Object.fromEntries(Object.entries(deliveredAfterTop).map(([k, v]) => [k, v - (delivered[k] ?? 0)]));
    plan.log(`steady: scaph run, top ${topN}: ${top.percentOfOneCore.toFixed(2)} % of one core, ${Math.round(top.bytesWritten / stepsInWindow)} bytes/step, delivered ${JSON.stringify(topDelivered)}`);

    // The baseline, after the agent (not beside it: both would share the 2 cores and the backends).
    await writeFloorPayloads(workDir, tree.root, stepMs, {
      remoteWriteUrl: `${backends.vm.baseUrl}/api/v1/write`,
      warp10BaseUrl: backends.warp10.url,
      warp10Token: WARP10_TOKEN,
      riemannPort: backends.riemann.port,
      otlpUrl: backends.otlp.httpUrl,
    });
    const floor = await measureNode('the I/O floor', [...shebangNodeFlags(AGENT_SCRIPT), FLOOR_SCRIPT, workDir], floorWarmupMs, windowMs);
    const floorStepsCompleted = floorSteps(floor.stderr);
    plan.log(`steady: I/O floor ${floor.percentOfOneCore.toFixed(2)} % of one core, peak RSS ${floor.peakRssMb.toFixed(1)} MB, ${floorStepsCompleted} steps`);

    const peer = await runPeerRow({ procfsRoot: tree.root, processes, stepMs, warmupMs, windowMs, workDir, log: plan.log });

    const section: SteadyStateSection = {
      processes,
      stepMs,
      windowMs,
      transports: ['remote-write (victoria-metrics)', 'riemann (test server)', 'warp10 (test server)', 'otlp (test receiver, OTLP/HTTP gzip)'],
      cpuSeconds: round(agent.cpuSeconds),
      cpuSecondsPerHour: round(agent.cpuSeconds * (3_600_000 / windowMs)),
      percentOfOneCore: round(agent.percentOfOneCore),
      peakRssMb: round(agent.peakRssMb),
      windowRssMaxMb: round(agent.windowRssMaxMb),
      minorFaultsPerStep: round(agent.minorFaults / (windowMs / stepMs)),
      samplesDelivered: delivered,
      bytesPerStep: Math.round(agent.bytesWritten / stepsInWindow),
      floor: {
        cpuSeconds: round(floor.cpuSeconds),
        cpuSecondsPerHour: round(floor.cpuSeconds * (3_600_000 / windowMs)),
        percentOfOneCore: round(floor.percentOfOneCore),
        peakRssMb: round(floor.peakRssMb),
        minorFaultsPerStep: round(floor.minorFaults / (windowMs / stepMs)),
        stepsCompleted: floorStepsCompleted,
      },
      cpuVsFloor: floor.cpuSeconds > 0 ? round(agent.cpuSeconds / floor.cpuSeconds) : null,
      peer,
      topConsumers: {
        maxTopConsumers: topN,
        cpuSeconds: round(top.cpuSeconds),
        percentOfOneCore: round(top.percentOfOneCore),
        peakRssMb: round(top.peakRssMb),
        bytesPerStep: Math.round(top.bytesWritten / stepsInWindow),
        samplesDelivered: topDelivered,
        cpuVsAllSeries: agent.cpuSeconds > 0 ? round(top.cpuSeconds / agent.cpuSeconds) : null,
        bytesVsAllSeries: agent.bytesWritten > 0 ? round(top.bytesWritten / agent.bytesWritten) : null,
      },
    };
    return { section, goals: goals(section) };
  });
}

/**
 * The executable row (executable-row.ts), on the steady run's tree, backends and config: a section of its
 * own, so that `npm run bench -- --only executable` measures it alone.
 */
export function runExecutableSection(plan: SteadyPlan): Promise<{ section: ExecutableComparison | Skipped; goals: Goal[] }> {
  return withSteadyFixture(plan.quick, async ({ warmupMs, tree, configPath }) => {
    const section = await runExecutableRow({ quick: plan.quick, configPath, procfsRoot: tree.root, warmupMs, outDir: plan.outDir, log: plan.log });
    return { section, goals: executableGoals(section) };
  });
}

/** The step count io-floor.js reports on SIGTERM (0 when it said nothing). */
export function floorSteps(stderr: string): number {
  const match = /io-floor: (\d+) steps completed/.exec(stderr);
  return match ? Number(match[1]) : 0;
}

async function startBackends(): Promise<Backends> {
  const [vm, riemann, warp10, otlp] = await Promise.all([
    startVictoriaMetrics(),
    FakeRiemannServer.start(),
    Warp10TestServer.start({ writeTokens: [WARP10_TOKEN] }),
    // It decodes every request (as a Collector would), and keeps the host power points only.
    OtlpReceiver.start({ http: true, grpc: false, keep: (metric) => metric === HOST_SERIES }),
  ]);
  return { vm, riemann, warp10, otlp };
}

/** The agent's config: the four push exporters, each with `max_top_consumers = top` when top is set. */
function config(procfsPath: string, stepMs: number, b: Backends, top: number | null): string {
  const to = { remoteWriteUrl: `${b.vm.baseUrl}/api/v1/write`, riemannPort: b.riemann.port, warp10Port: b.warp10.port, warp10Token: WARP10_TOKEN, otlpUrl: b.otlp.httpUrl };
  return agentConfig(procfsPath, stepMs, to, top);
}

/** How many host-power points each backend holds: one per step delivered. */
async function deliveredSteps(b: Backends): Promise<Record<string, number>> {
  const vmSeries = await vmExport(b.vm, HOST_SERIES);
  return {
    'remote-write': vmSeries.reduce((sum, s) => sum + s.points.length, 0),
    riemann: b.riemann.events.filter((e) => e.service === HOST_SERIES).length,
    warp10: b.warp10.series(HOST_SERIES).length,
    otlp: b.otlp.points(HOST_SERIES).length,
  };
}

function executableGoals(e: ExecutableComparison | Skipped): Goal[] {
  const target = `<= ${GOAL_EXECUTABLE_VS_NODE}x`;
  if (isSkipped(e)) {
    return [
      { id: 'executable-cpu', description: 'single executable CPU vs node + dist', measured: null, target, met: null, note: e.skipped },
      { id: 'executable-rss', description: 'single executable peak RSS vs node + dist', measured: null, target, met: null, note: e.skipped },
    ];
  }
  const within = (r: number | null): boolean | null => (r === null ? null : r <= GOAL_EXECUTABLE_VS_NODE);
  const how = `medians of ${e.rounds} interleaved rounds, the steady run's config`;
  return [
    { id: 'executable-cpu', description: `single executable CPU vs node + dist (${how})`, measured: e.cpuVsNode, target, met: within(e.cpuVsNode), note: `vs node 24 + dist: ${e.cpuVsNode24 ?? '-'}x` },
    { id: 'executable-rss', description: `single executable peak RSS vs node + dist (${how})`, measured: e.rssVsNode, target, met: within(e.rssVsNode), note: `vs node 24 + dist: ${e.rssVsNode24 ?? '-'}x` },
  ];
}

function goals(s: SteadyStateSection): Goal[] {
  const peer = s.peer;
  return [
    {
      id: 'steady-cpu-vs-floor',
      description: `scaph run CPU vs the I/O floor, ${s.processes} processes, ${s.stepMs / 1000} s step, ${s.transports.length} push transports, all series`,
      measured: s.cpuVsFloor,
      target: `<= ${GOAL_CPU_VS_FLOOR}x`,
      met: s.cpuVsFloor === null ? null : s.cpuVsFloor <= GOAL_CPU_VS_FLOOR,
      note: `scaph ${s.percentOfOneCore} % of one core, I/O floor ${s.floor.percentOfOneCore} %`,
    },
    {
      id: 'steady-rss',
      description: 'scaph run peak RSS (MB)',
      measured: s.peakRssMb,
      target: `<= ${GOAL_RSS_MB} MB`,
      met: s.peakRssMb <= GOAL_RSS_MB,
    },
    isSkipped(peer)
      ? { id: 'peer-cpu-per-series', description: 'scaph CPU per series vs the Prometheus agent stack', measured: null, target: `< ${GOAL_PEER_CPU_PER_SERIES}x`, met: null, note: peer.skipped }
      : {
          id: 'peer-cpu-per-series',
          description: `scaph CPU per series delivered vs Prometheus agent + node_exporter + process-exporter (remote-write, ${s.processes} processes)`,
          measured: peer.cpuPerSeriesVsStack,
          target: `< ${GOAL_PEER_CPU_PER_SERIES}x`,
          met: peer.cpuPerSeriesVsStack === null ? null : peer.cpuPerSeriesVsStack < GOAL_PEER_CPU_PER_SERIES,
          note: `CPU µs per series per step: scaph ${peer.scaph.cpuUsPerSeriesStep ?? '-'}, stack ${peer.stack.cpuUsPerSeriesStep ?? '-'}; total CPU scaph/stack ${peer.cpuVsStack ?? '-'}x`,
        },
  ];
}
