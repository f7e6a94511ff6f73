/**
 * Process selection end to end through the built CLI, on a synthetic procfs tree of 500 processes and one
 * burner whose CPU time moves in real time: `scaph json -m 20` lists 20 consumers and puts the other 481 in
 * `others`, so consumers + others + unattributed = host consumption in every report, exactly; and an
 * [[exporter]] table's `max_top_consumers` key does the same for a push exporter (remote-write).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import snappy from 'snappy';
import { afterEach, describe, expect, it } from 'vitest';
import { generateProcesses, ProcfsTree, type FakeProcess } from '../../support/fixtures/procfs-tree.js';
import { runScaph } from '../../support/fixtures/run-scaph.js';
import { tempDir } from '../../support/harness/bad-input.js';
import { decodeWriteRequest, type PromTimeSeries } from '../../support/oracles/remote-write.js';
import { startRecordingHttpServer, type RecordingHttpServer } from '../../support/servers/recording-http.js';

const trees: ProcfsTree[] = [];
const sinks: RecordingHttpServer[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.cleanup();
  for (const s of sinks.splice(0)) s.server.close();
});

/**
 * 500 workers and a burner; the burner and 40 workers use CPU time as the run goes. With `swing`, two more
 * workers take turns at the top: one uses 20 ticks a period for 1.2 s, then the other, so with a top 5
 * each leaves the selection and comes back during a few seconds' run.
 */
function busyTree(swing = false): { tree: ProcfsTree; stop: () => void } {
  const workers = generateProcesses(500);
  const burner: FakeProcess = { pid: 99, comm: 'burner', utime: 0, stime: 0, starttime: 5_000 };
  const tree = ProcfsTree.create({ cpuCount: 2, processes: [burner, ...workers] });
  trees.push(tree);
  const ticks: Array<readonly [FakeProcess, number]> = [[burner, 30], ...workers.slice(0, 40).map((w, i) => [w, 1 + (i % 3)] as const)];
  let period = 0;
  const turn = (): void => {
    const p = workers[100 + (Math.floor(period++ / 12) % 2)] as FakeProcess;
    p.utime += 20;
    tree.writeProcessStat(p);
  };
  // 30 + 79 process ticks per period (+ 20 swinging), 120 (140) busy: some busy time stays unattributed.
  return { tree, stop: swing ? tree.runCpu({ user: 140, idle: 60 }, ticks, 100, turn) : tree.runCpu({ user: 120, idle: 80 }, ticks, 100) };
}

interface JsonReport {
  readonly host: { readonly consumption: number; readonly unattributed_consumption: number };
  readonly consumers: ReadonlyArray<{ readonly pid: number; readonly consumption: number }>;
  readonly others: { readonly consumption: number; readonly energy: number; readonly count: number };
}

/** The (non-stale) value of each process's series of a metric (by pid), by timestamp. */
function pidPointsByTimestamp(series: readonly PromTimeSeries[], name: string): Map<number, Map<string, number>> {
  const out = new Map<number, Map<string, number>>();
  for (const s of series) {
    if (!s.labels.some((l) => l.name === '__name__' && l.value === name)) continue;
    const pid = s.labels.find((l) => l.name === 'pid')?.value ?? '';
    for (const p of s.samples) {
      if (!Number.isFinite(p.value)) continue;
      let at = out.get(p.timestamp);
      if (!at) out.set(p.timestamp, (at = new Map()));
      at.set(pid, p.value);
    }
  }
  return out;
}

function decodedSeries(sink: RecordingHttpServer): PromTimeSeries[] {
  return sink.requests.flatMap((r) => decodeWriteRequest(Buffer.from(snappy.uncompressSync(r.body) as Buffer)).timeseries);
}

/** The (non-stale) values of a metric's series, by timestamp. */
function pointsByTimestamp(series: readonly PromTimeSeries[], name: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const s of series) {
    if (!s.labels.some((l) => l.name === '__name__' && l.value === name)) continue;
    for (const p of s.samples) if (Number.isFinite(p.value)) out.set(p.timestamp, [...(out.get(p.timestamp) ?? []), p.value]);
  }
  return out;
}

