/**
 * Issue 26 point 8: 50 agents restarted together push to one real VictoriaMetrics at a 10 s step, through a
 * recording proxy. With splay (the default) their requests spread over the 10 s of the step; with
 * --no-splay / `splay = false` they arrive in the same second or two. In both, every sample each agent
 * pushed is stored. Half the agents are `scaph remote-write -S 10` (loop and exporter at 10 s), half
 * `scaph run` (a 2 s loop, a 10 s remote-write exporter), each with its own host name and machine id.
 *
 * An *.exclusive.test.ts file: npm test runs it alone (50 Node processes, ~3 GB, would disturb the timing
 * of other suites, and theirs this one's).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MACHINE_ID_FILE_ENV } from '../../../src/core/machine-id.js';
import { arrivals, drawHistogram, killFleetLeftovers, releaseFleet, secondOfStepHistogram, spawnFleet, stopFleet, writeBarrier, type AgentSpec, type Arrival } from '../../support/harness/fleet.js';
import { createPowercapTree, type PowercapTree } from '../../support/fixtures/powercap-tree.js';
import { seededRandom } from '../../support/fixtures/prng.js';
import { ProcfsTree } from '../../support/fixtures/procfs-tree.js';
import { FaultProxy } from '../../support/servers/fault-proxy.js';
import type { ManagedServer } from '../../support/servers/managed-server.js';
import { startVictoriaMetrics, vmExport } from '../../support/servers/victoria-metrics.js';

const AGENTS = 50;
const STEP_MS = 10_000;
/** amd preset: host power is package-0 alone, W. */
const HOST_W = 85;

let vm: ManagedServer;
let proxy: FaultProxy;
let powercap: PowercapTree;
let procfs: ProcfsTree;
let stopCpu: () => void;
/**
 * The tree's counters are rewritten by this process's timer every REFRESH_MS: when the machine is loaded
 * the timer fires late, and a counter read meanwhile is that much behind the truth. The worst lateness seen
 * sets the tolerance of the power and energy checks (what the fixture's own timing allows, not a guess).
 */
const REFRESH_MS = 20;
let worstLagMs = 0;
let stopLagWatch: () => void;
const dir = mkdtempSync(join(tmpdir(), 'scaph-fleet-'));

beforeAll(async () => {
  vm = await startVictoriaMetrics();
  proxy = new FaultProxy(vm.baseUrl);
  await proxy.start();
  powercap = createPowercapTree('amd', { clock: 'real', refreshMs: REFRESH_MS });
  let last = performance.now();
  const watch = setInterval(() => {
    const now = performance.now();
    worstLagMs = Math.max(worstLagMs, now - last - REFRESH_MS);
    last = now;
  }, REFRESH_MS);
  stopLagWatch = () => clearInterval(watch);
  // A small machine: two processes sharing the busy CPU time.
  const worker = { pid: 4000, comm: 'worker', utime: 100, stime: 0, starttime: 500 };
  const db = { pid: 4001, comm: 'db', utime: 300, stime: 20, starttime: 600 };
  procfs = ProcfsTree.create({ cpuCount: 2, processes: [worker, db] });
  stopCpu = procfs.runCpu({ user: 12, idle: 8 }, [[worker, 8], [db, 4]], 100);
}, 90_000);

