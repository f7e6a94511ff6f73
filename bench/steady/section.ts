/**
 * Section 3: steady-state overhead of `scaph run -c` — N processes (synthetic procfs tree), the
 * estimate sensor, three push transports (remote-write to a real VictoriaMetrics, Riemann and Warp 10
 * to the test servers) — measured from the agent's /proc/<pid>/stat (utime + stime) over a fixed
 * window after a warm-up, its VmHWM (peak RSS, start-up included) and the highest VmRSS sampled during the
 * window. The agent is started as installed: with the node flags of bin.js's shebang (see agent-command.ts).
 *
 * The baseline of the same run is the I/O floor (io-floor.ts): a Node.js program started with the same
 * flags that, each step, only reads the same stat files and sends the agent's bytes (encoded once) to the
 * same backends. scaph's CPU is reported as a ratio to it, beside the absolute goal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcfsTree, generateProcesses } from '../../test/support/fixtures/procfs-tree.js';
import { FakeRiemannServer } from '../../test/support/servers/riemann.js';
import { startVictoriaMetrics, vmExport } from '../../test/support/servers/victoria-metrics.js';
import { Warp10TestServer } from '../../test/support/servers/warp10.js';
import type { ManagedServer } from '../../test/support/servers/managed-server.js';
import { REPO_ROOT } from '../paths.js';
import type { Goal, Skipped, SteadyStateSection } from '../results.js';
import { round } from '../stats.js';
import { agentArgv, shebangNodeFlags } from './agent-command.js';
import { writeFloorPayloads } from './floor-payloads.js';
import { cpuSecondsOf, peakRssMbOf, rssMbOf } from './agent-usage.js';

export interface SteadyPlan {
  readonly quick: boolean;
  readonly outDir: string;
  readonly log: (line: string) => void;
}

export const GOAL_CPU_PERCENT = 0.5;
export const GOAL_RSS_MB = 80;
const WARP10_TOKEN = 'bench-write-token';
const HOST_SERIES = 'scaph_host_power_microwatts';
const AGENT_SCRIPT = join(REPO_ROOT, 'dist', 'src', 'bin.js');
const FLOOR_SCRIPT = join(REPO_ROOT, 'dist', 'bench', 'steady', 'io-floor.js');

interface Backends {
  readonly vm: ManagedServer;
  readonly riemann: FakeRiemannServer;
  readonly warp10: Warp10TestServer;
}

export async function runSteadyState(plan: SteadyPlan): Promise<{ section: SteadyStateSection | Skipped; goals: Goal[] }> {
  const processes = plan.quick ? 20 : 500;
  const stepMs = plan.quick ? 1000 : 2000;
  // Past the start-up transient: V8's memory reducer compacts ~10 s after start (RSS drops ~8 MB then).
  const warmupMs = plan.quick ? 2500 : 15_000;
  const windowMs = plan.quick ? 3000 : 60_000;
  const tree = ProcfsTree.create({ processes: generateProcesses(processes), cpuCount: 2 });
  const workDir = mkdtempSync(join(tmpdir(), 'scaph-bench-steady-'));
  const backends = await startBackends();
  const floorWarmupMs = plan.quick ? 1500 : 5000;
  try {
    const configPath = join(workDir, 'scaph.toml');
    writeFileSync(configPath, config(tree.root, stepMs, backends));
    const agent = await measureChild('scaph run', agentArgv(AGENT_SCRIPT, ['run', '-c', configPath]), warmupMs, windowMs);
    const delivered = await deliveredSteps(backends);
    plan.log(`steady: scaph run ${agent.percentOfOneCore.toFixed(2)} % of one core, peak RSS ${agent.peakRssMb.toFixed(1)} MB (window max ${agent.windowRssMaxMb.toFixed(1)} MB), delivered ${JSON.stringify(delivered)}`);

    // The baseline, after the agent (not beside it: both would share the 2 cores and the backends).
    await writeFloorPayloads(workDir, tree.root, stepMs, {
      remoteWriteUrl: `${backends.vm.baseUrl}/api/v1/write`,
      warp10BaseUrl: backends.warp10.url,
      warp10Token: WARP10_TOKEN,
      riemannPort: backends.riemann.port,
    });
    const floor = await measureChild('the I/O floor', [...shebangNodeFlags(AGENT_SCRIPT), FLOOR_SCRIPT, workDir], floorWarmupMs, windowMs);
    const floorStepsCompleted = floorSteps(floor.stderr);
    plan.log(`steady: I/O floor ${floor.percentOfOneCore.toFixed(2)} % of one core, peak RSS ${floor.peakRssMb.toFixed(1)} MB, ${floorStepsCompleted} steps`);

    const section: SteadyStateSection = {
      processes,
      stepMs,
      windowMs,
      transports: ['remote-write (victoria-metrics)', 'riemann (test server)', 'warp10 (test server)'],
      cpuSeconds: round(agent.cpuSeconds),
      cpuSecondsPerHour: round(agent.cpuSeconds * (3_600_000 / windowMs)),
      percentOfOneCore: round(agent.percentOfOneCore),
      peakRssMb: round(agent.peakRssMb),
      windowRssMaxMb: round(agent.windowRssMaxMb),
      samplesDelivered: delivered,
      floor: {
        cpuSeconds: round(floor.cpuSeconds),
        cpuSecondsPerHour: round(floor.cpuSeconds * (3_600_000 / windowMs)),
        percentOfOneCore: round(floor.percentOfOneCore),
        peakRssMb: round(floor.peakRssMb),
        stepsCompleted: floorStepsCompleted,
      },
      cpuVsFloor: floor.cpuSeconds > 0 ? round(agent.cpuSeconds / floor.cpuSeconds) : null,
    };
    return { section, goals: goals(section) };
  } finally {
    await Promise.all([backends.vm.dispose(), backends.riemann.stop(), backends.warp10.stop()]);
    tree.cleanup();
    rmSync(workDir, { recursive: true, force: true });
  }
}

interface ChildUsage {
  readonly cpuSeconds: number;
  readonly percentOfOneCore: number;
  readonly peakRssMb: number;
  readonly windowRssMaxMb: number;
  /** What the child wrote to stderr (the tail), read after it stopped. */
  readonly stderr: string;
}

