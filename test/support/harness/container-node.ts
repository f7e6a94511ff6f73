/**
 * A synthetic node for the container sources' bad-input cases (test/e2e/bad-input/cgroupfs.test.ts and
 * metadata-apis.test.ts): processes and cgroups counting CPU time at fixed rates, `scaph prometheus
 * --containers` on it scraped throughout (/metrics and /healthz), and the checks every such run must pass:
 * /metrics never fails and never waits, the first sample comes, samples keep the step, and the power figures
 * stay what the node's counters give: at every sample within what they allow, and exactly at most of them
 * (the median). The counters move in real time from this test process: a write can land between two reads
 * of one sample, or the load can starve the writer for a step, never in most samples.
 */
import { execFileSync } from 'node:child_process';
import { constants, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { CgroupfsTree } from '../fixtures/cgroupfs-tree.js';
import * as F from '../fixtures/cgroups.js';
import { ProcfsTree, type FakeProcess } from '../fixtures/procfs-tree.js';
import { startScaph, type ScaphProcess, type ScaphRun, type ScaphRunOptions } from '../fixtures/run-scaph.js';
import { expectClean, JSON_LOGS, saying, sleep, tempDir } from './bad-input.js';
import { parseExposition, type ExpositionSample } from './compat.js';
import { freePort } from '../servers/free-port.js';
import type { FakeKubeApi } from '../servers/kube-api.js';

export const us = (uid: string): string => uid.replace(/-/g, '_');
export const WEB_ID = F.CONTAINERD_ID;
export const DB_ID = 'd'.repeat(64);
export const WEB_POD_DIR = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${us(F.POD_UID)}.slice`;
const DB_POD_DIR = `/kubepods.slice/kubepods-pod${us(F.POD_UID_2)}.slice`;
export const DIRS = {
  web: `${WEB_POD_DIR}/cri-containerd-${WEB_ID}.scope`,
  webPod: WEB_POD_DIR,
  db: `${DB_POD_DIR}/cri-containerd-${DB_ID}.scope`,
  dbPod: DB_POD_DIR,
  nginx: '/system.slice/nginx.service',
};

/**
 * The node: 2 CPUs half busy (every 100 ms, 10 busy and 10 idle ticks), web 5 of the busy ticks, db 3,
 * nginx.service 2, each cgroup counting the same time. So host power is the estimate at 50 % on 2 CPUs
 * (4.24 W) at every sample, and web, db and nginx get 50, 30 and 20 % of it.
 */
const HOST_UW = 4_240_000;
/** The estimate at 0 % on 2 CPUs (0.74 W each). */
const IDLE_HOST_UW = 1_480_000;
export const EXPECTED_UW = { web: 2_120_000, db: 1_272_000, nginx: 848_000 };
const STEP_S = 0.5;
/**
 * From spawn to the first sample on /metrics: about a second of first tick plus Node.js's start, which
 * takes seconds on a box other test suites load (a hang, not a delay, is what this bound catches). That the
 * first sample never waits for a metadata API is checked against the API's own clock: expectSampledBeside.
 */
const FIRST_SAMPLE_MS = 15_000;
/** A scrape (or /healthz probe) not answered by then is a hang; a loaded box answers within a second or two. */
const SCRAPE_TIMEOUT_MS = 5_000;
/** Samples a run is scraped for at least, whatever the box's load. */
const MIN_SAMPLES = 6;

export class SyntheticNode {
  readonly procfs: ProcfsTree;
  /** In a directory of its own: what lies beside the mount (`<mount>/..`) belongs to the test too. */
  readonly cgroupfs = new CgroupfsTree(join(tempDir('scaph-node-'), 'cgroup'));
  private readonly stopCpu: () => void;
  /** Directories the node advances every tick (a test may take one out to make it lie). */
  readonly counting = new Map<string, number>([
    [DIRS.web, 50_000],
    [DIRS.webPod, 50_000],
    [DIRS.db, 30_000],
    [DIRS.dbPod, 30_000],
    [DIRS.nginx, 20_000],
  ]);

  constructor(cgroups: Partial<Record<'web' | 'db' | 'nginx', string>> = {}) {
    const web: FakeProcess = { pid: 101, comm: 'nginx-web', utime: 1000, stime: 0, starttime: 500 };
    const db: FakeProcess = { pid: 102, comm: 'postgres', utime: 1000, stime: 0, starttime: 501 };
    const nginx: FakeProcess = { pid: 201, comm: 'nginx', utime: 1000, stime: 0, starttime: 502 };
    this.procfs = ProcfsTree.create({ cpuCount: 2, processes: [web, db, nginx] });
    writeFileSync(join(this.procfs.root, '101', 'cgroup'), cgroups.web ?? `0::${DIRS.web}\n`);
    writeFileSync(join(this.procfs.root, '102', 'cgroup'), cgroups.db ?? `0::${DIRS.db}\n`);
    writeFileSync(join(this.procfs.root, '201', 'cgroup'), cgroups.nginx ?? `0::${DIRS.nginx}\n`);
    for (const [dir, usec] of this.counting) this.cgroupfs.advance(dir, usec);
    const advance = (): void => {
      for (const [dir, usec] of this.counting) this.cgroupfs.advance(dir, usec);
    };
    this.stopCpu = this.procfs.runCpu({ user: 10, idle: 10 }, [[web, 5], [db, 3], [nginx, 2]], 100, advance);
    nodes.push(this);
  }

  /**
   * A process that starts now in a container of its own (its cgroup created, counting nothing): the
   * container lookup has not seen it, which asks the metadata source for an early reload.
   */
  startIdleProcess(pid: number, containerId: string, podDir: string): void {
    const dir = `${podDir}/cri-containerd-${containerId}.scope`;
    if (this.cgroupfs.usageOf(podDir) === 0) this.cgroupfs.advance(podDir, 0);
    this.cgroupfs.advance(dir, 0);
    this.procfs.writeProcess({ pid, comm: 'late', utime: 0, stime: 0, starttime: 90_000 });
    writeFileSync(join(this.procfs.root, String(pid), 'cgroup'), `0::${dir}\n`);
  }

  /** Global flags: this node's trees, the estimate sensor. */
  flags(...more: string[]): string[] {
    return ['--no-header', '--sensor', 'estimate', '--procfs-path', this.procfs.root, '--cgroupfs-path', this.cgroupfs.root, ...more];
  }

  cleanup(): void {
    this.stopCpu();
    this.procfs.cleanup();
    this.cgroupfs.cleanup();
  }
}

const nodes: SyntheticNode[] = [];
const runs: ScrapedRun[] = [];
/** Cleanups of the current test (servers, tripwires), run after it. */
export const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  // A case that failed before stopping its agent: end it here, not when the worker exits (it would outlive it).
  for (const r of runs.splice(0)) await r.kill();
  for (const n of nodes.splice(0)) n.cleanup();
  for (const c of closers.splice(0)) await c();
});

/** How a run ended: the run, and how long it took to exit after SIGTERM, ms. */
export interface StoppedRun {
  readonly run: ScaphRun;
  readonly stopMs: number;
}

interface Scrape {
  readonly atMs: number;
  readonly status: number;
  readonly samples: readonly ExpositionSample[];
}

/** A `scaph … prometheus --containers` run scraped every 150 ms (/metrics and /healthz) until it is stopped. */
export class ScrapedRun {
  readonly scrapes: Scrape[] = [];
  readonly health: Array<{ readonly atMs: number; readonly status: number }> = [];
  readonly spawnedAt = performance.now();
  /** When SIGTERM was sent, ms after spawn. */
  stoppedAtMs = Number.NaN;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    readonly scaph: ScaphProcess,
    private readonly port: number,
  ) {
    this.loop = this.scrapeLoop();
    runs.push(this);
  }

  static async start(globals: readonly string[], options: ScaphRunOptions = {}, exporterFlags: readonly string[] = []): Promise<ScrapedRun> {
    const port = await freePort();
    // --health-max-age well above the step: a late sample on a loaded box is not what these cases are about.
    const args = [...JSON_LOGS, ...globals, 'prometheus', '-a', '127.0.0.1', '-p', String(port), '--step', String(STEP_S), '--health-max-age', '5', '--containers', ...exporterFlags];
    return new ScrapedRun(startScaph(args, { timeoutMs: 45_000, ...options }), port);
  }

  /** Stops scraping and SIGKILLs the agent if it still runs. */
  async kill(): Promise<void> {
    this.stopped = true;
    await this.loop;
    if (this.scaph.child.exitCode === null && this.scaph.child.signalCode === null) await this.scaph.stop('SIGKILL');
  }

  /** Resolves when the first sample was scraped (a loaded box may start the agent seconds late): ms after spawn. */
  firstSample(): Promise<number> {
    return this.until(() => true, 'a first sample', FIRST_SAMPLE_MS);
  }

  /**
   * Stops the run with SIGTERM once it sampled for `samplingMs` since its first sample and at least
   * `minSamples` samples were scraped; how long the stop took is `stopMs`.
   */
  async stopAfter(samplingMs: number, minSamples = MIN_SAMPLES): Promise<StoppedRun> {
    const first = await this.firstSample().catch(() => Number.NaN);
    await sleep(Math.max(0, first + samplingMs - (performance.now() - this.spawnedAt)));
    const until = performance.now() + 15_000;
    while (this.samples.length < minSamples && performance.now() < until && this.scaph.child.exitCode === null) await sleep(100);
    this.stopped = true;
    await this.loop;
    const t0 = performance.now();
    this.stoppedAtMs = t0 - this.spawnedAt;
    const run = await this.scaph.stop('SIGTERM');
    return { run, stopMs: performance.now() - t0 };
  }

  /** Waits for a scraped sample where `holds` (at most `timeoutMs`); returns when, ms after spawn. */
  async until(holds: (samples: readonly ExpositionSample[]) => boolean, what: string, timeoutMs = 15_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (!this.samples.some(holds)) {
      if (performance.now() > deadline) throw new Error(`never scraped: ${what}`);
      await sleep(50);
    }
    return performance.now() - this.spawnedAt;
  }

  /** When /metrics first answered 200, ms after spawn. */
  get firstSampleMs(): number {
    const first = this.scrapes.find((s) => s.status === 200);
    return first ? first.atMs : Number.POSITIVE_INFINITY;
  }

  /** Each distinct sample scraped (by its host energy timestamp), in order. */
  get samples(): ReadonlyArray<readonly ExpositionSample[]> {
    const byTime = new Map<number, readonly ExpositionSample[]>();
    for (const s of this.scrapes) {
      const t = s.samples.find((x) => x.name === 'scaph_host_energy_timestamp_seconds')?.value;
      if (s.status === 200 && t !== undefined && !byTime.has(t)) byTime.set(t, s.samples);
    }
    return [...byTime.values()];
  }

  /** Peak resident memory of the agent so far, bytes (VmHWM). */
  peakRssBytes(): number {
    const status = readFileSync(`/proc/${this.scaph.pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
  }

  private async scrapeLoop(): Promise<void> {
    while (!this.stopped && this.scaph.child.exitCode === null) {
      const t0 = performance.now();
      try {
        const res = await fetch(`http://127.0.0.1:${this.port}/metrics`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
        const text = await res.text();
        this.scrapes.push({ atMs: t0 - this.spawnedAt, status: res.status, samples: res.status === 200 ? parseExposition(text) : [] });
        const health = await fetch(`http://127.0.0.1:${this.port}/healthz`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
        await health.text();
        this.health.push({ atMs: t0 - this.spawnedAt, status: health.status });
      } catch (err) {
        // Not listening yet (connection refused) is fine; a scrape that timed out is a hang.
        if ((err as Error).name === 'TimeoutError') this.scrapes.push({ atMs: t0 - this.spawnedAt, status: 0, samples: [] });
      }
      await sleep(150);
    }
  }
}

export const value = (samples: readonly ExpositionSample[], name: string, match: Record<string, string> = {}): number | undefined =>
  samples.find((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))?.value;

/** The series of one family in a sample whose labels include `match`. */
export const seriesOf = (samples: readonly ExpositionSample[], name: string, match: Record<string, string> = {}): ExpositionSample[] =>
  samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/**
 * What every run must show: it ended by itself on SIGTERM with exit 0 within 3 s, no scrape failed or
 * waited (every /metrics and /healthz answer 200 once the first sample was in, none left unanswered), the first
 * sample came, the samples kept the step (at least half the steps of the run were scraped), and the host
 * power is the node's (see below).
 */
export function expectHealthyRun(r: ScrapedRun, end: StoppedRun): void {
  expectClean(end.run);
  expect(end.stopMs, 'SIGTERM to exit').toBeLessThan(3_000);
  expect(r.firstSampleMs, 'the first sample').toBeLessThan(FIRST_SAMPLE_MS);
  const after = r.scrapes.filter((s) => s.atMs >= r.firstSampleMs);
  expect(after.map((s) => s.status).filter((st) => st !== 200), 'scrapes after the first sample').toEqual([]);
  expect(r.health.filter((h) => h.atMs >= r.firstSampleMs && h.status !== 200).length, '/healthz 503s after the first sample').toBe(0);
  const samples = r.samples;
  // Half the steps sampled, or of the scrapes made when the load slowed the scraper below one a step.
  const steps = (r.stoppedAtMs - r.firstSampleMs) / (STEP_S * 1000);
  expect(samples.length, 'distinct samples scraped').toBeGreaterThanOrEqual(Math.floor(Math.min(steps, after.length) * 0.5));
  // The node's figure, but for an interval in which the test process (that moves the node's counters) was
  // starved by the box's load: no CPU time passed, the estimate's idle figure. Never anything else.
  const host = samples.map((s) => value(s, 'scaph_host_power_microwatts'));
  for (const uw of host) expect([HOST_UW, IDLE_HOST_UW]).toContain(uw);
  expect(median(host.map((uw) => uw ?? Number.NaN)), `host power: ${host.join(' ')}`).toBe(HOST_UW);
}

/** A process's power: in every sample, within the host's, and the node's figure at most samples (the median). */
export function expectProcessFigures(r: ScrapedRun, pid: string, expectedUw: number): void {
  const powers = r.samples.map((s) => value(s, 'scaph_process_power_consumption_microwatts', { pid }) ?? Number.NaN);
  for (const p of powers) {
    expect(p, `pid ${pid} in a sample`).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(HOST_UW);
  }
  expect(median(powers), `pid ${pid}: ${powers.join(' ')}`).toBe(expectedUw);
}

/**
 * A group's power at each sample: never negative, never above the host's; its energy never goes down; and
 * the node's figure at most samples (the median).
 */
export function expectGroupFigures(r: ScrapedRun, family: 'container' | 'pod' | 'systemd_unit' | 'namespace', match: Record<string, string>, expectedUw: number): void {
  const powers: number[] = [];
  let energy = 0;
  for (const s of r.samples) {
    const power = seriesOf(s, `scaph_${family}_power_microwatts`, match);
    if (power.length === 0) continue;
    expect(power, `one ${family} series for ${JSON.stringify(match)}`).toHaveLength(1);
    const p = power[0]?.value ?? Number.NaN;
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(HOST_UW);
    powers.push(p);
    const e = seriesOf(s, `scaph_${family}_energy_microjoules`, match).reduce((sum, x) => sum + x.value, 0);
    expect(e).toBeGreaterThanOrEqual(energy);
    energy = e;
  }
  expect(powers.length, `samples holding the ${family} ${JSON.stringify(match)}`).toBeGreaterThanOrEqual(3);
  expect(median(powers), `${family} ${JSON.stringify(match)}: ${powers.join(' ')}`).toBe(expectedUw);
}

/**
 * A FIFO at `path` with a writer waiting in this process: the writer's open returns the moment anyone
 * opens the FIFO for reading, even without blocking, so `opened()` tells whether the agent ever opened it.
 * Released (by opening it here) after the test.
 */
export function tripwire(path: string): { opened: () => boolean } {
  execFileSync('mkfifo', [path]);
  let opened = false;
  const writer = open(path, 'w').then(async (h) => {
    opened = true;
    await h.close();
  });
  closers.push(async () => {
    if (!opened) {
      const reader = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
      await writer;
      await reader.close();
    }
  });
  return { opened: () => opened };
}

/**
 * The first sample came while the metadata API's first request was still unanswered (it hangs, or is being
 * refused): sampling went on beside it, not after it (the request's deadline is 5 s or more).
 */
export function expectSampledBeside(r: ScrapedRun, api: { readonly requestedAt: readonly number[] }): void {
  const requestMs = (api.requestedAt[0] ?? Number.NaN) - r.spawnedAt;
  expect(r.firstSampleMs, `first sample, ms after spawn (the API was asked at ${Math.round(requestMs)} ms)`).toBeLessThan(requestMs + 4_000);
}

/** Waits until `api` has answered `n` pod-list requests. */
export async function eventuallyRequested(api: FakeKubeApi, n: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (api.requests.filter((q) => q.startsWith('GET /api/v1/pods')).length < n) {
    if (Date.now() > until) throw new Error(`the API got ${api.requests.length} requests, not ${n}`);
    await sleep(50);
  }
}

/** The warnings of a run (pino level 40), by message, less the scheduler's overruns (the box's load, not the input's). */
export const warnings = (run: ScaphRun): string[] =>
  saying(run.stderr, /.*/)
    .filter((l) => l.level === 40 && !l.msg.startsWith('sampling overran its step'))
    .map((l) => l.msg);