afterAll(async () => {
  await killFleetLeftovers();
  stopLagWatch?.();
  stopCpu?.();
  powercap?.close();
  procfs?.cleanup();
  await proxy?.close();
  await vm?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

function hex32(random: () => number): string {
  let out = '';
  for (let i = 0; i < 32; i++) out += Math.floor(random() * 16).toString(16);
  return out;
}

/** How far apart an agent's own readings are, besides its exporter's step: 0 for the remote-write ones (loop = step), 2 s for the run ones. */
function sensorStepMs(instance: string): number {
  const index = Number(/-(\d+)$/.exec(instance)?.[1]);
  return index % 2 === 0 ? 0 : 2000;
}

/** Agents `<job>-00` … : even ones `scaph remote-write -S 10`, odd ones `scaph run` (2 s loop, 10 s exporter). */
function fleetSpecs(job: string, splay: boolean): AgentSpec[] {
  const random = seededRandom(job.length);
  const url = `${proxy.url}/api/v1/write`;
  const config = join(dir, `${job}.toml`);
  writeFileSync(
    config,
    `[sensor]\nkind = "powercap_rapl"\npowercap_path = "${powercap.powercapPath}"\nprocfs_path = "${procfs.root}"\nstep = 2\n\n` +
      `[[exporter]]\ntype = "remote-write"\nurl = "${url}"\njob = "${job}"\nstep = 10\nsplay = ${splay}\n`,
  );
  return Array.from({ length: AGENTS }, (_, i) => {
    const hostname = `${job}-${String(i).padStart(2, '0')}`;
    const machineId = join(dir, `${hostname}.machine-id`);
    writeFileSync(machineId, `${hex32(random)}\n`);
    const args =
      i % 2 === 0
        ? ['--no-header', '--sensor', 'powercap_rapl', '--powercap-path', powercap.powercapPath, '--procfs-path', procfs.root,
            'remote-write', '-u', url, '-S', '10', '--job', job, ...(splay ? [] : ['--no-splay'])]
        : ['--no-header', 'run', '-c', config];
    return { hostname, args, env: { [MACHINE_ID_FILE_ENV]: machineId } };
  });
}

interface FleetRun {
  readonly releasedAtMs: number;
  readonly stoppedAtMs: number;
  /** How long the agents took to load their modules (before the barrier), ms. */
  readonly warmUpMs: number;
  readonly arrivals: Arrival[];
}

/** Starts the fleet together, lets it run `runMs`, stops it (SIGTERM: queues flushed); what reached the proxy meanwhile. */
async function runFleet(job: string, splay: boolean, runMs: number): Promise<FleetRun> {
  const spawnedAt = performance.now();
  const agents = await spawnFleet(writeBarrier(dir), fleetSpecs(job, splay));
  const warmUpMs = performance.now() - spawnedAt;
  const seen = proxy.requests.length;
  const releasedAtMs = releaseFleet(agents);
  await new Promise((r) => setTimeout(r, runMs));
  const stoppedAtMs = performance.timeOrigin + performance.now();
  const codes = await stopFleet(agents);
  for (const a of agents) expect(codes.get(a.hostname), `${a.hostname}: ${a.stderr}`).toBe(0);
  return { releasedAtMs, stoppedAtMs, warmUpMs, arrivals: arrivals(proxy.requests.slice(seen)) };
}

/** How far off a figure over `seconds` may be when each end of it can read a counter stale by the worst lag seen (+1 %). */
function tolerance(seconds: number): number {
  return (2 * (worstLagMs + REFRESH_MS)) / 1000 / seconds + 0.01;
}

/** Every request of the run, by second of the 10 s step it arrived in. */
function histogramOf(run: FleetRun): number[] {
  return secondOfStepHistogram(run.arrivals.map((a) => a.atMs), STEP_MS);
}

function describeRun(label: string, run: FleetRun, counts: readonly number[]): string {
  const spanS = ((run.stoppedAtMs - run.releasedAtMs) / 1000).toFixed(0);
  return drawHistogram(
    `${label}: ${run.arrivals.length} requests of ${AGENTS} agents started together, over ${spanS} s (every request, the first ` +
      `included), by second of the 10 s step (modules loaded in ${(run.warmUpMs / 1000).toFixed(1)} s before the start)`,
    counts,
  );
}

/**
 * Every sample each agent pushed is stored in VictoriaMetrics, once, with its power; one per step after the
 * start-up reading (none skipped) up to the stop.
 */
async function expectNoneLost(job: string, run: FleetRun): Promise<void> {
  const pushed = new Map<string, number[]>();
  for (const a of run.arrivals) {
    expect(a.status, `${a.instance}: proxy answer`).toBe(204);
    pushed.set(a.instance, [...(pushed.get(a.instance) ?? []), ...a.sampleTimestampsMs]);
  }
  expect([...pushed.keys()].sort()).toEqual(Array.from({ length: AGENTS }, (_, i) => `${job}-${String(i).padStart(2, '0')}`));
  const total = [...pushed.values()].reduce((n, ts) => n + ts.length, 0);
  let stored: Awaited<ReturnType<typeof vmExport>> = [];
  for (let attempt = 0; attempt < 40; attempt++) {
    stored = await vmExport(vm, `scaph_host_power_microwatts{job="${job}"}`);
    if (stored.reduce((n, s) => n + s.points.length, 0) >= total) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const byInstance = new Map(stored.map((s) => [s.labels['instance'] ?? '', s.points]));
  for (const [instance, times] of pushed) {
    const points = byInstance.get(instance) ?? [];
    expect(new Set(times).size, `${instance}: no sample sent twice`).toBe(times.length);
    expect(points.map((p) => p.timestampMs), `${instance}: stored = pushed`).toEqual([...times].sort((a, b) => a - b));
    // The start-up reading, then one per step until the stop (the last within a step of it).
    expect(points.length, `${instance}: samples stored`).toBeGreaterThanOrEqual(2);
    expect(run.stoppedAtMs - (points.at(-1)?.timestampMs ?? 0), `${instance}: last sample`).toBeLessThan(STEP_MS + 1500);
    // A `scaph run` agent's exporter sends the newest reading of its 2 s loop at each 10 s tick: when the
    // reading due at the tick is late (a loaded machine), it is the one before, 2 s older. Its gaps lie
    // within the step ± one loop interval (8 or 12 s); a skipped step is 20 s, a repeated one 0.
    const loopMs = sensorStepMs(instance);
    for (let i = 2; i < points.length; i++) {
      const gap = (points[i]?.timestampMs ?? 0) - (points[i - 1]?.timestampMs ?? 0);
      expect(gap, `${instance}: one sample per step`).toBeGreaterThan(STEP_MS - loopMs - 1500);
      expect(gap, `${instance}: one sample per step`).toBeLessThan(STEP_MS + loopMs + 1500);
    }
    // Power from the counters at every step, within what the tree's timing allows over the shortest sensor
    // interval of the fleet (2 s, the run agents'); the start-up reading's one second aside.
    for (const p of points.slice(1)) {
      expect(Math.abs(p.value / 1e6 - HOST_W) / HOST_W, `${instance}: ${p.value / 1e6} W (worst timer lag ${worstLagMs.toFixed(0)} ms)`).toBeLessThan(tolerance(2));
    }
  }
  await expectEnergyExact(job, [...pushed.keys()]);
}

/**
 * Energy is counted whatever the phase: from each agent's start-up reading to its last sample (every
 * interval between, the irregular one up to its grid included), the energy counter grew by the tree's
 * power x the time between the two readings.
 */
async function expectEnergyExact(job: string, instances: readonly string[]): Promise<void> {
  const energy = new Map((await vmExport(vm, `scaph_host_energy_microjoules{job="${job}"}`)).map((s) => [s.labels['instance'] ?? '', s.points]));
  const at = new Map((await vmExport(vm, `scaph_host_energy_timestamp_seconds{job="${job}"}`)).map((s) => [s.labels['instance'] ?? '', s.points]));
  for (const instance of instances) {
    const e = energy.get(instance) ?? [];
    const t = at.get(instance) ?? [];
    expect(e.length, instance).toBeGreaterThanOrEqual(2);
    expect(t.length, instance).toBe(e.length);
    const joules = ((e.at(-1)?.value ?? 0) - (e[0]?.value ?? 0)) / 1e6;
    const seconds = (t.at(-1)?.value ?? 0) - (t[0]?.value ?? 0);
    expect(Math.abs(joules / seconds / HOST_W - 1), `${instance}: ${joules} J in ${seconds} s (worst timer lag ${worstLagMs.toFixed(0)} ms)`).toBeLessThan(tolerance(seconds));
  }
}

describe(`a fleet of ${AGENTS} agents restarted together, pushing to one VictoriaMetrics at a 10 s step`, () => {
  let splayedMax = 0;

  it('with splay (the default), spreads its requests over the step, and every step is stored', async () => {
    // Each agent's first push (with its start-up reading) comes within 1 s + 1.5 steps of its start: 36 s
    // give every agent its first push and at least one more.
    const run = await runFleet('fleet-splay', true, 36_000);
    const counts = histogramOf(run);
    console.log(describeRun('splay on', run, counts));
    const fair = run.arrivals.length / counts.length;
    expect(Math.max(...counts), counts.join(' ')).toBeLessThanOrEqual(2.5 * fair);
    expect(counts.filter((c) => c > 0).length, counts.join(' ')).toBeGreaterThanOrEqual(8);
    splayedMax = Math.max(...counts);
    await expectNoneLost('fleet-splay', run);
  }, 420_000);

  it('with --no-splay / splay = false, the same fleet started together bunches in the same seconds', async () => {
    const run = await runFleet('fleet-nosplay', false, 26_000);
    const counts = histogramOf(run);
    console.log(describeRun('splay off', run, counts));
    // Without splay each agent keeps the second of its start: the fleet's requests all fall in the seconds
    // its start-up pushes arrived in (within the second either side), however spread the start was (the
    // agents' start-up work shares two cores: a second or two when the machine is otherwise idle).
    const firsts = new Map<string, number>();
    for (const a of run.arrivals) if (!firsts.has(a.instance)) firsts.set(a.instance, a.atMs);
    const firstCounts = secondOfStepHistogram([...firsts.values()], STEP_MS);
    const startBins = new Set(firstCounts.flatMap((c, i) => (c > 0 ? [i - 1, i, i + 1].map((b) => (b + 10) % 10) : [])));
    const inStartBins = counts.reduce((n, c, i) => n + (startBins.has(i) ? c : 0), 0);
    console.log(
      `splay off: the start-up pushes arrived in ${firstCounts.filter((c) => c > 0).length} seconds of the step (${firstCounts.join(' ')}); ` +
        `${inStartBins} of ${run.arrivals.length} requests in those seconds ±1`,
    );
    expect(inStartBins, counts.join(' ')).toBeGreaterThanOrEqual(0.95 * run.arrivals.length);
    if (startBins.size <= 5) {
      // Started within about two seconds (an idle machine): bunched, the busiest second far above splay's.
      expect(Math.max(...counts)).toBeGreaterThan(2.5 * (run.arrivals.length / counts.length));
      if (splayedMax > 0) expect(Math.max(...counts)).toBeGreaterThan(2 * splayedMax);
    }
    await expectNoneLost('fleet-nosplay', run);
  }, 420_000);
});