/**
 * Starts `node argv`, lets it warm up, and measures its CPU time (utime + stime) over the window, its VmHWM
 * and the highest VmRSS sampled each second of the window; then stops it. An early exit is an error that
 * carries the child's stderr.
 */
async function measureChild(what: string, argv: readonly string[], warmupMs: number, windowMs: number): Promise<ChildUsage> {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SCAPH_LOG_LEVEL: 'warn' } });
  const stderr = collect(child);
  const pid = child.pid as number;
  const exited = (): Error => new Error(`${what} exited ${child.exitCode}: ${stderr()}`);
  try {
    await sleep(warmupMs);
    if (child.exitCode !== null) throw exited();
    const cpuBefore = cpuSecondsOf(pid);
    let windowRssMaxMb = rssMbOf(pid);
    const probeRss = (): void => {
      try {
        windowRssMaxMb = Math.max(windowRssMaxMb, rssMbOf(pid));
      } catch {
        // The child is gone: its exit is reported below, with its stderr.
      }
    };
    const rssProbe = setInterval(probeRss, 1000);
    await sleep(windowMs);
    clearInterval(rssProbe);
    if (child.exitCode !== null) throw exited();
    probeRss();
    const cpuSeconds = cpuSecondsOf(pid) - cpuBefore;
    const peakRssMb = peakRssMbOf(pid);
    await stop(child);
    return { cpuSeconds, percentOfOneCore: (cpuSeconds / (windowMs / 1000)) * 100, peakRssMb, windowRssMaxMb, stderr: stderr() };
  } finally {
    await stop(child);
  }
}

/** SIGTERM, then SIGKILL if it has not exited within 10 s; returns once its stderr is closed too. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = once(child, 'close');
  child.kill('SIGTERM');
  // Unref'd: once the child has closed, the fallback must not hold the bench open for 10 s.
  const stopped = await Promise.race([exit.then(() => true), sleep(10_000, false, { ref: false })]);
  if (!stopped) {
    child.kill('SIGKILL');
    await exit;
  }
}

/** The step count io-floor.js reports on SIGTERM (0 when it said nothing). */
function floorSteps(stderr: string): number {
  const match = /io-floor: (\d+) steps completed/.exec(stderr);
  return match ? Number(match[1]) : 0;
}

async function startBackends(): Promise<Backends> {
  const [vm, riemann, warp10] = await Promise.all([
    startVictoriaMetrics(),
    FakeRiemannServer.start(),
    Warp10TestServer.start({ writeTokens: [WARP10_TOKEN] }),
  ]);
  return { vm, riemann, warp10 };
}

function config(procfsPath: string, stepMs: number, b: Backends): string {
  const step = stepMs / 1000;
  return [
    '[sensor]', 'kind = "estimate"', `procfs_path = "${procfsPath}"`, `step = ${step}`, '',
    '[[exporter]]', 'type = "remote-write"', `url = "${b.vm.baseUrl}/api/v1/write"`, `step = ${step}`, '',
    '[[exporter]]', 'type = "riemann"', 'address = "127.0.0.1"', `port = ${b.riemann.port}`, `step = ${step}`, '',
    '[[exporter]]', 'type = "warp10"', 'host = "127.0.0.1"', `port = ${b.warp10.port}`, 'scheme = "http"',
    `write_token = "${WARP10_TOKEN}"`, `step = ${step}`, '',
  ].join('\n');
}

/** How many host-power points each backend holds: one per step delivered. */
async function deliveredSteps(b: Backends): Promise<Record<string, number>> {
  const vmSeries = await vmExport(b.vm, HOST_SERIES);
  return {
    'remote-write': vmSeries.reduce((sum, s) => sum + s.points.length, 0),
    riemann: b.riemann.events.filter((e) => e.service === HOST_SERIES).length,
    warp10: b.warp10.series(HOST_SERIES).length,
  };
}

function goals(s: SteadyStateSection): Goal[] {
  return [
    {
      id: 'steady-cpu',
      description: `scaph run CPU, ${s.processes} processes, ${s.stepMs / 1000} s step, 3 push transports (% of one core)`,
      measured: s.percentOfOneCore,
      target: `<= ${GOAL_CPU_PERCENT} %`,
      met: s.percentOfOneCore <= GOAL_CPU_PERCENT,
      note: `I/O floor ${s.floor.percentOfOneCore} %; scaph = ${s.cpuVsFloor ?? '-'}x the floor`,
    },
    {
      id: 'steady-rss',
      description: 'scaph run peak RSS (MB)',
      measured: s.peakRssMb,
      target: `<= ${GOAL_RSS_MB} MB`,
      met: s.peakRssMb <= GOAL_RSS_MB,
    },
  ];
}

function collect(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (text.length < 8000) text += chunk.toString();
  });
  return () => text.trim().slice(-2000);
}
