/**
 * The scale section: what a process costs the agent, from 500 to 10,000 processes. On ticking synthetic
 * trees (ticker.ts) of each size, in the same run:
 * - `scaph run` with remote-write alone to VictoriaMetrics, every series (the goals' figure);
 * - the same with `max_top_consumers` (each exporter sends its top N and the others rollup);
 * - `scaph run` with the three push transports (remote-write, Riemann, Warp 10: sinks.ts for the last two);
 * - the I/O floor of those three (bench/steady/io-floor.ts: the same stat files read and the agent's bytes
 *   sent each step, nothing else), the baseline of the three-transport run;
 * - prometheus-process-exporter, one group per process, scraped once a step as Prometheus does (gzip).
 * Each is started fresh, warmed up, and measured over a window (bench/steady/usage-window.ts): CPU per
 * process per step, peak (VmHWM) and settled (median VmRSS) memory, bytes written per step. Rounds: every
 * size and program once per round, sizes and programs in an order that rotates each round, so a machine
 * that gets busier shows as spread (min-max beside the median), not as a result; the ratios (three
 * transports ÷ floor, large ÷ small) pair runs of the same round. The machine's load is kept per run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcfsTree, generateProcesses, type FakeProcess } from '../../test/support/fixtures/procfs-tree.js';
import type { ManagedServer } from '../../test/support/servers/managed-server.js';
import { startVictoriaMetrics, vmExport } from '../../test/support/servers/victoria-metrics.js';
import type { Goal, ScaleRow, ScaleRun, ScaleSection, Skipped } from '../results.js';
import { addPeerFiles } from '../sampling/peer-tree.js';
import { countGroups, ProcessExporterPeer } from '../sampling/process-exporter.js';
import { round, spread } from '../stats.js';
import { agentArgv, shebangNodeFlags } from '../steady/agent-command.js';
import { agentConfig, type PushEndpoints } from '../steady/agent-config.js';
import { writeFloorPayloads } from '../steady/floor-payloads.js';
import { AGENT_SCRIPT, measureNode, type NodeUsage } from '../steady/measure-node.js';
import { FLOOR_SCRIPT, floorSteps } from '../steady/section.js';
import { measureWindow, percentOfOneCore, type ProcessUsage } from '../steady/usage-window.js';
import { RiemannSink, Warp10Sink } from './sinks.js';
import { tickProcesses } from './ticker.js';

export interface ScalePlan {
  readonly quick: boolean;
  /** Tree sizes, smallest first (default 500, 2,000, 5,000, 10,000; --quick 20, 60). */
  readonly sizes?: readonly number[];
  readonly log: (line: string) => void;
}

/** µs of CPU per process per step at the largest size, remote-write, every series. */
export const GOAL_US_PER_PROCESS = 10;
/** Peak RSS at 10,000 processes and at 500, every series, remote-write. */
export const GOAL_RSS_LARGE_MB = 150;
export const GOAL_RSS_SMALL_MB = 80;
/** µs per process per step at the largest size ÷ at the second size. */
export const GOAL_LINEARITY = 1.1;
/** Three transports ÷ their I/O floor, at the smallest size. */
export const GOAL_VS_FLOOR = 1.5;

const FULL_SIZES = [500, 2000, 5000, 10_000] as const;
const QUICK_SIZES = [20, 60] as const;
const WARP10_TOKEN = 'bench-write-token';
const HOST_SERIES = 'scaph_host_power_microwatts';

export const REMOTE_WRITE = 'remote-write';
export const THREE_TRANSPORTS = 'three transports';
export const IO_FLOOR = 'I/O floor';
export const PROCESS_EXPORTER = 'process-exporter';

interface Timing {
  readonly stepMs: number;
  readonly warmupMs: number;
  readonly windowMs: number;
  readonly rounds: number;
  readonly top: number;
}

interface Backends {
  readonly vm: ManagedServer;
  readonly riemann: RiemannSink;
  readonly warp10: Warp10Sink;
}

