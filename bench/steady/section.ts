/**
 * Section 3: steady-state overhead of `scaph run -c` — N processes (synthetic procfs tree), the
 * estimate sensor, three push transports (remote-write to a real VictoriaMetrics, Riemann and Warp 10
 * to the test servers) — measured from the agent's /proc/<pid>/stat (utime + stime) over a fixed
 * window after a warm-up, its VmHWM (peak RSS, start-up included) and the highest VmRSS sampled during the
 * window. The agent is started as installed: with the node flags of bin.js's shebang (see agent-command.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcfsTree, generateProcesses } from '../../test/fixtures/procfs-tree.js';
import { FakeRiemannServer } from '../../test/servers/riemann.js';
import { startVictoriaMetrics, vmExport } from '../../test/servers/victoria-metrics.js';
import { Warp10TestServer } from '../../test/servers/warp10.js';
import type { ManagedServer } from '../../test/servers/managed-server.js';
import { REPO_ROOT } from '../paths.js';
import type { Goal, Skipped, SteadyStateSection } from '../results.js';
import { round } from '../stats.js';
import { agentArgv } from './agent-command.js';
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
  let agent: ChildProcess | null = null;
  try {
    const configPath = join(workDir, 'scaph.toml');
    writeFileSync(configPath, config(tree.root, stepMs, backends));
    agent = spawn(process.execPath, agentArgv(join(REPO_ROOT, 'dist', 'src', 'bin.js'), ['run', '-c', configPath]), {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SCAPH_LOG_LEVEL: 'warn' },
    });
    const stderr = collect(agent);
    const pid = agent.pid as number;
    await sleep(warmupMs);
    if (agent.exitCode !== null) throw new Error(`scaph run exited ${agent.exitCode}: ${stderr()}`);
    const cpuBefore = cpuSecondsOf(pid);
    let windowRssMaxMb = rssMbOf(pid);
    const probeRss = (): void => {
      try {
        windowRssMaxMb = Math.max(windowRssMaxMb, rssMbOf(pid));
      } catch {
        // The agent is gone: its exit is reported below, with its stderr.
      }
    };
    const rssProbe = setInterval(probeRss, 1000);
    await sleep(windowMs);
    clearInterval(rssProbe);
    if (agent.exitCode !== null) throw new Error(`scaph run exited ${agent.exitCode}: ${stderr()}`);
    probeRss();
    const cpuSeconds = cpuSecondsOf(pid) - cpuBefore;
    const peakRssMb = peakRssMbOf(pid);
    agent.kill('SIGTERM');
    await once(agent, 'exit');
    agent = null;
    const delivered = await deliveredSteps(backends);
    const percentOfOneCore = (cpuSeconds / (windowMs / 1000)) * 100;
    const section: SteadyStateSection = {
      processes,
      stepMs,
      windowMs,
      transports: ['remote-write (victoria-metrics)', 'riemann (test server)', 'warp10 (test server)'],
      cpuSeconds: round(cpuSeconds),
      cpuSecondsPerHour: round(cpuSeconds * (3_600_000 / windowMs)),
      percentOfOneCore: round(percentOfOneCore),
      peakRssMb: round(peakRssMb),
      windowRssMaxMb: round(windowRssMaxMb),
      samplesDelivered: delivered,
    };
    plan.log(`steady: ${percentOfOneCore.toFixed(2)} % of one core, peak RSS ${peakRssMb.toFixed(1)} MB (window max ${windowRssMaxMb.toFixed(1)} MB), delivered ${JSON.stringify(delivered)}`);
    return { section, goals: goals(section) };
  } finally {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGKILL');
      await once(agent, 'exit');
    }
    await Promise.all([backends.vm.dispose(), backends.riemann.stop(), backends.warp10.stop()]);
    tree.cleanup();
    rmSync(workDir, { recursive: true, force: true });
  }
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