describe('process selection end to end', () => {
  it('scaph json -m 20: 20 consumers + others + unattributed = host consumption, exactly, every report', async () => {
    const { tree, stop } = busyTree();
    try {
      const run = await runScaph(['--no-header', '--sensor', 'estimate', '--procfs-path', tree.root, 'json', '-t', '3', '-s', '0.5', '-m', '20']);
      expect(run.code, run.stderr).toBe(0);
      const reports = JSON.parse(run.stdout) as JsonReport[];
      expect(reports.length).toBeGreaterThanOrEqual(4);
      let previousEnergy = -1;
      for (const r of reports) {
        expect(r.consumers).toHaveLength(20);
        expect(r.consumers[0]?.pid).toBe(99);
        expect(r.consumers.length + r.others.count).toBe(501);
        const listed = r.consumers.reduce((s, c) => s + c.consumption, 0);
        expect(listed + r.others.consumption + r.host.unattributed_consumption).toBe(r.host.consumption);
        expect(r.others.consumption).toBeGreaterThan(0);
        // 0 in the first report (the baseline), then what the processes not listed used.
        if (previousEnergy < 0) expect(r.others.energy).toBe(0);
        else expect(r.others.energy).toBeGreaterThan(previousEnergy);
        previousEnergy = r.others.energy;
      }
    } finally {
      stop();
    }
  });

  it('an [[exporter]] table with max_top_consumers: remote-write sends 5 processes and the others, summing to every process', async () => {
    const { tree, stop } = busyTree();
    const sink = await startRecordingHttpServer();
    sinks.push(sink);
    const config = join(tempDir(), 'scaph.toml');
    writeFileSync(
      config,
      `[sensor]\nkind = "estimate"\nprocfs_path = "${tree.root}"\nstep = "500ms"\n\n` +
        `[[exporter]]\ntype = "remote-write"\nurl = "http://127.0.0.1:${sink.port}/api/v1/write"\nmax_top_consumers = 5\nselection_hold_steps = 0\nstep = "500ms"\n`,
    );
    try {
      const run = await runScaph(['--no-header', 'run', '-c', config, '--timeout', '3']);
      expect(run.code, run.stderr).toBe(0);
      const series = decodedSeries(sink);
      const processes = pointsByTimestamp(series, 'scaph_process_power_consumption_microwatts');
      const others = pointsByTimestamp(series, 'scaph_process_others_power_microwatts');
      const count = pointsByTimestamp(series, 'scaph_process_others_count');
      const host = pointsByTimestamp(series, 'scaph_host_power_microwatts');
      const unattributed = pointsByTimestamp(series, 'scaph_host_unattributed_power_microwatts');
      const steps = [...processes.keys()];
      expect(steps.length).toBeGreaterThanOrEqual(4);
      for (const t of steps) {
        const sent = processes.get(t) ?? [];
        expect(sent).toHaveLength(5);
        expect(count.get(t)).toEqual([496]);
        // Host power (the model's total) = the 5 processes sent + the others + unattributed, exactly.
        const total = [...sent, ...(others.get(t) ?? []), ...(unattributed.get(t) ?? [])].reduce((a, b) => a + b, 0);
        expect([total]).toEqual(host.get(t));
      }
    } finally {
      stop();
    }
  });

  it('an exporter step 3× the sensor step: its process energy series + others = every process\'s energy counter, exactly', async () => {
    const { tree, stop } = busyTree(true);
    const top = await startRecordingHttpServer();
    const all = await startRecordingHttpServer();
    sinks.push(top, all);
    const config = join(tempDir(), 'scaph.toml');
    // The same samples, two exporters: the top 5 every 3rd sample, and every process every sample (the truth).
    writeFileSync(
      config,
      `[sensor]\nkind = "estimate"\nprocfs_path = "${tree.root}"\nstep = "300ms"\n\n` +
        `[[exporter]]\ntype = "remote-write"\nurl = "http://127.0.0.1:${top.port}/api/v1/write"\nstep = "900ms"\nmax_top_consumers = 5\nselection_hold_steps = 0\n\n` +
        `[[exporter]]\ntype = "remote-write"\nurl = "http://127.0.0.1:${all.port}/api/v1/write"\nstep = "300ms"\n`,
    );
    try {
      const run = await runScaph(['--no-header', 'run', '-c', config, '--timeout', '4']);
      expect(run.code, run.stderr).toBe(0);
      const sent = pidPointsByTimestamp(decodedSeries(top), 'scaph_process_energy_microjoules');
      const others = pointsByTimestamp(decodedSeries(top), 'scaph_process_others_energy_microjoules');
      const truth = pidPointsByTimestamp(decodedSeries(all), 'scaph_process_energy_microjoules');
      const steps = [...sent.keys()].filter((t) => truth.has(t)).sort((a, b) => a - b);
      expect(steps.length).toBeGreaterThanOrEqual(3);
      expect(steps[0]).toBe(Math.min(...sent.keys()));
      // The exporter saw fewer samples than the truth (every 3rd; a loaded machine may skip sensor ticks, so
      // not exactly 3 to 1).
      expect(truth.size).toBeGreaterThan(steps.length);
      // Each process's series as a TSDB keeps it: its last value, across the steps it was not sent; at the
      // exporter's first step (its baseline: others starts at 0) each counter is where its series starts.
      const last = new Map<string, number>(truth.get(steps[0] as number));
      let othersLast = -1;
      const gaps = new Set<string>();
      for (const t of steps) {
        const now = sent.get(t) as Map<string, number>;
        for (const [pid, uj] of now) {
          expect(uj).toBeGreaterThanOrEqual(last.get(pid) ?? 0);
          last.set(pid, uj);
        }
        for (const pid of last.keys()) if (!now.has(pid)) gaps.add(pid);
        const [othersUj] = others.get(t) ?? [];
        expect(othersUj).toBeGreaterThan(othersLast);
        othersLast = othersUj as number;
        const total = [...(truth.get(t) as Map<string, number>).values()].reduce((a, b) => a + b, 0);
        expect([...last.values()].reduce((a, b) => a + b, othersLast)).toBe(total);
      }
      // The two swinging workers left the top 5 and came back: the sums held across those gaps too.
      expect(gaps.size).toBeGreaterThan(0);
      expect(steps.some((t, i) => i > 0 && [...gaps].some((pid) => sent.get(t)?.has(pid) === true && sent.get(steps[i - 1] as number)?.has(pid) === false))).toBe(true);
    } finally {
      stop();
    }
  });
});
