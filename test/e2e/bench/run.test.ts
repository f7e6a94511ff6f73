import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResults, EncodingSection, ExecutableComparison, ExecutableVariant, PeerComparison, SamplingSection, ScaleSection, SteadyStateSection, Timing } from '../../../bench/results.js';
import { runtimePins } from '../../../packaging/executable/node-runtime.js';
import { packageRoot } from '../../../src/core/package-file.js';

// The bench runs from dist/ (npm run bench), and its steady-state part starts dist/src/bin.js: npm test's
// pretest has built it (alone: `npm run build` first). Not rebuilt here: tsc rewriting dist/ under the other
// files' running agents made one of them load a half-written module.
const ROOT = packageRoot();
const outDir = mkdtempSync(join(tmpdir(), 'scaph-bench-test-'));
let stdout = '';
let results: BenchResults;

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'bench', 'run.js'))) throw new Error('dist/bench/run.js is missing: run `npm run build` first');
  const run = spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', 'run.js'), '--quick', '--out', outDir], {
    encoding: 'utf8',
    // The executable row builds the single executable first (npm run package -- --executable-only).
    timeout: 540_000,
  });
  expect(run.status, run.stderr).toBe(0);
  stdout = run.stdout;
  results = JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8')) as BenchResults;
}, 570_000);
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function isTiming(t: Timing | { skipped: string }): t is Timing {
  return !('skipped' in t);
}

describe('npm run bench command line', () => {
  const bench = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', 'run.js'), ...args], { encoding: 'utf8' });

  it('explains itself with --help and rejects bad flags and sections in one line with the usage, exit 2', () => {
    const help = bench(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run bench -- \[--quick\]/);
    expect(help.stdout).toContain('--only SECTIONS  comma-separated: sampling, encoding, steady, executable, scale');
    expect(help.stdout).toContain('--scale-sizes N,N,...');
    for (const [args, message] of [
      [['--bogus'], /^bench: Unknown option '--bogus'/],
      [['--only', 'stedy,encoding'], /^bench: --only: unknown section "stedy"; choose from sampling, encoding, steady, executable, scale$/m],
      [['--only', 'scale', '--scale-sizes', '500,2k'], /^bench: --scale-sizes: "2k" is not a process count \(1 to 999999\)$/m],
    ] as const) {
      const run = bench([...args]);
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain('usage: npm run bench');
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stdout).toBe('');
    }
  });
});

