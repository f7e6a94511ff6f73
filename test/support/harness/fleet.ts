/**
 * A fleet of scaph agents on this machine, started together as a config-management push restarts a fleet:
 * each agent is its own `node dist/src/bin.js` with its own host name and machine id. On one box, 50 Node
 * processes loading their modules at once take seconds of CPU; so each loads scaph's modules first, says
 * so, and waits for SIGUSR2 (a preload, test/support only): the runs then start within the same second.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import snappy from 'snappy';
import { agentArgv } from '../../../bench/steady/agent-command.js';
import { gridClockMs } from '../../../src/agent/splay.js';
import { packageRoot } from '../../../src/core/package-file.js';
import { SCAPH_BIN } from '../fixtures/run-scaph.js';
import { decodeWriteRequest } from '../oracles/remote-write.js';
import type { ProxiedRequest } from '../servers/fault-proxy.js';

const BARRIER_READY = 'fleet-barrier: ready';

/** Writes the preload into `dir`: imports scaph's CLI module graph, says it is ready, waits for SIGUSR2. */
export function writeBarrier(dir: string): string {
  const path = join(dir, 'fleet-barrier.mjs');
  const cli = pathToFileURL(join(packageRoot(), 'dist', 'src', 'cli.js')).href;
  writeFileSync(
    path,
    `await import(${JSON.stringify(cli)});\n` +
      'await new Promise((resolve) => {\n' +
      '  const keepAlive = setInterval(() => undefined, 60_000);\n' +
      // Never left behind by a test that died before releasing it.
      "  const giveUp = setTimeout(() => { process.stderr.write('fleet-barrier: never released\\n'); process.exit(3); }, 300_000);\n" +
      "  process.once('SIGUSR2', () => { clearInterval(keepAlive); clearTimeout(giveUp); resolve(); });\n" +
      // Ready only once SIGUSR2 is handled: sent earlier, its default action would kill the agent.
      `  process.stderr.write(${JSON.stringify(`${BARRIER_READY}\n`)});\n` +
      '});\n',
  );
  return path;
}

export interface FleetAgent {
  readonly hostname: string;
  readonly child: ChildProcess;
  stderr: string;
  /** The exit code, or the signal that ended it. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
}

export interface AgentSpec {
  readonly hostname: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

/** Agents not yet exited, whichever fleet they belong to (killFleetLeftovers ends them). */
const live = new Set<FleetAgent>();

/** SIGKILLs every agent still running (afterAll: a test that timed out leaves none behind). */
export async function killFleetLeftovers(): Promise<void> {
  await stopFleet([...live], 'SIGKILL');
}

/** Spawns every agent behind the barrier; resolves once all have loaded their modules (or rejects naming the ones that did not). */
export async function spawnFleet(barrier: string, specs: readonly AgentSpec[], timeoutMs = 240_000): Promise<FleetAgent[]> {
  const agents = specs.map((spec): FleetAgent => {
    // As installed (bin.js's V8 flags: resident memory as in production), behind the barrier.
    const child = spawn(process.execPath, ['--import', pathToFileURL(barrier).href, ...agentArgv(SCAPH_BIN, spec.args)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...spec.env, SCAPH_HOSTNAME: spec.hostname },
    });
    const agent: FleetAgent = {
      hostname: spec.hostname,
      child,
      stderr: '',
      exited: new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal))),
    };
    child.stderr?.on('data', (d: Buffer) => (agent.stderr += d.toString()));
    live.add(agent);
    void agent.exited.then(() => live.delete(agent));
    return agent;
  });
  const until = Date.now() + timeoutMs;
  for (;;) {
    const waiting = agents.filter((a) => !a.stderr.includes(BARRIER_READY));
    if (waiting.length === 0) return agents;
    const dead = agents.find((a) => a.child.exitCode !== null);
    if (dead || Date.now() > until) {
      await stopFleet(agents, 'SIGKILL');
      throw new Error(`fleet: ${waiting.length} agents not ready${dead ? `; ${dead.hostname} exited: ${dead.stderr}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Lets every agent's run start now; the wall-clock time (gridClockMs) it did. */
export function releaseFleet(agents: readonly FleetAgent[]): number {
  const at = gridClockMs();
  for (const a of agents) a.child.kill('SIGUSR2');
  return at;
}

/** Stops every agent; their exit codes (or the signal that ended them), by host name. */
export async function stopFleet(agents: readonly FleetAgent[], signal: NodeJS.Signals = 'SIGTERM'): Promise<Map<string, number | NodeJS.Signals | null>> {
  for (const a of agents) if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill(signal);
  const codes = await Promise.all(agents.map((a) => a.exited));
  return new Map(agents.map((a, i) => [a.hostname, codes[i] ?? null]));
}

/** One remote-write request as it reached the proxy: when (wall clock), from which instance, which sample times. */
export interface Arrival {
  readonly atMs: number;
  readonly instance: string;
  readonly status: number | null;
  /** Timestamps of the scaph samples it carried (the delivery self-metrics entry left out). */
  readonly sampleTimestampsMs: readonly number[];
}

/** Decodes what a FaultProxy recorded (its times are this process's performance.now()). */
export function arrivals(requests: readonly ProxiedRequest[]): Arrival[] {
  return requests.map((r) => {
    const request = decodeWriteRequest(snappy.uncompressSync(r.body) as Buffer);
    let instance = '';
    const times = new Set<number>();
    for (const ts of request.timeseries) {
      const labels = new Map(ts.labels.map((l) => [l.name, l.value]));
      instance = labels.get('instance') ?? instance;
      if (labels.get('__name__') === 'scaph_host_power_microwatts') for (const s of ts.samples) times.add(s.timestamp);
    }
    return { atMs: performance.timeOrigin + r.atMs, instance, status: r.status, sampleTimestampsMs: [...times].sort((a, b) => a - b) };
  });
}

/** Arrivals by 1 s bin of the step (the second of the step they arrived in). */
export function secondOfStepHistogram(times: readonly number[], stepMs: number): number[] {
  const bins = Math.round(stepMs / 1000);
  const counts = new Array<number>(bins).fill(0);
  for (const t of times) {
    const bin = Math.floor((((t % stepMs) + stepMs) % stepMs) / 1000);
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  return counts;
}

/** The histogram as text, one line per bin: `  3 s | ######## 8`. */
export function drawHistogram(title: string, counts: readonly number[]): string {
  return [title, ...counts.map((c, i) => `  ${String(i).padStart(2)} s | ${'#'.repeat(c)} ${c}`)].join('\n');
}