/** One tree and what the runs on it need. */
interface Subject {
  readonly size: number;
  readonly processes: FakeProcess[];
  readonly tree: ProcfsTree;
  readonly dir: string;
  /** Config per scaph program. */
  readonly configs: ReadonlyMap<string, string>;
}

/** What a run measured, before it is turned into a ScaleRun. */
interface Measured {
  readonly usage: ProcessUsage;
  readonly delivered: Record<string, number>;
}

export async function runScale(plan: ScalePlan): Promise<{ section: ScaleSection | Skipped; goals: Goal[] }> {
  const sizes = [...(plan.sizes ?? (plan.quick ? QUICK_SIZES : FULL_SIZES))].sort((a, b) => a - b);
  const t: Timing = plan.quick
    ? { stepMs: 1000, warmupMs: 2000, windowMs: 3000, rounds: 1, top: 5 }
    : { stepMs: 2000, warmupMs: 10_000, windowMs: 30_000, rounds: 3, top: 20 };
  const topProgram = `${REMOTE_WRITE}, top ${t.top}`;
  const programs = [REMOTE_WRITE, topProgram, THREE_TRANSPORTS, IO_FLOOR, PROCESS_EXPORTER];
  const workDir = mkdtempSync(join(tmpdir(), 'scaph-bench-scale-'));
  const subjects: Subject[] = [];
  let backends: Backends | null = null;
  try {
    backends = await startBackends();
    for (const size of sizes) subjects.push(await prepare(size, workDir, backends, t, topProgram));
    const runs: ScaleRun[] = [];
    const notes: string[] = [];
    for (let r = 0; r < t.rounds; r++) {
      for (const [k, subject] of rotated(subjects, r).entries()) {
        for (const program of rotated(programs, r + k)) {
          const run = await measureRun(subject, program, r + 1, backends, t, workDir, notes);
          if (run === null) continue;
          runs.push(run);
          plan.log(`scale: round ${r + 1}, ${subject.size} processes, ${program}: ${run.usPerProcessStep} us/process/step, ${run.percentOfOneCore} % of one core, peak RSS ${run.peakRssMb} MB, settled ${run.settledRssMb} MB (load ${run.loadavg.join(' -> ')})`);
        }
      }
    }
    const section = summarize(sizes, t, runs, notes, topProgram);
    return { section, goals: goals(section) };
  } finally {
    for (const s of subjects) s.tree.cleanup();
    if (backends) await Promise.all([backends.vm.dispose(), backends.riemann.stop(), backends.warp10.stop()]);
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function startBackends(): Promise<Backends> {
  const [vm, riemann, warp10] = await Promise.all([startVictoriaMetrics(), RiemannSink.start(), Warp10Sink.start(WARP10_TOKEN)]);
  return { vm, riemann, warp10 };
}

/** The tree of one size (with the files process-exporter reads), its configs and the I/O floor's payloads. */
async function prepare(size: number, workDir: string, b: Backends, t: Timing, topProgram: string): Promise<Subject> {
  const processes = generateProcesses(size);
  const tree = ProcfsTree.create({ processes, cpuCount: 8 });
  addPeerFiles(tree.root);
  const dir = join(workDir, String(size));
  mkdirSync(dir);
  const remoteWrite: PushEndpoints = { remoteWriteUrl: `${b.vm.baseUrl}/api/v1/write` };
  const three: PushEndpoints = { ...remoteWrite, riemannPort: b.riemann.port, warp10Port: b.warp10.port, warp10Token: WARP10_TOKEN };
  const configs = new Map<string, string>();
  for (const [program, to, top] of [[REMOTE_WRITE, remoteWrite, null], [topProgram, remoteWrite, t.top], [THREE_TRANSPORTS, three, null]] as const) {
    const path = join(dir, `${program.replace(/[^a-z0-9]+/g, '-')}.toml`);
    writeFileSync(path, agentConfig(tree.root, t.stepMs, to, top));
    configs.set(program, path);
  }
  await writeFloorPayloads(dir, tree.root, t.stepMs, { remoteWriteUrl: `${b.vm.baseUrl}/api/v1/write`, warp10BaseUrl: b.warp10.baseUrl, warp10Token: WARP10_TOKEN, riemannPort: b.riemann.port });
  return { size, processes, tree, dir, configs };
}

/** Starts `program` on the subject's ticking tree, measures it, stops it; null when the program is not installed. */
async function measureRun(s: Subject, program: string, roundNo: number, b: Backends, t: Timing, workDir: string, notes: string[]): Promise<ScaleRun | null> {
  const stopTicks = tickProcesses(s.tree, s.processes);
  const startLoad = loadavg()[0] as number;
  let measured: Measured | null;
  try {
    if (program === PROCESS_EXPORTER) measured = await measurePeer(s, t, workDir, notes);
    else if (program === IO_FLOOR) measured = await measureFloor(s, t);
    else measured = await measureAgent(s, program, b, t);
  } finally {
    stopTicks();
  }
  if (measured === null) return null;
  const { usage, delivered } = measured;
  const steps = t.windowMs / t.stepMs;
  const run: ScaleRun = {
    processes: s.size,
    program,
    round: roundNo,
    cpuSeconds: round(usage.cpuSeconds),
    usPerProcessStep: round((usage.cpuSeconds * 1e6) / (steps * s.size)),
    percentOfOneCore: round(percentOfOneCore(usage.cpuSeconds, t.windowMs)),
    peakRssMb: round(usage.peakRssMb),
    settledRssMb: round(usage.settledRssMb),
    bytesPerStep: Math.round(usage.bytesWritten / steps),
    delivered,
    loadavg: [round(startLoad, 2), round(loadavg()[0] as number, 2)],
  };
  const expected = Math.floor((t.warmupMs + t.windowMs) / t.stepMs) - 1;
  const short = Object.entries(delivered).filter(([, n]) => n < expected / 2);
  if (short.length > 0) notes.push(`round ${roundNo}, ${s.size} processes, ${program}: delivered ${short.map(([k, n]) => `${k} ${n}`).join(', ')} of ~${expected} steps`);
  return run;
}

async function measureAgent(s: Subject, program: string, b: Backends, t: Timing): Promise<Measured> {
  const before = await deliveredSoFar(b);
  const usage = await measureNode(`scaph run (${program}, ${s.size} processes)`, agentArgv(AGENT_SCRIPT, ['run', '-c', s.configs.get(program) as string]), t.warmupMs, t.windowMs);
  const after = await deliveredSoFar(b, before.remoteWrite);
  const delivered: Record<string, number> = { 'remote-write': after.remoteWrite - before.remoteWrite };
  if (program === THREE_TRANSPORTS) {
    delivered['riemann'] = after.riemann - before.riemann;
    delivered['warp10'] = after.warp10 - before.warp10;
  }
  return { usage, delivered };
}

async function measureFloor(s: Subject, t: Timing): Promise<Measured> {
  const usage: NodeUsage = await measureNode(`the I/O floor (${s.size} processes)`, [...shebangNodeFlags(AGENT_SCRIPT), FLOOR_SCRIPT, s.dir], t.warmupMs, t.windowMs);
  return { usage, delivered: { steps: floorSteps(usage.stderr) } };
}

/** process-exporter over the subject's tree, scraped once a step while it is measured. */
async function measurePeer(s: Subject, t: Timing, workDir: string, notes: string[]): Promise<Measured | null> {
  const dir = join(workDir, `peer-${s.size}`);
  mkdirSync(dir, { recursive: true });
  const peer = await ProcessExporterPeer.start(s.tree.root, dir);
  if (typeof peer === 'string') {
    if (!notes.includes(`process-exporter: ${peer}`)) notes.push(`process-exporter: ${peer}`);
    return null;
  }
  let scrapes = 0;
  let failed: unknown = null;
  const scrape = (): void => {
    peer.scrapeGzipped().then(() => (scrapes += 1), (err: unknown) => (failed ??= err));
  };
  scrape();
  const timer = setInterval(scrape, t.stepMs);
  try {
    const [usage] = await measureWindow([peer.pid], t.warmupMs, t.windowMs, () => peer.check());
    clearInterval(timer);
    if (failed !== null) throw failed;
    const groups = countGroups(await peer.scrape());
    if (groups !== s.size) notes.push(`process-exporter reported ${groups} processes of ${s.size}`);
    return { usage: usage as ProcessUsage, delivered: { scrapes } };
  } finally {
    clearInterval(timer);
    peer.stop();
    // Its port and files are its own; give it a moment to exit before the next program starts.
    await sleep(200);
  }
}

/**
 * Host power points in VictoriaMetrics (one per remote-write step), Riemann Msgs and Warp 10 updates so
 * far. VictoriaMetrics makes new rows searchable asynchronously: with `above`, the points are read again
 * (up to 10 s) until there are more than that and two reads half a second apart agree.
 */
async function deliveredSoFar(b: Backends, above = -1): Promise<{ remoteWrite: number; riemann: number; warp10: number }> {
  const count = async (): Promise<number> => (await vmExport(b.vm, `${HOST_SERIES}{job="scaph"}`)).reduce((n, x) => n + x.points.length, 0);
  let points = await count();
  for (const until = Date.now() + 10_000; above >= 0 && Date.now() < until; ) {
    await sleep(500);
    const again = await count();
    if (again === points && points > above) break;
    points = again;
  }
  return { remoteWrite: points, riemann: b.riemann.frames, warp10: b.warp10.updates };
}

function summarize(sizes: readonly number[], t: Timing, runs: readonly ScaleRun[], notes: string[], topProgram: string): ScaleSection {
  const programs = [REMOTE_WRITE, topProgram, THREE_TRANSPORTS, IO_FLOOR, PROCESS_EXPORTER];
  const rows: ScaleRow[] = [];
  for (const size of sizes) {
    for (const program of programs) {
      const mine = runs.filter((r) => r.processes === size && r.program === program);
      if (mine.length === 0) continue;
      const loads = mine.flatMap((r) => r.loadavg);
      rows.push({
        processes: size,
        program,
        usPerProcessStep: spread(mine.map((r) => r.usPerProcessStep)),
        percentOfOneCore: spread(mine.map((r) => r.percentOfOneCore)),
        peakRssMb: spread(mine.map((r) => r.peakRssMb)),
        settledRssMb: spread(mine.map((r) => r.settledRssMb)),
        bytesPerStep: spread(mine.map((r) => r.bytesPerStep)),
        loadavg: { min: Math.min(...loads), max: Math.max(...loads) },
      });
    }
  }
  const perRound = (size: number, program: string): Map<number, ScaleRun> => new Map(runs.filter((r) => r.processes === size && r.program === program).map((r) => [r.round, r]));
  const ratios = (a: Map<number, ScaleRun>, b: Map<number, ScaleRun>): number[] =>
    [...a].flatMap(([r, x]) => {
      const y = b.get(r);
      return y !== undefined && y.cpuSeconds > 0 ? [x.cpuSeconds / y.cpuSeconds] : [];
    });
  const vsFloor = sizes.map((size) => ({ processes: size, ratio: spread(ratios(perRound(size, THREE_TRANSPORTS), perRound(size, IO_FLOOR))) }));
  // 10,000 against 2,000 by default (500 is dominated by what does not scale); with two sizes, the two.
  const [small, large] = [sizes.length > 2 ? sizes[1] : sizes[0], sizes[sizes.length - 1]] as [number, number];
  const usRatios = [...perRound(large, REMOTE_WRITE)].flatMap(([r, x]) => {
    const y = perRound(small, REMOTE_WRITE).get(r);
    return y !== undefined && y.usPerProcessStep > 0 ? [x.usPerProcessStep / y.usPerProcessStep] : [];
  });
  return {
    sizes,
    stepMs: t.stepMs,
    warmupMs: t.warmupMs,
    windowMs: t.windowMs,
    rounds: t.rounds,
    maxTopConsumers: t.top,
    rows,
    vsFloor,
    linearity: sizes.length > 1 ? { large, small, ratio: spread(usRatios) } : null,
    runs,
    notes: [
      'trees: synthetic procfs (tmpfs), every second a rotating fifth of the processes gain 1-3 ticks; process-exporter\'s status, io, limits, wchan, cgroup, smaps_rollup, fd/ and task/ added',
      'scaph: `scaph run`, estimate sensor; remote-write to VictoriaMetrics; Riemann and Warp 10 to counting sinks that answer as the servers do',
      `process-exporter: one group per process, -threads=false -gather-smaps=false, scraped once a step with Accept-Encoding: gzip; its µs/process/step is per scrape`,
      ...notes,
    ],
  };
}

function goals(s: ScaleSection): Goal[] {
  const row = (size: number, program: string): ScaleRow | undefined => s.rows.find((r) => r.processes === size && r.program === program);
  const largest = s.sizes[s.sizes.length - 1] as number;
  const smallest = s.sizes[0] as number;
  const large = row(largest, REMOTE_WRITE);
  const small = row(smallest, REMOTE_WRITE);
  const load = (r: ScaleRow | undefined): string => (r ? `load ${r.loadavg.min}-${r.loadavg.max}` : 'not measured');
  const atMost = (v: number | null | undefined, target: number): boolean | null => (v === null || v === undefined || !Number.isFinite(v) ? null : v <= target);
  const floor = s.vsFloor.find((f) => f.processes === smallest)?.ratio.median ?? null;
  const floorRow = row(smallest, THREE_TRANSPORTS);
  const how = `median of ${s.rounds} round${s.rounds === 1 ? '' : 's'}`;
  return [
    {
      id: 'scale-cpu-per-process',
      description: `scaph run CPU per process per step at ${largest} processes, remote-write, every series (µs, ${how})`,
      measured: large?.usPerProcessStep.median ?? null,
      target: `<= ${GOAL_US_PER_PROCESS}`,
      met: atMost(large?.usPerProcessStep.median, GOAL_US_PER_PROCESS),
      note: `${large ? `${large.usPerProcessStep.min}-${large.usPerProcessStep.max}` : ''}; ${load(large)}`,
    },
    {
      id: 'scale-rss-large',
      description: `scaph run peak RSS at ${largest} processes, remote-write, every series (MB, ${how})`,
      measured: large?.peakRssMb.median ?? null,
      target: `<= ${GOAL_RSS_LARGE_MB} MB`,
      met: atMost(large?.peakRssMb.median, GOAL_RSS_LARGE_MB),
      note: load(large),
    },
    {
      id: 'scale-rss-small',
      description: `scaph run peak RSS at ${smallest} processes, remote-write, every series (MB, ${how})`,
      measured: small?.peakRssMb.median ?? null,
      target: `<= ${GOAL_RSS_SMALL_MB} MB`,
      met: atMost(small?.peakRssMb.median, GOAL_RSS_SMALL_MB),
      note: load(small),
    },
    {
      id: 'scale-linearity',
      description: s.linearity
        ? `µs per process per step at ${s.linearity.large} / at ${s.linearity.small} processes, remote-write (per round, ${how})`
        : 'µs per process per step, largest / second size (one size measured)',
      measured: s.linearity?.ratio.median ?? null,
      target: `<= ${GOAL_LINEARITY}`,
      met: atMost(s.linearity?.ratio.median, GOAL_LINEARITY),
      ...(s.linearity ? { note: `${s.linearity.ratio.min}-${s.linearity.ratio.max}` } : {}),
    },
    {
      id: 'scale-vs-floor',
      description: `scaph run CPU vs the same round's I/O floor, ${smallest} processes, 3 push transports, every series (${how})`,
      measured: floor,
      target: `<= ${GOAL_VS_FLOOR}x`,
      met: atMost(floor, GOAL_VS_FLOOR),
      note: load(floorRow),
    },
  ];
}

function rotated<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