describe('npm run bench --quick', () => {
  it('writes a results.json with every section measured', () => {
    expect(results).toMatchObject({ version: 1, quick: true });
    expect(results.environment.cpus).toBeGreaterThan(0);

    const sampling = results.sampling as SamplingSection;
    expect(sampling.rows.map((r) => r.tree)).toEqual(['real /proc', 'synthetic 20', 'synthetic 60']);
    expect(sampling.rows.map((r) => r.processes).slice(1)).toEqual([20, 60]);
    for (const row of sampling.rows) {
      expect(row.scaph.usPerProcess).toBeGreaterThan(0);
      // Per process = per pass / processes (both rounded to 3 significant digits).
      expect(Math.abs(row.scaph.usPerProcess * row.processes - row.scaph.usPerPass) / row.scaph.usPerPass).toBeLessThan(0.01);
      // cc and prometheus-process-exporter are installed on this box: both must have been measured.
      expect(isTiming(row.cFloor) && row.cFloor.usPerProcess > 0).toBe(true);
      expect(isTiming(row.peer) && row.peer.usPerProcess > 0).toBe(true);
      expect(row.scaphToC).toBeGreaterThan(0);
    }
    expect(sampling.linearity.scaph).toBeGreaterThan(0);

    const encoding = results.encoding as EncodingSection;
    expect(encoding.processes).toBe(50);
    expect(encoding.metrics).toBeGreaterThan(5 * 50);
    expect(encoding.rows.map((r) => [r.transport, r.peer])).toEqual([
      ['remote-write', 'prometheus-remote-write'],
      ['riemann', 'riemann'],
      ['warp10', '@senx/warp10'],
      ['otlp', '@opentelemetry/otlp-transformer'],
    ]);
    for (const row of encoding.rows) {
      expect(row.scaphOpsPerSec).toBeGreaterThan(0);
      expect(row.peerOpsPerSec).toBeGreaterThan(0);
      expect(row.bytes).toBeGreaterThan(1000);
      expect(row.peerBytes).toBeGreaterThan(1000);
    }
    // Remote-write 2.0 next to 1.0 on the same sample: its symbol table makes far fewer protobuf bytes. After
    // snappy, 50 processes are about even (1.03x: each family's help text goes once per request), 500 are 0.74x.
    const versions = encoding.remoteWriteVersions;
    expect(versions.processes).toBe(50);
    expect(versions.rows.map((r) => r.version)).toEqual(['1.0', '2.0']);
    const [v1, v2] = versions.rows;
    expect(v1?.opsPerSec).toBeGreaterThan(0);
    expect(v2?.opsPerSec).toBeGreaterThan(0);
    expect(v2?.protobufBytes).toBeLessThan((v1?.protobufBytes ?? 0) / 2);
    expect(versions.bytesV2ToV1).toBeGreaterThan(0.9);
    expect(versions.bytesV2ToV1).toBeLessThan(1.1);
    expect(versions.bytesV2ToV1).toBeCloseTo((v2?.bytesPerStep ?? 0) / (v1?.bytesPerStep ?? 1), 2);
    expect(stdout).toContain('Remote-write 1.0 vs 2.0, one sample of 50 processes');

    const steady = results.steadyState as SteadyStateSection;
    expect(steady).toMatchObject({ processes: 20, stepMs: 1000, windowMs: 3000 });
    expect(steady.cpuSeconds).toBeGreaterThanOrEqual(0);
    expect(steady.peakRssMb).toBeGreaterThan(10);
    // VmHWM is the peak since start: no VmRSS sampled later can exceed it.
    expect(steady.windowRssMaxMb).toBeGreaterThan(10);
    expect(steady.windowRssMaxMb).toBeLessThanOrEqual(steady.peakRssMb);
    // Each backend got samples during the run.
    for (const transport of ['remote-write', 'riemann', 'warp10', 'otlp']) expect(steady.samplesDelivered[transport]).toBeGreaterThan(0);
    // The I/O floor ran against the same backends: every step (one at start, then one per second over a
    // 1.5 s warm-up and the 3 s window) got a 2xx from each, else it would have exited 1 and failed the run.
    expect(steady.floor.stepsCompleted).toBeGreaterThanOrEqual(steady.windowMs / steady.stepMs);
    expect(steady.floor.peakRssMb).toBeGreaterThan(10);
    expect(steady.floor.cpuSeconds).toBeGreaterThanOrEqual(0);
    expect(steady.minorFaultsPerStep).toBeGreaterThanOrEqual(0);
    expect(steady.floor.minorFaultsPerStep).toBeGreaterThanOrEqual(0);
    expect(stdout).toContain('minor faults/step');
    if (steady.floor.cpuSeconds > 0) expect(steady.cpuVsFloor).toBeCloseTo(steady.cpuSeconds / steady.floor.cpuSeconds, 1);
    expect(stdout).toMatch(/^I\/O floor +\d/m);
    expect(stdout).toContain('scaph / I/O floor (CPU):');
  });

  it('runs scaph again with max_top_consumers on every exporter and reports CPU and bytes per step against the all-series run', () => {
    const steady = results.steadyState as SteadyStateSection;
    const top = steady.topConsumers;
    expect(top.maxTopConsumers).toBe(5);
    for (const transport of ['remote-write', 'riemann', 'warp10', 'otlp']) expect(top.samplesDelivered[transport]).toBeGreaterThan(0);
    // 20 processes x 5 series against 5 x 5 + the 3 others series on each of three wires: fewer bytes, not none.
    expect(steady.bytesPerStep).toBeGreaterThan(10_000);
    expect(top.bytesPerStep).toBeGreaterThan(1000);
    expect(top.bytesPerStep).toBeLessThan(steady.bytesPerStep);
    expect(top.bytesVsAllSeries).toBeCloseTo(top.bytesPerStep / steady.bytesPerStep, 1);
    if (steady.cpuSeconds > 0) expect(top.cpuVsAllSeries).toBeCloseTo(top.cpuSeconds / steady.cpuSeconds, 1);
  });

  it('measures the peer row: scaph with remote-write alone against the Prometheus agent stack, in the same VictoriaMetrics', () => {
    const steady = results.steadyState as SteadyStateSection;
    // prometheus, prometheus-node-exporter and prometheus-process-exporter are installed here: measured, not skipped.
    expect(steady.peer).not.toHaveProperty('skipped');
    const peer = steady.peer as PeerComparison;
    expect(peer).toMatchObject({ processes: 20, stepMs: 1000, windowMs: 3000 });
    expect(peer.scaph.programs.map((p) => p.name)).toEqual(['scaph']);
    expect(peer.stack.programs.map((p) => p.name)).toEqual(['prometheus (agent)', 'node_exporter', 'process-exporter']);
    for (const side of [peer.scaph, peer.stack]) {
      for (const program of side.programs) {
        expect(program.peakRssMb).toBeGreaterThan(5);
        expect(program.cpuSeconds).toBeGreaterThanOrEqual(0);
      }
      // The sums are the sums of the programs (each rounded to 3 significant digits).
      expect(side.peakRssMb).toBeCloseTo(side.programs.reduce((sum, p) => sum + p.peakRssMb, 0), 0);
      expect(side.series).toBe(Object.values(side.seriesByJob).reduce((sum, n) => sum + n, 0));
    }
    // scaph: 5 series per process plus the host's and its own; the stack: node_exporter's rapl zones and
    // cpus, and process-exporter's ~23 series per group, one group per process.
    expect(peer.scaph.seriesByJob['scaph']).toBeGreaterThan(5 * 20);
    expect(peer.stack.seriesByJob['node']).toBeGreaterThan(9);
    expect(peer.stack.seriesByJob['process']).toBeGreaterThan(20 * 20);
    expect(peer.seriesVsStack).toBeCloseTo(peer.scaph.series / peer.stack.series, 2);
    if (peer.scaph.cpuSeconds > 0 && peer.stack.cpuSeconds > 0) {
      expect(peer.cpuPerSeriesVsStack).toBeCloseTo((peer.scaph.cpuSeconds / peer.scaph.series) / (peer.stack.cpuSeconds / peer.stack.series), 1);
    }
    expect(stdout).toMatch(/^Peer row: pushing per-process figures by remote-write, 20 processes/m);
    expect(stdout).toMatch(/^Prometheus agent \+ node_exporter \+ process-exporter +\d/m);
    expect(stdout).toMatch(/^ {2}process-exporter +\d/m);
    expect(stdout).toContain('scaph / stack: CPU per series');
  });

  it('measures the single executable against node + dist and node 24 + dist, with the same config, and their start-up', () => {
    expect(results.executable).not.toHaveProperty('skipped');
    const e = results.executable as ExecutableComparison;
    expect(e).toMatchObject({ rounds: 1, windowMs: 3000, startupRuns: 2, firstSampleStepMs: 500 });
    expect(e.variants.map((v) => v.label)).toEqual(['node + dist', 'node 24 + dist', 'executable']);
    const v24 = `node v${runtimePins().version}`;
    expect(e.variants.map((v) => v.runtime)).toEqual([`node ${process.version}`, `${v24} (the executable's V8 flags)`, `${v24} (single executable)`]);
    for (const v of e.variants) {
      expect(v.peakRssMb.median).toBeGreaterThan(10);
      expect(v.peakRssMb.min).toBeLessThanOrEqual(v.peakRssMb.max);
      // The first sample comes one 0.5 s step after start, plus the start-up itself.
      expect(v.firstSampleMs.min).toBeGreaterThan(500);
      expect(v.versionMs.min).toBeGreaterThan(0);
      expect(v.versionMs.max).toBeLessThan(v.firstSampleMs.max + 60_000);
    }
    const [node, node24, exe] = e.variants as [ExecutableVariant, ExecutableVariant, ExecutableVariant];
    expect(e.rssVsNode).toBeCloseTo(exe.peakRssMb.median / node.peakRssMb.median, 2);
    expect(e.rssVsNode24).toBeCloseTo(exe.peakRssMb.median / node24.peakRssMb.median, 2);
    expect(stdout).toMatch(/^Executable row: the single executable against node \+ dist/m);
    expect(stdout).toMatch(new RegExp(`^executable +${v24.replaceAll('.', '\\.')} \\(single executable\\) +\\d`, 'm'));
  });

  it('measures the scale section: every program at each size, per round, with its load, the floor and linearity ratios', () => {
    expect(results.scale).not.toHaveProperty('skipped');
    const scale = results.scale as ScaleSection;
    expect(scale).toMatchObject({ sizes: [20, 60], stepMs: 1000, windowMs: 3000, rounds: 1, maxTopConsumers: 5 });
    const programs = ['remote-write', 'remote-write, top 5', 'three transports', 'I/O floor', 'process-exporter'];
    // prometheus-process-exporter is installed here: every program measured at every size.
    expect(scale.rows.map((r) => [r.processes, r.program])).toEqual([20, 60].flatMap((n) => programs.map((p) => [n, p])));
    expect(scale.runs).toHaveLength(10);
    const steps = scale.windowMs / scale.stepMs;
    for (const run of scale.runs) {
      expect(run.round).toBe(1);
      expect(run.peakRssMb).toBeGreaterThan(5);
      // VmHWM is the peak since start: the median VmRSS of the window cannot exceed it.
      expect(run.settledRssMb).toBeLessThanOrEqual(run.peakRssMb);
      expect(run.bytesPerStep).toBeGreaterThan(0);
      if (run.cpuSeconds > 0) expect(run.usPerProcessStep).toBeCloseTo((run.cpuSeconds * 1e6) / (steps * run.processes), -1);
      expect(run.loadavg).toHaveLength(2);
      if (run.program === 'I/O floor') expect(run.delivered['steps']).toBeGreaterThanOrEqual(steps);
      else if (run.program === 'process-exporter') expect(run.delivered['scrapes']).toBeGreaterThanOrEqual(steps);
      else expect(run.delivered['remote-write']).toBeGreaterThan(0);
      if (run.program === 'three transports') {
        expect(run.delivered['riemann']).toBeGreaterThan(0);
        expect(run.delivered['warp10']).toBeGreaterThan(0);
      }
    }
    // The selection sends 5 processes' series and the others rollup instead of 60 processes' series.
    const at60 = (program: string) => scale.runs.find((r) => r.processes === 60 && r.program === program);
    expect(at60('remote-write, top 5')?.bytesPerStep).toBeLessThan(at60('remote-write')?.bytesPerStep ?? 0);
    expect(at60('three transports')?.bytesPerStep).toBeGreaterThan(at60('remote-write')?.bytesPerStep ?? 0);
    const floor20 = scale.vsFloor.find((f) => f.processes === 20)?.ratio;
    const three20 = scale.runs.find((r) => r.processes === 20 && r.program === 'three transports');
    const io20 = scale.runs.find((r) => r.processes === 20 && r.program === 'I/O floor');
    if (floor20 && three20 && io20 && io20.cpuSeconds > 0) expect(floor20.median).toBeCloseTo(three20.cpuSeconds / io20.cpuSeconds, 1);
    expect(scale.linearity).toMatchObject({ large: 60, small: 20 });
    expect(stdout).toMatch(/^Scale: scaph run on ticking synthetic trees, 1 s step, 2 s warm-up then 3 s window, 1 round/m);
    expect(stdout).toMatch(/^ +60 {2}process-exporter +\d/m);
    expect(stdout).toContain('three transports / I/O floor (CPU, each round');
  });

  it('judges the scale goals on the figures of its own run, and prints each with its target', () => {
    const scale = results.scale as ScaleSection;
    const row = (size: number, program: string) => scale.rows.find((r) => r.processes === size && r.program === program);
    const goal = (id: string) => results.goals.find((g) => g.id === id);
    // Per-process figures at the largest size, memory at both ends, ratios of runs of the same round.
    expect(goal('scale-cpu-per-process')?.measured).toBe(row(60, 'remote-write')?.usPerProcessStep.median);
    expect(goal('scale-rss-large')?.measured).toBe(row(60, 'remote-write')?.peakRssMb.median);
    expect(goal('scale-rss-small')?.measured).toBe(row(20, 'remote-write')?.peakRssMb.median);
    expect(goal('scale-linearity')?.measured ?? null).toBe(scale.linearity?.ratio.median ?? null);
    expect(goal('scale-vs-floor')?.measured ?? null).toBe(scale.vsFloor.find((f) => f.processes === 20)?.ratio.median ?? null);
    for (const [id, target] of [['scale-cpu-per-process', '<= 10'], ['scale-rss-large', '<= 150 MB'], ['scale-rss-small', '<= 80 MB'], ['scale-linearity', '<= 1.1'], ['scale-vs-floor', '<= 1.5x']] as const) {
      const g = goal(id);
      expect(g?.target, id).toBe(target);
      if (typeof g?.measured === 'number') expect(g.met, id).toBe(g.measured <= Number.parseFloat(target.replace(/^<= /, '')));
    }
    const verdict = '^(MET|MISSED|NOT MEASURED) +';
    expect(stdout).toMatch(new RegExp(`${verdict}scaph run CPU per process per step at 60 processes, remote-write, every series \\(µs, median of 1 round\\) +[\\d.]+ +<= 10 `, 'm'));
    expect(stdout).toMatch(new RegExp(`${verdict}scaph run peak RSS at 60 processes, remote-write, every series \\(MB, median of 1 round\\) +[\\d.]+ +<= 150 MB `, 'm'));
    expect(stdout).toMatch(new RegExp(`${verdict}scaph run peak RSS at 20 processes, remote-write, every series \\(MB, median of 1 round\\) +[\\d.]+ +<= 80 MB `, 'm'));
    expect(stdout).toMatch(new RegExp(`${verdict}µs per process per step at 60 / at 20 processes, remote-write .* +<= 1\\.1 `, 'm'));
    expect(stdout).toMatch(new RegExp(`${verdict}scaph run CPU vs the same round's I/O floor, 20 processes, 3 push transports, every series .* +<= 1\\.5x `, 'm'));
  });

  it('judges every goal and prints the table with the verdicts', () => {
    expect(results.goals.map((g) => g.id)).toEqual([
      'sampling-vs-c-20', 'sampling-vs-c-60',
      'encoding-remote-write', 'encoding-riemann', 'encoding-warp10', 'encoding-otlp',
      'steady-cpu-vs-floor', 'steady-rss', 'peer-cpu-per-series', 'executable-cpu', 'executable-rss',
      'scale-cpu-per-process', 'scale-rss-large', 'scale-rss-small', 'scale-linearity', 'scale-vs-floor',
    ]);
    // In --quick's 3 s window a program may use less than one 10 ms tick: a ratio over 0 is not measured.
    const ratioGoals = new Set(['steady-cpu-vs-floor', 'peer-cpu-per-series', 'executable-cpu', 'scale-linearity', 'scale-vs-floor']);
    for (const goal of results.goals) {
      if (ratioGoals.has(goal.id) && goal.measured === null) {
        expect(goal.met).toBeNull();
        continue;
      }
      expect(typeof goal.met).toBe('boolean');
      expect(goal.measured).not.toBeNull();
    }
    expect(results.goals.find((g) => g.id === 'steady-cpu-vs-floor')?.target).toBe('<= 1.5x');
    expect(results.goals.find((g) => g.id === 'peer-cpu-per-series')?.target).toBe('< 1x');
    expect(stdout).toContain('Sampling cost per process');
    expect(stdout).toContain('Encoding throughput');
    expect(stdout).toContain('Steady state: scaph run, 20 processes');
    const met = results.goals.filter((g) => g.met).length;
    expect(results.goals.find((g) => g.id === 'executable-rss')?.target).toBe('<= 1.05x');
    expect(results.goals.find((g) => g.id === 'scale-cpu-per-process')?.target).toBe('<= 10');
    expect(results.goals.find((g) => g.id === 'scale-rss-large')?.target).toBe('<= 150 MB');
    expect(stdout).toContain(`${met} of 16 goals met.`);
  });
});
